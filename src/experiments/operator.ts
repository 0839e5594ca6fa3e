import { z } from 'zod';
import { deploymentOf, ExperimentStateError, newExperimentId, promotedPointer, withExperiment, withoutExperiment } from '../domain/experiment';
import { encodeJson, EXPERIMENTS_PREFIX, experimentLogKey, MODEL_VERSION_PATTERN } from '../domain/lake-layout';
import { EXPERIMENT_METRICS, type Experiment, type ModelRegistry, type ProductionPointer } from '../domain/model-registry';
import { formatIssues } from '../domain/zod-issues';

/**
 * Experiment control (pure over two ports): start an experiment with a challenger at a traffic share, read its
 * state, promote the challenger or stop. Each action rewrites the production pointer with one write (every read
 * instance follows within its refresh bound) and then writes one object to the experiment log
 * (`reports/experiments/<id>/…`, src/domain/lake-layout.ts). Used by the admin routes, the CLI, the scheduled
 * check and the canary deploy.
 *
 * The pointer is read, changed and written back without a conditional write: two operators acting on the same
 * experiment at the same instant can race. `expectedId` on promote and stop makes a stale action fail instead
 * of acting on an experiment that replaced the one the caller looked at.
 */

/** What experiment control needs of the model registry. */
export type ExperimentRegistry = Pick<ModelRegistry, 'readPointer' | 'writePointer' | 'hasArtifact'>;

/** Writes one experiment log object (`key` from experimentLogKey, `json` its body). */
export type ExperimentLogWriter = (key: string, json: unknown) => Promise<void>;

/** The experiment log in the lake: each object as JSON at its key (only keys under `reports/experiments/`). */
export function lakeExperimentLog(lake: { putObject(key: string, body: string, contentType: string): Promise<void> }): ExperimentLogWriter {
  return async (key, json) => {
    if (!key.startsWith(EXPERIMENTS_PREFIX)) throw new Error(`not an experiment log key: ${key}`);
    await lake.putObject(key, encodeJson(json), 'application/json');
  };
}

export interface ExperimentOperatorDeps {
  registry: ExperimentRegistry;
  log: ExperimentLogWriter;
}

/** The bounds of an experiment's settings (the pointer's ExperimentSchema accepts at least these). */
export const ExperimentSettingsSchema = z
  .object({
    /** Percent of users the challenger serves. */
    sharePercent: z.number().int('must be a whole number of percent').min(1).max(50),
    metric: z.enum(EXPERIMENT_METRICS),
    /** Impressions each variant needs before anything is decided. */
    minImpressions: z.number().int().min(1).max(1_000_000_000),
    /** Two-sided significance level of each check. */
    alpha: z.number().gt(0).max(0.2),
    /** After this long without a significant difference the challenger is rolled back. */
    maxDurationHours: z.number().gt(0).max(24 * 90),
  })
  .strict();

export type ExperimentSettings = z.output<typeof ExperimentSettingsSchema>;

export const DEFAULT_EXPERIMENT_SETTINGS: Readonly<ExperimentSettings> = Object.freeze({
  sharePercent: 10,
  metric: 'ctr',
  minImpressions: 1000,
  alpha: 0.01,
  maxDurationHours: 72,
});

/** A request that can never succeed as written (bad settings, not a model version): HTTP 400. */
export class ExperimentRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentRequestError';
  }
}

/** The defaults with `overrides` on top, validated; throws ExperimentRequestError naming each bad field. */
export function experimentSettings(overrides: Partial<ExperimentSettings> = {}): ExperimentSettings {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, value]) => value !== undefined));
  const parsed = ExperimentSettingsSchema.safeParse({ ...DEFAULT_EXPERIMENT_SETTINGS, ...defined });
  if (!parsed.success) throw new ExperimentRequestError(`invalid experiment settings: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** The settings a running experiment was started with. */
export function settingsOf(experiment: Experiment): ExperimentSettings {
  return { sharePercent: experiment.sharePercent, ...experiment.decision };
}

export interface StartExperimentRequest {
  challengerVersion: string;
  startedBy: Experiment['startedBy'];
  runId?: string;
  settings?: Partial<ExperimentSettings>;
}

/** What an action did: the pointer it wrote, the experiment it acted on, and the log object's key. */
export interface ExperimentActionResult {
  pointer: ProductionPointer;
  experiment: Experiment;
  logKey: string;
}

export interface ExperimentStatus {
  /** The production pointer; null when nothing is deployed. */
  pointer: ProductionPointer | null;
  experiment: Experiment | null;
  /** The running experiment's settings, or null when none runs. */
  settings: ExperimentSettings | null;
  /** What `start` uses for a setting it is not given. */
  defaults: ExperimentSettings;
}

async function production(deps: ExperimentOperatorDeps, doing: string): Promise<ProductionPointer> {
  const read = await deps.registry.readPointer();
  if (!read) throw new ExperimentStateError(`nothing is in production: cannot ${doing}`);
  return read.pointer;
}

function running(pointer: ProductionPointer, expectedId: string | undefined, doing: string): Experiment {
  const experiment = pointer.experiment;
  if (!experiment) throw new ExperimentStateError(`no experiment is running: nothing to ${doing}`);
  if (expectedId !== undefined && experiment.id !== expectedId) {
    throw new ExperimentStateError(`experiment ${expectedId} is not the one running (${experiment.id}, challenger ${experiment.challenger.version}): not acting on an experiment that changed meanwhile`);
  }
  return experiment;
}

/**
 * Starts an experiment: `challengerVersion` serves `sharePercent` % of users, production the rest. Refuses
 * (ExperimentStateError) when nothing is in production, an experiment is already running, the challenger is the
 * production version or has no stored artifact; bad settings or a malformed version are ExperimentRequestError.
 */
export async function startExperiment(deps: ExperimentOperatorDeps, request: StartExperimentRequest, now: Date = new Date()): Promise<ExperimentActionResult> {
  const { challengerVersion } = request;
  if (typeof challengerVersion !== 'string' || !MODEL_VERSION_PATTERN.test(challengerVersion)) {
    throw new ExperimentRequestError(`not a model version: ${JSON.stringify(String(challengerVersion).slice(0, 100))} (expected e.g. v20261201T020000Z)`);
  }
  const settings = experimentSettings(request.settings);
  const pointer = await production(deps, 'start an experiment');
  if (pointer.experiment) {
    throw new ExperimentStateError(`experiment ${pointer.experiment.id} is already running (challenger ${pointer.experiment.challenger.version}); stop or promote it first`);
  }
  if (challengerVersion === pointer.version) throw new ExperimentStateError(`${challengerVersion} is already production: a challenger must be another version`);
  if (!(await deps.registry.hasArtifact(challengerVersion))) {
    throw new ExperimentStateError(`unknown model version ${challengerVersion}: no stored artifact (manifest and payload)`);
  }
  const { sharePercent, ...decision } = settings;
  const experiment: Experiment = {
    id: newExperimentId(now),
    challenger: deploymentOf(challengerVersion, now),
    sharePercent,
    startedAt: now.toISOString(),
    startedBy: request.startedBy,
    ...(request.runId !== undefined ? { runId: request.runId } : {}),
    decision,
  };
  const next = withExperiment(pointer, experiment);
  await deps.registry.writePointer(next);
  const logKey = experimentLogKey(experiment.id, now, 'started');
  await deps.log(logKey, { kind: 'started', at: now.toISOString(), experimentId: experiment.id, controlVersion: pointer.version, challengerVersion, settings, startedBy: request.startedBy, ...(request.runId !== undefined ? { runId: request.runId } : {}), experiment });
  return { pointer: next, experiment, logKey };
}

/** The production pointer, the running experiment (if any) and its settings. */
export async function experimentStatus(deps: Pick<ExperimentOperatorDeps, 'registry'>): Promise<ExperimentStatus> {
  const read = await deps.registry.readPointer();
  const experiment = read?.pointer.experiment ?? null;
  return { pointer: read?.pointer ?? null, experiment, settings: experiment ? settingsOf(experiment) : null, defaults: { ...DEFAULT_EXPERIMENT_SETTINGS } };
}

/**
 * Promotes the running experiment's challenger to production (the control becomes `previous`, so a rollback is
 * one write). `expectedId` must be the running experiment's id. Refuses when the challenger's artifact is gone.
 */
export async function promoteExperiment(deps: ExperimentOperatorDeps, expectedId: string, now: Date = new Date(), reason?: string): Promise<ExperimentActionResult> {
  const pointer = await production(deps, 'promote');
  const experiment = running(pointer, expectedId, 'promote');
  if (!(await deps.registry.hasArtifact(experiment.challenger.version))) {
    throw new ExperimentStateError(`challenger ${experiment.challenger.version} has no stored artifact any more: not promoting it (stop the experiment instead)`);
  }
  const next = promotedPointer(pointer, now);
  await deps.registry.writePointer(next);
  const logKey = experimentLogKey(experiment.id, now, 'promoted');
  await deps.log(logKey, { kind: 'promoted', at: now.toISOString(), experimentId: experiment.id, controlVersion: pointer.version, challengerVersion: experiment.challenger.version, ...(reason !== undefined ? { reason } : {}), experiment });
  return { pointer: next, experiment, logKey };
}

/**
 * Stops the running experiment: production serves every user again. With `expectedId`, only that experiment;
 * `kind` names the log object (`rolled-back` when a check decided against the challenger).
 */
export async function stopExperiment(
  deps: ExperimentOperatorDeps,
  expectedId?: string,
  now: Date = new Date(),
  reason?: string,
  kind: 'stopped' | 'rolled-back' = 'stopped',
): Promise<ExperimentActionResult> {
  const pointer = await production(deps, 'stop an experiment');
  const experiment = running(pointer, expectedId, 'stop');
  const next = withoutExperiment(pointer);
  await deps.registry.writePointer(next);
  const logKey = experimentLogKey(experiment.id, now, kind);
  await deps.log(logKey, { kind, at: now.toISOString(), experimentId: experiment.id, controlVersion: pointer.version, challengerVersion: experiment.challenger.version, ...(reason !== undefined ? { reason } : {}), experiment });
  return { pointer: next, experiment, logKey };
}
