/** Top-K neighbour lists per item in CSR form: row i holds (idx, w) pairs, best first. */
export interface NeighbourLists {
  ptr: Int32Array;
  idx: Int32Array;
  w: Float32Array;
}

/** Interactions as a binary user×item matrix in CSR form (item indices sorted within each user). */
export interface InteractionMatrix {
  users: number;
  items: number;
  userPtr: Int32Array;
  userItems: Int32Array;
}

export type Progress = (stage: string, fraction: number) => void;

/** Collects rows of top-K neighbours into growable CSR arrays. */
export class NeighbourBuilder {
  private idx: Int32Array;
  private w: Float32Array;
  private readonly ptr: Int32Array;
  private length = 0;
  private row = 0;

  constructor(readonly items: number, expectedPerRow: number) {
    this.ptr = new Int32Array(items + 1);
    const cap = Math.max(16, Math.min(items * expectedPerRow, 1 << 26));
    this.idx = new Int32Array(cap);
    this.w = new Float32Array(cap);
  }

  /** Appends the next row; rows must be added in order 0..items-1. */
  addRow(indices: ArrayLike<number>, weights: ArrayLike<number>, count: number): void {
    if (this.length + count > this.idx.length) {
      const cap = Math.max(this.length + count, this.idx.length * 2);
      const idx = new Int32Array(cap);
      idx.set(this.idx.subarray(0, this.length));
      const w = new Float32Array(cap);
      w.set(this.w.subarray(0, this.length));
      this.idx = idx;
      this.w = w;
    }
    for (let p = 0; p < count; p++) {
      this.idx[this.length + p] = indices[p];
      this.w[this.length + p] = weights[p];
    }
    this.length += count;
    this.ptr[++this.row] = this.length;
  }

  build(): NeighbourLists {
    while (this.row < this.items) this.ptr[++this.row] = this.length;
    return { ptr: this.ptr, idx: this.idx.slice(0, this.length), w: this.w.slice(0, this.length) };
  }
}

/**
 * Selects the k largest values among `candidates` (indices into `values`) and writes them best first
 * into outIdx/outW; returns how many were written. Values <= floor are skipped.
 */
export function selectTopK(
  values: Float64Array,
  candidates: Int32Array,
  count: number,
  k: number,
  outIdx: Int32Array,
  outW: Float64Array,
  floor = 0,
): number {
  // Min-heap over positions 0..size-1 of outIdx/outW.
  let size = 0;
  for (let c = 0; c < count; c++) {
    const j = candidates[c];
    const v = values[j];
    if (!(v > floor)) continue;
    if (size < k) {
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (outW[p] < v || (outW[p] === v && outIdx[p] > j)) break;
        outW[i] = outW[p];
        outIdx[i] = outIdx[p];
        i = p;
      }
      outW[i] = v;
      outIdx[i] = j;
    } else if (v > outW[0] || (v === outW[0] && j < outIdx[0])) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= size) break;
        const r = l + 1;
        let m = l;
        if (r < size && (outW[r] < outW[l] || (outW[r] === outW[l] && outIdx[r] > outIdx[l]))) m = r;
        if (outW[m] > v || (outW[m] === v && outIdx[m] < j)) break;
        outW[i] = outW[m];
        outIdx[i] = outIdx[m];
        i = m;
      }
      outW[i] = v;
      outIdx[i] = j;
    }
  }
  // Heap-sort in place: repeatedly move the minimum to the end, leaving the array best first.
  for (let end = size - 1; end > 0; end--) {
    const tw = outW[0];
    const ti = outIdx[0];
    outW[0] = outW[end];
    outIdx[0] = outIdx[end];
    outW[end] = tw;
    outIdx[end] = ti;
    let i = 0;
    const v = outW[0];
    const j = outIdx[0];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= end) break;
      const r = l + 1;
      let m = l;
      if (r < end && (outW[r] < outW[l] || (outW[r] === outW[l] && outIdx[r] > outIdx[l]))) m = r;
      if (outW[m] > v || (outW[m] === v && outIdx[m] < j)) break;
      outW[i] = outW[m];
      outIdx[i] = outIdx[m];
      i = m;
    }
    outW[i] = v;
    outIdx[i] = j;
  }
  return size;
}
