import { describe, expect, it } from 'vitest';
import { applyItemEvents, applyUserEvents, mergeUserFeatures } from '../../src/domain/features';
import { parseEvent, type UserEvent } from '../../src/domain/events';

let n = 0;
const ev = (input: Record<string, unknown>): UserEvent => {
  const r = parseEvent({ eventId: `e${n++}`, userId: 'u1', itemId: 'i1', timestamp: '2026-11-01T00:00:00Z', ...input });
  if (!r.ok) throw new Error(r.message);
  return r.event;
};

describe('features ignore impressions (an item shown is not an interaction)', () => {
  const interactions = [
    ev({ type: 'view', itemId: 'i1', timestamp: '2026-11-01T10:00:00Z' }),
    ev({ type: 'purchase', itemId: 'i1', price: 9.99, quantity: 2, timestamp: '2026-11-01T10:05:00Z', recommendationId: 'r-1' }),
  ];
  const impressions = [
    ev({ type: 'impression', itemId: 'i1', position: 0, recommendationId: 'r-1', timestamp: '2026-10-31T09:00:00Z' }),
    ev({ type: 'impression', itemId: 'i1', position: 3, timestamp: '2026-11-02T09:00:00Z', category: 'shown-only' }),
  ];
  const mixed = [impressions[0]!, interactions[0]!, impressions[1]!, interactions[1]!];

  it('user rows: counts, recent, first/last seen are those of the interactions alone', () => {
    const f = applyUserEvents(undefined, mixed);
    expect(f).toEqual(applyUserEvents(undefined, interactions));
    expect(Object.keys(f.counts).sort()).toEqual(['add_to_cart', 'click', 'purchase', 'rating', 'view']);
    expect(f.recent.map((r) => r.type)).toEqual(['purchase', 'view']);
    expect(f.firstSeen).toBe('2026-11-01T10:00:00.000Z');
    expect(f.lastSeen).toBe('2026-11-01T10:05:00.000Z');
  });

  it('item rows: counts, popularity and category are those of the interactions alone', () => {
    const f = applyItemEvents(undefined, mixed);
    expect(f).toEqual(applyItemEvents(undefined, interactions));
    expect(f.category).toBeUndefined();
    expect(Number.isFinite(f.popularity)).toBe(true);
  });

  it('an impression-only batch leaves a previous row exactly as it was', () => {
    const user = applyUserEvents(undefined, interactions);
    const item = applyItemEvents(undefined, interactions);
    expect(applyUserEvents(user, impressions)).toEqual(user);
    expect(applyItemEvents(item, impressions)).toEqual(item);
  });

  it('an impression-only batch for a new user or item creates nothing: it is refused with a clear error', () => {
    expect(() => applyUserEvents(undefined, impressions)).toThrow(/impressions are not interactions/);
    expect(() => applyItemEvents(undefined, impressions)).toThrow(/impressions are not interactions/);
  });

  it('rows stored before impressions existed merge and fold unchanged', () => {
    const stored = JSON.parse(JSON.stringify(applyUserEvents(undefined, interactions))) as ReturnType<typeof applyUserEvents>;
    expect(mergeUserFeatures([stored, applyUserEvents(undefined, [interactions[0]!])])!.counts).toEqual({ view: 2, click: 0, add_to_cart: 0, purchase: 1, rating: 0 });
    expect(applyUserEvents(stored, impressions)).toEqual(stored);
  });
});
