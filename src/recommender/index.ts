/**
 * Public API of the recommender: pure TypeScript (no AWS), shared by the CLI, the nightly training job
 * and the serving Lambda. Only model-dir (writeModelDir/readModelDir) touches the file system.
 */
export type { Interaction, ItemMeta, ScoredItem, Recommendation, RecommendOptions, Recommender } from './types';
export { DEFAULT_HYBRID_CONFIG, resolveHybridConfig } from './model-config';
export type { HybridConfig, CollaborativeAlgorithm } from './model-config';
export { MODEL_FORMAT_VERSION } from './metadata';
export type { ModelMetadata } from './metadata';
export { HybridModel } from './hybrid-model';
export { trainHybridModel } from './train';
export type { TrainOptions } from './train';
export { serializeModel, deserializeModel, parseModelManifest } from './serialize';
export { MANIFEST_FILE, PAYLOAD_FILE } from '../domain/lake-layout';
export type { ModelArtifact, ModelManifest } from './serialize';
export { writeModelDir, readModelDir } from './model-dir';
export { popularityModel } from './popularity';
export { stratifiedSplit, temporalSplit } from './split';
export type { SplitResult } from './split';
export { evaluateRecommender } from './evaluate';
export type { EvaluationResult, EvaluateOptions } from './evaluate';
export {
  precisionAtK,
  recallAtK,
  ndcgAtK,
  averagePrecisionAtK,
  catalogCoverage,
  intraListDiversity,
} from './metrics';
export { generateSyntheticDataset } from './synthetic';
export type { SyntheticOptions } from './synthetic';
export { parseRatingsFile, parseItemsFile } from './parse';
