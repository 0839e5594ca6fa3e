/**
 * Bounded min-heap that keeps the k best (score, index) pairs seen; O(n log k) over n candidates.
 * Ties go to the lower index so results are deterministic.
 */
export class TopK {
  private readonly scores: Float64Array;
  private readonly indices: Int32Array;
  private size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(Math.max(k, 1));
    this.indices = new Int32Array(Math.max(k, 1));
  }

  reset(): void {
    this.size = 0;
  }

  /** Smallest score currently kept, or -Infinity while the heap is not full. */
  threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0];
  }

  push(score: number, index: number): void {
    if (this.k <= 0) return;
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(score, index, this.scores[parent], this.indices[parent])) break;
        this.scores[i] = this.scores[parent];
        this.indices[i] = this.indices[parent];
        i = parent;
      }
      this.scores[i] = score;
      this.indices[i] = index;
      return;
    }
    if (!this.worse(this.scores[0], this.indices[0], score, index)) return;
    // Replace the root and sift down.
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.worse(this.scores[r], this.indices[r], this.scores[l], this.indices[l])) c = r;
      if (!this.worse(this.scores[c], this.indices[c], score, index)) break;
      this.scores[i] = this.scores[c];
      this.indices[i] = this.indices[c];
      i = c;
    }
    this.scores[i] = score;
    this.indices[i] = index;
  }

  /** Kept pairs, best first. */
  drain(): { indices: number[]; scores: number[] } {
    const order = Array.from({ length: this.size }, (_, i) => i);
    order.sort((a, b) => this.scores[b] - this.scores[a] || this.indices[a] - this.indices[b]);
    return { indices: order.map((i) => this.indices[i]), scores: order.map((i) => this.scores[i]) };
  }

  private worse(sa: number, ia: number, sb: number, ib: number): boolean {
    return sa < sb || (sa === sb && ia > ib);
  }
}
