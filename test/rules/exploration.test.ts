import { describe, expect, it } from 'vitest';
import { ContentIndex, contentProfile, contentTokens, explorationSlots, exploreNewItems, newItemCandidates } from '../../src/rules/exploration';
import { createItemUniverse, type ItemView } from '../../src/rules/eligibility';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const DAY = 86_400_000;

function view(itemId: string, categories: string[], attributes: Record<string, string | number | boolean> = {}, over: Partial<ItemView> = {}): ItemView {
  return { itemId, categories, available: true, withdrawn: false, attributes, ...over };
}

const universe = createItemUniverse([
  view('h1', ['shoes'], { brand: 'acme', vegan: true, size: 42 }),
  view('h2', ['shoes', 'running'], { brand: 'acme' }),
  view('n1', ['shoes', 'running'], { brand: 'acme' }), // most similar
  view('n2', ['hats'], { brand: 'acme' }), // shares the brand only
  view('n3', ['hats'], { brand: 'other', vegan: false }), // nothing in common
  view('n4', ['shoes', 'running'], { brand: 'acme' }, { withdrawn: true }),
  view('n5', ['running', 'shoes'], { brand: 'acme' }), // ties with n1: the lower index wins
  view('n6', []),
  view('n7', ['__proto__', 'constructor'], Object.assign(Object.create(null), JSON.parse('{"constructor":"acme","__proto__":"x"}'))),
]);

describe('content profile', () => {
  it('tokens: categories, string attributes, true booleans (not numbers, not false)', () => {
    expect(contentTokens(universe.view(0))).toEqual(['c:shoes', 'a:brand=acme', 'a:vegan']);
    expect(contentTokens(universe.view(4))).toEqual(['c:hats', 'a:brand=other']);
    expect(contentTokens(universe.view(8))).toEqual(['c:__proto__', 'c:constructor', 'a:constructor=acme', 'a:__proto__=x']);
  });

  it('sums the history items and normalises to unit length; unknown ids are skipped', () => {
    const p = contentProfile(['h1', 'h2', 'nope'], universe);
    const norm = Math.sqrt(4 + 1 + 1 + 4); // shoes 2, running 1, vegan 1, brand=acme 2
    expect(p.get('c:shoes')).toBeCloseTo(2 / norm);
    expect(p.get('a:brand=acme')).toBeCloseTo(2 / norm);
    expect(p.get('c:running')).toBeCloseTo(1 / norm);
    expect([...p.values()].reduce((s, w) => s + w * w, 0)).toBeCloseTo(1);
    expect(contentProfile(['nope'], universe).size).toBe(0);
    expect(contentProfile(['n7'], universe).get('c:__proto__')).toBeCloseTo(0.5);
  });
});

describe('exploreNewItems', () => {
  const profile = contentProfile(['h1', 'h2'], universe);

  it('ranks candidates by cosine similarity, best first, ties by index, only scores > 0', () => {
    const picked = exploreNewItems(profile, [8, 7, 6, 5, 4, 3, 2], universe, 10);
    expect(picked.map((p) => universe.view(p.index).itemId)).toEqual(['n1', 'n5', 'n2']);
    expect(picked[0]!.score).toBeCloseTo(picked[1]!.score);
    expect(picked[0]!.score).toBeCloseTo((2 + 1 + 2) / Math.sqrt(10) / Math.sqrt(3));
    expect(picked[2]!.score).toBeCloseTo(2 / Math.sqrt(10) / Math.sqrt(2));
    expect(picked[0]!.score).toBeLessThanOrEqual(1);
  });

  it('takes at most count, skips withdrawn, repeated and out-of-range indices', () => {
    expect(exploreNewItems(profile, [2, 2, 6, 5, -1, 99, 1.5], universe, 1).map((p) => p.index)).toEqual([2]);
    expect(exploreNewItems(profile, [5], universe, 3)).toEqual([]);
    expect(exploreNewItems(profile, [2], universe, 0)).toEqual([]);
    expect(exploreNewItems(new Map(), [2], universe, 3)).toEqual([]);
  });
});

describe('ContentIndex', () => {
  /** The definition, computed the slow way: every candidate's cosine with the profile. */
  function bruteForce(profile: Map<string, number>, u: ReturnType<typeof createItemUniverse>, candidates: number[], count: number, accept: (i: number) => boolean) {
    const scored = [...new Set(candidates)]
      .filter((i) => !u.view(i).withdrawn && accept(i))
      .map((index) => {
        const tokens = contentTokens(u.view(index));
        return { index, score: tokens.length === 0 ? 0 : tokens.reduce((s, t) => s + (profile.get(t) ?? 0), 0) / Math.sqrt(tokens.length) };
      })
      .filter((p) => p.score > 0)
      .sort((a, b) => b.score - a.score || a.index - b.index);
    return scored.slice(0, count);
  }

  it('answers what scoring every candidate answers, for many profiles, counts and accept rules, reusing its scratch space', () => {
    let seed = 3;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const cats = ['a', 'b', 'c', 'd', 'e', 'f'];
    const items = Array.from({ length: 400 }, (_, i) =>
      view(`i${i}`, cats.filter(() => rnd() < 0.3), { brand: `b${Math.floor(rnd() * 4)}`, ...(rnd() < 0.5 ? { eco: true } : {}) }, { withdrawn: rnd() < 0.05 }),
    );
    const u = createItemUniverse(items);
    const candidates = Array.from({ length: 300 }, () => Math.floor(rnd() * 400));
    const index = new ContentIndex(u, candidates);
    for (let trial = 0; trial < 50; trial++) {
      const history = Array.from({ length: 1 + Math.floor(rnd() * 5) }, () => `i${Math.floor(rnd() * 400)}`);
      const profile = contentProfile(history, u);
      const count = 1 + Math.floor(rnd() * 12);
      const banned = new Set(Array.from({ length: 100 }, () => Math.floor(rnd() * 400)));
      const accept = (i: number) => !banned.has(i);
      const got = index.explore(profile, count, accept);
      const want = bruteForce(profile, u, candidates, count, accept);
      expect(got.map((p) => p.index)).toEqual(want.map((p) => p.index));
      got.forEach((p, i) => expect(p.score).toBeCloseTo(want[i]!.score, 12));
    }
  });

  it('visits only candidates that share a token with the profile', () => {
    const visited: number[] = [];
    const index = new ContentIndex(universe, [2, 3, 4, 5, 6, 7, 8]);
    index.explore(contentProfile(['h2'], universe), 10, (i) => (visited.push(i), true));
    // n3 (hats, other brand), n4 (withdrawn), n6 (no tokens) and n7 are never looked at.
    expect(visited.sort()).toEqual([2, 3, 6]);
  });
});

describe('explorationSlots', () => {
  it.each([
    [10, 10, 1],
    [10, 0, 0],
    [10, 4, 0], // round(0.4)
    [10, 5, 1], // round(0.5)
    [10, 100, 10],
    [0, 50, 0],
    [7, 30, 2],
  ])('k=%i share=%i → %i', (k, share, slots) => {
    expect(explorationSlots(k, share)).toBe(slots);
  });
});

describe('newItemCandidates', () => {
  const u = createItemUniverse([
    view('a', ['x'], {}, { createdAtMs: NOW - 10 * DAY }),
    view('b', ['x'], {}, { createdAtMs: NOW - 30 * DAY }),
    view('c', ['x'], {}, { createdAtMs: NOW - 30 * DAY - 1 }),
    view('d', ['x']),
    view('e', ['x'], {}, { createdAtMs: NOW }),
  ]);
  const counts: Record<string, number> = { a: 5, b: 0, c: 0, d: 0, e: 6 };
  const eligible = Uint8Array.from([1, 1, 1, 1, 0]);

  it('keeps eligible items with few interactions, created within newWithinDays (boundary included)', () => {
    expect(newItemCandidates(u, eligible, (id) => counts[id]!, { maxInteractions: 5, newWithinDays: 30 }, NOW)).toEqual([0, 1]);
    expect(newItemCandidates(u, eligible, (id) => counts[id]!, { maxInteractions: 5 }, NOW)).toEqual([0, 1, 2, 3]);
    expect(newItemCandidates(u, Uint8Array.from([1, 1, 1, 1, 1]), (id) => counts[id]!, { maxInteractions: 0 }, NOW)).toEqual([1, 2, 3]);
  });
});
