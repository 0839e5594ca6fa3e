import {
  averagePrecisionAtK,
  catalogCoverage,
  intraListDiversity,
  ndcgAtK,
  precisionAtK,
  recallAtK,
} from './metrics';
import type { Interaction, ItemMeta, ScoredItem } from './types';

export interface EvaluationResult {
  k: number;
  /** Users evaluated: those with at least one held-out interaction. */
  users: number;
  precision: number;
  recall: number;
  ndcg: number;
  map: number;
  /** Distinct recommended items / catalogue size (items in train unless catalogSize is given). */
  coverage: number;
  /** Mean intra-list diversity (1 - pairwise similarity) of the recommendation lists. */
  diversity: number;
  /** What the diversity's similarity is computed from: genres when items are given, else co-occurrence cosine in train. */
  diversityBasis: 'genres' | 'cooccurrence';
}

export interface EvaluateOptions {
  k?: number;
  items?: ItemMeta[];
  catalogSize?: number;
}

/**
 * Offline evaluation shared by every model: each user with held-out interactions gets a top-k list
 * (items seen in train must already be excluded by the model; any that slip through are dropped and
 * count as misses), every held-out item is relevant, metrics are averaged over those users.
 */
export function evaluateRecommender(
  recommend: (userId: string, k: number) => ScoredItem[] | string[],
  train: Interaction[],
  test: Interaction[],
  options: EvaluateOptions = {},
): EvaluationResult {
  const k = options.k ?? 10;
  const seen = new Map<string, Set<string>>();
  for (const e of train) {
    let s = seen.get(e.userId);
    if (!s) seen.set(e.userId, (s = new Set()));
    s.add(e.itemId);
  }
  const relevantByUser = new Map<string, Set<string>>();
  for (const e of test) {
    let s = relevantByUser.get(e.userId);
    if (!s) relevantByUser.set(e.userId, (s = new Set()));
    s.add(e.itemId);
  }
  const similarity = options.items?.length ? genreSimilarity(options.items) : cooccurrenceSimilarity(train);
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let map = 0;
  let diversity = 0;
  let diverseLists = 0;
  const lists: string[][] = [];
  for (const [userId, relevant] of relevantByUser) {
    const seenByUser = seen.get(userId);
    const raw = recommend(userId, k);
    const list = raw
      .map((r) => (typeof r === 'string' ? r : r.itemId))
      .filter((id) => !seenByUser?.has(id))
      .slice(0, k);
    lists.push(list);
    precision += precisionAtK(list, relevant, k);
    recall += recallAtK(list, relevant, k);
    ndcg += ndcgAtK(list, relevant, k);
    map += averagePrecisionAtK(list, relevant, k);
    const d = intraListDiversity(list, similarity);
    if (!Number.isNaN(d)) {
      diversity += d;
      diverseLists++;
    }
  }
  const users = relevantByUser.size;
  const catalogSize = options.catalogSize ?? new Set(train.map((e) => e.itemId)).size;
  const mean = (x: number) => (users > 0 ? x / users : 0);
  return {
    k,
    users,
    precision: mean(precision),
    recall: mean(recall),
    ndcg: mean(ndcg),
    map: mean(map),
    coverage: catalogCoverage(lists, catalogSize),
    diversity: diverseLists > 0 ? diversity / diverseLists : 0,
    diversityBasis: options.items?.length ? 'genres' : 'cooccurrence',
  };
}

/** Cosine similarity of genre sets; items without genres are similar to nothing. */
function genreSimilarity(items: ItemMeta[]): (a: string, b: string) => number {
  const genres = new Map<string, Set<string>>();
  for (const item of items) genres.set(item.itemId, new Set(item.genres));
  return (a, b) => {
    const ga = genres.get(a);
    const gb = genres.get(b);
    if (!ga || !gb || ga.size === 0 || gb.size === 0) return 0;
    let common = 0;
    for (const g of ga) if (gb.has(g)) common++;
    return common / Math.sqrt(ga.size * gb.size);
  };
}

/** Cosine similarity of the items' user sets in train (as Microsoft Recommenders' diversity metric). */
function cooccurrenceSimilarity(train: Interaction[]): (a: string, b: string) => number {
  const users = new Map<string, Set<string>>();
  for (const e of train) {
    let s = users.get(e.itemId);
    if (!s) users.set(e.itemId, (s = new Set()));
    s.add(e.userId);
  }
  return (a, b) => {
    const ua = users.get(a);
    const ub = users.get(b);
    if (!ua || !ub) return 0;
    const [small, large] = ua.size <= ub.size ? [ua, ub] : [ub, ua];
    let common = 0;
    for (const u of small) if (large.has(u)) common++;
    return common / Math.sqrt(ua.size * ub.size);
  };
}
