import { NeighbourBuilder, selectTopK, type InteractionMatrix, type NeighbourLists, type Progress } from './neighbours';

/** Pivots swept together: the rank-b update streams the matrix once per block instead of once per pivot. */
const BLOCK = 48;

/**
 * In-place inverse of a symmetric positive-definite n×n matrix (row-major, full storage) with the
 * blocked sweep operator. The sweep keeps the matrix symmetric, so only the upper triangle is updated
 * (n³/2 multiply-adds) and mirrored at the end. No pivoting is needed for SPD input.
 */
export function invertSpdInPlace(a: Float64Array, n: number, onProgress?: (fraction: number) => void): void {
  const panel = new Float64Array(BLOCK * n);
  const kinv = new Float64Array(BLOCK * BLOCK);
  const f = new Float64Array(BLOCK);
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const kb = Math.min(BLOCK, n - k0);
    const k1 = k0 + kb;
    // 1. Invert the diagonal block (scalar Gauss–Jordan on a symmetric kb×kb copy of the upper triangle).
    for (let s = 0; s < kb; s++) {
      for (let t = s; t < kb; t++) kinv[s * kb + t] = kinv[t * kb + s] = a[(k0 + s) * n + k0 + t];
    }
    for (let p = 0; p < kb; p++) {
      const piv = kinv[p * kb + p];
      if (!(piv > 0) || !Number.isFinite(piv)) throw new Error('matrix is not positive definite (increase easeLambda)');
      const inv = 1 / piv;
      kinv[p * kb + p] = 1;
      for (let t = 0; t < kb; t++) kinv[p * kb + t] *= inv;
      for (let s = 0; s < kb; s++) {
        if (s === p) continue;
        const g = kinv[s * kb + p];
        if (g === 0) continue;
        kinv[s * kb + p] = 0;
        for (let t = 0; t < kb; t++) kinv[s * kb + t] -= g * kinv[p * kb + t];
      }
    }
    // 2. Panel R = Kinv · A[K, :] (zero on the K columns). A[K, j] for j < k0 lives in the upper
    //    triangle as A[j, K].
    panel.fill(0, 0, kb * n);
    for (let j = 0; j < k0; j++) {
      const row = j * n + k0;
      for (let s = 0; s < kb; s++) {
        const v = a[row + s];
        if (v === 0) continue;
        for (let t = 0; t < kb; t++) panel[t * n + j] += kinv[t * kb + s] * v;
      }
    }
    for (let t = 0; t < kb; t++) {
      const pr = t * n;
      for (let s = 0; s < kb; s++) {
        const c = kinv[t * kb + s];
        if (c === 0) continue;
        const ar = (k0 + s) * n;
        for (let j = k1; j < n; j++) panel[pr + j] += c * a[ar + j];
      }
    }
    // 3. Schur update of the upper triangle of every other row: A[i, j≥i] -= A[i, K] · R[:, j].
    //    The swept row's K entries become R[:, i] (= A[i, K]·Kinv by symmetry).
    for (let i = 0; i < n; i++) {
      if (i >= k0 && i < k1) continue;
      const row = i * n;
      if (i < k0) for (let t = 0; t < kb; t++) f[t] = a[row + k0 + t];
      else for (let t = 0; t < kb; t++) f[t] = a[(k0 + t) * n + i];
      let t = 0;
      for (; t + 7 < kb; t += 8) {
        const f0 = f[t];
        const f1 = f[t + 1];
        const f2 = f[t + 2];
        const f3 = f[t + 3];
        const f4 = f[t + 4];
        const f5 = f[t + 5];
        const f6 = f[t + 6];
        const f7 = f[t + 7];
        const p0 = t * n;
        const p1 = p0 + n;
        const p2 = p1 + n;
        const p3 = p2 + n;
        const p4 = p3 + n;
        const p5 = p4 + n;
        const p6 = p5 + n;
        const p7 = p6 + n;
        for (let j = i; j < n; j++) {
          a[row + j] -=
            f0 * panel[p0 + j] + f1 * panel[p1 + j] + f2 * panel[p2 + j] + f3 * panel[p3 + j] +
            f4 * panel[p4 + j] + f5 * panel[p5 + j] + f6 * panel[p6 + j] + f7 * panel[p7 + j];
        }
      }
      for (; t + 3 < kb; t += 4) {
        const f0 = f[t];
        const f1 = f[t + 1];
        const f2 = f[t + 2];
        const f3 = f[t + 3];
        const p0 = t * n;
        const p1 = p0 + n;
        const p2 = p1 + n;
        const p3 = p2 + n;
        for (let j = i; j < n; j++) {
          a[row + j] -= f0 * panel[p0 + j] + f1 * panel[p1 + j] + f2 * panel[p2 + j] + f3 * panel[p3 + j];
        }
      }
      for (; t < kb; t++) {
        const ft = f[t];
        const pt = t * n;
        for (let j = i; j < n; j++) a[row + j] -= ft * panel[pt + j];
      }
      if (i < k0) for (let s = 0; s < kb; s++) a[row + k0 + s] = panel[s * n + i];
    }
    // 4. Pivot rows: R to the right of the block, -Kinv on it.
    for (let t = 0; t < kb; t++) {
      const row = (k0 + t) * n;
      for (let j = k1; j < n; j++) a[row + j] = panel[t * n + j];
      for (let s = t; s < kb; s++) a[row + k0 + s] = -kinv[t * kb + s];
    }
    onProgress?.(k1 / n);
  }
  // Sweeping every pivot leaves -A⁻¹ in the upper triangle: negate and mirror.
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = -a[i * n + j];
      a[i * n + j] = v;
      a[j * n + i] = v;
    }
  }
}

/**
 * EASE (Steck, 2019): B = I - P·diag(1/diag(P)) with P = (XᵀX + λI)⁻¹, diagonal forced to zero; the
 * score of item j for a user is Σ_{i in history} B[i, j]. Rows of B are pruned to the `neighbors`
 * weights largest in magnitude. Items with no interactions get empty rows.
 * Cost: O(Σ_u |h_u|²) to build the Gram matrix, O(n³) time and 8·n² bytes for n active items.
 */
export function trainEase(
  matrix: InteractionMatrix,
  lambda: number,
  neighbors: number,
  onProgress?: Progress,
): NeighbourLists {
  const { userPtr, userItems, items } = matrix;
  // Compact the active items (those with at least one interaction).
  const dense = new Int32Array(items).fill(-1);
  const active: number[] = [];
  for (let p = 0; p < userItems.length; p++) {
    const i = userItems[p];
    if (dense[i] === -1) dense[i] = -2;
  }
  for (let i = 0; i < items; i++) if (dense[i] === -2) dense[i] = active.push(i) - 1;
  const n = active.length;
  if (n * n > 2 ** 31) throw new Error(`EASE needs a dense ${n}×${n} matrix; use algorithm 'rp3beta' or 'itemknn' for this catalogue`);
  const g = new Float64Array(n * n);
  for (let u = 0; u < matrix.users; u++) {
    const start = userPtr[u];
    const end = userPtr[u + 1];
    for (let p = start; p < end; p++) {
      const row = dense[userItems[p]] * n;
      for (let q = start; q < end; q++) g[row + dense[userItems[q]]] += 1;
    }
    if ((u & 1023) === 0) onProgress?.('gram', u / matrix.users);
  }
  for (let i = 0; i < n; i++) g[i * n + i] += lambda;
  invertSpdInPlace(g, n, (fr) => onProgress?.('invert', fr));
  // B[i, j] = -P[i, j] / P[j, j]; keep the largest |weights| of each row i. Negative weights carry
  // signal too ("users who have i rarely want j"): keeping them beat keeping the top positives on ML-100K.
  const invDiag = new Float64Array(n);
  for (let j = 0; j < n; j++) invDiag[j] = 1 / g[j * n + j];
  const builder = new NeighbourBuilder(items, Math.min(neighbors, n));
  const rowVals = new Float64Array(n);
  const candidates = Int32Array.from({ length: n }, (_, j) => j);
  const outIdx = new Int32Array(neighbors);
  const outW = new Float64Array(neighbors);
  const mapped = new Int32Array(neighbors);
  for (let i = 0; i < items; i++) {
    const di = dense[i];
    if (di < 0) {
      builder.addRow(mapped, outW, 0);
      continue;
    }
    const row = di * n;
    for (let j = 0; j < n; j++) rowVals[j] = Math.abs(g[row + j] * invDiag[j]);
    rowVals[di] = 0;
    const count = selectTopK(rowVals, candidates, n, neighbors, outIdx, outW);
    for (let c = 0; c < count; c++) {
      const j = outIdx[c];
      mapped[c] = active[j];
      outW[c] = -g[row + j] * invDiag[j];
    }
    builder.addRow(mapped, outW, count);
    if ((i & 255) === 0) onProgress?.('neighbours', i / items);
  }
  return builder.build();
}
