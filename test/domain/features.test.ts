import { describe, expect, it } from 'vitest';
import { applyItemEvents, applyUserEvents, averageRating, mergeItemFeatures, mergeUserFeatures } from '../../src/domain/features';
import { parseEvent, type UserEvent } from '../../src/domain/events';

const ev = (input: Record<string, unknown>): UserEvent => {
  const r = parseEvent({ eventId: `e${Math.random()}`, userId: 'u1', itemId: 'i1', timestamp: '2026-11-01T00:00:00Z', ...input });
  if (!r.ok) throw new Error(r.message);
  return r.event;
};

describe('user features', () => {
  const events = [
    ev({ type: 'view', itemId: 'a', timestamp: '2026-11-01T10:00:00Z' }),
    ev({ type: 'rating', itemId: 'a', rating: 4, timestamp: '2026-11-01T10:05:00Z' }),
    ev({ type: 'purchase', itemId: 'b', price: 19.99, quantity: 3, timestamp: '2026-11-01T09:00:00Z' }),
    ev({ type: 'rating', itemId: 'c', rating: 2.5, timestamp: '2026-11-02T08:00:00Z' }),
  ];

  it('counts events by type, sums ratings and spend, and tracks first and last seen', () => {
    const f = applyUserEvents(undefined, events);
    expect(f.counts).toEqual({ view: 1, click: 0, add_to_cart: 0, purchase: 1, rating: 2 });
    expect(f.ratingCount).toBe(2);
    expect(averageRating(f)).toBe(3.25);
    expect(f.spend).toBe(59.97);
    expect(f.firstSeen).toBe('2026-11-01T09:00:00.000Z');
    expect(f.lastSeen).toBe('2026-11-02T08:00:00.000Z');
  });

  it('keeps a bounded, newest-first list of recent interactions with ratings', () => {
    const f = applyUserEvents(undefined, events, 3);
    expect(f.recent).toEqual([
      { itemId: 'c', type: 'rating', rating: 2.5, timestamp: '2026-11-02T08:00:00.000Z' },
      { itemId: 'a', type: 'rating', rating: 4, timestamp: '2026-11-01T10:05:00.000Z' },
      { itemId: 'a', type: 'view', timestamp: '2026-11-01T10:00:00.000Z' },
    ]);
  });

  it('gives the same state whether events come in one batch or several, in any order', () => {
    const once = applyUserEvents(undefined, events);
    const split = applyUserEvents(applyUserEvents(undefined, [events[3]!, events[0]!]), [events[2]!, events[1]!]);
    expect(split).toEqual(once);
  });

  it('merges per-shard partial aggregates into the same totals as one aggregate', () => {
    const whole = applyUserEvents(undefined, events);
    const merged = mergeUserFeatures([applyUserEvents(undefined, events.slice(0, 2)), applyUserEvents(undefined, events.slice(2))]);
    expect(merged).toEqual(whole);
    expect(mergeUserFeatures([])).toBeUndefined();
  });

  it('refuses events of another user rather than mixing them in', () => {
    expect(() => applyUserEvents(applyUserEvents(undefined, events), [ev({ type: 'view', userId: 'u2' })])).toThrow(/belongs to user u2/);
  });
});

describe('item features', () => {
  it('counts interactions, revenue, units and an intent-weighted popularity', () => {
    const f = applyItemEvents(undefined, [
      ev({ type: 'view' }),
      ev({ type: 'view' }),
      ev({ type: 'click' }),
      ev({ type: 'add_to_cart', price: 5 }),
      ev({ type: 'purchase', price: 5, quantity: 2, category: 'books' }),
      ev({ type: 'rating', rating: 5 }),
    ]);
    expect(f.counts).toEqual({ view: 2, click: 1, add_to_cart: 1, purchase: 1, rating: 1 });
    expect(f.revenue).toBe(10);
    expect(f.unitsSold).toBe(2);
    expect(f.popularity).toBe(1 + 1 + 2 + 3 + 5 + 3);
    expect(f.category).toBe('books');
    const halves = mergeItemFeatures([applyItemEvents(undefined, [ev({ type: 'view' })]), applyItemEvents(undefined, [ev({ type: 'click' })])]);
    expect(halves?.popularity).toBe(3);
  });
});

describe('exact money in features', () => {
  it('sums a cent and a 10-digit line total exactly, in any order and across merges', () => {
    const cent = ev({ type: 'purchase', itemId: 'x', price: '0.01' });
    const big = ev({ type: 'purchase', itemId: 'x', price: '999999999.99', quantity: 10 });
    const dimes = Array.from({ length: 10 }, () => ev({ type: 'purchase', itemId: 'x', price: 0.1 }));
    const all = [cent, big, ...dimes];
    const user = applyUserEvents(undefined, all);
    expect(user.spend).toBe(9_999_999_999.9 + 0.01 + 1);
    expect(user.spend).toBe(10_000_000_000.91);
    expect(applyUserEvents(undefined, [...all].reverse()).spend).toBe(user.spend);
    const item = applyItemEvents(undefined, all);
    expect(item.revenue).toBe(10_000_000_000.91);
    expect(mergeItemFeatures([applyItemEvents(undefined, [cent]), applyItemEvents(undefined, [big]), applyItemEvents(undefined, dimes)])?.revenue).toBe(10_000_000_000.91);
    expect(mergeUserFeatures([applyUserEvents(undefined, dimes), applyUserEvents(undefined, [cent, big])])?.spend).toBe(10_000_000_000.91);
    // Floating-point addition would not give this: 0.1 ten times is 0.9999999999999999.
    expect(applyUserEvents(undefined, dimes).spend).toBe(1);
  });
});

describe('features with hostile names (Object.prototype members as ids and categories)', () => {
  const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];
  it('folds users and items named after Object.prototype members like any other', () => {
    for (const name of NAMES) {
      const evs = [
        ev({ type: 'view', userId: name, itemId: name, category: name }),
        ev({ type: 'purchase', userId: name, itemId: name, category: name, price: '1.50', quantity: 2 }),
      ];
      const user = applyUserEvents(undefined, evs);
      expect(user.userId).toBe(name);
      expect(user.counts).toEqual({ view: 1, click: 0, add_to_cart: 0, purchase: 1, rating: 0 });
      expect(user.spend).toBe(3);
      expect(user.recent.map((r) => r.itemId)).toEqual([name, name]);
      const item = applyItemEvents(undefined, evs);
      expect(item).toMatchObject({ itemId: name, category: name, revenue: 3, unitsSold: 2, popularity: 6 });
      expect(Object.getPrototypeOf(item)).toBe(Object.prototype);
      expect(mergeItemFeatures([item, item])?.revenue).toBe(6);
    }
  });
});
