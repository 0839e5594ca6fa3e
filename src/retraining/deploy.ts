import { deploymentBackupKey, modelKeys, PRODUCTION_POINTER_KEY } from '../domain/lake-layout';
import { parseProductionPointer, pointerFor, rollbackPointer, type DeploymentBackup } from '../domain/model-registry';
import { ConcurrentDeploymentError } from './errors';
import { modelRegistryOf, type RetrainingLake } from './lake';

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

/**
 * Points production at `version` with one PutObject (atomic for every reader), remembering the replaced
 * deployment in the pointer's `previous`. Refuses if production moved since evaluation.
 */
export async function deployModel(request: DeployRequest, lake: RetrainingLake, now: Date = new Date()): Promise<DeployResult> {
  const registry = modelRegistryOf(lake);
  if (!(await registry.hasArtifact(request.version))) {
    throw new Error(`cannot deploy ${request.version}: ${modelKeys(request.version).prefix} has no complete artifact`);
  }
  const found = await registry.readPointer();
  const pointer = found?.pointer;
  const current = pointer?.version ?? null;
  if (current !== request.expectedProductionVersion && current !== request.version) {
    throw new ConcurrentDeploymentError(
      `production is ${current ?? 'empty'} but ${request.version} was evaluated against ${request.expectedProductionVersion ?? 'no production model'}; not deploying`,
    );
  }
  const backupKey = deploymentBackupKey(request.runId);
  // A retried DeployModel (pointer already ours) must keep the original backup, not back up itself.
  if (current !== request.version) {
    const backup: DeploymentBackup = { runId: request.runId, deployedVersion: request.version, previousPointer: found?.text ?? null, at: now.toISOString() };
    await registry.writeDeploymentBackup(backup);
    await registry.writePointer(pointerFor(request.version, pointer, request.metrics, now));
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
  const registry = modelRegistryOf(lake);
  const backup = await registry.readDeploymentBackup(runId);
  const productionVersion = (await registry.readPointer())?.pointer.version ?? null;
  if (!backup) return { restored: false, productionVersion, reason: `run ${runId} never moved production` };
  if (productionVersion !== backup.deployedVersion) {
    return { restored: false, productionVersion, reason: `production is ${productionVersion ?? 'empty'}, not ${backup.deployedVersion} deployed by this run: left as is` };
  }
  await registry.restorePointer(backup.previousPointer);
  const previous = backup.previousPointer === null ? null : parseProductionPointer(backup.previousPointer).version;
  return { restored: true, productionVersion: previous, reason: `production restored from ${backup.deployedVersion} to ${previous ?? 'no model'}` };
}

/** The operator's rollback: production goes back to the deployment it replaced (one write). */
export async function rollbackProduction(lake: RetrainingLake, now: Date = new Date()): Promise<{ from: string; to: string }> {
  const registry = modelRegistryOf(lake);
  const pointer = (await registry.readPointer())?.pointer;
  if (!pointer) throw new Error(`${PRODUCTION_POINTER_KEY} does not exist: nothing to roll back`);
  const next = rollbackPointer(pointer, now);
  await registry.writePointer(next);
  return { from: pointer.version, to: next.version };
}
