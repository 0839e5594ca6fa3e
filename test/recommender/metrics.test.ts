import { describe, expect, it } from 'vitest';
import { averagePrecisionAtK, catalogCoverage, intraListDiversity, ndcgAtK, precisionAtK, recallAtK } from '../../src/recommender/index';

// Hand-computed: list a,b,c,d,e with hits at ranks 1, 3 and 5; relevant = {a, c, e, z}.
const list = ['a', 'b', 'c', 'd', 'e'];
const relevant = new Set(['a', 'c', 'e', 'z']);

describe('ranking metrics', () => {
  it('precision@k divides hits by k, even for a short list', () => {
    expect(precisionAtK(list, relevant, 5)).toBeCloseTo(3 / 5, 12);
    expect(precisionAtK(list, relevant, 10)).toBeCloseTo(3 / 10, 12);
    expect(precisionAtK(list, relevant, 2)).toBeCloseTo(1 / 2, 12);
  });

  it('recall@k divides hits by the number of relevant items', () => {
    expect(recallAtK(list, relevant, 5)).toBeCloseTo(3 / 4, 12);
    expect(recallAtK(list, relevant, 1)).toBeCloseTo(1 / 4, 12);
    expect(recallAtK(list, new Set(), 5)).toBe(0);
  });

  it('nDCG@k uses a log2 discount and an ideal of min(|relevant|, k) hits', () => {
    const dcg = 1 / Math.log2(2) + 1 / Math.log2(4) + 1 / Math.log2(6);
    const idcg5 = 1 / Math.log2(2) + 1 / Math.log2(3) + 1 / Math.log2(4) + 1 / Math.log2(5);
    expect(ndcgAtK(list, relevant, 5)).toBeCloseTo(dcg / idcg5, 12);
    // k = 2: one hit at rank 1, ideal has 2 hits.
    expect(ndcgAtK(list, relevant, 2)).toBeCloseTo(1 / (1 + 1 / Math.log2(3)), 12);
    expect(ndcgAtK(['a', 'c', 'e', 'z'], relevant, 4)).toBeCloseTo(1, 12);
    expect(ndcgAtK(['x', 'y'], relevant, 2)).toBe(0);
  });

  it('average precision@k sums precision at each hit over min(|relevant|, k)', () => {
    // Hits at ranks 1, 3, 5 → precisions 1, 2/3, 3/5; min(4, 5) = 4.
    expect(averagePrecisionAtK(list, relevant, 5)).toBeCloseTo((1 + 2 / 3 + 3 / 5) / 4, 12);
    // k = 3: hits at 1, 3 → (1 + 2/3) / min(4, 3).
    expect(averagePrecisionAtK(list, relevant, 3)).toBeCloseTo((1 + 2 / 3) / 3, 12);
    expect(averagePrecisionAtK(['a'], new Set(['a']), 10)).toBe(1);
  });

  it('coverage counts distinct recommended items over the catalogue', () => {
    expect(catalogCoverage([['a', 'b'], ['b', 'c']], 10)).toBeCloseTo(0.3, 12);
  });

  it('intra-list diversity is the mean pairwise dissimilarity', () => {
    const sim = (x: string, y: string) => (x[0] === y[0] ? 1 : 0);
    // pairs: (a1,a2)=sim 1, (a1,b1)=0, (a2,b1)=0 → diversity 2/3.
    expect(intraListDiversity(['a1', 'a2', 'b1'], sim)).toBeCloseTo(2 / 3, 12);
    expect(Number.isNaN(intraListDiversity(['a1'], sim))).toBe(true);
  });
});
