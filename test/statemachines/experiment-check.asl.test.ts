import { describe, expect, it } from 'vitest';
import { emptyAttributionTotals, type ExperimentTotals } from '../../src/analytics/attribution';
import { parseProductionPointer, pointerFor } from '../../src/domain/model-registry';
import { checkExperiment, type CheckDeps } from '../../src/experiments/check';
import { startExperiment } from '../../src/experiments/operator';
import { TransientError } from '../../src/retraining/errors';
import { EXPERIMENT_CHECK_SUBSTITUTIONS, readExperimentCheckDefinition, runExperimentCheckLocally } from '../../src/local/experiment-check-runner';
import { polyfillPromiseWithResolvers, substitute } from '../../src/local/retraining-runner';

const PROD = 'v20261201T020000Z';
const CHALLENGER = 'v20261202T020000Z-canary';
const definition = readExperimentCheckDefinition();

/** An in-memory world with a running 50 % experiment, and a CheckExperiment handler over it (the real check). */
async function world(control: [number, number], challenger: [number, number]) {
  const state = { text: JSON.stringify(pointerFor(PROD, undefined)) };
  const totals: ExperimentTotals = {
    control: { ...emptyAttributionTotals(), impressions: control[0], clicks: control[1] },
    challenger: { ...emptyAttributionTotals(), impressions: challenger[0], clicks: challenger[1] },
  };
  const deps: CheckDeps = {
    registry: {
      readPointer: async () => ({ text: state.text, pointer: parseProductionPointer(state.text) }),
      writePointer: async (p) => void (state.text = JSON.stringify(p)),
      hasArtifact: async () => true,
    },
    log: async () => {},
    attribution: { experimentTotals: async () => totals },
  };
  const started = new Date(Date.now() - 3_600_000);
  const { experiment } = await startExperiment(deps, { challengerVersion: CHALLENGER, startedBy: 'operator', settings: { sharePercent: 50 } }, started);
  const pointer = () => parseProductionPointer(state.text);
  return { deps, experiment, pointer, handler: async () => checkExperiment(deps) };
}

describe('statemachines/experiment-check.asl.json', () => {
  it('is a valid JSONPath definition with exactly the placeholders lib/experiments.ts fills', async () => {
    polyfillPromiseWithResolvers();
    const { StateMachine } = await import('aws-local-stepfunctions');
    const values = { CheckExperimentFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:check', NotificationTopicArn: 'arn:aws:sns:eu-west-1:123456789012:topic' };
    expect(() => new StateMachine(substitute(definition, values) as never, { validationOptions: { checkArn: true, checkPaths: true } })).not.toThrow();
    expect([...new Set([...JSON.stringify(definition).matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort()).toEqual([...EXPERIMENT_CHECK_SUBSTITUTIONS].sort());
    expect(definition.StartAt).toBe('CheckExperiment');
  });

  it('retries only transient errors on CheckExperiment and catches everything on every Task', () => {
    const check = definition.States.CheckExperiment!;
    const retried = check.Retry!.flatMap((r) => r.ErrorEquals);
    expect(retried).toContain('TransientError');
    for (const deterministic of ['States.ALL', 'States.TaskFailed', 'ExperimentStateError']) expect(retried).not.toContain(deterministic);
    for (const [name, state] of Object.entries(definition.States).filter(([, s]) => s.Type === 'Task')) {
      expect(state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), name).toBe(true);
    }
    expect(definition.States.NotifyDecision).toMatchObject({ Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: '${NotificationTopicArn}', 'Subject.$': '$.notification.subject', 'Message.$': '$.notification.message' } });
  });

  it('promote path: the check promotes, then SNS publishes the decision with its numbers', async () => {
    const w = await world([5000, 200], [5000, 300]);
    const run = await runExperimentCheckLocally({ handler: w.handler, retryIntervalMs: 0 });
    expect(run.error).toBeNull();
    expect(run.path).toEqual(['CheckExperiment', 'Applied', 'NotifyDecision', 'Done']);
    expect(w.pointer()).toMatchObject({ version: CHALLENGER, experiment: null });
    expect(run.notifications).toHaveLength(1);
    expect(run.notifications[0]).toMatchObject({ TopicArn: 'arn:aws:sns:us-east-1:000000000000:recsys-notifications', Subject: `Experiment ${w.experiment.id}: challenger promoted` });
    expect(run.notifications[0]!.Message).toMatch(/control 4\.00% \(200\/5000\), challenger 6\.00% \(300\/5000\)/);
    expect(run.notifications[0]!.Message).toMatch(/z 4\.\d{4}, p /);
    expect(run.output).toMatchObject({ action: 'promote', experimentId: w.experiment.id, productionVersion: CHALLENGER, decision: { significant: true } });
  });

  it('rollback path: the check stops the experiment, then SNS publishes', async () => {
    const w = await world([5000, 300], [5000, 200]);
    const run = await runExperimentCheckLocally({ handler: w.handler, retryIntervalMs: 0 });
    expect(run.path).toEqual(['CheckExperiment', 'Applied', 'NotifyDecision', 'Done']);
    expect(w.pointer()).toMatchObject({ version: PROD, experiment: null });
    expect(run.notifications.map((n) => n.Subject)).toEqual([`Experiment ${w.experiment.id}: challenger rolled back`]);
  });

  it('continue and none end quietly, publishing nothing', async () => {
    const w = await world([500, 20], [500, 30]);
    const run = await runExperimentCheckLocally({ handler: w.handler, retryIntervalMs: 0 });
    expect(run.path).toEqual(['CheckExperiment', 'Applied', 'Done']);
    expect(run.output).toMatchObject({ action: 'continue' });
    expect(w.pointer().experiment?.id).toBe(w.experiment.id);
    expect(run.notifications).toEqual([]);
    const none = await runExperimentCheckLocally({ handler: async () => checkExperiment({ ...w.deps, registry: { ...w.deps.registry, readPointer: async () => undefined } }), retryIntervalMs: 0 });
    expect(none.path).toEqual(['CheckExperiment', 'Applied', 'Done']);
    expect(none.output).toMatchObject({ action: 'none', reason: 'nothing is in production' });
  });

  it('retries a transient failure, and reports a persistent one on the topic before failing', async () => {
    const w = await world([5000, 200], [5000, 300]);
    let calls = 0;
    const flaky = await runExperimentCheckLocally({
      retryIntervalMs: 0,
      handler: async () => {
        if (++calls === 1) throw new TransientError('throttled');
        return w.handler();
      },
    });
    expect(calls).toBe(2);
    expect(flaky.path).toEqual(['CheckExperiment', 'Applied', 'NotifyDecision', 'Done']);
    const broken = await runExperimentCheckLocally({ retryIntervalMs: 0, handler: async () => { throw Object.assign(new Error('bad pointer'), { name: 'CorruptObjectError' }); } });
    expect(broken.status).toBe('FAILED');
    expect(broken.path).toEqual(['CheckExperiment', 'NotifyCheckFailed', 'CheckFailed']);
    expect(broken.notifications).toEqual([expect.objectContaining({ Subject: 'Experiment check failed', Message: expect.stringContaining('CorruptObjectError: bad pointer') })]);
  });
});
