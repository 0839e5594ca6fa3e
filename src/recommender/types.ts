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
}

export interface Recommendation {
  /** 'personalized' when the user's history drove the ranking, 'popular' for the cold-start fallback. */
  strategy: 'personalized' | 'popular';
  items: ScoredItem[];
}

export interface RecommendOptions {
  /** This user's fresh events (e.g. from DynamoDB), merged with the training history; items unknown to the model are ignored. */
  history?: Interaction[];
  /** Items never to return (e.g. out of stock). */
  exclude?: Iterable<string>;
  /** Drop items the user has already interacted with. Default true. */
  excludeSeen?: boolean;
}

/** Minimal recommender shape shared by every model the evaluator and the benchmark compare. */
export interface Recommender {
  recommend(userId: string, k: number, options?: RecommendOptions): Recommendation;
}
