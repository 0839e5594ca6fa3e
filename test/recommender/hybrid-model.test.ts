import { describe, expect, it } from 'vitest';
import {
  evaluateRecommender,
  generateSyntheticDataset,
  popularityModel,
  stratifiedSplit,
  trainHybridModel,
  type Interaction,
} from '../../src/recommender/index';

const data = generateSyntheticDataset({ users: 400, items: 200, events: 16_000, seed: 11 });
const { train, test } = stratifiedSplit(data.interactions, { seed: 42 });

describe('trainHybridModel on data with known structure', () => {
  const popularity = popularityModel(train);
  const baseline = evaluateRecommender((u, k) => popularity.recommend(u, k).items, train, test, { items: data.items });

  // ItemKNN cosine is kept as a simple reference; EASE and RP3beta are the shipped cores.
  const margins = { ease: 1.3, rp3beta: 1.3, itemknn: 1.05 } as const;
  for (const algorithm of ['ease', 'rp3beta', 'itemknn'] as const) {
    it(`${algorithm} beats popularity on nDCG@10 and precision@10 by ${Math.round((margins[algorithm] - 1) * 100)}% or more`, () => {
      const model = trainHybridModel(train, { items: data.items, config: { algorithm } });
      expect(model.metadata.algorithm).toBe(algorithm);
      const result = evaluateRecommender((u, k) => model.recommend(u, k).items, train, test, { items: data.items });
      expect(result.users).toBe(baseline.users);
      expect(result.ndcg).toBeGreaterThan(baseline.ndcg * margins[algorithm]);
      expect(result.precision).toBeGreaterThan(baseline.precision * margins[algorithm]);
      expect(result.coverage).toBeGreaterThan(baseline.coverage);
    });
  }

  it("picks EASE for a small catalogue and RP3beta once it exceeds easeMaxItems", () => {
    expect(trainHybridModel(train).metadata.algorithm).toBe('ease');
    expect(trainHybridModel(train, { config: { easeMaxItems: 50 } }).metadata.algorithm).toBe('rp3beta');
  });
});

describe('HybridModel', () => {
  const model = trainHybridModel(train, { items: data.items });
  const user = train[0].userId;
  const seen = new Set(train.filter((e) => e.userId === user).map((e) => e.itemId));

  it('returns k distinct unseen items, best first, with scores', () => {
    const rec = model.recommend(user, 10);
    expect(rec.strategy).toBe('personalized');
    expect(rec.items).toHaveLength(10);
    expect(new Set(rec.items.map((i) => i.itemId)).size).toBe(10);
    for (const item of rec.items) expect(seen.has(item.itemId)).toBe(false);
    for (let r = 1; r < rec.items.length; r++) expect(rec.items[r - 1].score).toBeGreaterThanOrEqual(rec.items[r].score);
  });

  it('ranks a given list for a user with the scores recommend gives the same items, unknown items apart', () => {
    const top = model.recommend(user, 30, { excludeSeen: false }).items;
    const shuffled = [...top].reverse().map((i) => i.itemId);
    const ranked = model.rankItems(user, ['not-an-item', ...shuffled, 'nor-this']);
    expect(ranked.strategy).toBe('personalized');
    expect(ranked.items.map((i) => i.itemId)).toEqual(top.map((i) => i.itemId));
    ranked.items.forEach((item, r) => expect(item.score).toBeCloseTo(top[r]!.score, 12));
    expect(ranked.unknown).toEqual(['not-an-item', 'nor-this']);
  });

  it('ranks a list for a user with no history by popularity, equal scores in the order given', () => {
    const popular = model.popular(8).map((i) => i.itemId);
    const ranked = model.rankItems('someone-new', [...popular].reverse());
    expect(ranked.strategy).toBe('popular');
    expect(ranked.items.map((i) => i.itemId)).toEqual(popular);
    const twice = model.rankItems('someone-new', ['zz-unknown']);
    expect(twice).toEqual({ strategy: 'popular', items: [], unknown: ['zz-unknown'], excluded: [] });
  });

  it('can include seen items and honours an exclusion list', () => {
    const withSeen = model.recommend(user, 20, { excludeSeen: false }).items.map((i) => i.itemId);
    expect(withSeen.some((id) => seen.has(id))).toBe(true);
    const first = model.recommend(user, 3).items[0].itemId;
    expect(model.recommend(user, 3, { exclude: [first] }).items.map((i) => i.itemId)).not.toContain(first);
  });

  it('serves an unknown user popular items, and personalises as soon as fresh events arrive', () => {
    const cold = model.recommend('someone-new', 5);
    expect(cold.strategy).toBe('popular');
    expect(cold.items.map((i) => i.itemId)).toEqual(model.popular(5).map((i) => i.itemId));

    // Fresh history taken from an existing user: the newcomer now gets that user's kind of items.
    const history: Interaction[] = train.filter((e) => e.userId === user).map((e) => ({ ...e, userId: 'someone-new' }));
    const warm = model.recommend('someone-new', 10, { history });
    expect(warm.strategy).toBe('personalized');
    expect(warm.items.map((i) => i.itemId)).toEqual(model.recommend(user, 10).items.map((i) => i.itemId));
    for (const item of warm.items) expect(seen.has(item.itemId)).toBe(false);
  });

  it("merges a known user's fresh events with their training history", () => {
    const before = model.recommend(user, 10).items.map((i) => i.itemId);
    const fresh = before.slice(0, 3).map((itemId) => ({ userId: user, itemId, rating: 5, timestamp: Date.now() }));
    const after = model.recommend(user, 10, { history: fresh }).items.map((i) => i.itemId);
    for (const id of before.slice(0, 3)) expect(after).not.toContain(id);
  });

  it('finds related items for an item, never the item itself', () => {
    const item = model.popular(1)[0].itemId;
    const related = model.similar(item, 10);
    expect(related).toHaveLength(10);
    expect(related.map((r) => r.itemId)).not.toContain(item);
    expect(model.similar('no-such-item', 10)).toEqual([]);
  });

  it('exposes item metadata and membership', () => {
    const meta = data.items[0];
    expect(model.itemMeta(meta.itemId)).toEqual(meta);
    expect(model.hasItem(meta.itemId)).toBe(true);
    expect(model.hasUser(user)).toBe(true);
    expect(model.hasUser('nobody')).toBe(false);
    expect(model.itemMeta('nope')).toBeUndefined();
  });

  it('records what it was trained on', () => {
    const t = model.metadata.trainingData;
    expect(t.users).toBe(new Set(train.map((e) => e.userId)).size);
    expect(t.interactions).toBe(new Set(train.map((e) => `${e.userId}|${e.itemId}`)).size);
    expect(Date.parse(t.from)).toBe(Math.min(...train.map((e) => e.timestamp)));
    expect(Date.parse(t.to)).toBe(Math.max(...train.map((e) => e.timestamp)));
    expect(model.metadata.config.neighbors).toBe(200);
  });
});

describe('content signal', () => {
  // Two genres; users like one genre each. Item "new-a" has no interactions but is tagged genre A.
  const interactions: Interaction[] = [];
  const items = [
    ...Array.from({ length: 6 }, (_, i) => ({ itemId: `a${i}`, genres: ['A'] })),
    ...Array.from({ length: 6 }, (_, i) => ({ itemId: `b${i}`, genres: ['B'] })),
    { itemId: 'new-a', genres: ['A'] },
  ];
  for (let u = 0; u < 20; u++) {
    const genre = u % 2 === 0 ? 'a' : 'b';
    for (let i = 0; i < 4; i++) interactions.push({ userId: `u${u}`, itemId: `${genre}${(u + i) % 6}`, rating: 5, timestamp: 1_000_000 + u });
  }
  const model = trainHybridModel(interactions, { items });

  it('recommends a never-interacted item to users whose taste matches its genre, not to others', () => {
    const fanOfA = model.recommend('u0', 3).items.map((i) => i.itemId);
    const fanOfB = model.recommend('u1', 3).items.map((i) => i.itemId);
    expect(fanOfA).toContain('new-a');
    expect(fanOfB).not.toContain('new-a');
  });

  it('relates a cold item to items of its genre', () => {
    const related = model.similar('new-a', 3).map((i) => i.itemId);
    expect(related).toHaveLength(3);
    for (const id of related) expect(id.startsWith('a')).toBe(true);
  });

  it('switches the content signal off with contentWeight 0', () => {
    const plain = trainHybridModel(interactions, { items, config: { contentWeight: 0 } });
    expect(plain.recommend('u0', 3).items.map((i) => i.itemId)).not.toContain('new-a');
  });
});

describe('config validation', () => {
  it('rejects unknown options and bad values with a clear message', () => {
    expect(() => trainHybridModel(train, { config: { neighbors: 0 } })).toThrow(/neighbors must be a positive integer/);
    expect(() => trainHybridModel(train, { config: { easeLambda: -1 } })).toThrow(/easeLambda/);
    expect(() => trainHybridModel(train, { config: { nope: 1 } as never })).toThrow(/unknown config option "nope"/);
    expect(() => trainHybridModel([])).toThrow(/zero interactions/);
  });
});
