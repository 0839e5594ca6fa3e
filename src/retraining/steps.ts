import { z } from 'zod';
import { formatIssues } from '../domain/zod-issues';
import type { RetrainingDeps } from './deps';
import { evaluateCandidate, type EvaluateResult } from './evaluate-candidate';
import { DataValidationError } from './errors';
import { extractWindow, type ExtractResult } from './extract';
import { deployModel, restoreProduction, rollbackProduction, type DeployResult, type RestoreResult } from './deploy';
import { getJson, putJson } from './lake';
import { catalogSnapshotKey, EXTRACT_STATE_KEY, isCatalogSnapshotKey, LAST_VALIDATION_KEY, runReportKey } from '../domain/lake-layout';
import { snapshotCatalog, type SnapshotResult } from './snapshot-catalog';
import { confirmReload, type ReloadResult } from './reload';
import { readBronzeWindow } from './bronze';
import { trainCandidate, type TrainResult } from './train-candidate';
import { nextValidationHistory, recentSummaries, validateWindow, type CheckName, type ValidationHistory } from './validate';
import { rolloutOf, validationThresholds } from '../config/retraining';
import { resolveRun, type RunInfo } from './run-window';

/**
 * The steps of the nightly retraining, free of the Lambda event shape: each takes the Payload its ASL
 * state sends and returns what the state keeps. The Lambda handlers and the local runner both call these.
 */

const DateWindowSchema = z.object({ from: z.string(), to: z.string() });
const RunSchema = z.object({
  runId: z.string().min(1),
  window: DateWindowSchema,
  trigger: z.enum(['schedule', 'manual']),
  startedAt: z.string(),
  modelConfig: z.record(z.string(), z.unknown()).nullable(),
});

function parsePayload<T extends z.ZodType>(schema: T, payload: unknown, step: string): z.output<T> {
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

/** ValidateData: resolves the run, checks its Bronze window, writes the report; throws when unusable. */
export async function validateDataStep(payload: unknown, deps: RetrainingDeps): Promise<ValidateOutput> {
  const p = parsePayload(z.object({ executionName: z.string(), startTime: z.string(), input: z.unknown() }), payload, 'ValidateData');
  const started = performance.now();
  const c = deps.config;
  const lastExtract = await getJson<{ window: { to: string } }>(deps.lake, EXTRACT_STATE_KEY);
  const run = resolveRun(p.input, p.executionName, p.startTime, { lastExtractedTo: lastExtract?.window.to, maxDays: c.CATCH_UP_MAX_DAYS });
  const bronze = await readBronzeWindow(deps.lake, run.window);
  const last = await getJson<ValidationHistory>(deps.lake, LAST_VALIDATION_KEY);
  const report = validateWindow(run.runId, run.window, bronze, recentSummaries(last, run.runId), validationThresholds(c));
  const reportKey = runReportKey(run.runId, 'validation');
  await putJson(deps.lake, reportKey, report);
  if (report.status === 'failed') throw new DataValidationError(`${report.text}\nReport: s3://${deps.lake.bucket}/${reportKey}`);
  await putJson(deps.lake, LAST_VALIDATION_KEY, nextValidationHistory(report, last, c.VALIDATION_BASELINE_RUNS));
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

/** ExtractFeatures: Bronze → Silver for the window, exact features from all of Silver. */
export async function extractFeaturesStep(payload: unknown, deps: RetrainingDeps): Promise<ExtractResult & { durationMs: number }> {
  const { run } = parsePayload(z.object({ run: RunSchema }), payload, 'ExtractFeatures');
  if (!deps.table) throw new Error('ExtractFeatures needs FEATURES_TABLE (the DynamoDB feature table)');
  const table = deps.table;
  const result = await timed(() => extractWindow(run.window, { lake: deps.lake, table, recentLimit: deps.config.RECENT_ITEMS_LIMIT }));
  // Only a later window moves the mark: rerunning an old window must not make the schedule skip days.
  const previous = await getJson<{ window: { to: string } }>(deps.lake, EXTRACT_STATE_KEY);
  if (!previous || previous.window.to < run.window.to) await putJson(deps.lake, EXTRACT_STATE_KEY, { window: run.window, runId: run.runId, at: new Date().toISOString() });
  return result;
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
  const { run, catalogKey } = parsePayload(z.object({ run: RunSchema, catalogKey: CatalogKeySchema }), payload, 'TrainModel');
  return timed(() =>
    trainCandidate(
      {
        runId: run.runId,
        window: run.window,
        modelConfig: { ...deps.config.MODEL_CONFIG, ...(run.modelConfig ?? {}) },
        trainingWindowDays: deps.config.TRAINING_WINDOW_DAYS,
        catalogKey: ownSnapshot(catalogKey, run.runId, 'TrainModel'),
      },
      deps.lake,
    ),
  );
}

/** EvaluateModel: candidate, production and popularity on one temporal hold-out, and the gate's numbers. */
export async function evaluateModelStep(payload: unknown, deps: RetrainingDeps): Promise<EvaluateResult & { durationMs: number }> {
  const p = parsePayload(z.object({ run: RunSchema, version: z.string(), catalogKey: CatalogKeySchema }), payload, 'EvaluateModel');
  const c = deps.config;
  return timed(() =>
    evaluateCandidate(
      { runId: p.run.runId, version: p.version, holdoutRatio: c.EVAL_HOLDOUT_RATIO, k: c.EVAL_K, metric: c.GATE_METRIC, tolerance: c.DEPLOY_TOLERANCE, catalogKey: ownSnapshot(p.catalogKey, p.run.runId, 'EvaluateModel') },
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
