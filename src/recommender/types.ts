/** One observed preference: explicit (rating) or implicit (rating 1). Timestamps are epoch milliseconds. */
export interface Interaction {
  userId: string;
  itemId: string;
  rating: number;
  timestamp: number;
}

/** Catalogue metadata for an item; genres/categories feed the content signal. */
export interface ItemMeta {
  itemId: string;
  title?: string;
  genres: string[];
}

export interface ScoredItem {
  itemId: string;
  score: number;
  /**
   * With `explain: true`, on personalised items only: the 1-3 history items that contributed most to this
   * item's score, largest first (see `HybridModel.recommend`). Absent when nothing in the history relates to
   * the item (it filled the list on popularity alone) and on popular-fallback items.
   */
  because?: string[];
}

export interface Recommendation {
  /** 'personalized' when the user's history drove the ranking, 'popular' for the cold-start fallback. */
  strategy: 'personalized' | 'popular';
  items: ScoredItem[];
  /**
   * True when fewer than k items could be returned because fewer than k items were left to choose from
   * (eligible, not excluded, not seen). `HybridModel.recommend` always sets it; other recommenders may not.
   */
  exhausted?: boolean;
  /** `HybridModel` with `options.alongside`: the second list of the same scoring pass (see there). */
  alongside?: ScoredItem[];
}

export interface RecommendOptions {
  /** This user's fresh events (e.g. from DynamoDB), merged with the training history; items unknown to the model are ignored. */
  history?: Interaction[];
  /** Items never to return (e.g. out of stock). */
  exclude?: Iterable<string>;
  /** Drop items the user has already interacted with. Default true. */
  excludeSeen?: boolean;
  /**
   * `HybridModel` only: an eligibility mask index-aligned with `model.items()` (0 = never return this item,
   * any other value = may be returned); its length must equal `model.itemCount`. Applied inside the search,
   * so k items come back whenever k eligible ones exist. Scores are the same with or without a mask.
   */
  eligible?: Uint8Array;
  /** `HybridModel` only: add `because` (the history items behind each personalised item). Default false. */
  explain?: boolean;
  /**
   * `HybridModel` only: a second list from the same scoring pass — the top `k` items of this mask (same
   * length rules as `eligible`, which does not apply to it; `exclude` and seen items do), with the same scores,
   * returned in `alongside`. A promotion's items are picked this way without scoring the catalogue twice.
   */
  alongside?: { eligible: Uint8Array; k: number };
}

/** Minimal recommender shape shared by every model the evaluator and the benchmark compare. */
export interface Recommender {
  recommend(userId: string, k: number, options?: RecommendOptions): Recommendation;
}

/**
 * Interactions as columns: row r is (users[user[r]], items[item[r]], strength[r], firstContactMs[r]) for r < length
 * (the arrays may be longer: spare capacity). Ids are interned once, so N interactions cost 24·N bytes plus one string
 * per distinct id, instead of one object per row. `strength` plays `Interaction.rating`, `firstContactMs` its
 * `timestamp`. Each id occurs once in its table. Trainers accept rows in any order; the builders of
 * src/recommender/columnar.ts (`canonicalCompact`) and src/retraining/compact-interactions.ts produce the order of
 * `toInteractions` (src/retraining/interactions.ts): one row per (user, item) pair, tables sorted, rows by user then item.
 */
export interface CompactInteractions {
  users: string[];
  items: string[];
  user: Uint32Array;
  item: Uint32Array;
  /** Float64, not Float32: `strength >= minRating` must decide exactly as it does on `Interaction.rating`. */
  strength: Float64Array;
  firstContactMs: Float64Array;
  length: number;
}
