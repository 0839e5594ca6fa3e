import { z } from 'zod';
import { defaultEventContract } from '../domain/events';
import { bronzePartitionPrefix, LAST_VALIDATION_KEY, parseSilverInteractionsKey, SILVER_INTERACTIONS_PREFIX, silverBatchPrefix } from '../domain/lake-layout';
import { engineFor, trainerOf, validationThresholds, type BatchEngine, type Trainer } from '../config/retraining';
import { athenaUnload } from '../batch/dialect';
import type { BatchRow } from '../batch/engine';
import { validationQuery } from '../batch/queries/validate';
import { silverChunks, silverInteractionsSelect, SILVER_PARTITION_COLUMNS } from '../batch/queries/silver';
import { checkedBronzeSelect } from '../batch/queries/bronze';
import { silverPartitionsFromRows, validationReportFromRows } from '../batch/validation-report';
import { asOfOf, interactionsSelect, itemCategoriesSelect, itemFeaturesFromRow, itemFeaturesSelect, userFeaturesFromRow, userFeaturesSelect } from '../batch/queries/features';
import { silverCountsQuery } from '../batch/queries/silver';
import { batchNumber } from '../batch/engine';
import { BATCH_FEATURE_ENTITIES } from '../domain/lake-layout';
import { createHash } from 'node:crypto';
import { DataError, describeError } from './errors';
import { exactItemRow, exactUserRow, writeExactRows, type ExtractResult } from './extract';
import { parquetRowCountOf } from './parquet';
import { emptySetAside, SetAsideLog, type SetAside } from './poison';
import { trainingFromDt } from './train-candidate';
import type { ExactFeatureRow } from '../adapters/dynamo-feature-table';
import type { RetrainingDeps } from './deps';
import { getJson, mapLimit, putJson, type RetrainingLake } from './lake';
import { readParquet } from './parquet';
import { datesInWindow, type RunInfo } from './run-window';
import { finishValidation, markExtracted, parsePayload, resolveExecutionRun, RunSchema, type ValidateOutput } from './steps';
import { recentSummaries, type ValidationHistory } from './validate';

/**
 * The steps of the Athena engine that are not SQL (statemachines/nightly-retraining.asl.json, README "Scale"):
 * PlanRun picks the engine and renders the first query; ValidateReport turns the validation query's aggregates
 * into the report (the same rules as ValidateData) and renders the queries after it; WriteFeatureFile writes one
 * query output file to DynamoDB (a Distributed Map runs one per file); FinishExtract counts what was written.
 * The SQL itself is run by the state machine's Athena tasks (DuckDB locally), never by these functions.
 */

export interface PlanOutput {
  run: RunInfo;
  engine: BatchEngine;
  reason: string;
  bronze: { objects: number; bytes: number };
  bucket: string;
  /**
   * The first queries of the Athena path (null with the Lambda engine): CheckBronze parses and judges the window's
   * Bronze lines once into `checked_bronze`; the validation query (and every Silver query after it) reads that.
   */
  queries: { checkBronze: string; validate: string } | null;
  durationMs: number;
}

/** PlanRun: the run, the size of its Bronze window and the engine; for Athena an empty batch location and the validation query. */
export async function planRunStep(payload: unknown, deps: RetrainingDeps): Promise<PlanOutput> {
  const started = performance.now();
  const run = await resolveExecutionRun(payload, deps, 'PlanRun');
  let objects = 0;
  let bytes = 0;
  for (const dt of datesInWindow(run.window)) {
    for (const kind of ['events', 'quarantine'] as const) {
      for (const o of await deps.lake.listObjects(bronzePartitionPrefix(kind, dt))) {
        objects += 1;
        bytes += o.size;
      }
    }
  }
  const { engine, reason } = engineFor(deps.config, bytes);
  let queries: PlanOutput['queries'] = null;
  if (engine === 'athena') {
    // UNLOAD refuses a location that holds data: the run's batch outputs start from an empty one (a retried PlanRun too).
    await deleteUnder(deps.lake, silverBatchPrefix(run.runId));
    const input = { window: run.window, contract: defaultEventContract() };
    queries = {
      checkBronze: athenaUnload(checkedBronzeSelect(input), deps.lake.bucket, silverBatchPrefix(run.runId, 'checked_bronze')),
      validate: athenaUnload(validationQuery({ ...input, checkedRunId: run.runId }), deps.lake.bucket, silverBatchPrefix(run.runId, 'validation')),
    };
  }
  return { run, engine, reason, bronze: { objects, bytes }, bucket: deps.lake.bucket, queries, durationMs: Math.round(performance.now() - started) };
}

export interface BatchPlan {
  bucket: string;
  /** One UNLOAD per chunk of the window's Silver partitions (Athena writes at most 100 partitions per query). */
  silverQueries: string[];
  queries: { userFeatures: string; itemFeatures: string; interactions: string; itemCategories: string; silverCounts: string };
  /** Where WriteFeatures lists the feature files (user and item outputs both sit under it). */
  featuresPrefix: string;
  interactionsPrefix: string;
  itemCategoriesPrefix: string;
}

const PlanPayloadSchema = z.object({ plan: z.object({ run: RunSchema, engine: z.literal('athena'), bucket: z.string() }).passthrough() });

/** Rows of every Parquet file a query unloaded under `prefix`, in key order. */
export async function readBatchRows(lake: RetrainingLake, prefix: string): Promise<BatchRow[]> {
  const keys = (await lake.listKeys(prefix)).filter((k) => k.endsWith('.parquet') || !k.slice(prefix.length).includes('.')).sort();
  const out: BatchRow[] = [];
  for (const key of keys) {
    const bytes = await lake.getBytes(key);
    if (!bytes || bytes.byteLength === 0) continue;
    for (const row of await readParquet(bytes)) out.push(row as BatchRow);
  }
  return out;
}

/** Deletes every object under `prefix` (a few at a time); returns how many. */
export async function deleteUnder(lake: RetrainingLake, prefix: string): Promise<number> {
  const keys = await lake.listKeys(prefix);
  await mapLimit(keys, 16, (key) => lake.deleteObject(key));
  return keys.length;
}

/**
 * The Silver files the window's UNLOADs replace: every file of a partition whose arrival date is in the window
 * (the Lambda engine's `part-0.parquet`, legacy `part-<date>.parquet`, Athena's own files).
 */
export async function windowSilverKeys(lake: RetrainingLake, window: { from: string; to: string }): Promise<string[]> {
  const dates = new Set(datesInWindow(window));
  return (await lake.listKeys(SILVER_INTERACTIONS_PREFIX)).filter((k) => {
    const id = parseSilverInteractionsKey(k);
    return id !== undefined && dates.has(id.arrivalDt);
  });
}

export type ValidateReportOutput = ValidateOutput & { batch: BatchPlan & { silverFilesDeleted: number } };

/**
 * ValidateReport: the report from the validation query's aggregates, with ValidateData's rules; a failed report
 * fails the run before anything is written. Then the window's Silver partitions are emptied (the Silver UNLOADs
 * rewrite them) and the later queries are rendered.
 */
export async function validateReportStep(payload: unknown, deps: RetrainingDeps): Promise<ValidateReportOutput> {
  const started = performance.now();
  const { plan } = parsePayload(PlanPayloadSchema, payload, 'ValidateReport');
  const run = plan.run as RunInfo;
  const rows = await readBatchRows(deps.lake, silverBatchPrefix(run.runId, 'validation'));
  if (rows.length === 0) throw new Error(`ValidateReport: the validation query wrote no rows under s3://${deps.lake.bucket}/${silverBatchPrefix(run.runId, 'validation')}`);
  const last = await getJson<ValidationHistory>(deps.lake, LAST_VALIDATION_KEY);
  const report = validationReportFromRows(run.runId, run.window, rows, recentSummaries(last, run.runId), validationThresholds(deps.config));
  const validated = await finishValidation(run, report, last, deps, started);

  await refuseOutOfOrderRerun(deps.lake, run);
  const stale = await windowSilverKeys(deps.lake, run.window);
  await mapLimit(stale, 16, (key) => deps.lake.deleteObject(key));
  return { ...validated, batch: { ...batchQueries(run, deps.lake.bucket, deps.config, silverPartitionsFromRows(rows)), silverFilesDeleted: stale.length } };
}

/**
 * The Athena path does not (yet) move an event out of a LATER arrival partition when an older window is rerun (the
 * Lambda engine does, src/retraining/extract.ts): such a rerun is refused with the way out, never half-applied.
 */
async function refuseOutOfOrderRerun(lake: RetrainingLake, run: RunInfo): Promise<void> {
  const later = (await lake.listKeys(SILVER_INTERACTIONS_PREFIX)).map(parseSilverInteractionsKey).find((id) => id !== undefined && id.arrivalDt > run.window.to);
  if (later) {
    throw new DataError(
      `the window ${run.window.from}..${run.window.to} is older than Silver partitions already written (arrival ${later.arrivalDt}): the Athena engine reruns windows in order only. Rerun it with RETRAINING_ENGINE=lambda, or rerun every later window after it.`,
    );
  }
}

/**
 * Every query after validation, rendered for the run (SQL text from src/batch/queries, statement from src/batch/dialect.ts),
 * reading the run's checked Bronze. `partitions` are the Silver partitions the window's events fall in (the validation
 * query's): past 100 the Silver rows are written by one query per chunk of 100.
 */
export function batchQueries(run: RunInfo, bucket: string, config: RetrainingDeps['config'], partitions: readonly string[] = []): BatchPlan {
  const contract = defaultEventContract();
  const input = { window: run.window, contract, checkedRunId: run.runId };
  const featuresPrefix = silverBatchPrefix(run.runId, 'features');
  const interactionsPrefix = silverBatchPrefix(run.runId, 'interactions');
  const itemCategoriesPrefix = silverBatchPrefix(run.runId, 'item_categories');
  const fromDt = trainingFromDt(run.window, config.TRAINING_WINDOW_DAYS);
  return {
    bucket,
    silverQueries: silverChunks(partitions).map((chunk) => athenaUnload(silverInteractionsSelect(input, chunk), bucket, SILVER_INTERACTIONS_PREFIX, SILVER_PARTITION_COLUMNS)),
    queries: {
      userFeatures: athenaUnload(userFeaturesSelect(config.RECENT_ITEMS_LIMIT), bucket, featuresPrefix + BATCH_FEATURE_ENTITIES.user),
      itemFeatures: athenaUnload(itemFeaturesSelect(), bucket, featuresPrefix + BATCH_FEATURE_ENTITIES.item),
      interactions: athenaUnload(interactionsSelect(fromDt), bucket, interactionsPrefix),
      itemCategories: athenaUnload(itemCategoriesSelect(fromDt), bucket, itemCategoriesPrefix),
      silverCounts: athenaUnload(silverCountsQuery(input), bucket, silverBatchPrefix(run.runId, 'silver_counts')),
    },
    featuresPrefix,
    interactionsPrefix,
    itemCategoriesPrefix,
  };
}

/** What one feature writer did, under silver/_batch/<runId>/feature_writes/ (FinishExtract sums them). */
interface FeatureWrite {
  key: string;
  entity: 'user' | 'item';
  rows: number;
  asOf: string | null;
  setAside: SetAside;
}

const FeatureFilePayloadSchema = z.object({ run: RunSchema, key: z.string().min(1) });

/**
 * WriteFeatureFile: the exact feature rows of one file the feature queries wrote, into DynamoDB. Rows no store can
 * hold are set aside with the reason (the same rule as ExtractFeatures); rows the table failed to take after its
 * retries fail the step as a TransientError (the whole file is rewritten on a retry: writes are idempotent puts).
 */
export async function writeFeatureFileStep(payload: unknown, deps: RetrainingDeps): Promise<{ rows: number; setAside: SetAside }> {
  const { run: r, key } = parsePayload(FeatureFilePayloadSchema, payload, 'WriteFeatureFile');
  const run = r as RunInfo;
  if (!deps.table) throw new Error('WriteFeatureFile needs FEATURES_TABLE (the DynamoDB feature table)');
  const prefix = silverBatchPrefix(run.runId, 'features');
  const entity = key.startsWith(prefix + BATCH_FEATURE_ENTITIES.user) ? 'user' : key.startsWith(prefix + BATCH_FEATURE_ENTITIES.item) ? 'item' : undefined;
  if (!entity) throw new Error(`WriteFeatureFile: ${key} is not a feature file of run ${run.runId} (${prefix}entity=user|item/…)`);
  const bytes = await deps.lake.getBytes(key);
  if (bytes === undefined) throw new Error(`WriteFeatureFile: ${key} is missing`);
  const setAside = new SetAsideLog();
  const rows: ExactFeatureRow[] = [];
  let asOf: string | null = null;
  for (const row of bytes.byteLength === 0 ? [] : await readParquet(bytes)) {
    const batchRow = row as BatchRow;
    let id = '?';
    try {
      asOf = asOfOf(batchRow);
      const built = entity === 'user' ? exactUserRow(userFeaturesFromRow(batchRow), asOf, run.window) : exactItemRow(itemFeaturesFromRow(batchRow), asOf, run.window);
      id = built.exact.pk;
      if (built.problem) setAside.add(`${entity} features`, id, built.problem);
      else rows.push(built.exact);
    } catch (err) {
      setAside.add(`${entity} features`, id, `cannot be read: ${describeError(err)}`);
    }
  }
  const refused = await writeExactRows(deps.table, rows, setAside, ` of ${key}`);
  const write: FeatureWrite = { key, entity, rows: rows.length - refused, asOf, setAside: setAside.summary() };
  await putJson(deps.lake, `${silverBatchPrefix(run.runId, 'feature_writes')}${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`, write);
  return { rows: write.rows, setAside: write.setAside };
}

const FinishPayloadSchema = z.object({ run: RunSchema, validation: z.object({ duplicates: z.number() }).passthrough(), batch: z.object({ silverFilesDeleted: z.number() }).passthrough() });

/** The row count of every Parquet file under `prefix`, from the footers. */
async function rowsUnder(lake: RetrainingLake, prefix: string): Promise<{ files: number; rows: number }> {
  const objects = (await lake.listObjects(prefix)).filter((o) => o.size > 0);
  const counts = await mapLimit(objects, 8, (o) => parquetRowCountOf(o.size, (start, end) => lake.getRange(o.key, start, end)));
  return { files: objects.length, rows: counts.reduce((a, b) => a + b, 0) };
}

/**
 * FinishExtract: what the Athena steps wrote, in ExtractFeatures' shape (so SnapshotCatalog, TrainModel and RecordRun
 * read one contract), and the last-extracted mark. `totalInteractions` counts the compact table's (user, item) pairs.
 */
export async function finishExtractStep(payload: unknown, deps: RetrainingDeps): Promise<{ run: RunInfo; validation: unknown; extract: ExtractResult & { interactionsPrefix: string; itemCategoriesPrefix: string; trainer: Trainer; durationMs: number } }> {
  const started = performance.now();
  const p = parsePayload(FinishPayloadSchema, payload, 'FinishExtract');
  const run = p.run as RunInfo;
  const { lake } = deps;
  const counts = (await readBatchRows(lake, silverBatchPrefix(run.runId, 'silver_counts')))[0];
  if (!counts) throw new Error(`FinishExtract: the Silver counts query wrote nothing under ${silverBatchPrefix(run.runId, 'silver_counts')}`);
  const n = (col: string) => batchNumber(counts[col]) ?? 0;
  const silverKeys = await windowSilverKeys(lake, run.window);
  // The Silver queries (one per chunk of partitions) together wrote what the counts query says, or the run stops.
  const written = new Set(silverKeys);
  const silverObjects = (await lake.listObjects(SILVER_INTERACTIONS_PREFIX)).filter((o) => written.has(o.key) && o.size > 0);
  const silverRows = (await mapLimit(silverObjects, 8, (o) => parquetRowCountOf(o.size, (start, end) => lake.getRange(o.key, start, end)))).reduce((a, b) => a + b, 0);
  if (silverRows !== n('silver_rows')) {
    throw new Error(`FinishExtract: the window's Silver partitions hold ${silverRows} rows, the Silver counts query expected ${n('silver_rows')}: a Silver query wrote too little or too much (see BuildSilver)`);
  }
  const setAside = new SetAsideLog();
  if (n('set_aside') > 0) setAside.merge({ count: n('set_aside'), reasons: { 'Silver interaction: interactionProblem': n('set_aside') }, samples: [] });
  let featureRows = 0;
  let asOf: string | null = null;
  for (const write of await Promise.all((await lake.listKeys(silverBatchPrefix(run.runId, 'feature_writes'))).map((k) => getJson<FeatureWrite>(lake, k)))) {
    if (!write) continue;
    featureRows += write.rows;
    if (write.asOf && (asOf === null || write.asOf > asOf)) asOf = write.asOf;
    setAside.merge(write.setAside);
  }
  const featuresPrefix = silverBatchPrefix(run.runId, 'features');
  const [users, items, pairs] = await Promise.all([rowsUnder(lake, featuresPrefix + BATCH_FEATURE_ENTITIES.user), rowsUnder(lake, featuresPrefix + BATCH_FEATURE_ENTITIES.item), rowsUnder(lake, silverBatchPrefix(run.runId, 'interactions'))]);
  await markExtracted(lake, run);
  return {
    run,
    validation: p.validation,
    extract: {
      windowInteractions: n('silver_rows'),
      // Repeats inside the window, and events an earlier arrival date already stored.
      duplicatesDropped: n('duplicates') + n('stored_earlier'),
      silverFilesWritten: silverKeys.length,
      silverFilesDeleted: p.batch.silverFilesDeleted,
      eventDates: n('event_dates'),
      totalInteractions: pairs.rows,
      users: users.rows,
      items: items.rows,
      featureRowsWritten: featureRows,
      asOf: asOf ?? new Date(0).toISOString(),
      keys: { userFeatures: featuresPrefix + BATCH_FEATURE_ENTITIES.user, itemFeatures: featuresPrefix + BATCH_FEATURE_ENTITIES.item },
      setAside: setAside.count ? setAside.summary() : emptySetAside(),
      interactionsPrefix: silverBatchPrefix(run.runId, 'interactions'),
      itemCategoriesPrefix: silverBatchPrefix(run.runId, 'item_categories'),
      // ChooseTrainer: the compact table's (user, item) pairs are what training holds in memory.
      trainer: trainerOf(deps.config, pairs.rows),
      durationMs: Math.round(performance.now() - started),
    },
  };
}

