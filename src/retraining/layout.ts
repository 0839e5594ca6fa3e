import { isModelVersion, MODELS_PREFIX } from '../domain/model-registry';

/**
 * Where the retraining job writes, next to the Bronze layout (src/domain/lake-layout.ts) and the model
 * registry (src/domain/model-registry.ts). Silver is Hive-partitioned by *event* date; inside a partition
 * there is one file per Bronze arrival date that contributed to it, so re-running one window rewrites
 * exactly its own files.
 */
export const SILVER_INTERACTIONS_PREFIX = 'silver/interactions/';
export const SILVER_USER_FEATURES_PREFIX = 'silver/user_features/';
export const SILVER_ITEM_FEATURES_PREFIX = 'silver/item_features/';
export const REPORTS_PREFIX = 'reports/retraining/';
/** The last window ExtractFeatures completed; the next scheduled run starts the day after it. */
export const EXTRACT_STATE_KEY = 'silver/_state/last-extract.json';
export const LAST_VALIDATION_KEY = `${REPORTS_PREFIX}last-validation.json`;
export const DEPLOYMENTS_PREFIX = `${MODELS_PREFIX}_deployments/`;
export const TRAINING_FILE = 'training.json';

export function silverInteractionsKey(eventDt: string, arrivalDt: string): string {
  return `${SILVER_INTERACTIONS_PREFIX}dt=${eventDt}/part-${arrivalDt}.parquet`;
}

const SILVER_KEY = /^silver\/interactions\/dt=(\d{4}-\d{2}-\d{2})\/part-(\d{4}-\d{2}-\d{2})\.parquet$/;

export function parseSilverInteractionsKey(key: string): { eventDt: string; arrivalDt: string } | undefined {
  const m = SILVER_KEY.exec(key);
  return m ? { eventDt: m[1]!, arrivalDt: m[2]! } : undefined;
}

/** Feature snapshots are keyed by the last arrival date they include: a rerun overwrites its own. */
export function silverFeaturesKey(kind: 'user' | 'item', asOfDt: string): string {
  const prefix = kind === 'user' ? SILVER_USER_FEATURES_PREFIX : SILVER_ITEM_FEATURES_PREFIX;
  return `${prefix}as_of=${asOfDt}/part-0.parquet`;
}

export function runReportKey(runId: string, name: 'validation' | 'run'): string {
  return `${REPORTS_PREFIX}${runId}/${name}.json`;
}

export function trainingKey(version: string): string {
  if (!isModelVersion(version)) throw new Error(`not a model version: ${JSON.stringify(version)}`);
  return `${MODELS_PREFIX}${version}/${TRAINING_FILE}`;
}

/** The production pointer as it was before a run deployed, so the failure path can put it back exactly. */
export function deploymentBackupKey(runId: string): string {
  return `${DEPLOYMENTS_PREFIX}${runId}.json`;
}
