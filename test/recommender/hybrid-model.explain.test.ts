import { describe, expect, it } from 'vitest';
import { generateSyntheticDataset, stratifiedSplit, trainHybridModel, type HybridModel, type Interaction } from '../../src/recommender/index';

const data = generateSyntheticDataset({ users: 300, items: 240, events: 12_000, seed: 5 });
const { train } = stratifiedSplit(data.interactions, { seed: 3 });

/**
 * The reasons for `itemId`, worked out from scratch: every history item's summed neighbour weight towards it,
 * positive ones largest first (ties: earlier in the history), top 3; if none, history items sharing the most
 * genres with it.
 */
function expectedBecause(m: HybridModel, history: readonly string[], itemId: string): string[] | undefined {
  const { nbrPtr, nbrIdx, nbrW } = m.state;
  const j = m.itemIndexOf(itemId)!;
  const collaborative = history
    .map((id, h) => {
      const i = m.itemIndexOf(id)!;
      let w = 0;
      for (let p = nbrPtr[i]!; p < nbrPtr[i + 1]!; p++) if (nbrIdx[p] === j) w += nbrW[p]!;
      return { id, h, w };
    })
    .filter((c) => c.w > 0)
    .sort((a, b) => b.w - a.w || a.h - b.h);
  if (collaborative.length > 0) return collaborative.slice(0, 3).map((c) => c.id);
  const genres = new Set(m.itemMeta(itemId)!.genres);
  const content = history
    .map((id, h) => ({ id, h, shared: id === itemId ? 0 : m.itemMeta(id)!.genres.filter((g) => genres.has(g)).length }))
    .filter((c) => c.shared > 0)
    .sort((a, b) => b.shared - a.shared || a.h - b.h);
  return content.length > 0 ? content.slice(0, 3).map((c) => c.id) : undefined;
}

describe('HybridModel because reasons', () => {
  for (const algorithm of ['ease', 'rp3beta'] as const) {
    const model = trainHybridModel(train, { items: data.items, config: { algorithm } });

    it(`${algorithm}: each personalised item names its top collaborative contributors from the history`, () => {
      let withReasons = 0;
      for (const user of model.users().slice(0, 60)) {
        const history = model.historyOf(user);
        const rec = model.recommend(user, 20, { explain: true });
        expect(rec.strategy).toBe('personalized');
        for (const item of rec.items) {
          expect(item.because).toEqual(expectedBecause(model, history, item.itemId));
          if (item.because) {
            withReasons++;
            expect(item.because.length).toBeGreaterThanOrEqual(1);
            expect(item.because.length).toBeLessThanOrEqual(3);
            for (const id of item.because) expect(history).toContain(id);
          }
        }
        // Explaining changes nothing else.
        const plain = model.recommend(user, 20);
        expect(rec.items.map(({ itemId, score }) => ({ itemId, score }))).toEqual(plain.items);
        for (const item of plain.items) expect(item).not.toHaveProperty('because');
      }
      expect(withReasons).toBeGreaterThan(1000);
    });
  }

  const model = trainHybridModel(train, { items: data.items });

  it('works with a mask, with seen items included, and over fresh events', () => {
    const user = model.users()[7]!;
    const history = model.historyOf(user);
    const mask = Uint8Array.from(model.items(), (_, j) => (j % 7 === 0 ? 1 : 0));
    for (const rec of [model.recommend(user, 15, { explain: true, eligible: mask }), model.recommend(user, 15, { explain: true, excludeSeen: false })]) {
      expect(rec.items.length).toBe(15);
      for (const item of rec.items) expect(item.because).toEqual(expectedBecause(model, history, item.itemId));
    }
    const fresh: Interaction[] = history.slice(0, 5).map((itemId, t) => ({ userId: 'newcomer', itemId, rating: 5, timestamp: t }));
    const warm = model.recommend('newcomer', 10, { history: fresh, explain: true });
    expect(warm.strategy).toBe('personalized');
    for (const item of warm.items) {
      expect(item.because).toEqual(expectedBecause(model, history.slice(0, 5), item.itemId));
      for (const id of item.because ?? []) expect(history.slice(0, 5)).toContain(id);
    }
  });

  it('gives popular-fallback items no reasons', () => {
    const cold = model.recommend('someone-new', 10, { explain: true });
    expect(cold.strategy).toBe('popular');
    for (const item of cold.items) expect(item).not.toHaveProperty('because');
    for (const item of model.rankItems('someone-new', model.items().slice(0, 20), { explain: true }).items) expect(item).not.toHaveProperty('because');
  });

  it('rankItems explains its items as recommend does, repeated ids included', () => {
    const user = model.users()[3]!;
    const top = model.recommend(user, 30, { explain: true }).items;
    const ids = top.map((i) => i.itemId).reverse();
    const ranked = model.rankItems(user, [...ids, ids[0]!], { explain: true });
    const byId = new Map(top.map((i) => [i.itemId, i.because]));
    for (const item of ranked.items) expect(item.because).toEqual(byId.get(item.itemId));
    expect(ranked.items.filter((i) => i.because !== undefined).length).toBeGreaterThan(20);
    // The scratch index is cleared after use: a second, different call is unaffected by the first.
    const again = model.recommend(user, 30, { explain: true }).items;
    expect(again).toEqual(top);
  });

  describe('content-only items', () => {
    // Users like one genre each; "new-a" has no interactions but is tagged genre A, "new-ab" both genres.
    const interactions: Interaction[] = [];
    const items = [
      ...Array.from({ length: 6 }, (_, i) => ({ itemId: `a${i}`, genres: i < 2 ? ['A', 'B'] : ['A'] })),
      ...Array.from({ length: 6 }, (_, i) => ({ itemId: `b${i}`, genres: ['B'] })),
      { itemId: 'new-a', genres: ['A'] },
      { itemId: 'new-ab', genres: ['A', 'B'] },
    ];
    for (let u = 0; u < 20; u++) {
      const genre = u % 2 === 0 ? 'a' : 'b';
      for (let i = 0; i < 4; i++) interactions.push({ userId: `u${u}`, itemId: `${genre}${(u + i) % 6}`, rating: 5, timestamp: 1_000_000 + u });
    }
    const small = trainHybridModel(interactions, { items });

    it('name the history items sharing the most genres with them', () => {
      const history = small.historyOf('u0');
      const rec = small.recommend('u0', 5, { explain: true });
      const cold = rec.items.filter((i) => i.itemId.startsWith('new-'));
      expect(cold.length).toBeGreaterThan(0);
      for (const item of rec.items) expect(item.because).toEqual(expectedBecause(small, history, item.itemId));
      const newAb = small.rankItems('u0', ['new-ab'], { explain: true }).items[0]!;
      // a0 and a1 share both genres with new-ab, so they come first.
      expect(newAb.because).toEqual(expectedBecause(small, history, 'new-ab'));
      expect(newAb.because!.slice(0, 2).sort()).toEqual(['a0', 'a1']);
      expect(newAb.because).toHaveLength(3);
    });
  });
});
