import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { catalogSnapshotKey, isCatalogSnapshotKey, MODELS_PREFIX, silverBatchPrefix } from '../domain/lake-layout';
import { formatIssues } from '../domain/zod-issues';
import type { HybridConfig } from '../recommender/index';
import { retrainingDeps } from './deps';
import { asStepError, DataError, describeError, isTransient, NoTrainingDataError, RetrainingError, TransientError } from './errors';
import { getJson, putJson, type RetrainingLake } from './lake';
import { trainFromCompact, type CompactTrainRequest, type TrainResult } from './train-candidate';

/**
 * TrainModel as an ECS Fargate task (`ecs:runTask.sync`), for histories past what one Lambda holds: the same training
 * code as the Lambda step, fed from the compact interaction table the lake engine wrote (`silver/_batch/<runId>/
 * interactions/`) held in typed arrays. The container runs `node train-task.mjs` (docker/training.Dockerfile); its
 * request comes in the environment, its result goes to the lake, because a task has no return value.
 */

/** Where a task writes its outcome: `models/_tasks/<runId>/train-result.json` (a TrainTaskOutcome). */
export const TRAIN_TASKS_PREFIX = `${MODELS_PREFIX}_tasks/`;
export function trainTaskResultKey(runId: string): string {
  // silverBatchPrefix validates the run id (the same pattern every run-scoped key uses).
  silverBatchPrefix(runId);
  return `${TRAIN_TASKS_PREFIX}${runId}/train-result.json`;
}

/** The run id pattern of src/domain/lake-layout.ts (run-scoped keys). */
const RUN_ID = /^[A-Za-z0-9._-]{1,80}$/;
const DateWindowSchema = z.object({ from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/) });

/**
 * `TRAIN_REQUEST` (JSON). `modelConfig` is the run's override, merged over MODEL_CONFIG as TrainModel merges it;
 * `trainingWindowDays` defaults to TRAINING_WINDOW_DAYS. The prefixes default to this run's batch outputs and must lie
 * under `silver/_batch/<runId>/` (a task never reads another run's tables); `catalogKey` must be this run's snapshot.
 */
export const TrainTaskRequestSchema = z
  .object({
    runId: z.string().regex(RUN_ID).refine((id) => id !== '.' && id !== '..', 'must be a run id'),
    window: DateWindowSchema,
    modelConfig: z.record(z.string(), z.unknown()).nullable().optional(),
    trainingWindowDays: z.number().int().min(0).max(36_500).optional(),
    catalogKey: z.string().refine(isCatalogSnapshotKey, 'must be a catalogue snapshot key, catalog/snapshots/<runId>.json').nullable().optional(),
    interactionsPrefix: z.string().optional(),
    itemCategoriesPrefix: z.string().nullable().optional(),
  })
  .superRefine((r, ctx) => {
    const own = silverBatchPrefix(r.runId);
    for (const field of ['interactionsPrefix', 'itemCategoriesPrefix'] as const) {
      const v = r[field];
      if (typeof v === 'string' && (!v.startsWith(own) || !v.endsWith('/') || v.includes('..'))) ctx.addIssue({ code: 'custom', path: [field], message: `must be a folder under ${own}` });
    }
    if (r.catalogKey && r.catalogKey !== catalogSnapshotKey(r.runId)) ctx.addIssue({ code: 'custom', path: ['catalogKey'], message: `is not this run's snapshot (${catalogSnapshotKey(r.runId)})` });
  });

export type TrainTaskRequest = CompactTrainRequest;

/** The request of `TRAIN_REQUEST`, with the environment's defaults filled in; a bad request is a DataError. */
export function parseTrainTaskRequest(text: string | undefined, defaults: { modelConfig: Partial<HybridConfig>; trainingWindowDays: number }): TrainTaskRequest {
  if (!text) throw new DataError('TRAIN_REQUEST is not set: the task needs its request (JSON) in the environment');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DataError(`TRAIN_REQUEST is not JSON: ${describeError(err)}`, { cause: err });
  }
  const parsed = TrainTaskRequestSchema.safeParse(json);
  if (!parsed.success) throw new DataError(`TRAIN_REQUEST is invalid: ${formatIssues(parsed.error.issues)}`);
  const r = parsed.data;
  return {
    runId: r.runId,
    window: r.window,
    modelConfig: { ...defaults.modelConfig, ...((r.modelConfig ?? {}) as Partial<HybridConfig>) },
    trainingWindowDays: r.trainingWindowDays ?? defaults.trainingWindowDays,
    catalogKey: r.catalogKey ?? null,
    interactionsPrefix: r.interactionsPrefix ?? silverBatchPrefix(r.runId, 'interactions'),
    itemCategoriesPrefix: r.itemCategoriesPrefix === undefined ? silverBatchPrefix(r.runId, 'item_categories') : r.itemCategoriesPrefix,
  };
}

/**
 * What `models/_tasks/<runId>/train-result.json` holds. `error.name` is the name the Lambda step would have failed
 * with (`DataError`, `NoTrainingDataError`, `CorruptObjectError`, `TransientError`, …), so whatever reads the outcome
 * can fail the state with the same Error and the ASL's Retry/Catch treat both paths alike.
 */
export type TrainTaskOutcome =
  | { status: 'succeeded'; runId: string; result: TrainResult }
  | { status: 'failed'; runId: string | null; error: { name: string; message: string }; retryable: boolean };

/**
 * Exit codes of the task: 0 trained (outcome `succeeded`); 2 deterministic failure — bad request or data
 * (RetrainingError: DataError, NoTrainingDataError, CorruptObjectError), the same on every attempt; 75 (EX_TEMPFAIL)
 * transient (throttling, 5xx, dropped connection): worth a retry; 1 anything else (a bug). The outcome object is
 * written in every case it can be; the error also goes to stderr.
 */
export const EXIT = { ok: 0, failed: 1, dataError: 2, transient: 75 } as const;

function exitCodeOf(err: Error): number {
  if (isTransient(err)) return EXIT.transient;
  return err instanceof RetrainingError ? EXIT.dataError : EXIT.failed;
}

/** The task's whole run: request from the environment, training, outcome to the lake; returns the exit code. */
export async function runTrainTask(
  env: Record<string, string | undefined> = process.env,
  io: { lake?: RetrainingLake; stdout?: (line: string) => void; stderr?: (line: string) => void; now?: () => Date } = {},
): Promise<number> {
  const stdout = io.stdout ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stderr = io.stderr ?? ((line: string) => process.stderr.write(`${line}\n`));
  let lake = io.lake;
  let runId: string | null = null;
  try {
    const deps = retrainingDeps(env);
    lake ??= deps.lake;
    const request = parseTrainTaskRequest(env.TRAIN_REQUEST, { modelConfig: deps.config.MODEL_CONFIG, trainingWindowDays: deps.config.TRAINING_WINDOW_DAYS });
    runId = request.runId;
    // A retried task must not leave the previous attempt's outcome to be read as its own.
    await lake.deleteObject(trainTaskResultKey(runId));
    const started = performance.now();
    const result = await trainFromCompact(request, lake, io.now?.() ?? new Date());
    const outcome: TrainTaskOutcome = { status: 'succeeded', runId, result };
    await putJson(lake, trainTaskResultKey(runId), outcome);
    stdout(JSON.stringify({ message: 'TrainModel task succeeded', durationMs: Math.round(performance.now() - started), result }));
    return EXIT.ok;
  } catch (err) {
    // A request refused by its schema may still name a well-formed run: record the failure where that run looks.
    runId ??= runIdOf(env.TRAIN_REQUEST);
    const error = asStepError(err);
    const code = exitCodeOf(error);
    stderr(`TrainModel task failed (${error.name}, exit ${code}): ${error.message}${error.stack ? `\n${error.stack}` : ''}`);
    if (lake && runId !== null) {
      const outcome: TrainTaskOutcome = { status: 'failed', runId, error: { name: error.name, message: error.message.slice(0, 4000) }, retryable: code === EXIT.transient };
      try {
        await putJson(lake, trainTaskResultKey(runId), outcome);
      } catch (writeErr) {
        stderr(`could not write ${trainTaskResultKey(runId)}: ${describeError(writeErr)}`);
      }
    }
    return code;
  }
}

/**
 * The state after the task (a Lambda) turns its outcome into TrainModel's result: the TrainResult, or the error the
 * Lambda step would have thrown, with the same name (TransientError when retryable). No outcome means the task never
 * got to write one (stopped, out of memory, image not pulled): a DataError naming the key; its logs tell why.
 */
export async function trainTaskResult(lake: RetrainingLake, runId: string): Promise<TrainResult> {
  const key = trainTaskResultKey(runId);
  const outcome = await getJson<TrainTaskOutcome>(lake, key);
  if (outcome === undefined) throw new DataError(`the training task left no outcome at ${key}: it was stopped before it finished (see its log stream)`);
  if (outcome.status === 'succeeded') return outcome.result;
  if (outcome.retryable) throw new TransientError(outcome.error.message);
  throw new RetrainingError(outcome.error.name, outcome.error.message);
}

function runIdOf(text: string | undefined): string | null {
  try {
    const id: unknown = (JSON.parse(text ?? '') as { runId?: unknown }).runId;
    return typeof id === 'string' && RUN_ID.test(id) && id !== '.' && id !== '..' ? id : null;
  } catch {
    return null;
  }
}

// Run when executed as the container's entry point (node train-task.mjs), not when imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void runTrainTask().then((code) => {
    process.exitCode = code;
  });
}
