/**
 * The data lake's object layout: every key of the bucket (bronze, silver, models, reports, catalog) is built
 * here and nowhere else. Hive-style `dt=` partitions so Athena/Glue read it as is.
 * Bronze is partitioned by *arrival* date (when Kinesis accepted the record): a late event lands in today's
 * partition, so an incremental nightly job never misses it. Silver re-partitions by event date.
 */

/** The lake's top-level areas: the IAM grants and lifecycle rules of lib/ are written against these. */
export const LAKE_AREAS = { bronze: 'bronze/', silver: 'silver/', models: 'models/', reports: 'reports/', catalog: 'catalog/' } as const;

export const BRONZE_EVENTS_PREFIX = `${LAKE_AREAS.bronze}events/`;
export const BRONZE_QUARANTINE_PREFIX = `${LAKE_AREAS.bronze}_quarantine/`;
/**
 * The item catalogue, `[{ itemId, title?, genres: [] }]` as JSON: titles and genres joined to the items at
 * training time. Optional; upload it whenever the catalogue changes (`npm start` writes it from --item-metadata).
 */
export const CATALOG_KEY = `${LAKE_AREAS.catalog}items.json`;

/**
 * The nightly catalogue snapshots: SnapshotCatalog writes the live catalogue table (or, while the table is empty
 * or absent, a copy of `catalog/items.json`) to `catalog/snapshots/<runId>.json`, and TrainModel and EvaluateModel
 * of that run both read that one object, so the gate judges the metadata the model ships with. Same JSON as
 * `CATALOG_KEY` (`[{ itemId, title?, genres: [] }]`); withdrawn items are kept in it as `{ itemId, genres: [],
 * withdrawn: true }` and joined to nothing.
 */
export const CATALOG_SNAPSHOTS_PREFIX = `${LAKE_AREAS.catalog}snapshots/`;
const RUN_ID_PATTERN = /^[A-Za-z0-9._-]{1,80}$/;

/** The snapshot key of one run (`runId` as `sanitizeRunId` makes it: letters, digits, `.`, `_`, `-`). */
export function catalogSnapshotKey(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId) || runId === '.' || runId === '..') throw new Error(`not a run id: ${JSON.stringify(runId.slice(0, 100))}`);
  return `${CATALOG_SNAPSHOTS_PREFIX}${runId}.json`;
}

/** True for keys `catalogSnapshotKey` makes: what TrainModel and EvaluateModel accept as their catalogue. */
export function isCatalogSnapshotKey(key: string): boolean {
  if (!key.startsWith(CATALOG_SNAPSHOTS_PREFIX) || !key.endsWith('.json')) return false;
  const runId = key.slice(CATALOG_SNAPSHOTS_PREFIX.length, -'.json'.length);
  return RUN_ID_PATTERN.test(runId) && runId !== '.' && runId !== '..';
}

export type BronzeKind = 'events' | 'quarantine';

/** UTC calendar date `YYYY-MM-DD` of an epoch-milliseconds instant. */
export function partitionDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export interface BronzeObjectId {
  kind: BronzeKind;
  /** Partition date, `YYYY-MM-DD`. */
  dt: string;
  shardId: string;
  /** Sequence number of the first record in the object. */
  firstSequenceNumber: string;
}

/**
 * Key of one Bronze object: one object per batch, partition and shard, named after the first record's
 * sequence number. A redelivery starting at the same record overwrites the object instead of adding a copy.
 */
export function bronzeKeyFor(id: BronzeObjectId): string {
  const prefix = id.kind === 'events' ? BRONZE_EVENTS_PREFIX : BRONZE_QUARANTINE_PREFIX;
  return `${prefix}dt=${id.dt}/shard=${id.shardId}/${id.firstSequenceNumber}.jsonl`;
}

/** Prefix of one Bronze partition, for listing a day. */
export function bronzePartitionPrefix(kind: BronzeKind, dt: string): string {
  return `${kind === 'events' ? BRONZE_EVENTS_PREFIX : BRONZE_QUARANTINE_PREFIX}dt=${dt}/`;
}

const KEY_PATTERN = /^bronze\/(events|_quarantine)\/dt=(\d{4}-\d{2}-\d{2})\/shard=([^/]+)\/(\d+)\.jsonl$/;

/** Inverse of `bronzeKeyFor`; undefined for keys outside the Bronze layout. */
export function parseBronzeKey(key: string): BronzeObjectId | undefined {
  const m = KEY_PATTERN.exec(key);
  if (!m) return undefined;
  return { kind: m[1] === 'events' ? 'events' : 'quarantine', dt: m[2]!, shardId: m[3]!, firstSequenceNumber: m[4]! };
}

/** Kinesis sequence numbers are decimal strings up to 128 bits: compare them as integers. */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The lowest of some sequence numbers: where Lambda resumes a batch after a partial failure. */
export function lowestSequenceNumber(sequenceNumbers: readonly string[]): string {
  return sequenceNumbers.reduce((m, s) => (compareSequenceNumbers(s, m) < 0 ? s : m));
}

/**
 * Silver, written by the retraining job: Hive-partitioned by *event* date; inside a partition there is one
 * file per Bronze arrival date that contributed to it, so re-running one window rewrites exactly its own files.
 */
export const SILVER_INTERACTIONS_PREFIX = `${LAKE_AREAS.silver}interactions/`;
export const SILVER_USER_FEATURES_PREFIX = `${LAKE_AREAS.silver}user_features/`;
export const SILVER_ITEM_FEATURES_PREFIX = `${LAKE_AREAS.silver}item_features/`;
/** Where the retraining job keeps its own progress. */
export const SILVER_STATE_PREFIX = `${LAKE_AREAS.silver}_state/`;
/** The last window ExtractFeatures completed; the next scheduled run starts the day after it. */
export const EXTRACT_STATE_KEY = `${SILVER_STATE_PREFIX}last-extract.json`;

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

/** Reports of the retraining runs. */
export const REPORTS_PREFIX = `${LAKE_AREAS.reports}retraining/`;
export const LAST_VALIDATION_KEY = `${REPORTS_PREFIX}last-validation.json`;

/**
 * The experiment log: one object per event of an experiment (started, decision, promoted, stopped), named so a
 * listing of `reports/experiments/<id>/` reads in time order.
 */
export const EXPERIMENTS_PREFIX = `${LAKE_AREAS.reports}experiments/`;
export function experimentLogKey(experimentId: string, at: Date, kind: 'started' | 'decision' | 'promoted' | 'stopped' | 'rolled-back'): string {
  if (!/^x[a-z0-9]{1,24}$/.test(experimentId)) throw new Error(`not an experiment id: ${experimentId}`);
  return `${EXPERIMENTS_PREFIX}${experimentId}/${at.toISOString().replace(/[:.]/g, '')}-${kind}.json`;
}

export function runReportKey(runId: string, name: 'validation' | 'run'): string {
  return `${REPORTS_PREFIX}${runId}/${name}.json`;
}

/**
 * The model registry: one folder per version, `models/<version>/`, and `models/production.json`, the only
 * thing the API trusts (src/domain/model-registry.ts has its schema and the registry port).
 */
export const MODELS_PREFIX = LAKE_AREAS.models;
export const PRODUCTION_POINTER_KEY = `${MODELS_PREFIX}production.json`;
/** The production pointer as it was before a run deployed, so the failure path can put it back exactly. */
export const DEPLOYMENTS_PREFIX = `${MODELS_PREFIX}_deployments/`;
/** File names inside a model directory and under `models/<version>/`. */
export const MANIFEST_FILE = 'manifest.json';
export const PAYLOAD_FILE = 'model.bin';
export const EVALUATION_FILE = 'evaluation.json';
export const TRAINING_FILE = 'training.json';

/** A sortable version id: `v20261122T020000Z` with an optional `-<suffix>`. */
export const MODEL_VERSION_PATTERN = /^v\d{8}T\d{6}Z(-[a-z0-9]{1,16})?$/;

export function isModelVersion(v: string): boolean {
  return MODEL_VERSION_PATTERN.test(v);
}

export interface ModelKeys {
  prefix: string;
  manifest: string;
  payload: string;
  evaluation: string;
  training: string;
}

/** The keys of one version's files. */
export function modelKeys(version: string): ModelKeys {
  if (!isModelVersion(version)) throw new Error(`not a model version: ${JSON.stringify(version)}`);
  return modelKeysUnder(`${MODELS_PREFIX}${version}/`);
}

/** The key patterns of every version's files (models/v…/model.bin and the others), for IAM grants. */
export const MODEL_KEY_PATTERNS: ModelKeys = modelKeysUnder(`${MODELS_PREFIX}v*/`);

function modelKeysUnder(prefix: string): ModelKeys {
  return { prefix, manifest: prefix + MANIFEST_FILE, payload: prefix + PAYLOAD_FILE, evaluation: prefix + EVALUATION_FILE, training: prefix + TRAINING_FILE };
}

export function deploymentBackupKey(runId: string): string {
  return `${DEPLOYMENTS_PREFIX}${runId}.json`;
}

/** How the lake's JSON objects (reports, state, registry records) are written. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/** A lake JSON object's text parsed; the Error names `source` (e.g. `s3://bucket/key`) when it is not JSON. */
export function decodeJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${source} is not valid JSON (${text.length} bytes): ${(err as Error).message}`, { cause: err });
  }
}
