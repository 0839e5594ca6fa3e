import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/analytics/hyperloglog';
import { SpaceSaving } from '../../src/analytics/space-saving';
import { seededRandom, zipfSampler } from '../../src/domain/event-generator';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { fromWindowRow, readCategories, toWindowRow, type WindowRow } from '../../src/analytics/window-rows';
import { applyToWindow, emptyWindow, mergeWindows, summarize } from '../../src/analytics/windows';

describe('HyperLogLog', () => {
  it.each([100, 5_000, 200_000])('counts %i distinct users within three standard errors', (n) => {
    const hll = new HyperLogLog();
    for (let i = 0; i < n; i++) hll.add(`user-${i}`);
    for (let i = 0; i < n; i++) hll.add(`user-${i}`); // repeats change nothing
    expect(Math.abs(hll.count() - n) / n).toBeLessThan(3 * hll.standardError);
  });

  it('merges partial counters into exactly the counter of the union', () => {
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    const all = new HyperLogLog();
    for (let i = 0; i < 3000; i++) {
      (i % 3 === 0 ? a : b).add(`u${i}`);
      all.add(`u${i}`);
    }
    expect(HyperLogLog.union([a, b]).registers).toEqual(all.registers);
    expect(new HyperLogLog(11, all.registers).count()).toBe(all.count());
  });
});

describe('Space-Saving heavy hitters', () => {
  const random = seededRandom(3);
  const pick = zipfSampler(5000, 1.1, random);
  const stream = Array.from({ length: 50_000 }, () => `i${pick()}`);
  const truth = new Map<string, number>();
  for (const k of stream) truth.set(k, (truth.get(k) ?? 0) + 1);
  const trueTop = [...truth.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k]) => k);

  it('finds the true top 10 of a skewed stream, each count within its error bound', () => {
    const ss = new SpaceSaving(100);
    for (const k of stream) ss.add(k);
    const top = ss.top(10);
    expect(top.map((h) => h.key)).toEqual(trueTop);
    for (const h of top) {
      expect(h.count).toBeGreaterThanOrEqual(truth.get(h.key)!);
      expect(h.count - h.error).toBeLessThanOrEqual(truth.get(h.key)!);
    }
  });

  it('merges summaries of parts into the same top 10', () => {
    const parts = [new SpaceSaving(100), new SpaceSaving(100), new SpaceSaving(100)];
    stream.forEach((k, i) => parts[i % 3]!.add(k));
    const merged = parts[0]!.merge(parts[1]!).merge(parts[2]!);
    expect(merged.top(10).map((h) => h.key)).toEqual(trueTop);
    expect(merged.total).toBe(stream.length);
    expect(SpaceSaving.fromJSON(JSON.parse(JSON.stringify(merged.toJSON()))).top(10)).toEqual(merged.top(10));
  });
});

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
