import { z } from 'zod';
import { putJson, type RetrainingLake } from './lake';
import { runReportKey } from '../domain/lake-layout';
import { sanitizeRunId } from './run-window';
import { describeSetAside, type SetAside } from './poison';

/** The Lambda steps in the order the state machine runs them, with the state key each one writes. */
export const STEP_RESULTS = [
  ['ValidateData', 'validation'],
  ['ExtractFeatures', 'extract'],
  ['TrainModel', 'training'],
  ['EvaluateModel', 'evaluation'],
  ['DeployModel', 'deployment'],
  ['ReloadApi', 'reload'],
] as const;

/** Per-step figures a run summary reports: how long, and how many rows went through. */
export interface StepFigures {
  status: 'succeeded' | 'failed';
  durationMs: number | null;
  rows: number | null;
  detail: string;
  /** Rows the step set aside (no store could hold them), when it did. */
  setAside?: SetAside;
  /** For the failed step: the error the state machine caught. */
  error?: { Error: string; Cause: string };
}

export interface RunSummary {
  runId: string;
  status: 'deployed' | 'not-deployed' | 'failed';
  reason: string;
  window: { from: string; to: string } | null;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  version: string | null;
  productionVersion: string | null;
  candidate: Record<string, number> | null;
  steps: Record<string, StepFigures>;
  /** The step whose error failed the run (null when none did). */
  failedStep: string | null;
  /** Warnings worth reading although the run went on (validation warnings, rows set aside). */
  warnings: string[];
  error: { Error: string; Cause: string } | null;
  reportKey: string;
  /**
   * How the candidate was rolled out (null when DeployModel did not run): `canary` names the experiment it started,
   * or none when an experiment was already running (status not-deployed, the reason says which).
   */
  rollout: { mode: 'replace' | 'canary'; experimentId: string | null; sharePercent: number | null } | null;
}

const num = z.number().optional();
const setAsideSchema = z.object({ count: z.number(), reasons: z.record(z.string(), z.number()), samples: z.array(z.object({ where: z.string(), id: z.string(), reason: z.string() })) }).optional();
/** The state the machine carries; every part is optional because a run may fail anywhere. */
const StateSchema = z
  .object({
    run: z.object({ runId: z.string(), window: z.object({ from: z.string(), to: z.string() }), startedAt: z.string() }).optional(),
    validation: z
      .object({ uniqueEvents: num, validEvents: num, duplicates: num, invalidLines: num, quarantined: num, durationMs: num, notes: z.array(z.string()).optional() })
      .passthrough()
      .optional(),
    extract: z.object({ windowInteractions: num, totalInteractions: num, users: num, items: num, featureRowsWritten: num, silverFilesWritten: num, durationMs: num, setAside: setAsideSchema }).passthrough().optional(),
    training: z.object({ version: z.string(), interactions: num, events: num, users: num, items: num, durationMs: num, trainingSeconds: num, setAside: setAsideSchema }).passthrough().optional(),
    evaluation: z
      .object({ headline: z.record(z.string(), z.number()).optional(), productionVersion: z.string().nullable().optional(), durationMs: num, gate: z.object({ reason: z.string() }).passthrough().optional() })
      .passthrough()
      .optional(),
    deployment: z
      .object({
        version: z.string(),
        previousVersion: z.string().nullable().optional(),
        status: z.enum(['deployed', 'not-deployed']).optional(),
        reason: z.string().optional(),
        rollout: z.enum(['replace', 'canary']).optional(),
        experimentId: z.string().nullable().optional(),
        sharePercent: z.number().nullable().optional(),
      })
      .passthrough()
      .optional(),
    reload: z.object({ skipped: z.boolean(), reason: z.string().optional(), seconds: num, answers: num }).passthrough().optional(),
    outcome: z.object({ status: z.string(), reason: z.string().optional() }).passthrough().optional(),
    restore: z.object({ restored: z.boolean(), reason: z.string() }).passthrough().optional(),
    error: z.object({ Error: z.string(), Cause: z.string().optional() }).passthrough().optional(),
  })
  .passthrough();

export const RecordPayloadSchema = z.object({
  state: StateSchema,
  status: z.enum(['deployed', 'not-deployed', 'failed']),
  executionName: z.string(),
  startTime: z.string(),
});

/** Folds the state a run ends with into its summary (one JSON document, one line of metrics). */
export function summarizeRun(payload: z.input<typeof RecordPayloadSchema>, now: Date = new Date()): RunSummary {
  const { state: s, status, executionName, startTime } = RecordPayloadSchema.parse(payload);
  const runId = s.run?.runId ?? sanitizeRunId(executionName);
  const startedAt = s.run?.startedAt ?? startTime;
  const cause = s.error?.Cause ?? '';
  const reason =
    status === 'failed'
      ? `${s.error?.Error ?? 'error'}: ${cause.slice(0, 500)}${s.restore ? ` (${s.restore.reason})` : ''}`
      : status === 'not-deployed'
        ? (s.outcome?.reason ?? s.evaluation?.gate?.reason ?? 'not deployed')
        : `${s.deployment?.rollout === 'canary' ? (s.deployment.reason ?? `canary ${s.deployment.version}`) : `deployed ${s.deployment?.version ?? ''}`}${s.reload ? (s.reload.skipped ? `; reload not confirmed: ${s.reload.reason ?? 'skipped'}` : `; API confirmed it in ${s.reload.seconds ?? '?'}s`) : ''}`;
  const steps: Record<string, StepFigures> = {};
  const withSetAside = (detail: string, setAside: SetAside | undefined) => (setAside && setAside.count > 0 ? `${detail}; ${describeSetAside(setAside)}` : detail);
  if (s.validation) {
    steps.ValidateData = {
      status: 'succeeded',
      durationMs: s.validation.durationMs ?? null,
      rows: s.validation.validEvents ?? null,
      detail: `${s.validation.uniqueEvents ?? 0} unique events, ${s.validation.duplicates ?? 0} repeated eventIds dropped, ${(s.validation.invalidLines ?? 0) + (s.validation.quarantined ?? 0)} invalid`,
    };
  }
  if (s.extract) {
    steps.ExtractFeatures = {
      status: 'succeeded',
      durationMs: s.extract.durationMs ?? null,
      rows: s.extract.windowInteractions ?? null,
      detail: withSetAside(`${s.extract.totalInteractions ?? 0} Silver interactions in history, ${s.extract.users ?? 0} users, ${s.extract.items ?? 0} items, ${s.extract.featureRowsWritten ?? 0} exact feature rows`, s.extract.setAside),
      ...(s.extract.setAside ? { setAside: s.extract.setAside } : {}),
    };
  }
  if (s.training) {
    steps.TrainModel = {
      status: 'succeeded',
      durationMs: s.training.durationMs ?? null,
      rows: s.training.events ?? null,
      detail: withSetAside(`${s.training.interactions ?? 0} (user, item) interactions, ${s.training.users ?? 0} users, ${s.training.items ?? 0} items → ${s.training.version}`, s.training.setAside),
      ...(s.training.setAside ? { setAside: s.training.setAside } : {}),
    };
  }
  if (s.evaluation) steps.EvaluateModel = { status: 'succeeded', durationMs: s.evaluation.durationMs ?? null, rows: s.training?.interactions ?? null, detail: s.evaluation.gate?.reason ?? '' };
  if (s.deployment) steps.DeployModel = { status: 'succeeded', durationMs: null, rows: null, detail: s.deployment.rollout === 'canary' ? (s.deployment.reason ?? `canary ${s.deployment.version}`) : `production → ${s.deployment.version}` };
  // The failed step is the first one without its result: the state machine catches its error into `error`.
  let failedStep: string | null = null;
  if (status === 'failed' && s.error) {
    const state = s as Record<string, unknown>;
    const missing = STEP_RESULTS.find(([, key]) => state[key] === undefined);
    failedStep = missing?.[0] ?? 'unknown';
    steps[failedStep] = { status: 'failed', durationMs: null, rows: null, detail: `${s.error.Error}: ${cause.slice(0, 500)}`, error: { Error: s.error.Error, Cause: cause } };
  }
  const warnings = [
    ...(s.validation?.notes ?? []),
    ...Object.entries(steps)
      .filter(([, f]) => f.setAside && f.setAside.count > 0)
      .map(([step, f]) => `${step}: ${describeSetAside(f.setAside)}`),
  ];
  const finishedAt = now.toISOString();
  return {
    runId,
    status,
    reason,
    window: s.run?.window ?? null,
    startedAt,
    finishedAt,
    durationSeconds: Math.max(0, (now.getTime() - Date.parse(startedAt)) / 1000),
    version: s.training?.version ?? null,
    productionVersion: status === 'deployed' && s.deployment?.rollout !== 'canary' ? (s.deployment?.version ?? null) : (s.evaluation?.productionVersion ?? null),
    candidate: s.evaluation?.headline ?? null,
    steps,
    failedStep,
    warnings,
    error: s.error ? { Error: s.error.Error, Cause: cause } : null,
    reportKey: runReportKey(runId, 'run'),
    rollout: s.deployment ? { mode: s.deployment.rollout ?? 'replace', experimentId: s.deployment.experimentId ?? null, sharePercent: s.deployment.sharePercent ?? null } : null,
  };
}

export async function recordRun(payload: unknown, lake: RetrainingLake, now: Date = new Date()): Promise<RunSummary> {
  const summary = summarizeRun(payload as z.input<typeof RecordPayloadSchema>, now);
  await putJson(lake, summary.reportKey, summary);
  return summary;
}
