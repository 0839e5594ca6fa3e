/**
 * Ranking metrics at a cut-off k with binary relevance, as Microsoft Recommenders defines them
 * (recommenders/evaluation/python_evaluation.py). `recommended` is best-first; `relevant` is the held-out set.
 */

function hitsAt(recommended: readonly string[], relevant: ReadonlySet<string>, k: number): boolean[] {
  return recommended.slice(0, k).map((id) => relevant.has(id));
}

/** Hits in the top k divided by k (a list shorter than k is not rewarded for it). */
export function precisionAtK(recommended: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  if (k <= 0) return 0;
  return hitsAt(recommended, relevant, k).filter(Boolean).length / k;
}

/** Hits in the top k divided by the number of relevant items. */
export function recallAtK(recommended: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  if (relevant.size === 0) return 0;
  return hitsAt(recommended, relevant, k).filter(Boolean).length / relevant.size;
}

/** DCG with a log2(rank + 1) discount over the ideal DCG of min(|relevant|, k) hits. */
export function ndcgAtK(recommended: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  const ideal = Math.min(relevant.size, k);
  if (ideal === 0) return 0;
  let dcg = 0;
  hitsAt(recommended, relevant, k).forEach((hit, r) => {
    if (hit) dcg += 1 / Math.log2(r + 2);
  });
  let idcg = 0;
  for (let r = 0; r < ideal; r++) idcg += 1 / Math.log2(r + 2);
  return dcg / idcg;
}

/** Sum of precision at each hit's rank, divided by min(|relevant|, k). MAP@K is its mean over users. */
export function averagePrecisionAtK(recommended: readonly string[], relevant: ReadonlySet<string>, k: number): number {
  const denom = Math.min(relevant.size, k);
  if (denom === 0) return 0;
  let hits = 0;
  let sum = 0;
  hitsAt(recommended, relevant, k).forEach((hit, r) => {
    if (hit) {
      hits++;
      sum += hits / (r + 1);
    }
  });
  return sum / denom;
}

/** Share of the catalogue that appears in at least one list. */
export function catalogCoverage(lists: readonly (readonly string[])[], catalogSize: number): number {
  if (catalogSize <= 0) return 0;
  const seen = new Set<string>();
  for (const list of lists) for (const id of list) seen.add(id);
  return seen.size / catalogSize;
}

/**
 * Intra-list diversity: mean pairwise (1 - similarity) between the items of one list. Lists with fewer
 * than two items count as undefined and return NaN (callers skip them).
 */
export function intraListDiversity(list: readonly string[], similarity: (a: string, b: string) => number): number {
  if (list.length < 2) return NaN;
  let sum = 0;
  let pairs = 0;
  for (let a = 0; a < list.length; a++) {
    for (let b = a + 1; b < list.length; b++) {
      sum += 1 - similarity(list[a], list[b]);
      pairs++;
    }
  }
  return sum / pairs;
}
