import { describe, expect, it } from 'vitest';
import { generateSyntheticDataset } from '../../src/recommender/index';

describe('generateSyntheticDataset', () => {
  const options = { users: 300, items: 150, events: 9000, seed: 9, startMs: Date.UTC(2021, 0, 1), endMs: Date.UTC(2022, 0, 1) };
  const { interactions, items } = generateSyntheticDataset(options);

  it('produces exactly the requested events, each (user, item) pair once, within the time range', () => {
    expect(interactions).toHaveLength(9000);
    expect(items).toHaveLength(150);
    expect(new Set(interactions.map((e) => `${e.userId}|${e.itemId}`)).size).toBe(9000);
    const outOfRange = interactions.filter((e) => e.timestamp < options.startMs || e.timestamp >= options.endMs);
    expect(outOfRange).toEqual([]);
    expect(new Set(interactions.map((e) => e.rating))).toEqual(new Set([1, 2, 3, 4, 5]));
    expect(new Set(interactions.map((e) => e.userId)).size).toBe(300);
  });

  it('is deterministic for a seed', () => {
    expect(generateSyntheticDataset(options).interactions).toEqual(interactions);
    expect(generateSyntheticDataset({ ...options, seed: 10 }).interactions).not.toEqual(interactions);
  });

  it('has a long-tailed popularity and genres on every item', () => {
    const counts = new Map<string, number>();
    for (const e of interactions) counts.set(e.itemId, (counts.get(e.itemId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top10 = sorted.slice(0, 15).reduce((a, b) => a + b, 0);
    expect(top10 / interactions.length).toBeGreaterThan(0.2); // top 10% of items carry > 20% of events
    for (const item of items) expect(item.genres.length).toBeGreaterThan(0);
  });

  it('rejects sizes that cannot be met', () => {
    expect(() => generateSyntheticDataset({ users: 2, items: 4, events: 100 })).toThrow(/cannot fit/);
    expect(() => generateSyntheticDataset({ users: 0, items: 4, events: 1 })).toThrow(/users must be a positive integer/);
  });
});
