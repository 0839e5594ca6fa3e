import { describe, expect, it } from 'vitest';
import { deserializeModel, evaluateRecommender, popularityModel, resolveHybridConfig, serializeModel, trainHybridModel, type Interaction } from '../../src/recommender/index';

/** Ids and genres are user data: names of Object.prototype members must be ordinary keys everywhere. */
const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];

describe('recommender with ids named after Object.prototype members', () => {
  const interactions: Interaction[] = [];
  let t = Date.parse('2026-11-01T00:00:00Z');
  NAMES.forEach((user, u) => NAMES.forEach((item, i) => (i + u) % 3 !== 0 && interactions.push({ userId: user, itemId: item, rating: 1 + ((u + i) % 5), timestamp: (t += 1000) })));
  const items = NAMES.map((itemId) => ({ itemId, genres: [NAMES[(itemId.length) % NAMES.length]!] }));

  for (const algorithm of ['ease', 'itemknn', 'rp3beta'] as const) {
    it(`${algorithm} trains, recommends and round-trips its artifact`, () => {
      const model = trainHybridModel(interactions, { items, config: { algorithm, minRating: 0 } });
      for (const user of NAMES) {
        const rec = model.recommend(user, 10);
        for (const r of rec.items) {
          expect(NAMES).toContain(r.itemId);
          expect(typeof r.score).toBe('number');
        }
        expect(rec.items.map((r) => r.itemId)).not.toContain(undefined);
      }
      const back = deserializeModel(serializeModel(model));
      for (const user of NAMES) expect(back.recommend(user, 10)).toEqual(model.recommend(user, 10));
      const result = evaluateRecommender((u, k) => model.recommend(u, k).items, interactions, interactions, { items });
      expect(Number.isFinite(result.ndcg)).toBe(true);
    });
  }

  it('masks, explains, ranks and counts items named after Object.prototype members', () => {
    const model = trainHybridModel(interactions, { items, config: { minRating: 0 } });
    expect(model.itemIndexOf('__proto__')).toBe(model.items().indexOf('__proto__'));
    expect(model.itemIndexOf('constructor')).toBe(model.items().indexOf('constructor'));
    expect(model.itemIndexOf('__defineGetter__')).toBeUndefined();
    expect(model.interactionCount('__proto__')).toBe(interactions.filter((e) => e.itemId === '__proto__').length);
    expect(model.interactionCount('__lookupSetter__')).toBe(0);
    // Only __proto__ and constructor may be returned.
    const mask = Uint8Array.from(model.items(), (id) => (id === '__proto__' || id === 'constructor' ? 1 : 0));
    for (const user of NAMES) {
      const rec = model.recommend(user, 10, { eligible: mask, explain: true, excludeSeen: false });
      expect(rec.items.map((r) => r.itemId).sort()).toEqual(['__proto__', 'constructor']);
      expect(rec.exhausted).toBe(true);
      for (const r of rec.items) for (const id of r.because ?? []) expect(model.historyOf(user)).toContain(id);
      const ranked = model.rankItems(user, ['toString', '__proto__', 'constructor', '__defineSetter__'], { eligible: mask, explain: true });
      expect(ranked.excluded).toEqual(['toString']);
      expect(ranked.unknown).toEqual(['__defineSetter__']);
      expect(ranked.items.map((r) => r.itemId).sort()).toEqual(['__proto__', 'constructor']);
    }
    expect(model.popular(10, { eligible: mask }).map((r) => r.itemId).sort()).toEqual(['__proto__', 'constructor']);
    for (const r of model.similar('__proto__', 10, { eligible: mask })) expect(r.itemId).toBe('constructor');
  });

  it('popularity counts each name as an item', () => {
    const pop = popularityModel(interactions);
    expect(new Set(pop.recommend('nobody', 10).items.map((r) => r.itemId))).toEqual(new Set(NAMES));
  });

  it('refuses config options named after Object.prototype members', () => {
    expect(() => resolveHybridConfig({ constructor: 1 } as never)).toThrow('unknown config option "constructor"');
    expect(() => resolveHybridConfig({ toString: 1 } as never)).toThrow('unknown config option "toString"');
  });
});
