import { z } from 'zod';
import { formatIssues } from '../domain/zod-issues';
import type { RetrainingDeps } from './deps';
import { evaluateCandidate, type EvaluateResult } from './evaluate-candidate';
import { DataError, DataValidationError, RetrainingError } from './errors';
import { extractWindow, type ExtractResult } from './extract';
import { deployModel, restoreProduction, rollbackProduction, type DeployResult, type RestoreResult } from './deploy';
import { getJson, putJson, type RetrainingLake } from './lake';
import { catalogSnapshotKey, EXTRACT_STATE_KEY, isCatalogSnapshotKey, LAST_VALIDATION_KEY, runReportKey, SILVER_BATCH_PREFIX, silverBatchPrefix } from '../domain/lake-layout';
import { snapshotCatalog, type SnapshotResult } from './snapshot-catalog';
import { confirmReload, type ReloadResult } from './reload';
import { readBronzeWindow } from './bronze';
import { trainCandidate, trainFromCompact, type TrainResult } from './train-candidate';
import { trainTaskResult, trainTaskResultKey } from './train-task';
import { nextValidationHistory, recentSummaries, validateWindow, type CheckName, type ValidationHistory, type ValidationReport } from './validate';
import { rolloutOf, validationThresholds } from '../config/retraining';
import { resolveRun, type RunInfo } from './run-window';

/**
 * The steps of the nightly retraining, free of the Lambda event shape: each takes the Payload its ASL
 * state sends and returns what the state keeps. The Lambda handlers and the local runner both call these.
 */

const DateWindowSchema = z.object({ from: z.string(), to: z.string() });
/** A run as the steps pass it on (its id is a lake key segment: sanitizeRunId's characters). */
export const RunSchema = z.object({
  runId: z.string().regex(/^[A-Za-z0-9._-]{1,80}$/),
  window: DateWindowSchema,
  trigger: z.enum(['schedule', 'manual']),
  startedAt: z.string(),
  modelConfig: z.record(z.string(), z.unknown()).nullable(),
});

export function parsePayload<T extends z.ZodType>(schema: T, payload: unknown, step: string): z.output<T> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) throw new Error(`${step}: invalid payload: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

const timed = async <T>(fn: () => Promise<T>): Promise<T & { durationMs: number }> => {
  const started = performance.now();
  const result = await fn();
  return { ...result, durationMs: Math.round(performance.now() - started) };
};

export interface ValidateOutput {
  run: RunInfo;
  validation: {
    status: 'passed';
    uniqueEvents: number;
    validEvents: number;
    invalidLines: number;
    quarantined: number;
    /** Repeats of already-seen eventIds, dropped (never counted against the run). */
    duplicates: number;
    repeatedEventIds: number;
    mostRepeatedEventIds: { eventId: string; copies: number }[];
    repeatedStreamRecords: number;
    bronzeObjects: number;
    /** Rules that warned, and their lines of the report. */
    warnings: CheckName[];
    notes: string[];
    reportKey: string;
    durationMs: number;
  };
}

const ExecutionPayloadSchema = z.object({ executionName: z.string(), startTime: z.string(), input: z.unknown() });

/** The run of an execution: its window follows the last extracted one (both engines resolve it here). */
export async function resolveExecutionRun(payload: unknown, deps: RetrainingDeps, step: string): Promise<RunInfo> {
  const p = parsePayload(ExecutionPayloadSchema, payload, step);
  const lastExtract = await getJson<{ window: { to: string } }>(deps.lake, EXTRACT_STATE_KEY);
  return resolveRun(p.input, p.executionName, p.startTime, { lastExtractedTo: lastExtract?.window.to, maxDays: deps.config.CATCH_UP_MAX_DAYS });
}

/**
 * Writes a validation report, fails the run with it when unusable, and otherwise records it as the next baseline and
 * returns what the state keeps. The same for the Lambda engine's report and the one built from Athena's aggregates.
 */
export async function finishValidation(run: RunInfo, report: ValidationReport, last: ValidationHistory | undefined, deps: RetrainingDeps, started: number): Promise<ValidateOutput> {
  const reportKey = runReportKey(run.runId, 'validation');
  await putJson(deps.lake, reportKey, report);
  if (report.status === 'failed') throw new DataValidationError(`${report.text}\nReport: s3://${deps.lake.bucket}/${reportKey}`);
  await putJson(deps.lake, LAST_VALIDATION_KEY, nextValidationHistory(report, last, deps.config.VALIDATION_BASELINE_RUNS));
  return {
    run,
    validation: {
      status: 'passed',
      uniqueEvents: report.uniqueEvents,
      validEvents: report.validEvents,
      invalidLines: report.stats.invalidLines,
      quarantined: report.stats.quarantined,
      duplicates: report.stats.duplicates,
      repeatedEventIds: report.stats.repeatedEventIds,
      mostRepeatedEventIds: report.samples.mostRepeatedEventIds.slice(0, 5),
      repeatedStreamRecords: report.stats.repeatedStreamRecords,
      bronzeObjects: report.stats.objects,
      warnings: report.warnings,
      notes: report.checks.filter((check) => check.status === 'warn').map((check) => `${check.name}: ${check.detail}`.slice(0, 400)),
      reportKey,
      durationMs: Math.round(performance.now() - started),
    },
  };
}

/** ValidateData: resolves the run, checks its Bronze window, writes the report; throws when unusable. */
export async function validateDataStep(payload: unknown, deps: RetrainingDeps): Promise<ValidateOutput> {
  const started = performance.now();
  const run = await resolveExecutionRun(payload, deps, 'ValidateData');
  const bronze = await readBronzeWindow(deps.lake, run.window);
  const last = await getJson<ValidationHistory>(deps.lake, LAST_VALIDATION_KEY);
  const report = validateWindow(run.runId, run.window, bronze, recentSummaries(last, run.runId), validationThresholds(deps.config));
  return finishValidation(run, report, last, deps, started);
}

/** The last-extracted mark moves only forward (a rerun of an old window must not make the schedule skip days). */
export async function markExtracted(lake: RetrainingLake, run: RunInfo): Promise<void> {
  const previous = await getJson<{ window: { to: string } }>(lake, EXTRACT_STATE_KEY);
  if (!previous || previous.window.to < run.window.to) await putJson(lake, EXTRACT_STATE_KEY, { window: run.window, runId: run.runId, at: new Date().toISOString() });
}

/**
 * ExtractFeatures: Bronze → Silver for the window, exact features from all of Silver. `trainer` (the ASL's
 * ChooseTrainer) is always `lambda` with this engine: the Fargate task trains from the compact table, which only the
 * Athena engine writes (FinishExtract), and this engine has just held the whole Silver history in one Lambda.
 */
export async function extractFeaturesStep(payload: unknown, deps: RetrainingDeps): Promise<ExtractResult & { durationMs: number; interactionsPrefix: null; itemCategoriesPrefix: null; trainer: 'lambda' }> {
  const { run } = parsePayload(z.object({ run: RunSchema }), payload, 'ExtractFeatures');
  if (!deps.table) throw new Error('ExtractFeatures needs FEATURES_TABLE (the DynamoDB feature table)');
  const table = deps.table;
  const result = await timed(() => extractWindow(run.window, { lake: deps.lake, table, recentLimit: deps.config.RECENT_ITEMS_LIMIT }));
  await markExtracted(deps.lake, run);
  // Training reads Silver itself with this engine (the Athena engine names its compact tables here).
  return { ...result, interactionsPrefix: null, itemCategoriesPrefix: null, trainer: 'lambda' };
}

/** The compact tables of the Athena engine, when FinishExtract named them (null with the Lambda engine). */
const CompactPrefixes = {
  interactionsPrefix: z.string().startsWith(SILVER_BATCH_PREFIX).nullable().default(null),
  itemCategoriesPrefix: z.string().startsWith(SILVER_BATCH_PREFIX).nullable().default(null),
};

function compactOf(p: { interactionsPrefix: string | null; itemCategoriesPrefix: string | null }, runId: string, step: string): { interactionsPrefix: string; itemCategoriesPrefix: string | null } | null {
  if (p.interactionsPrefix === null) return null;
  // Only this run's own tables: a run never trains on another run's batch output.
  for (const prefix of [p.interactionsPrefix, p.itemCategoriesPrefix]) {
    if (prefix !== null && !prefix.startsWith(silverBatchPrefix(runId))) throw new Error(`${step}: invalid payload: ${prefix} is not under this run's batch location ${silverBatchPrefix(runId)}`);
  }
  return { interactionsPrefix: p.interactionsPrefix, itemCategoriesPrefix: p.itemCategoriesPrefix };
}

/** SnapshotCatalog: freezes the run's catalogue (table, else catalog/items.json) under catalog/snapshots/<runId>.json. */
export async function snapshotCatalogStep(payload: unknown, deps: RetrainingDeps): Promise<SnapshotResult & { durationMs: number }> {
  const { run } = parsePayload(z.object({ run: RunSchema }), payload, 'SnapshotCatalog');
  return timed(() => snapshotCatalog(run.runId, { lake: deps.lake, catalog: deps.catalog }));
}

/** The catalogue TrainModel and EvaluateModel join: SnapshotCatalog's key (null: no catalogue); nothing else in the lake. */
const CatalogKeySchema = z
  .string()
  .refine(isCatalogSnapshotKey, 'must be a catalogue snapshot key, catalog/snapshots/<runId>.json (SnapshotCatalog output)')
  .nullable();

/** The snapshot must be this run's own: a run never trains on another run's frozen catalogue. */
function ownSnapshot(catalogKey: string | null, runId: string, step: string): string | null {
  if (catalogKey !== null && catalogKey !== catalogSnapshotKey(runId)) throw new Error(`${step}: invalid payload: catalogKey ${catalogKey} is not this run's snapshot (${catalogSnapshotKey(runId)})`);
  return catalogKey;
}

/** TrainModel: a new versioned artifact from Silver; production is not touched. */
export async function trainModelStep(payload: unknown, deps: RetrainingDeps): Promise<TrainResult & { durationMs: number }> {
  const p = parsePayload(z.object({ run: RunSchema, catalogKey: CatalogKeySchema, ...CompactPrefixes }), payload, 'TrainModel');
  const { run } = p;
  const request = {
    runId: run.runId,
    window: run.window,
    modelConfig: { ...deps.config.MODEL_CONFIG, ...(run.modelConfig ?? {}) },
    trainingWindowDays: deps.config.TRAINING_WINDOW_DAYS,
    catalogKey: ownSnapshot(p.catalogKey, run.runId, 'TrainModel'),
  };
  const compact = compactOf(p, run.runId, 'TrainModel');
  // The Athena engine's compact table reads into typed arrays; Silver is read whole with the Lambda engine.
  return timed(() => (compact ? trainFromCompact({ ...request, ...compact }, deps.lake) : trainCandidate(request, deps.lake)));
}

/**
 * The ECS task as `ecs:runTask.sync` hands it on (DescribeTasks' task, PascalCase): TrainTask's ResultSelector keeps
 * a few fields when the state succeeded; a failed state's Cause is the whole task as JSON.
 */
const EcsTaskSchema = z.object({
  TaskArn: z.string(),
  StopCode: z.string().optional(),
  StoppedReason: z.string().optional(),
  Containers: z.array(z.object({ Name: z.string().optional(), ExitCode: z.number().optional(), Reason: z.string().optional() })).optional(),
});
type EcsTask = z.infer<typeof EcsTaskSchema>;

const TrainTaskResultPayloadSchema = z.object({
  run: RunSchema,
  trainTask: z.object({
    /** TrainTask succeeded (the container exited 0): what its ResultSelector kept. */
    task: z.object({ taskArn: z.string(), createdAt: z.number().optional(), stoppedAt: z.number().optional() }).passthrough().optional(),
    /** TrainTask failed and its Catch came here: the Step Functions error. */
    error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  }).passthrough(),
});

function failedTaskOf(cause: string | undefined): EcsTask | undefined {
  try {
    const parsed = EcsTaskSchema.safeParse(JSON.parse(cause ?? ''));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

const describeTask = (t: EcsTask) =>
  `ECS task ${t.TaskArn} stopped (${[t.StopCode, t.StoppedReason, ...(t.Containers ?? []).map((c) => `container ${c.Name ?? '?'} exit ${c.ExitCode ?? 'none'}${c.Reason ? ` ${c.Reason}` : ''}`)].filter(Boolean).join('; ')})`;

/**
 * TrainTaskResult: the Fargate task's outcome (models/_tasks/<runId>/train-result.json) as TrainModel's result, or
 * the error TrainModel would have failed with, by name. It runs after TrainTask whether the task succeeded or its
 * container exited non-zero (the state fails then, States.TaskFailed with the task as Cause; its Catch comes here):
 * the outcome names the error. A state that failed before any task ran (RunTask refused) fails here under its own
 * error name; a failed task that left no outcome, or only an earlier attempt's success, is a DataError citing
 * the task's stop code, reason and exit code.
 */
export async function trainTaskResultStep(payload: unknown, deps: RetrainingDeps): Promise<TrainResult & { durationMs: number }> {
  const { run, trainTask } = parsePayload(TrainTaskResultPayloadSchema, payload, 'TrainTaskResult');
  const failed = trainTask.error;
  const task = failed ? failedTaskOf(failed.Cause) : undefined;
  if (failed && !task) throw new RetrainingError(failed.Error, `TrainTask failed before a training task ran: ${failed.Cause ?? failed.Error}`);
  let result: TrainResult;
  try {
    result = await trainTaskResult(deps.lake, run.runId);
  } catch (err) {
    if (task && err instanceof DataError) throw new DataError(`${err.message}; ${describeTask(task)}`, { cause: err });
    throw err;
  }
  if (task) throw new DataError(`${describeTask(task)}, yet ${trainTaskResultKey(run.runId)} reports success: an earlier attempt's outcome, not this task's`);
  const { createdAt, stoppedAt } = trainTask.task ?? {};
  // The task's time from RunTask to its stop, as TrainModel's is its Lambda's.
  return { ...result, durationMs: createdAt !== undefined && stoppedAt !== undefined ? Math.max(0, stoppedAt - createdAt) : 0 };
}

/** EvaluateModel: candidate, production and popularity on one temporal hold-out, and the gate's numbers. */
export async function evaluateModelStep(payload: unknown, deps: RetrainingDeps): Promise<EvaluateResult & { durationMs: number }> {
  const p = parsePayload(z.object({ run: RunSchema, version: z.string(), catalogKey: CatalogKeySchema, ...CompactPrefixes }), payload, 'EvaluateModel');
  const c = deps.config;
  return timed(() =>
    evaluateCandidate(
      {
        runId: p.run.runId,
        version: p.version,
        holdoutRatio: c.EVAL_HOLDOUT_RATIO,
        k: c.EVAL_K,
        metric: c.GATE_METRIC,
        tolerance: c.DEPLOY_TOLERANCE,
        catalogKey: ownSnapshot(p.catalogKey, p.run.runId, 'EvaluateModel'),
        compact: compactOf(p, p.run.runId, 'EvaluateModel'),
      },
      deps.lake,
    ),
  );
}

const DeployPayloadSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('deploy'),
    runId: z.string(),
    version: z.string(),
    expectedProductionVersion: z.string().nullable(),
    metrics: z.record(z.string(), z.number()).optional(),
  }),
  z.object({ action: z.literal('restore'), runId: z.string() }),
  z.object({ action: z.literal('rollback') }),
]);

/**
 * DeployModel (`deploy`), the failure path's RestoreProduction (`restore`) and the operator's one-command
 * rollback (`rollback`): every write of models/production.json goes through this one function.
 */
export async function deployModelStep(payload: unknown, deps: RetrainingDeps): Promise<DeployResult | RestoreResult | { from: string; to: string }> {
  const p = parsePayload(DeployPayloadSchema, payload, 'DeployModel');
  switch (p.action) {
    case 'deploy':
      return deployModel({ runId: p.runId, version: p.version, expectedProductionVersion: p.expectedProductionVersion, metrics: p.metrics }, deps.lake, new Date(), rolloutOf(deps.config));
    case 'restore':
      return restoreProduction(p.runId, deps.lake);
    case 'rollback':
      return rollbackProduction(deps.lake);
  }
}

/** ReloadApi: confirms every API instance serves the deployed version within the refresh bound. */
export async function reloadApiStep(payload: unknown, deps: RetrainingDeps): Promise<ReloadResult> {
  const { version, rollout, status, reason } = parsePayload(
    z.object({ version: z.string(), rollout: z.enum(['replace', 'canary']).default('replace'), status: z.enum(['deployed', 'not-deployed']).default('deployed'), reason: z.string().optional() }),
    payload,
    'ReloadApi',
  );
  const c = deps.config;
  const boundSeconds = c.MODEL_REFRESH_SECONDS + c.RELOAD_MARGIN_SECONDS;
  if (status === 'not-deployed') return { skipped: true, reason: `nothing was deployed: ${reason ?? 'not deployed'}`, confirmedVersion: null, answers: 0, staleAnswers: 0, failedRequests: 0, seconds: 0, boundSeconds };
  return confirmReload({
    apiBaseUrl: c.API_BASE_URL,
    version,
    target: rollout === 'canary' ? 'challenger' : 'production',
    refreshSeconds: c.MODEL_REFRESH_SECONDS,
    marginSeconds: c.RELOAD_MARGIN_SECONDS,
    pollIntervalMs: c.RELOAD_POLL_INTERVAL_MS,
    parallelRequests: c.RELOAD_PARALLEL_REQUESTS,
    consecutiveAnswers: c.RELOAD_CONSECUTIVE_ANSWERS,
    requestTimeoutMs: c.RELOAD_REQUEST_TIMEOUT_MS,
  });
}
