import { describe, expect, it } from 'vitest';
import { canonicalCompact, compactFromInteractions, compactToInteractions, temporalSplitCompact } from '../../src/recommender/columnar';
import { createRng } from '../../src/recommender/rng';
import { serializeModel } from '../../src/recommender/serialize';
import { temporalSplit } from '../../src/recommender/split';
import { trainHybridModel } from '../../src/recommender/train';
import type { CollaborativeAlgorithm } from '../../src/recommender/model-config';
import type { HybridModel } from '../../src/recommender/hybrid-model';
import type { Interaction, ItemMeta } from '../../src/recommender/types';

/**
 * Random interactions in random order, with what makes the two forms easy to get wrong: repeated pairs, rows below
 * minRating (a user whose first rows are all filtered out must not take an index), catalogue items never seen, and
 * few distinct timestamps (ties).
 */
function randomData(seed: number, rows = 1_500): { interactions: Interaction[]; items: ItemMeta[] } {
  const rng = createRng(seed);
  const pick = (n: number) => Math.floor(rng() * n);
  const interactions: Interaction[] = [];
  for (let r = 0; r < rows; r++) {
    interactions.push({ userId: `u${pick(120)}`, itemId: `i${pick(90)}`, rating: 0.5 + pick(10) / 2, timestamp: Date.UTC(2026, 0, 1) + pick(40) * 3_600_000 });
  }
  // A user and an item that only occur below minRating, first in the input.
  interactions.unshift({ userId: 'cold', itemId: 'filtered', rating: 0.5, timestamp: Date.UTC(2025, 0, 1) });
  const items: ItemMeta[] = [];
  for (let i = 0; i < 100; i += 3) items.push({ itemId: `i${i}`, title: `Item ${i}`, genres: [`g${i % 7}`, `g${(i + 2) % 7}`] });
  items.push({ itemId: 'unseen', genres: ['g1'] });
  return { interactions, items };
}

/** The stored model minus the two fields that record when and how long (they differ between any two trainings). */
function stored(model: HybridModel): { payload: Buffer; manifest: unknown } {
  const { manifest, payload } = serializeModel(model);
  const { createdAt: _c, trainingSeconds: _s, ...metadata } = manifest.metadata;
  return { payload: Buffer.from(payload), manifest: { ...manifest, metadata } };
}

describe('training from columns (CompactInteractions)', () => {
  it.each<CollaborativeAlgorithm>(['ease', 'rp3beta', 'itemknn'])('trains the same %s model, byte for byte, from the columns as from the objects', (algorithm) => {
    for (const seed of [1, 2, 3]) {
      const { interactions, items } = randomData(seed);
      const config = { algorithm, minRating: 2, neighbors: 20 };
      const fromObjects = stored(trainHybridModel(interactions, { items, config, modelVersion: 'v1' }));
      const fromColumns = stored(trainHybridModel(compactFromInteractions(interactions), { items, config, modelVersion: 'v1' }));
      expect(fromColumns.payload.equals(fromObjects.payload)).toBe(true);
      expect(fromColumns.manifest).toEqual(fromObjects.manifest);
    }
  });

  it('indexes users and items by their first row above minRating, not by their place in the id tables', () => {
    const { interactions, items } = randomData(4);
    const model = trainHybridModel(compactFromInteractions(interactions), { items, config: { minRating: 2 } });
    expect(model.state.userIds).not.toContain('cold');
    expect(model.state.itemIds).not.toContain('filtered');
    expect(model.state.itemIds.slice(0, items.length)).toEqual(items.map((i) => i.itemId));
  });

  it('refuses empty columns and columns with nothing above minRating, as it refuses empty arrays', () => {
    expect(() => trainHybridModel(compactFromInteractions([]))).toThrow('zero interactions');
    expect(() => trainHybridModel(compactFromInteractions([{ userId: 'u', itemId: 'i', rating: 1, timestamp: 0 }]), { config: { minRating: 3 } })).toThrow('minRating');
  });

  it('round-trips objects through columns unchanged', () => {
    const { interactions } = randomData(5, 300);
    expect(compactToInteractions(compactFromInteractions(interactions))).toEqual(interactions);
  });
});

describe('canonicalCompact', () => {
  it('sorts ids and rows by user then item and merges a repeated pair (strongest strength, earliest contact)', () => {
    const c = canonicalCompact(
      compactFromInteractions([
        { userId: 'u2', itemId: 'b', rating: 1, timestamp: 50 },
        { userId: 'u1', itemId: 'c', rating: 2, timestamp: 10 },
        { userId: 'u2', itemId: 'a', rating: 3, timestamp: 40 },
        { userId: 'u2', itemId: 'b', rating: 5, timestamp: 70 },
        { userId: 'u2', itemId: 'b', rating: 4, timestamp: 30 },
      ]),
    );
    expect(c.users).toEqual(['u1', 'u2']);
    expect(c.items).toEqual(['a', 'b', 'c']);
    expect(compactToInteractions(c)).toEqual([
      { userId: 'u1', itemId: 'c', rating: 2, timestamp: 10 },
      { userId: 'u2', itemId: 'a', rating: 3, timestamp: 40 },
      { userId: 'u2', itemId: 'b', rating: 5, timestamp: 30 },
    ]);
  });
});

describe('temporalSplitCompact', () => {
  it('holds out the same rows, in the same order, as temporalSplit, and trains the same model on them', () => {
    for (const seed of [6, 7]) {
      const { interactions, items } = randomData(seed);
      const objects = temporalSplit(interactions, { ratio: 0.8 });
      const columns = temporalSplitCompact(compactFromInteractions(interactions), { ratio: 0.8 });
      expect(compactToInteractions(columns.train)).toEqual(objects.train);
      expect(compactToInteractions(columns.test)).toEqual(objects.test);
      const config = { minRating: 1 };
      expect(stored(trainHybridModel(columns.train, { items, config })).payload.equals(stored(trainHybridModel(objects.train, { items, config })).payload)).toBe(true);
    }
  });

  it('refuses a ratio outside (0, 1) as temporalSplit does', () => {
    expect(() => temporalSplitCompact(compactFromInteractions([]), { ratio: 1 })).toThrow('between 0 and 1');
  });
});
