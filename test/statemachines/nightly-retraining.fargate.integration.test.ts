import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetrainingLocally } from '../../src/local/retraining-runner';
import type { StepHandler } from '../../src/retraining/lambda-step';
import { trainTaskResultKey, type TrainTaskOutcome } from '../../src/retraining/train-task';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from '../retraining/support';

/**
 * The Fargate path's failure, fast: the steps before ChooseTrainer are stand-ins that hand on what FinishExtract would
 * (trainer `fargate`), then the real ASL runs the task (its ecs:runTask.sync emulated, the container's entry point
 * in-process), TrainTaskResult and the failure path with their real handlers. Its success, against the Lambda
 * trainer on the same data, is in nightly-retraining.athena.integration.test.ts.
 */

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

const RUN = 'fargate-fail-1';
const run = { runId: RUN, window: { from: '2026-01-10', to: '2026-01-10' }, trigger: 'manual', startedAt: '2026-01-11T02:00:00.000Z', modelConfig: null };
const returns = (payload: unknown): StepHandler => async () => payload;
const before = (extract: Record<string, unknown>): Record<string, StepHandler> => ({
  EraseUsers: returns({ users: 0, done: 0, waiting: 0, reportKey: null }),
  PlanRun: returns({ engine: 'lambda' }),
  ValidateData: returns({ run, validation: { status: 'passed' } }),
  ExtractFeatures: returns({
    windowInteractions: 10, duplicatesDropped: 0, silverFilesWritten: 1, totalInteractions: 10, users: 2, items: 3, featureRowsWritten: 5,
    asOf: '2026-01-10T12:00:00.000Z', durationMs: 1, setAside: { count: 0, reasons: {}, samples: [] }, itemCategoriesPrefix: null, trainer: 'fargate', ...extract,
  }),
  SnapshotCatalog: returns({ key: null, source: 'none', items: 0, withdrawn: 0, unavailable: 0, bytes: 0, durationMs: 1 }),
});

describe('the nightly run on the Fargate training task', () => {
  it('fails through NotifyFailure with the error the task recorded (a DataError: a request naming another run’s table)', async () => {
    const result = await runRetrainingLocally({}, { executionName: RUN, retryIntervalMs: 1, handlers: before({ interactionsPrefix: 'silver/_batch/other-run/interactions/' }) });
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainTaskRequest', 'TrainTask', 'TrainTaskResult', 'NotifyFailure', 'RecordFailure', 'RunFailed']);
    // The container exited 2: runTask.sync failed with States.TaskFailed, caught into TrainTaskResult, which names the error.
    expect(result.events.filter((e) => e.type === 'failed').map((e) => [e.state, e.error])).toEqual([
      ['TrainTask', 'States.TaskFailed'],
      ['TrainTaskResult', 'DataError'],
      ['RunFailed', 'DataError'],
    ]);
    const outcome = JSON.parse((await lakeOf(aws).getText(trainTaskResultKey(RUN)))!) as TrainTaskOutcome;
    expect(outcome).toMatchObject({ status: 'failed', runId: RUN, error: { name: 'DataError' }, retryable: false });
    expect(result.error).toMatchObject({ name: 'DataError', message: expect.stringContaining('interactionsPrefix') });
    expect(result.notifications).toHaveLength(1);
    expect(result.notifications[0]!.Message).toContain('failed with DataError');
  }, 60_000);
});
