import { describe, expect, it } from 'vitest';
import { generateSyntheticDataset, stratifiedSplit, temporalSplit, type Interaction } from '../../src/recommender/index';

const { interactions } = generateSyntheticDataset({ users: 120, items: 80, events: 3000, seed: 3 });
const key = (e: Interaction) => `${e.userId}|${e.itemId}`;

function countByUser(list: Interaction[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of list) m.set(e.userId, (m.get(e.userId) ?? 0) + 1);
  return m;
}

describe('stratifiedSplit', () => {
  it('gives every user round(75%) of their interactions in train and keeps every interaction exactly once', () => {
    const { train, test } = stratifiedSplit(interactions, { ratio: 0.75, seed: 42 });
    expect(train.length + test.length).toBe(interactions.length);
    expect(new Set([...train, ...test].map(key)).size).toBe(interactions.length);
    const total = countByUser(interactions);
    const inTrain = countByUser(train);
    for (const [user, n] of total) expect(inTrain.get(user) ?? 0).toBe(Math.round(0.75 * n));
  });

  it('is reproducible for a seed and different across seeds', () => {
    const a = stratifiedSplit(interactions, { seed: 42 });
    const b = stratifiedSplit(interactions, { seed: 42 });
    const c = stratifiedSplit(interactions, { seed: 43 });
    expect(a.test.map(key)).toEqual(b.test.map(key));
    expect(new Set(c.test.map(key))).not.toEqual(new Set(a.test.map(key)));
  });

  it('rejects a ratio outside (0, 1)', () => {
    expect(() => stratifiedSplit(interactions, { ratio: 1 })).toThrow(/ratio/);
  });
});

describe('temporalSplit', () => {
  it("holds out each user's latest interactions", () => {
    const { train, test } = temporalSplit(interactions, { ratio: 0.75 });
    const lastTrain = new Map<string, number>();
    for (const e of train) lastTrain.set(e.userId, Math.max(lastTrain.get(e.userId) ?? -Infinity, e.timestamp));
    for (const e of test) expect(e.timestamp).toBeGreaterThanOrEqual(lastTrain.get(e.userId) ?? -Infinity);
    const total = countByUser(interactions);
    const inTrain = countByUser(train);
    for (const [user, n] of total) expect(inTrain.get(user) ?? 0).toBe(Math.round(0.75 * n));
  });
});
