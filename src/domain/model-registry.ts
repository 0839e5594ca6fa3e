import { z } from 'zod';
import type { ModelArtifact, ModelManifest } from '../recommender/serialize';
import { MODEL_VERSION_PATTERN, modelKeys, PRODUCTION_POINTER_KEY } from './lake-layout';
import { formatIssues } from './zod-issues';
import { EXPERIMENT_ID_PATTERN } from './recommendation-id';

/**
 * The model registry: versions under `models/<version>/` and the production pointer (keys in
 * src/domain/lake-layout.ts). `models/production.json` is the only thing the API trusts: one PutObject
 * replaces it atomically, and it remembers the version it replaced so a rollback is a single write.
 */

/** A sortable version id: `v20261122T020000Z-<suffix>`. */
export function newModelVersion(at: Date = new Date(), suffix?: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return suffix ? `v${stamp}-${suffix.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16)}` : `v${stamp}`;
}

const DeploymentSchema = z.object({
  version: z.string().regex(MODEL_VERSION_PATTERN),
  manifestKey: z.string(),
  payloadKey: z.string(),
  deployedAt: z.string(),
  /** Headline offline metrics of this version at deploy time (e.g. ndcg@10). */
  metrics: z.record(z.string(), z.number()).optional(),
});

/** The online metrics an experiment can be decided on (src/experiments/decision.ts computes them). */
export const EXPERIMENT_METRICS = ['ctr', 'conversion'] as const;
export type ExperimentMetric = (typeof EXPERIMENT_METRICS)[number];

/**
 * A running experiment: the pointer's own version is the control, `challenger` serves `sharePercent` % of
 * users (a stable hash of experiment id and user id, src/domain/experiment.ts). Stopping or deciding it rewrites
 * the pointer (one PutObject), so every instance follows within its refresh bound.
 */
export const ExperimentSchema = z.object({
  id: z.string().regex(EXPERIMENT_ID_PATTERN),
  challenger: DeploymentSchema,
  sharePercent: z.number().min(1).max(50),
  startedAt: z.string(),
  /** `operator` (CLI or admin route) or `canary` (the nightly gate deployed a passing candidate this way). */
  startedBy: z.enum(['operator', 'canary']),
  /** The retraining run that started it (canary). */
  runId: z.string().optional(),
  /** How the scheduled check decides (src/experiments/decision.ts). */
  decision: z.object({
    metric: z.enum(EXPERIMENT_METRICS),
    /** Impressions each variant needs before anything is decided. */
    minImpressions: z.number().int().min(1),
    /** Two-sided significance level of each check. */
    alpha: z.number().gt(0).lt(0.5),
    /** After this long without a significant difference the challenger is rolled back (inconclusive). */
    maxDurationHours: z.number().gt(0),
  }),
});

export const ProductionPointerSchema = DeploymentSchema.extend({
  formatVersion: z.literal(1),
  /** The deployment this one replaced; a rollback points production back at it. */
  previous: DeploymentSchema.nullable(),
  /** A running experiment (absent or null: production serves every user). */
  experiment: ExperimentSchema.nullable().optional(),
});

export type Experiment = z.output<typeof ExperimentSchema>;
export type Deployment = z.output<typeof DeploymentSchema>;
export type ProductionPointer = z.output<typeof ProductionPointerSchema>;

/** The pointer that makes `version` production, remembering what it replaces. */
export function pointerFor(version: string, current: ProductionPointer | undefined, metrics?: Record<string, number>, at = new Date()): ProductionPointer {
  const keys = modelKeys(version);
  return {
    formatVersion: 1,
    version,
    manifestKey: keys.manifest,
    payloadKey: keys.payload,
    deployedAt: at.toISOString(),
    ...(metrics ? { metrics } : {}),
    previous: current ? { version: current.version, manifestKey: current.manifestKey, payloadKey: current.payloadKey, deployedAt: current.deployedAt, ...(current.metrics ? { metrics: current.metrics } : {}) } : null,
  };
}

/** The pointer after a rollback: production goes back to the previous deployment. */
export function rollbackPointer(current: ProductionPointer, at = new Date()): ProductionPointer {
  if (!current.previous) throw new Error(`nothing to roll back to: ${current.version} has no previous deployment`);
  const { previous, formatVersion: _format, ...replaced } = current;
  return { ...previous, formatVersion: 1, deployedAt: at.toISOString(), previous: replaced };
}

/** Parses the production pointer; errors name `source` (its key, `models/production.json` by default). */
export function parseProductionPointer(text: string, source: string = PRODUCTION_POINTER_KEY): ProductionPointer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ProductionPointerSchema.safeParse(json);
  if (!parsed.success) throw new Error(`${source} is invalid: ${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Written before the pointer moves: exactly what the pointer held, so a failed run can put it back. */
export interface DeploymentBackup {
  runId: string;
  deployedVersion: string;
  /** The previous pointer's exact text, or null when nothing was deployed. */
  previousPointer: string | null;
  at: string;
}

/** What a conditional read of the production pointer found. */
export type PointerRead = { status: 'changed'; text: string; etag: string } | { status: 'not-modified' } | { status: 'missing' };

/**
 * A registry object that is absent or can never be read as stored (bad JSON, not a manifest); retrying
 * will not help. What a registry throws for such an object unless it was built to throw something else.
 */
export class ArtifactUnusableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArtifactUnusableError';
  }
}

/**
 * The model registry as the pipeline uses it: training writes versions, evaluation reads them, deployment
 * moves the production pointer (with a backup per run), serving follows the pointer. Reads answer undefined
 * for an absent object; an object that is there but unreadable fails with an error naming its key.
 */
export interface ModelRegistry {
  /** Where the registry lives (`s3://<bucket>`), as messages name its objects. */
  readonly location: string;

  /** The production pointer and its exact text; undefined when nothing is deployed. */
  readPointer(): Promise<{ text: string; pointer: ProductionPointer } | undefined>;
  /** The pointer's text, conditionally on the ETag of the copy already held (not-modified costs no body). */
  readPointerIfChanged(etag?: string): Promise<PointerRead>;
  /** Makes `pointer` production with one write. */
  writePointer(pointer: ProductionPointer): Promise<void>;
  /** Puts the pointer back byte for byte as `text`, or removes it (nothing deployed) for null. */
  restorePointer(text: string | null): Promise<void>;

  /** Stores a run's backup of the pointer it is about to replace; answers its key. */
  writeDeploymentBackup(backup: DeploymentBackup): Promise<string>;
  readDeploymentBackup(runId: string): Promise<DeploymentBackup | undefined>;

  /** Whether both the manifest and the payload of `version` are stored. */
  hasArtifact(version: string): Promise<boolean>;
  readManifest(key: string): Promise<ModelManifest | undefined>;
  readPayload(key: string): Promise<Uint8Array | undefined>;
  /** Manifest and payload of one deployment (not yet validated); an absent file is unreadable too. */
  readArtifact(deployment: Pick<Deployment, 'manifestKey' | 'payloadKey'>): Promise<ModelArtifact>;
  /** Stores `version`'s artifact: the payload first, then the manifest, so a manifest always has its payload. */
  writeArtifact(version: string, artifact: ModelArtifact): Promise<void>;

  /** `models/<version>/training.json` as stored (the caller knows its shape). */
  readTraining(version: string): Promise<unknown>;
  /** Stores the training record of `version`; answers its key. */
  writeTraining(version: string, record: unknown): Promise<string>;
  /** Stores the evaluation record of `version`; answers its key. */
  writeEvaluation(version: string, record: unknown): Promise<string>;
}
