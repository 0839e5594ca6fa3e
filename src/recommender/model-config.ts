/** Collaborative core of the hybrid model. */
export type CollaborativeAlgorithm = 'auto' | 'ease' | 'itemknn' | 'rp3beta';

/**
 * Hyper-parameters of the hybrid recommender. Every field has a named default in
 * `DEFAULT_HYBRID_CONFIG`; defaults were chosen by measurement on MovieLens-100K (see bench/model.ts).
 */
export interface HybridConfig {
  /**
   * Collaborative core. 'auto' uses EASE (closed-form linear autoencoder, the strongest on small
   * catalogues) when the catalogue has at most `easeMaxItems` items, otherwise RP3beta (sparse, scales
   * linearly in interactions). Default 'auto'.
   */
  algorithm: CollaborativeAlgorithm;
  /** EASE L2 regularisation λ. Default 500 (best of 100–1000 on ML-100K). */
  easeLambda: number;
  /** Largest catalogue trained with dense EASE (O(items²) memory, O(items³) time). Default 6000. */
  easeMaxItems: number;
  /** Neighbours kept per item in the artifact (top-K by weight). Default 200. */
  neighbors: number;
  /** ItemKNN cosine shrinkage: sim = co / (√(nᵢ·nⱼ) + shrink). Default 20. */
  knnShrink: number;
  /** RP3beta exponent on transition probabilities. Default 0.8 (best of 0.6–1.0 on ML-100K). */
  rp3Alpha: number;
  /** RP3beta popularity penalty exponent. Default 0.6 (best of 0.15–0.7 on ML-100K and on generated data). */
  rp3Beta: number;
  /** Interactions with a rating below this are ignored (0 keeps every interaction, as the MS Recommenders ML-100K benchmark does). Default 0. */
  minRating: number;
  /**
   * Weight of the content (genre profile) score relative to the normalised collaborative score, for an
   * item with no interactions; it fades as 1 / (1 + n / contentColdThreshold) for an item seen n times.
   * Default 0.3.
   */
  contentWeight: number;
  /** Interaction count at which an item's content weight has halved. Default 5. */
  contentColdThreshold: number;
  /** Weight of genre similarity in `similar(itemId)` for items with few interactions. Default 0.5. */
  similarContentWeight: number;
}

export const DEFAULT_HYBRID_CONFIG: Readonly<HybridConfig> = Object.freeze({
  algorithm: 'auto',
  easeLambda: 500,
  easeMaxItems: 6000,
  neighbors: 200,
  knnShrink: 20,
  rp3Alpha: 0.8,
  rp3Beta: 0.6,
  minRating: 0,
  contentWeight: 0.3,
  contentColdThreshold: 5,
  similarContentWeight: 0.5,
});

const ALGORITHMS: readonly CollaborativeAlgorithm[] = ['auto', 'ease', 'itemknn', 'rp3beta'];

/** Merges overrides over the defaults and rejects values that would train a broken model. */
export function resolveHybridConfig(overrides: Partial<HybridConfig> = {}): HybridConfig {
  const config: HybridConfig = { ...DEFAULT_HYBRID_CONFIG };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!Object.hasOwn(DEFAULT_HYBRID_CONFIG, key)) throw new Error(`unknown config option "${key}"`);
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  if (!ALGORITHMS.includes(config.algorithm)) {
    throw new Error(`config.algorithm must be one of ${ALGORITHMS.join(', ')} (got ${String(config.algorithm)})`);
  }
  const nonNegative: (keyof HybridConfig)[] = [
    'easeLambda',
    'easeMaxItems',
    'knnShrink',
    'rp3Alpha',
    'rp3Beta',
    'minRating',
    'contentWeight',
    'contentColdThreshold',
    'similarContentWeight',
  ];
  for (const key of nonNegative) {
    const v = config[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`config.${key} must be a non-negative number (got ${String(v)})`);
    }
  }
  if (!Number.isInteger(config.neighbors) || config.neighbors < 1) {
    throw new Error(`config.neighbors must be a positive integer (got ${String(config.neighbors)})`);
  }
  if (config.easeLambda <= 0) throw new Error('config.easeLambda must be > 0');
  if (config.contentColdThreshold <= 0) throw new Error('config.contentColdThreshold must be > 0');
  return config;
}
