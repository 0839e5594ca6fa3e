import { describe, expect, it } from 'vitest';
import { invertSpdInPlace } from '../../src/recommender/ease';
import { trainHybridModel, type Interaction } from '../../src/recommender/index';
import { createRng } from '../../src/recommender/rng';

function randomSpd(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const a = new Float64Array(n * n);
  for (let r = 0; r < 3 * n; r++) {
    const row = Array.from({ length: n }, () => (rng() < 0.2 ? 1 : 0));
    for (let i = 0; i < n; i++) if (row[i]) for (let j = 0; j < n; j++) a[i * n + j] += row[j];
  }
  for (let i = 0; i < n; i++) a[i * n + i] += 2;
  return a;
}

describe('invertSpdInPlace', () => {
  // Sizes around the block size exercise partial blocks.
  for (const n of [1, 5, 47, 48, 49, 130]) {
    it(`inverts a ${n}×${n} SPD matrix (A·A⁻¹ = I)`, () => {
      const a = randomSpd(n, n);
      const inv = a.slice();
      invertSpdInPlace(inv, n);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let k = 0; k < n; k++) s += a[i * n + k] * inv[k * n + j];
          expect(Math.abs(s - (i === j ? 1 : 0))).toBeLessThan(1e-9);
        }
      }
    });
  }
});

describe('EASE', () => {
  it('matches the closed form B = I - P·diag(1/diag P) on a tiny data set', () => {
    const rows = [
      ['a', 'b'],
      ['a', 'b', 'c'],
      ['b', 'c'],
      ['a', 'c', 'd'],
      ['d'],
    ];
    const interactions: Interaction[] = rows.flatMap((items, u) => items.map((itemId) => ({ userId: `u${u}`, itemId, rating: 1, timestamp: 0 })));
    const lambda = 0.5;
    const model = trainHybridModel(interactions, { config: { algorithm: 'ease', easeLambda: lambda, contentWeight: 0 } });
    const ids = ['a', 'b', 'c', 'd'];
    const n = 4;
    const g = new Float64Array(n * n);
    for (const r of rows) for (const x of r) for (const y of r) g[ids.indexOf(x) * n + ids.indexOf(y)] += 1;
    for (let i = 0; i < n; i++) g[i * n + i] += lambda;
    invertSpdInPlace(g, n);
    const { nbrPtr, nbrIdx, nbrW, itemIds } = model.state;
    for (let i = 0; i < n; i++) {
      const mi = itemIds.indexOf(ids[i]);
      const row = new Map<string, number>();
      for (let p = nbrPtr[mi]; p < nbrPtr[mi + 1]; p++) row.set(itemIds[nbrIdx[p]], nbrW[p]);
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const expected = -g[i * n + j] / g[j * n + j];
        expect(row.get(ids[j]) ?? 0).toBeCloseTo(expected, 5);
      }
    }
  });
});
