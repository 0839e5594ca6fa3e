import { NeighbourBuilder, selectTopK, type InteractionMatrix, type NeighbourLists, type Progress } from './neighbours';

export type SparseSimilarity =
  | { kind: 'itemknn'; shrink: number }
  | { kind: 'rp3beta'; alpha: number; beta: number };

/** Item → users lists (the transpose of the interaction matrix). */
export function transpose(matrix: InteractionMatrix): { itemPtr: Int32Array; itemUsers: Int32Array } {
  const { userPtr, userItems, users, items } = matrix;
  const itemPtr = new Int32Array(items + 1);
  for (let p = 0; p < userItems.length; p++) itemPtr[userItems[p] + 1]++;
  for (let i = 0; i < items; i++) itemPtr[i + 1] += itemPtr[i];
  const fill = itemPtr.slice(0, items);
  const itemUsers = new Int32Array(userItems.length);
  for (let u = 0; u < users; u++) {
    for (let p = userPtr[u]; p < userPtr[u + 1]; p++) itemUsers[fill[userItems[p]]++] = u;
  }
  return { itemPtr, itemUsers };
}

/**
 * Sparse item-item similarity from co-occurrence, pruned to the top `neighbors` per item:
 * - itemknn: cosine with shrinkage, co(i,j) / (√(nᵢ·nⱼ) + shrink);
 * - rp3beta (Paudel et al., 2017): random-walk item→user→item probabilities raised to α, divided by
 *   the target's popularity^β (lifts long-tail items).
 * Cost: O(Σ_u |h_u|²) time (co-occurring pairs), O(interactions + items·neighbors) memory; no dense
 * item×item matrix, so it scales to large catalogues.
 */
export function trainSparseSimilarity(
  matrix: InteractionMatrix,
  similarity: SparseSimilarity,
  neighbors: number,
  onProgress?: Progress,
): NeighbourLists {
  const { userPtr, userItems, users, items } = matrix;
  const { itemPtr, itemUsers } = transpose(matrix);
  const degI = new Float64Array(items);
  for (let i = 0; i < items; i++) degI[i] = itemPtr[i + 1] - itemPtr[i];
  // Per-user walk weight (1/|h_u|)^α for rp3beta; 1 for cosine.
  const userWeight = new Float64Array(users);
  for (let u = 0; u < users; u++) {
    const d = userPtr[u + 1] - userPtr[u];
    userWeight[u] = similarity.kind === 'rp3beta' ? (d > 0 ? Math.pow(1 / d, similarity.alpha) : 0) : 1;
  }
  // Per-target-item factor: 1/pop^β (rp3beta) or 1/√n (cosine).
  const targetFactor = new Float64Array(items);
  for (let j = 0; j < items; j++) {
    const d = degI[j];
    if (d === 0) continue;
    targetFactor[j] = similarity.kind === 'rp3beta' ? 1 / Math.pow(d, similarity.beta) : 1 / Math.sqrt(d);
  }
  const acc = new Float64Array(items);
  const touched = new Int32Array(items);
  const values = new Float64Array(items);
  const outIdx = new Int32Array(neighbors);
  const outW = new Float64Array(neighbors);
  const builder = new NeighbourBuilder(items, neighbors);
  for (let i = 0; i < items; i++) {
    let count = 0;
    for (let p = itemPtr[i]; p < itemPtr[i + 1]; p++) {
      const u = itemUsers[p];
      const wu = userWeight[u];
      for (let q = userPtr[u]; q < userPtr[u + 1]; q++) {
        const j = userItems[q];
        if (acc[j] === 0) touched[count++] = j;
        acc[j] += wu;
      }
    }
    const di = degI[i];
    const rowFactor = similarity.kind === 'rp3beta' ? (di > 0 ? Math.pow(1 / di, similarity.alpha) : 0) : 0;
    for (let c = 0; c < count; c++) {
      const j = touched[c];
      const co = acc[j];
      acc[j] = 0;
      if (j === i) {
        values[j] = 0;
        continue;
      }
      values[j] =
        similarity.kind === 'rp3beta'
          ? rowFactor * co * targetFactor[j]
          : co / (Math.sqrt(di * degI[j]) + similarity.shrink);
    }
    const kept = selectTopK(values, touched, count, neighbors, outIdx, outW);
    builder.addRow(outIdx, outW, kept);
    if ((i & 1023) === 0) onProgress?.('neighbours', i / items);
  }
  return builder.build();
}
