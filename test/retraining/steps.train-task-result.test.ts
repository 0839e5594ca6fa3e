import { describe, expect, it } from 'vitest';
import { trainTaskResultStep } from '../../src/retraining/steps';
import { trainTaskResultKey, type TrainTaskOutcome } from '../../src/retraining/train-task';
import type { RetrainingDeps } from '../../src/retraining/deps';

const RUN = 'run-9';
const run = { runId: RUN, window: { from: '2026-01-10', to: '2026-01-10' }, trigger: 'manual', startedAt: '2026-01-11T02:00:00.000Z', modelConfig: null };
const result = { version: 'v1', trainingKey: 'models/v1/training.json', manifestKey: 'models/v1/manifest.json', events: 5, interactions: 4, users: 2, items: 2, algorithm: 'ease', trainingSeconds: 0.1, payloadBytes: 10, setAside: { count: 0, reasons: {}, samples: [] } };
/** The only lake call the step makes: reading the task's outcome. */
const depsWith = (outcome: TrainTaskOutcome | undefined) =>
  ({ lake: { bucket: 'lake', getText: async (key: string) => (key === trainTaskResultKey(RUN) && outcome ? JSON.stringify(outcome) : undefined) } }) as unknown as RetrainingDeps;
/** A stopped task as runTask.sync's failure Cause holds it. */
const stopped = (exitCode: number | undefined, stopCode = 'EssentialContainerExited', reason = 'Essential container in task exited') =>
  JSON.stringify({ TaskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/training/abc', StopCode: stopCode, StoppedReason: reason, Containers: [{ Name: 'training', ...(exitCode === undefined ? {} : { ExitCode: exitCode }) }] });

describe('TrainTaskResult (src/retraining/steps.ts trainTaskResultStep)', () => {
  it('returns the outcome as TrainModel returns its result, with the task’s time as durationMs', async () => {
    const out = await trainTaskResultStep({ run, trainTask: { request: {}, task: { taskArn: 'arn', createdAt: 1_000, stoppedAt: 61_000, exitCode: 0 } } }, depsWith({ status: 'succeeded', runId: RUN, result: result as never }));
    expect(out).toEqual({ ...result, durationMs: 60_000 });
  });

  it('fails with the outcome’s error name after a non-zero exit', async () => {
    const p = { run, trainTask: { request: {}, error: { Error: 'States.TaskFailed', Cause: stopped(2) } } };
    await expect(trainTaskResultStep(p, depsWith({ status: 'failed', runId: RUN, error: { name: 'NoTrainingDataError', message: 'nothing to train on' }, retryable: false }))).rejects.toMatchObject({ name: 'NoTrainingDataError' });
    await expect(trainTaskResultStep(p, depsWith({ status: 'failed', runId: RUN, error: { name: 'TransientError', message: 'throttled' }, retryable: true }))).rejects.toMatchObject({ name: 'TransientError' });
  });

  it('names the stop code, reason and exit code when a failed task left no outcome (stopped, out of memory)', async () => {
    const p = { run, trainTask: { request: {}, error: { Error: 'States.TaskFailed', Cause: stopped(137, 'EssentialContainerExited', 'OutOfMemoryError: Container killed due to memory usage') } } };
    await expect(trainTaskResultStep(p, depsWith(undefined))).rejects.toMatchObject({ name: 'DataError', message: expect.stringMatching(/left no outcome.*OutOfMemoryError.*container training exit 137/) });
  });

  it('refuses an earlier attempt’s success as this failed task’s outcome', async () => {
    const p = { run, trainTask: { request: {}, error: { Error: 'States.TaskFailed', Cause: stopped(undefined, 'TaskFailedToStart', 'CannotPullContainerError: pull image manifest has been retried') } } };
    await expect(trainTaskResultStep(p, depsWith({ status: 'succeeded', runId: RUN, result: result as never }))).rejects.toMatchObject({ name: 'DataError', message: expect.stringContaining('earlier attempt') });
  });

  it('fails under Step Functions’ own error when no task ran (RunTask refused)', async () => {
    const p = { run, trainTask: { request: {}, error: { Error: 'ECS.AccessDeniedException', Cause: 'User is not authorized to perform: ecs:RunTask' } } };
    await expect(trainTaskResultStep(p, depsWith({ status: 'succeeded', runId: RUN, result: result as never }))).rejects.toMatchObject({ name: 'ECS.AccessDeniedException', message: expect.stringContaining('not authorized') });
  });
});
