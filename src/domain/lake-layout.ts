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
 * Silver, written by the retraining job: Hive-partitioned by *event* date, then by the Bronze *arrival* date that
 * contributed the rows, `silver/interactions/dt=<event date>/arrival_dt=<arrival date>/<file>.parquet`, so re-running
 * one window rewrites exactly its own partitions, and Athena reads the same layout through partition projection on
 * both columns (lib/lake-catalog.ts). The Lambda engine writes one file per partition (`part-0.parquet`); Athena's
 * UNLOAD writes any number of files with names of its own. Lakes written before the second level existed hold
 * `dt=<event date>/part-<arrival date>.parquet`: still read, rewritten in the new layout when their window is.
 */
export const SILVER_INTERACTIONS_PREFIX = `${LAKE_AREAS.silver}interactions/`;
export const SILVER_USER_FEATURES_PREFIX = `${LAKE_AREAS.silver}user_features/`;
export const SILVER_ITEM_FEATURES_PREFIX = `${LAKE_AREAS.silver}item_features/`;
/** Where the retraining job keeps its own progress. */
export const SILVER_STATE_PREFIX = `${LAKE_AREAS.silver}_state/`;
/** The last window ExtractFeatures completed; the next scheduled run starts the day after it. */
export const EXTRACT_STATE_KEY = `${SILVER_STATE_PREFIX}last-extract.json`;

const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
function checkDate(name: string, value: string): string {
  if (!DATE_PATTERN.test(value)) throw new Error(`${name} must be a date YYYY-MM-DD, got ${JSON.stringify(value.slice(0, 40))}`);
  return value;
}

/** The prefix of one Silver partition: the rows of one event date that arrived on one day. */
export function silverInteractionsPartitionPrefix(eventDt: string, arrivalDt: string): string {
  return `${SILVER_INTERACTIONS_PREFIX}dt=${checkDate('eventDt', eventDt)}/arrival_dt=${checkDate('arrivalDt', arrivalDt)}/`;
}

/** The one file the Lambda engine writes per Silver partition. */
export function silverInteractionsKey(eventDt: string, arrivalDt: string): string {
  return `${silverInteractionsPartitionPrefix(eventDt, arrivalDt)}part-0.parquet`;
}

const SILVER_KEY = /^silver\/interactions\/dt=(\d{4}-\d{2}-\d{2})\/arrival_dt=(\d{4}-\d{2}-\d{2})\/[^/]+\.parquet$/;
const LEGACY_SILVER_KEY = /^silver\/interactions\/dt=(\d{4}-\d{2}-\d{2})\/part-(\d{4}-\d{2}-\d{2})\.parquet$/;

/**
 * The partition of a Silver interactions file (any `.parquet` file of a partition, or a legacy
 * `dt=<event date>/part-<arrival date>.parquet`); undefined for any other key.
 */
export function parseSilverInteractionsKey(key: string): { eventDt: string; arrivalDt: string; legacy: boolean } | undefined {
  const m = SILVER_KEY.exec(key);
  if (m) return { eventDt: m[1]!, arrivalDt: m[2]!, legacy: false };
  const legacy = LEGACY_SILVER_KEY.exec(key);
  return legacy ? { eventDt: legacy[1]!, arrivalDt: legacy[2]!, legacy: true } : undefined;
}

/**
 * What the Athena engine's queries write for one run (validation aggregates, features, compact interactions), read by
 * the steps after them: `silver/_batch/<runId>/<output>/`. Run-scoped, so an UNLOAD (which refuses a location that
 * holds data) always finds its location empty; a lifecycle rule expires them.
 */
export const SILVER_BATCH_PREFIX = `${LAKE_AREAS.silver}_batch/`;
export type BatchOutputName = 'checked_bronze' | 'validation' | 'silver_counts' | 'features' | 'interactions' | 'item_categories' | 'feature_writes';
/** The two halves of the `features` output, one folder each, listed together by the feature writers. */
export const BATCH_FEATURE_ENTITIES = { user: 'entity=user/', item: 'entity=item/' } as const;
export function silverBatchPrefix(runId: string, output?: BatchOutputName): string {
  if (!RUN_ID_PATTERN.test(runId) || runId === '.' || runId === '..') throw new Error(`not a run id: ${JSON.stringify(runId.slice(0, 100))}`);
  return `${SILVER_BATCH_PREFIX}${runId}/${output ? `${output}/` : ''}`;
}

/** The Athena workgroup's query results (the CSV and metadata Athena writes for every query, UNLOAD included). */
export const ATHENA_RESULTS_PREFIX = `${LAKE_AREAS.reports}athena/`;

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

/**
 * Erasure of a user's data (`DELETE /admin/users/{userId}`, then the nightly EraseUsers step). A request is
 * `reports/erasure/requests/<time>-<sha256 of the user id>.json` and holds the id (the nightly step must know whom
 * to erase); the key carries only the hash. Once the lake holds no trace the request object is deleted and
 * `reports/erasure/done/<sha256>.json` (no id) records it; each run's counts go to `reports/erasure/runs/<runId>.json`.
 */
export const ERASURE_PREFIX = `${LAKE_AREAS.reports}erasure/`;
export const ERASURE_REQUESTS_PREFIX = `${ERASURE_PREFIX}requests/`;
export const ERASURE_DONE_PREFIX = `${ERASURE_PREFIX}done/`;
export const ERASURE_RUNS_PREFIX = `${ERASURE_PREFIX}runs/`;
const USER_HASH_PATTERN = /^[0-9a-f]{64}$/;
const ERASURE_REQUEST_KEY = /^reports\/erasure\/requests\/(\d{8}T\d{6}\d{3}Z)-([0-9a-f]{64})\.json$/;

function checkUserHash(userHash: string): string {
  if (!USER_HASH_PATTERN.test(userHash)) throw new Error('not a user hash (64 lowercase hex digits of SHA-256)');
  return userHash;
}

/** `reports/erasure/requests/20261203T150000123Z-<hash>.json`: sorts by request time; repeats of one request land next to it. */
export function erasureRequestKey(at: Date, userHash: string): string {
  return `${ERASURE_REQUESTS_PREFIX}${at.toISOString().replace(/[-:.]/g, '')}-${checkUserHash(userHash)}.json`;
}

/** Inverse of `erasureRequestKey`; undefined for any other key. */
export function parseErasureRequestKey(key: string): { time: string; userHash: string } | undefined {
  const m = ERASURE_REQUEST_KEY.exec(key);
  return m ? { time: m[1]!, userHash: m[2]! } : undefined;
}

export function erasureDoneKey(userHash: string): string {
  return `${ERASURE_DONE_PREFIX}${checkUserHash(userHash)}.json`;
}

export function erasureRunReportKey(runId: string): string {
  if (!RUN_ID_PATTERN.test(runId) || runId === '.' || runId === '..') throw new Error(`not a run id: ${JSON.stringify(runId.slice(0, 100))}`);
  return `${ERASURE_RUNS_PREFIX}${runId}.json`;
}
