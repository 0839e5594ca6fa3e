import {
  modelKeys,
  parseProductionPointer,
  pointerFor,
  PRODUCTION_POINTER_KEY,
  rollbackPointer,
  type ProductionPointer,
} from '../domain/model-registry';
import { ConcurrentDeploymentError } from './errors';
import { getJson, putJson, type RetrainingLake } from './lake';
import { deploymentBackupKey } from './layout';

/** Written before the pointer moves: exactly what production.json held, so a failed run can put it back. */
interface DeploymentBackup {
  runId: string;
  deployedVersion: string;
  /** The previous pointer's exact text, or null when nothing was deployed. */
  previousPointer: string | null;
  at: string;
}

export interface DeployRequest {
  runId: string;
  version: string;
  /** The production version the candidate was evaluated against (null: none). */
  expectedProductionVersion: string | null;
  metrics?: Record<string, number>;
}

export interface DeployResult {
  version: string;
  previousVersion: string | null;
  pointerKey: string;
  backupKey: string;
}

async function currentPointer(lake: RetrainingLake): Promise<{ text: string | undefined; pointer: ProductionPointer | undefined }> {
  const text = await lake.getText(PRODUCTION_POINTER_KEY);
  return { text, pointer: text === undefined ? undefined : parseProductionPointer(text) };
}

/**
 * Points production at `version` with one PutObject (atomic for every reader), remembering the replaced
 * deployment in the pointer's `previous`. Refuses if production moved since evaluation.
 */
export async function deployModel(request: DeployRequest, lake: RetrainingLake, now: Date = new Date()): Promise<DeployResult> {
  const keys = modelKeys(request.version);
  if ((await lake.getBytes(keys.manifest)) === undefined || (await lake.getBytes(keys.payload)) === undefined) {
    throw new Error(`cannot deploy ${request.version}: ${keys.prefix} has no complete artifact`);
  }
  const { text, pointer } = await currentPointer(lake);
  const current = pointer?.version ?? null;
  if (current !== request.expectedProductionVersion && current !== request.version) {
    throw new ConcurrentDeploymentError(
      `production is ${current ?? 'empty'} but ${request.version} was evaluated against ${request.expectedProductionVersion ?? 'no production model'}; not deploying`,
    );
  }
  const backupKey = deploymentBackupKey(request.runId);
  // A retried DeployModel (pointer already ours) must keep the original backup, not back up itself.
  if (current !== request.version) {
    const backup: DeploymentBackup = { runId: request.runId, deployedVersion: request.version, previousPointer: text ?? null, at: now.toISOString() };
    await putJson(lake, backupKey, backup);
    await putJson(lake, PRODUCTION_POINTER_KEY, pointerFor(request.version, pointer, request.metrics, now));
  }
  return { version: request.version, previousVersion: current === request.version ? (pointer?.previous?.version ?? null) : current, pointerKey: PRODUCTION_POINTER_KEY, backupKey };
}

export interface RestoreResult {
  restored: boolean;
  productionVersion: string | null;
  reason: string;
}

/**
 * The failure path after DeployModel: puts production.json back byte for byte as this run found it (or
 * removes it if there was none), unless someone has moved production since.
 */
export async function restoreProduction(runId: string, lake: RetrainingLake): Promise<RestoreResult> {
  const backup = await getJson<DeploymentBackup>(lake, deploymentBackupKey(runId));
  const { pointer } = await currentPointer(lake);
  const productionVersion = pointer?.version ?? null;
  if (!backup) return { restored: false, productionVersion, reason: `run ${runId} never moved production` };
  if (productionVersion !== backup.deployedVersion) {
    return { restored: false, productionVersion, reason: `production is ${productionVersion ?? 'empty'}, not ${backup.deployedVersion} deployed by this run: left as is` };
  }
  if (backup.previousPointer === null) await lake.deleteObject(PRODUCTION_POINTER_KEY);
  else await lake.putObject(PRODUCTION_POINTER_KEY, backup.previousPointer, 'application/json');
  const previous = backup.previousPointer === null ? null : parseProductionPointer(backup.previousPointer).version;
  return { restored: true, productionVersion: previous, reason: `production restored from ${backup.deployedVersion} to ${previous ?? 'no model'}` };
}

/** The operator's rollback: production goes back to the deployment it replaced (one write). */
export async function rollbackProduction(lake: RetrainingLake, now: Date = new Date()): Promise<{ from: string; to: string }> {
  const { pointer } = await currentPointer(lake);
  if (!pointer) throw new Error(`${PRODUCTION_POINTER_KEY} does not exist: nothing to roll back`);
  const next = rollbackPointer(pointer, now);
  await putJson(lake, PRODUCTION_POINTER_KEY, next);
  return { from: pointer.version, to: next.version };
}
