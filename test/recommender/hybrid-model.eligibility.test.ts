import { describe, expect, it } from 'vitest';
import { generateSyntheticDataset, stratifiedSplit, trainHybridModel, type HybridModel, type Interaction } from '../../src/recommender/index';
import { createRng } from '../../src/recommender/rng';

const data = generateSyntheticDataset({ users: 300, items: 240, events: 12_000, seed: 5 });
const { train } = stratifiedSplit(data.interactions, { seed: 3 });
const model = trainHybridModel(train, { items: data.items });
const users = model.users().slice(0, 40);

/** A seeded mask keeping roughly `share` of the items. */
function randomMask(m: HybridModel, share: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  return Uint8Array.from(m.items(), () => (rng() < share ? 1 : 0));
}

/** Every eligible, unseen item scored one by one (rankItems keeps equal scores in index order, as recommend does). */
function bruteForce(m: HybridModel, userId: string, mask: Uint8Array, k: number, history?: Interaction[]): { itemId: string; score: number }[] {
  const seen = new Set([...m.historyOf(userId), ...(history ?? []).map((e) => e.itemId)]);
  const candidates = m.items().filter((id, j) => mask[j] !== 0 && !seen.has(id));
  return m.rankItems(userId, candidates, { history }).items.slice(0, k);
}

describe('HybridModel eligibility mask', () => {
  it('recommend returns the k best eligible items whenever k exist: the same items and scores as scoring every eligible item', () => {
    for (const [share, seed] of [[0.1, 1], [0.02, 2], [0.5, 3]] as const) {
      const mask = randomMask(model, share, seed);
      for (const user of users) {
        const rec = model.recommend(user, 10, { eligible: mask });
        const expected = bruteForce(model, user, mask, 10);
        expect(rec.items.map((i) => i.itemId)).toEqual(expected.map((i) => i.itemId));
        rec.items.forEach((item, r) => expect(item.score).toBeCloseTo(expected[r]!.score, 12));
        expect(rec.items).toHaveLength(Math.min(10, expected.length));
        expect(rec.exhausted).toBe(expected.length < 10);
      }
    }
  });

  it('a mask keeps the unfiltered ranking of the items it allows (no over-fetch and truncate)', () => {
    const mask = randomMask(model, 0.1, 9);
    const user = users[0]!;
    const all = model.recommend(user, model.itemCount).items;
    const allowed = all.filter((i) => mask[model.itemIndexOf(i.itemId)!] === 1).slice(0, 10);
    expect(allowed).toHaveLength(10);
    expect(model.recommend(user, 10, { eligible: mask }).items).toEqual(allowed);
    expect(model.recommend(user, 10).exhausted).toBe(false);
  });

  it('honours the mask together with exclude, excludeSeen and fresh events', () => {
    const mask = randomMask(model, 0.2, 4);
    const user = users[1]!;
    const first = model.recommend(user, 10, { eligible: mask }).items.map((i) => i.itemId);
    const fresh: Interaction[] = [{ userId: user, itemId: first[1]!, rating: 5, timestamp: 1 }];
    const rec = model.recommend(user, 10, { eligible: mask, exclude: [first[0]!], history: fresh });
    expect(rec.items.map((i) => i.itemId)).not.toContain(first[0]);
    expect(rec.items.map((i) => i.itemId)).not.toContain(first[1]);
    for (const i of rec.items) expect(mask[model.itemIndexOf(i.itemId)!]).toBe(1);
    const withSeen = model.recommend(user, 10, { eligible: mask, excludeSeen: false });
    for (const i of withSeen.items) expect(mask[model.itemIndexOf(i.itemId)!]).toBe(1);
  });

  it('says exhausted, with every eligible item, when fewer than k eligible items exist', () => {
    const user = users[2]!;
    const seen = new Set(model.historyOf(user));
    const unseen = model.items().filter((id) => !seen.has(id)).slice(0, 3);
    const mask = new Uint8Array(model.itemCount);
    for (const id of [...unseen, ...seen]) mask[model.itemIndexOf(id)!] = 1;
    const rec = model.recommend(user, 10, { eligible: mask });
    expect(rec.strategy).toBe('personalized');
    expect(new Set(rec.items.map((i) => i.itemId))).toEqual(new Set(unseen));
    expect(rec.exhausted).toBe(true);
    expect(model.recommend(user, 3, { eligible: mask }).exhausted).toBe(false);
    const none = model.recommend(user, 10, { eligible: new Uint8Array(model.itemCount) });
    expect(none).toEqual({ strategy: 'personalized', items: [], exhausted: true });
  });

  it('alongside answers, from the same pass, exactly what a second recommend with its mask answers (scores, because, exclusions)', () => {
    for (const [share, seed] of [[0.1, 11], [0.5, 12], [0.01, 13]] as const) {
      const mask = randomMask(model, 0.6, seed);
      const second = randomMask(model, share, seed + 100);
      for (const user of [...users.slice(0, 15), 'someone-new']) {
        const fresh = [{ userId: user, itemId: model.items()[seed]!, rating: 5, timestamp: 1 }];
        const exclude = [model.items()[seed + 1]!];
        const both = model.recommend(user, 10, { eligible: mask, explain: true, history: fresh, exclude, alongside: { eligible: second, k: 3 } });
        const { alongside, ...main } = both;
        expect(main).toEqual(model.recommend(user, 10, { eligible: mask, explain: true, history: fresh, exclude }));
        expect(alongside).toEqual(model.recommend(user, 3, { eligible: second, explain: true, history: fresh, exclude }).items);
      }
    }
    expect(model.recommend(users[0]!, 5).alongside).toBeUndefined();
    expect(() => model.recommend(users[0]!, 5, { alongside: { eligible: new Uint8Array(3), k: 2 } })).toThrow(RangeError);
  });

  it('treats any non-zero mask entry as eligible', () => {
    const mask = randomMask(model, 0.3, 6).map((v) => v * 255);
    const ones = mask.map((v) => (v ? 1 : 0));
    expect(model.recommend(users[3]!, 10, { eligible: mask })).toEqual(model.recommend(users[3]!, 10, { eligible: ones }));
  });

  it('popular and the popular fallback of recommend skip ineligible items and still fill k', () => {
    const mask = randomMask(model, 0.1, 7);
    const byPopularity = model.popular(model.itemCount);
    const expected = byPopularity.filter((i) => mask[model.itemIndexOf(i.itemId)!] === 1);
    expect(model.popular(10, { eligible: mask })).toEqual(expected.slice(0, 10));
    expect(model.popular(10, { eligible: mask, exclude: [expected[0]!.itemId] })).toEqual(expected.slice(1, 11));
    const cold = model.recommend('someone-new', 10, { eligible: mask });
    expect(cold).toEqual({ strategy: 'popular', items: expected.slice(0, 10), exhausted: false });
    const few = model.recommend('someone-new', expected.length + 5, { eligible: mask });
    expect(few.items).toEqual(expected);
    expect(few.exhausted).toBe(true);
    // Fresh events below minRating leave the user cold; what they touched still counts as seen.
    const strict = trainHybridModel(train, { items: data.items, config: { minRating: 3 } });
    const strictMask = randomMask(strict, 0.1, 7);
    const strictExpected = strict.popular(strict.itemCount).filter((i) => strictMask[strict.itemIndexOf(i.itemId)!] === 1);
    const fresh = [{ userId: 'someone-new', itemId: strictExpected[0]!.itemId, rating: 1, timestamp: 1 }];
    const stillCold = strict.recommend('someone-new', 3, { eligible: strictMask, history: fresh });
    expect(stillCold).toEqual({ strategy: 'popular', items: strictExpected.slice(1, 4), exhausted: false });
  });

  it('similar returns the k most related eligible items, and fewer when fewer eligible items are related at all', () => {
    const item = model.popular(1)[0]!.itemId;
    const related = model.similar(item, model.itemCount);
    const mask = randomMask(model, 0.1, 8);
    const expected = related.filter((r) => mask[model.itemIndexOf(r.itemId)!] === 1);
    expect(expected.length).toBeGreaterThan(5);
    expect(model.similar(item, 5, { eligible: mask })).toEqual(expected.slice(0, 5));
    expect(model.similar(item, expected.length + 10, { eligible: mask })).toEqual(expected);
    // Only two related items allowed, plus items unrelated to it: just the two come back.
    const relatedSet = new Set(related.map((r) => r.itemId));
    const two = new Uint8Array(model.itemCount);
    for (const r of related.slice(3, 5)) two[model.itemIndexOf(r.itemId)!] = 1;
    two[model.itemIndexOf(item)!] = 1;
    const unrelated = model.items().filter((id) => id !== item && !relatedSet.has(id));
    for (const id of unrelated) two[model.itemIndexOf(id)!] = 1;
    expect(model.similar(item, 10, { eligible: two })).toEqual(related.slice(3, 5));
  });

  it('rankItems leaves out ineligible items, lists them in excluded in the order given, scores unchanged', () => {
    const user = users[4]!;
    const list = model.items().slice(0, 60);
    const mask = randomMask(model, 0.5, 10);
    const plain = model.rankItems(user, ['nope-1', ...list, 'nope-2']);
    const masked = model.rankItems(user, ['nope-1', ...list, 'nope-2'], { eligible: mask });
    expect(masked.excluded).toEqual(list.filter((id) => mask[model.itemIndexOf(id)!] === 0));
    expect(masked.unknown).toEqual(['nope-1', 'nope-2']);
    expect(masked.items).toEqual(plain.items.filter((i) => mask[model.itemIndexOf(i.itemId)!] === 1));
    expect(plain.excluded).toEqual([]);
    const cold = model.rankItems('someone-new', list, { eligible: mask });
    expect(cold.strategy).toBe('popular');
    expect(cold.excluded).toEqual(masked.excluded);
  });

  it('refuses a mask whose length differs from the item count, or that is not a Uint8Array, naming the field', () => {
    const n = model.itemCount;
    for (const bad of [new Uint8Array(n - 1), new Uint8Array(n + 1), new Uint8Array(0)]) {
      const message = `eligible has length ${bad.length} but the model has ${n} items`;
      expect(() => model.recommend(users[0]!, 10, { eligible: bad })).toThrow(message);
      expect(() => model.recommend('someone-new', 10, { eligible: bad })).toThrow(message);
      expect(() => model.popular(10, { eligible: bad })).toThrow(message);
      expect(() => model.similar(model.items()[0]!, 10, { eligible: bad })).toThrow(message);
      expect(() => model.similar('no-such-item', 10, { eligible: bad })).toThrow(message);
      expect(() => model.rankItems(users[0]!, ['x'], { eligible: bad })).toThrow(message);
    }
    const notBytes = Array.from({ length: n }, () => 1) as unknown as Uint8Array;
    expect(() => model.recommend(users[0]!, 10, { eligible: notBytes })).toThrow('eligible must be a Uint8Array');
  });
});

describe('HybridModel item accessors', () => {
  it('itemIndexOf gives the index into items() and into a mask; undefined for unknown ids', () => {
    model.items().forEach((id, j) => expect(model.itemIndexOf(id)).toBe(j));
    expect(model.itemIndexOf('no-such-item')).toBeUndefined();
    expect(model.itemIndexOf('__proto__')).toBeUndefined();
  });

  it('interactionCount counts the distinct training users of an item (0 for an item the model does not know)', () => {
    const users = new Map<string, Set<string>>();
    for (const e of train) if (e.rating >= model.metadata.config.minRating) (users.get(e.itemId) ?? users.set(e.itemId, new Set()).get(e.itemId)!).add(e.userId);
    for (const id of model.items()) expect(model.interactionCount(id)).toBe(users.get(id)?.size ?? 0);
    model.items().forEach((id, j) => expect(model.interactionCountAt(j)).toBe(model.interactionCount(id)));
    expect(model.interactionCount('no-such-item')).toBe(0);
    for (const bad of [-1, model.itemCount, 1.5, Number.NaN]) expect(() => model.interactionCountAt(bad)).toThrow(/index must be an integer from 0 to/);
  });
});
