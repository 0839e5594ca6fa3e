import { z } from 'zod';

/**
 * Where models live in the lake and how the production pointer looks. `models/production.json` is the
 * only thing the API trusts: one PutObject replaces it atomically, and it remembers the version it replaced
 * so a rollback is a single write.
 */
export const MODELS_PREFIX = 'models/';
export const PRODUCTION_POINTER_KEY = 'models/production.json';
export const MANIFEST_FILE = 'manifest.json';
export const PAYLOAD_FILE = 'model.bin';
export const EVALUATION_FILE = 'evaluation.json';

const VERSION_PATTERN = /^v\d{8}T\d{6}Z(-[a-z0-9]{1,16})?$/;

/** A sortable version id: `v20261122T020000Z-<suffix>`. */
export function newModelVersion(at: Date = new Date(), suffix?: string): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return suffix ? `v${stamp}-${suffix.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 16)}` : `v${stamp}`;
}

export function isModelVersion(v: string): boolean {
  return VERSION_PATTERN.test(v);
}

export function modelKeys(version: string): { prefix: string; manifest: string; payload: string; evaluation: string } {
  if (!isModelVersion(version)) throw new Error(`not a model version: ${JSON.stringify(version)}`);
  const prefix = `${MODELS_PREFIX}${version}/`;
  return { prefix, manifest: prefix + MANIFEST_FILE, payload: prefix + PAYLOAD_FILE, evaluation: prefix + EVALUATION_FILE };
}

const DeploymentSchema = z.object({
  version: z.string().regex(VERSION_PATTERN),
  manifestKey: z.string(),
  payloadKey: z.string(),
  deployedAt: z.string(),
  /** Headline offline metrics of this version at deploy time (e.g. ndcg@10). */
  metrics: z.record(z.string(), z.number()).optional(),
});

export const ProductionPointerSchema = DeploymentSchema.extend({
  formatVersion: z.literal(1),
  /** The deployment this one replaced; a rollback points production back at it. */
  previous: DeploymentSchema.nullable(),
});

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
  if (!parsed.success) throw new Error(`${source} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
  return parsed.data;
}
