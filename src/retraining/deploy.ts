import { deploymentBackupKey, modelKeys, PRODUCTION_POINTER_KEY } from '../domain/lake-layout';
import { parseProductionPointer, pointerFor, rollbackPointer, type DeploymentBackup } from '../domain/model-registry';
import { startExperiment, type ExperimentSettings } from '../experiments/operator';
import { ConcurrentDeploymentError } from './errors';
import { modelRegistryOf, putJson, type RetrainingLake } from './lake';

/**
 * How a candidate that passed the gate reaches users: `replace` moves production to it; `canary` starts an
 * experiment with it as the challenger (startedBy `canary`) and lets the scheduled check promote or roll it back.
 */
export type Rollout = { mode: 'replace' } | { mode: 'canary'; settings: Partial<ExperimentSettings> };

export interface DeployRequest {
  runId: string;
  version: string;
  /** The production version the candidate was evaluated against (null: none). */
  expectedProductionVersion: string | null;
  metrics?: Record<string, number>;
}

export interface DeployResult {
  /** `not-deployed` only in canary mode, when an experiment is already running (never replaced silently). */
  status: 'deployed' | 'not-deployed';
  reason: string;
  /** How it was deployed: `canary` only when production existed (the first model is a plain deploy). */
  rollout: 'replace' | 'canary';
  version: string;
  previousVersion: string | null;
  pointerKey: string;
  backupKey: string;
  /** The experiment a canary deploy started (or found already started by this run); null otherwise. */
  experimentId: string | null;
  /** The challenger's traffic share of that experiment; null otherwise. */
  sharePercent: number | null;
}

/**
 * Points production at `version` with one PutObject (atomic for every reader), remembering the replaced
 * deployment in the pointer's `previous`. Refuses if production moved since evaluation. In canary mode with a
 * production model, starts an experiment with `version` as the challenger instead (the pointer keeps its
 * version); when an experiment is already running the candidate is not deployed, with the reason.
 */
export async function deployModel(request: DeployRequest, lake: RetrainingLake, now: Date = new Date(), rollout: Rollout = { mode: 'replace' }): Promise<DeployResult> {
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
  const canary = rollout.mode === 'canary' && pointer !== undefined && current !== request.version;
  if (canary) {
    const base = { rollout: 'canary' as const, version: request.version, previousVersion: current, pointerKey: PRODUCTION_POINTER_KEY, backupKey };
    const running = pointer.experiment;
    // A retried DeployModel finds the experiment it started itself: the same outcome, nothing written again.
    if (running && running.challenger.version === request.version && running.runId === request.runId) {
      return { ...base, status: 'deployed', reason: `canary: experiment ${running.id} serves ${request.version} to ${running.sharePercent}% of users`, experimentId: running.id, sharePercent: running.sharePercent };
    }
    if (running) {
      return {
        ...base,
        status: 'not-deployed',
        reason: `canary: experiment ${running.id} is already running (challenger ${running.challenger.version}, started by ${running.startedBy}); ${request.version} was not deployed`,
        experimentId: null,
        sharePercent: null,
      };
    }
    const backup: DeploymentBackup = { runId: request.runId, deployedVersion: request.version, previousPointer: found?.text ?? null, at: now.toISOString() };
    await registry.writeDeploymentBackup(backup);
    const settings = rollout.mode === 'canary' ? rollout.settings : {};
    const { experiment } = await startExperiment({ registry, log: (key, json) => putJson(lake, key, json) }, { challengerVersion: request.version, startedBy: 'canary', runId: request.runId, settings }, now);
    return { ...base, status: 'deployed', reason: `canary: experiment ${experiment.id} serves ${request.version} to ${experiment.sharePercent}% of users`, experimentId: experiment.id, sharePercent: experiment.sharePercent };
  }
  // A retried DeployModel (pointer already ours) must keep the original backup, not back up itself.
  if (current !== request.version) {
    const backup: DeploymentBackup = { runId: request.runId, deployedVersion: request.version, previousPointer: found?.text ?? null, at: now.toISOString() };
    await registry.writeDeploymentBackup(backup);
    await registry.writePointer(pointerFor(request.version, pointer, request.metrics, now));
  }
  return {
    status: 'deployed',
    reason: `production → ${request.version}`,
    rollout: 'replace',
    version: request.version,
    previousVersion: current === request.version ? (pointer?.previous?.version ?? null) : current,
    pointerKey: PRODUCTION_POINTER_KEY,
    backupKey,
    experimentId: null,
    sharePercent: null,
  };
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
  const pointer = (await registry.readPointer())?.pointer;
  const productionVersion = pointer?.version ?? null;
  if (!backup) return { restored: false, productionVersion, reason: `run ${runId} never moved production` };
  const experiment = pointer?.experiment;
  // A canary deploy left production's version alone and started an experiment: undo exactly that one.
  if (experiment && experiment.startedBy === 'canary' && experiment.runId === runId && experiment.challenger.version === backup.deployedVersion) {
    await registry.restorePointer(backup.previousPointer);
    return { restored: true, productionVersion, reason: `canary experiment ${experiment.id} of ${backup.deployedVersion} stopped: production.json restored as the run found it (${productionVersion ?? 'no model'})` };
  }
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
