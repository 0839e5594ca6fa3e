import { z } from 'zod';
import { resolveHybridConfig, type HybridConfig } from '../recommender/index';
import type { ValidationThresholds } from '../retraining/validate';
import { parseEnvironment, withoutEmpty, type Env } from './environment';
import { EXPERIMENT_METRICS } from '../domain/model-registry';
import type { Rollout } from '../retraining/deploy';

const ratio = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

const jsonObject = z
  .string()
  .default('{}')
  .transform((text, ctx) => {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not a JSON object');
      return value as Partial<HybridConfig>;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be a JSON object of recommender options (${(err as Error).message})` });
      return z.NEVER;
    }
  });

/**
 * Settings of the nightly retraining steps, from the environment (CDK sets them on every retraining
 * function; the local runner sets them in-process). Defaults are the documented ones.
 */
const RetrainingConfigSchema = z.object({
  LAKE_BUCKET: z.string().min(3, 'LAKE_BUCKET must name the data lake bucket'),
  FEATURES_TABLE: z.string().min(3).optional(),
  /** Recent interactions kept in each exact user row, as in the real-time rows. */
  RECENT_ITEMS_LIMIT: z.coerce.number().int().min(1).max(200).default(50),

  // ValidateData. Clients cannot fail the gate: repeats of an eventId are dropped and reported (warn), and a
  // spike in volume or in quarantined records warns unless configured to fail. The gate fails on signs that
  // the lake itself is wrong. README "Retraining configuration" documents each rule.
  /** Share of Bronze event lines (0-1) allowed to fail re-validation (unparseable, no `_ingest`, outside the contract); above it fails. */
  VALIDATION_MAX_INVALID_RATIO: ratio(0.01),
  /** Bronze lines allowed to repeat a stream record (same shard + sequence number) already read; above it fails. */
  VALIDATION_MAX_REPEATED_STREAM_RECORDS: z.coerce.number().int().min(0).default(0),
  /** Share of Bronze event lines allowed to be stamped after their arrival beyond the contract's skew; above it fails. */
  VALIDATION_MAX_AFTER_ARRIVAL_RATIO: ratio(0.01),
  /** Fewer unique valid events than this in the window fails the run. */
  VALIDATION_MIN_EVENTS: z.coerce.number().int().min(1).default(1),
  /** Share of records quarantined at ingestion (client errors) above which the report warns… */
  VALIDATION_MAX_QUARANTINE_RATIO: ratio(0.05),
  /** …or fails, when true. */
  VALIDATION_QUARANTINE_FAILS: z.stringbool().default(false),
  /** Unique events per day against the baseline of previous validated runs: below this ratio fails (collapse); 0 disables. */
  VALIDATION_MIN_VOLUME_RATIO: z.coerce.number().min(0).default(0.1),
  /** Above this ratio (spike) warns, or fails when VALIDATION_VOLUME_SPIKE_FAILS is true; 0 disables. */
  VALIDATION_MAX_VOLUME_RATIO: z.coerce.number().min(0).default(50),
  VALIDATION_VOLUME_SPIKE_FAILS: z.stringbool().default(false),
  /** Validated runs the volume baseline is taken from (their lower median, so one flooded night cannot move it). */
  VALIDATION_BASELINE_RUNS: z.coerce.number().int().min(1).max(100).default(7),

  /** Longest window a scheduled run takes to catch up on days missed since the last extraction. */
  CATCH_UP_MAX_DAYS: z.coerce.number().int().min(1).max(366).default(7),
  /** Days of event history the model is trained on, counted back from the window's end; 0 = all history. */
  TRAINING_WINDOW_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** Recommender options (JSON, e.g. {"neighbors":100}) for the candidate. */
  MODEL_CONFIG: jsonObject,

  /** Share of each user's latest interactions held out for evaluation. */
  EVAL_HOLDOUT_RATIO: z.coerce.number().gt(0).lt(1).default(0.2),
  EVAL_K: z.coerce.number().int().min(1).max(100).default(10),
  /** Metric the gate compares. */
  GATE_METRIC: z.enum(['ndcg', 'map', 'precision', 'recall']).default('ndcg'),
  /** The candidate may be this much (relative, 0.02 = 2 %) below production and still deploy. */
  DEPLOY_TOLERANCE: ratio(0.02),

  // Rollout (README "Experiments and canary rollout"). `canary` starts an experiment with a passing candidate
  // as the challenger instead of replacing production (the first model is always a plain deploy).
  ROLLOUT: z.enum(['replace', 'canary']).default('replace'),
  /** Percent of users a canary challenger serves. */
  CANARY_SHARE_PERCENT: z.coerce.number().int().min(1).max(50).default(10),
  /** How the scheduled check decides a canary (unset: the experiment defaults of src/experiments/operator.ts). */
  EXPERIMENT_METRIC: z.enum(EXPERIMENT_METRICS).optional(),
  EXPERIMENT_MIN_IMPRESSIONS: z.coerce.number().int().min(1).max(1_000_000_000).optional(),
  EXPERIMENT_ALPHA: z.coerce.number().gt(0).max(0.2).optional(),
  EXPERIMENT_MAX_DURATION_HOURS: z.coerce.number().gt(0).max(24 * 90).optional(),

  // The batch engine (README "Scale"). `lambda`: the steps hold the window in one Lambda each (parquetjs-lite; no
  // Athena cost). `athena`: the set-based steps run as SQL on Athena over the Glue tables (DuckDB locally). `auto`:
  // Athena once the window's Bronze objects hold more than ATHENA_MIN_BRONZE_BYTES.
  RETRAINING_ENGINE: z.enum(['lambda', 'athena', 'auto']).default('auto'),
  ATHENA_MIN_BRONZE_BYTES: z.coerce.number().int().min(0).default(256 * 1024 * 1024),
  /**
   * Training (TrainModel only; EvaluateModel stays a Lambda) runs as the Fargate task when enabled and the run's
   * compact interactions — one row per (user, item) pair, what training holds in memory — reach
   * FARGATE_MIN_INTERACTIONS (`trainerFor`). CDK sets it true only when the task is deployed.
   */
  FARGATE_TRAINING: z.stringbool().default(false),
  FARGATE_MIN_INTERACTIONS: z.coerce.number().int().min(1).default(20_000_000),

  /** Base URL of the recommend API (…/prod); unset skips ReloadApi with a reason. */
  API_BASE_URL: z.url().optional(),
  /** How often every API instance re-checks models/production.json (the serving side's bound). */
  MODEL_REFRESH_SECONDS: z.coerce.number().min(0).default(30),
  /** Extra time ReloadApi waits beyond the refresh bound before it gives up. */
  RELOAD_MARGIN_SECONDS: z.coerce.number().min(0).default(60),
  RELOAD_POLL_INTERVAL_MS: z.coerce.number().int().min(0).default(2000),
  /** Concurrent /health requests per poll, so several instances answer. */
  RELOAD_PARALLEL_REQUESTS: z.coerce.number().int().min(1).max(50).default(4),
  /** Consecutive answers reporting the new version needed to confirm the reload. */
  RELOAD_CONSECUTIVE_ANSWERS: z.coerce.number().int().min(1).max(1000).default(12),
  RELOAD_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(5000),
});

export type RetrainingConfig = Omit<z.output<typeof RetrainingConfigSchema>, 'MODEL_CONFIG'> & { MODEL_CONFIG: Partial<HybridConfig> };

/** The thresholds of ValidateData, from the configuration (their one home). */
export function validationThresholds(c: RetrainingConfig): ValidationThresholds {
  return {
    maxInvalidRatio: c.VALIDATION_MAX_INVALID_RATIO,
    maxRepeatedStreamRecords: c.VALIDATION_MAX_REPEATED_STREAM_RECORDS,
    maxAfterArrivalRatio: c.VALIDATION_MAX_AFTER_ARRIVAL_RATIO,
    minEvents: c.VALIDATION_MIN_EVENTS,
    maxQuarantineRatio: c.VALIDATION_MAX_QUARANTINE_RATIO,
    quarantineFails: c.VALIDATION_QUARANTINE_FAILS,
    minVolumeRatio: c.VALIDATION_MIN_VOLUME_RATIO,
    maxVolumeRatio: c.VALIDATION_MAX_VOLUME_RATIO,
    volumeSpikeFails: c.VALIDATION_VOLUME_SPIKE_FAILS,
    baselineRuns: c.VALIDATION_BASELINE_RUNS,
  };
}

/** How DeployModel rolls a passing candidate out, from the configuration (its one home). */
export function rolloutOf(c: RetrainingConfig): Rollout {
  if (c.ROLLOUT === 'replace') return { mode: 'replace' };
  return {
    mode: 'canary',
    settings: { sharePercent: c.CANARY_SHARE_PERCENT, metric: c.EXPERIMENT_METRIC, minImpressions: c.EXPERIMENT_MIN_IMPRESSIONS, alpha: c.EXPERIMENT_ALPHA, maxDurationHours: c.EXPERIMENT_MAX_DURATION_HOURS },
  };
}

export function loadRetrainingConfig(env: Env = process.env): RetrainingConfig {
  const config = parseEnvironment(RetrainingConfigSchema, withoutEmpty(env), 'retraining');
  // Reject unknown or nonsensical recommender options at start-up, not after an hour of training.
  resolveHybridConfig(config.MODEL_CONFIG);
  return config;
}

export type BatchEngine = 'lambda' | 'athena';

/**
 * The engine of one run: the configured one, or with `auto` Athena once the window's Bronze bytes exceed the
 * threshold (a small shop never pays for a query). Bytes, not lines: listing the window gives sizes for free.
 */
export function engineFor(c: Pick<RetrainingConfig, 'RETRAINING_ENGINE' | 'ATHENA_MIN_BRONZE_BYTES'>, bronzeBytes: number): { engine: BatchEngine; reason: string } {
  if (c.RETRAINING_ENGINE !== 'auto') return { engine: c.RETRAINING_ENGINE, reason: `RETRAINING_ENGINE=${c.RETRAINING_ENGINE}` };
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  return bronzeBytes > c.ATHENA_MIN_BRONZE_BYTES
    ? { engine: 'athena', reason: `window Bronze ${mib(bronzeBytes)} > ATHENA_MIN_BRONZE_BYTES ${mib(c.ATHENA_MIN_BRONZE_BYTES)}` }
    : { engine: 'lambda', reason: `window Bronze ${mib(bronzeBytes)} <= ATHENA_MIN_BRONZE_BYTES ${mib(c.ATHENA_MIN_BRONZE_BYTES)}` };
}

export type Trainer = 'lambda' | 'fargate';

/**
 * Where one run trains (the ASL's ChooseTrainer routes on it; the extract steps compute it): the Fargate task once
 * enabled and the run's (user, item) pairs — the compact table's rows, what training holds in memory — reach
 * `minInteractions`; the TrainModel Lambda otherwise. At the threshold itself: Fargate.
 */
export function trainerFor(c: { fargateEnabled: boolean; minInteractions: number }, interactionPairs: number): Trainer {
  return c.fargateEnabled && interactionPairs >= c.minInteractions ? 'fargate' : 'lambda';
}

/** `trainerFor` with the configuration's FARGATE_TRAINING and FARGATE_MIN_INTERACTIONS. */
export function trainerOf(c: Pick<RetrainingConfig, 'FARGATE_TRAINING' | 'FARGATE_MIN_INTERACTIONS'>, interactionPairs: number): Trainer {
  return trainerFor({ fargateEnabled: c.FARGATE_TRAINING, minInteractions: c.FARGATE_MIN_INTERACTIONS }, interactionPairs);
}
