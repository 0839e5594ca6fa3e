import { describe, expect, it } from 'vitest';
import { interleave, promotedSlots } from '../../src/rules/promotions';

describe('promotedSlots', () => {
  it.each([
    [10, 20, [2, 7]],
    [10, 10, [5]],
    [10, 1, [5]], // at least one slot
    [4, 50, [1, 3]],
    [5, 100, [0, 1, 2, 3, 4]],
    [1, 1, [0]],
    [3, 34, [1]], // round(1.02) = 1
    [3, 50, [0, 2]], // round(1.5) = 2
    [20, 25, [2, 6, 10, 14, 18]],
    [0, 50, []],
    [10, 0, []],
  ])('k=%i share=%i → %j', (k, share, slots) => {
    expect(promotedSlots(k, share)).toEqual(slots);
  });

  it('is deterministic, ascending, distinct and within k for every k ≤ 100 and share 1-100', () => {
    for (let k = 1; k <= 100; k++) {
      for (let share = 1; share <= 100; share++) {
        const slots = promotedSlots(k, share);
        if (slots.length !== Math.min(k, Math.max(1, Math.round((k * share) / 100)))) expect(slots.length).toBe(Math.min(k, Math.max(1, Math.round((k * share) / 100))));
        const ordered = slots.every((s, i) => Number.isInteger(s) && s >= 0 && s < k && (i === 0 || s > slots[i - 1]!));
        if (!ordered) expect.fail(`k=${k} share=${share}: ${slots.join(',')}`);
        if (promotedSlots(k, share).join() !== slots.join()) expect.fail('not deterministic');
      }
    }
  });
});

describe('interleave', () => {
  const main = ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'];

  it('puts promoted items in their slots, in order, and main items elsewhere', () => {
    const out = interleave(main, ['p0', 'p1', 'p2'], 10, 20);
    expect(out.map((o) => o.item)).toEqual(['m0', 'm1', 'p0', 'm2', 'm3', 'm4', 'm5', 'p1', 'm6', 'm7']);
    expect(out.filter((o) => o.promoted).map((o) => o.item)).toEqual(['p0', 'p1']);
  });

  it('fills with main items when there are fewer promoted items than slots', () => {
    expect(interleave(main, ['p0'], 10, 20).map((o) => o.item)).toEqual(['m0', 'm1', 'p0', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
    expect(interleave(main, [], 10, 20).map((o) => o.item)).toEqual(main);
  });

  it('fills with promoted items when main runs out, and never exceeds k', () => {
    expect(interleave(['m0'], ['p0', 'p1', 'p2'], 4, 50).map((o) => o.item)).toEqual(['m0', 'p0', 'p1', 'p2']);
    expect(interleave(main, main, 3, 100)).toHaveLength(3);
    expect(interleave(['m0'], [], 10, 20)).toEqual([{ item: 'm0', promoted: false }]);
    expect(interleave(main, ['p0'], 0, 20)).toEqual([]);
  });

  it('shows an item in both lists once, where it comes first (by key)', () => {
    const out = interleave(['a', 'b', 'c', 'd'], ['c', 'x'], 4, 50);
    // slots [1, 3]: a, c(promoted), b, x(promoted); the main c is skipped.
    expect(out).toEqual([
      { item: 'a', promoted: false },
      { item: 'c', promoted: true },
      { item: 'b', promoted: false },
      { item: 'x', promoted: true },
    ]);
    const objs = interleave([{ id: '1' }, { id: '2' }], [{ id: '1' }], 2, 50, (o) => o.id);
    expect(objs.map((o) => [o.item.id, o.promoted])).toEqual([['1', false], ['2', false]]);
  });
});
