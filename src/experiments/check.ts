import type { AttributionSource } from '../analytics/attribution';
import { ExperimentStateError } from '../domain/experiment';
import { experimentLogKey } from '../domain/lake-layout';
import { decideExperiment, type ExperimentDecision } from './decision';
import { promoteExperiment, stopExperiment, type ExperimentOperatorDeps } from './operator';

/**
 * The scheduled experiment check (statemachines/experiment-check.asl.json runs it hourly by default): reads the
 * production pointer, and when an experiment runs, decides it from the attributed totals since its start
 * (src/experiments/decision.ts), writes a `decision` log object with every number, and applies a promote or
 * rollback through the operator (expectedId = the experiment it decided, so it never acts on one that changed
 * meanwhile).
 */

export interface CheckDeps extends ExperimentOperatorDeps {
  attribution: AttributionSource;
  /** Told of a promote or rollback that was applied (the state machine publishes to SNS itself instead). */
  notify?: (subject: string, message: string) => Promise<void>;
}

export interface CheckResult {
  /** What was done: `none` when no experiment runs or the decided one changed before it could be applied. */
  action: 'promote' | 'rollback' | 'continue' | 'none';
  reason: string;
  experimentId: string | null;
  challengerVersion: string | null;
  /** Production after the check. */
  productionVersion: string | null;
  /** The decision's figures (null when no experiment runs). */
  decision: ExperimentDecision | null;
  /** The `decision` log object; null when nothing was decided. */
  decisionLogKey: string | null;
  /** The `promoted` / `rolled-back` log object of an applied action. */
  actionLogKey: string | null;
  /** What to notify of an applied promote or rollback (SNS Subject ≤ 100 characters); null otherwise. */
  notification: { subject: string; message: string } | null;
}

const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

/** The notification of an applied decision: a subject line and the decision's numbers. */
export function notificationOf(decision: ExperimentDecision, controlVersion: string): { subject: string; message: string } {
  const verb = decision.action === 'promote' ? 'promoted' : 'rolled back';
  const subject = `Experiment ${decision.experimentId}: challenger ${verb}`.slice(0, 100);
  const lines = [
    `Experiment ${decision.experimentId}: challenger ${decision.challengerVersion} ${verb} (control ${controlVersion}).`,
    `Reason: ${decision.reason}`,
    `Metric ${decision.metric}: control ${pct(decision.control.rate)} (${decision.control.successes}/${decision.control.n}), challenger ${pct(decision.challenger.rate)} (${decision.challenger.successes}/${decision.challenger.n}).`,
    `z ${decision.z === null ? 'n/a' : decision.z.toFixed(4)}, p ${decision.pValue === null ? 'n/a' : decision.pValue.toPrecision(4)}, alpha ${decision.alpha}, minImpressions ${decision.minImpressions}, ${decision.elapsedHours.toFixed(1)} of ${decision.maxDurationHours} h.`,
    decision.action === 'promote' ? `Production is now ${decision.challengerVersion}; the previous model is kept for a rollback.` : `Production stays ${controlVersion} for every user.`,
  ];
  return { subject, message: lines.join('\n') };
}

/** Checks the running experiment at `now` (see above). */
export async function checkExperiment(deps: CheckDeps, now: Date = new Date()): Promise<CheckResult> {
  const read = await deps.registry.readPointer();
  const pointer = read?.pointer;
  const experiment = pointer?.experiment ?? null;
  if (!pointer || !experiment) {
    return {
      action: 'none',
      reason: pointer ? 'no experiment is running' : 'nothing is in production',
      experimentId: null,
      challengerVersion: null,
      productionVersion: pointer?.version ?? null,
      decision: null,
      decisionLogKey: null,
      actionLogKey: null,
      notification: null,
    };
  }
  const nowMs = now.getTime();
  const totals = await deps.attribution.experimentTotals(experiment.id, Date.parse(experiment.startedAt), nowMs);
  const decision = decideExperiment(totals, experiment, nowMs);
  const decisionLogKey = experimentLogKey(experiment.id, now, 'decision');
  await deps.log(decisionLogKey, { kind: 'decision', at: now.toISOString(), experimentId: experiment.id, controlVersion: pointer.version, challengerVersion: experiment.challenger.version, totals, decision });
  const base = { experimentId: experiment.id, challengerVersion: experiment.challenger.version, decision, decisionLogKey };
  if (decision.action === 'continue') {
    return { ...base, action: 'continue', reason: decision.reason, productionVersion: pointer.version, actionLogKey: null, notification: null };
  }
  let actionLogKey: string;
  let productionVersion: string;
  try {
    const done =
      decision.action === 'promote'
        ? await promoteExperiment(deps, experiment.id, now, decision.reason)
        : await stopExperiment(deps, experiment.id, now, decision.reason, 'rolled-back');
    actionLogKey = done.logKey;
    productionVersion = done.pointer.version;
  } catch (err) {
    if (!(err instanceof ExperimentStateError)) throw err;
    // The experiment changed (stopped, promoted, replaced) since the pointer was read: act on nothing.
    return { ...base, action: 'none', reason: `decided ${decision.action} but did not apply it: ${err.message}`, productionVersion: pointer.version, actionLogKey: null, notification: null };
  }
  const notification = notificationOf(decision, pointer.version);
  if (deps.notify) await deps.notify(notification.subject, notification.message);
  return { ...base, action: decision.action, reason: decision.reason, productionVersion, actionLogKey, notification };
}
