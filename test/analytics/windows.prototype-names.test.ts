import { describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { fromWindowRow, readCategories, toWindowRow, type WindowRow } from '../../src/analytics/window-rows';
import { applyToWindow, emptyWindow, mergeWindows, summarize } from '../../src/analytics/windows';

describe('windows with hostile names (Object.prototype members as categories and ids)', () => {
  const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'isPrototypeOf'];
  const start = Date.parse('2026-11-01T10:00:00Z');
  const events: UserEvent[] = NAMES.flatMap((name, i) => {
    const common = { userId: name, itemId: name, category: name, timestamp: new Date(start + i * 1000).toISOString() };
    return [
      parseEvent({ ...common, eventId: `v-${i}`, type: 'view' }, { now: start + 60_000 }),
      parseEvent({ ...common, eventId: `p-${i}`, type: 'purchase', price: '0.01', quantity: 3 }, { now: start + 60_000 }),
    ].map((r) => {
      if (!r.ok) throw new Error(r.message);
      return r.event;
    });
  });

  it('folds each category under its own name, as numbers', () => {
    const w = applyToWindow(emptyWindow('minute', start), events);
    const s = summarize(w, start + 60_000, 50);
    expect(s.topCategories).toHaveLength(NAMES.length);
    for (const c of s.topCategories) {
      expect(typeof c.score).toBe('number');
      expect(c.score).toBe(1 + 5); // a view and a purchase
    }
    expect(s.topCategories.map((c) => c.category).sort()).toEqual([...NAMES].sort());
    expect(s.topItems.map((i) => i.itemId).sort()).toEqual([...NAMES].sort());
    expect(JSON.stringify(s)).not.toContain('native code');
    expect(s.revenue).toBe(0.21);
    expect(s.activeUsers).toBe(NAMES.length);
    expect(Object.getPrototypeOf(w.categories)).toBe(Map.prototype);
  });

  it('round-trips through toWindowRow/fromWindowRow and a DynamoDB-style unmarshal, and merges', () => {
    const w = applyToWindow(emptyWindow('minute', start), events);
    const row = toWindowRow(w, { pk: 'M#x', sk: '00#s' }, 's', 'wm');
    expect(Array.isArray(row.categories)).toBe(true);
    // The SDK unmarshaller builds plain objects by assignment; JSON.parse is a faithful stand-in for lists.
    const back = fromWindowRow(JSON.parse(JSON.stringify({ ...row, activeUsers: [...row.activeUsers], purchasers: [...row.purchasers] })) as WindowRow);
    expect([...back.categories].sort()).toEqual([...w.categories].sort());
    const merged = mergeWindows([w, back], 'minute', start);
    for (const name of NAMES) expect(merged.categories.get(name)).toBe(12);
    expect(merged.revenue).toBe(0.42);
    expect(summarize(merged, start + 60_000).topCategories.every((c) => typeof c.score === 'number')).toBe(true);
  });

  it('still reads rows written in the old object form, ignoring inherited names', () => {
    const w = applyToWindow(emptyWindow('minute', start), events.slice(0, 2));
    const row = toWindowRow(w, { pk: 'M#x', sk: '00#s' }, 's', 'wm');
    const old = { ...row, categories: { shoes: 3, books: 1 } } as WindowRow;
    expect([...readCategories(old.categories)].sort()).toEqual([['books', 1], ['shoes', 3]]);
    const polluted = Object.assign(Object.create({ inherited: 5 }), { constructor: 2 }) as Record<string, number>;
    expect([...readCategories(polluted)]).toEqual([['constructor', 2]]);
  });

  it('keeps at most MAX_CATEGORIES categories and sums the rest under (other), whatever their names', () => {
    const many = Array.from({ length: 250 }, (_, i) => {
      const r = parseEvent({ eventId: `m${i}`, userId: 'u', itemId: 'i', type: 'view', category: i < 5 ? NAMES[i] : `c${i}`, timestamp: new Date(start + 10).toISOString() }, { now: start });
      if (!r.ok) throw new Error(r.message);
      return r.event;
    });
    const w = applyToWindow(emptyWindow('minute', start), many);
    expect(w.categories.size).toBe(201);
    expect(w.categories.get('(other)')).toBe(50);
    expect(w.categories.get('constructor')).toBe(1);
  });
});
