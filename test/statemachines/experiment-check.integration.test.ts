import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentOf } from '../../src/domain/experiment';
import { EXPERIMENTS_PREFIX, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { parseProductionPointer, pointerFor, type ProductionPointer } from '../../src/domain/model-registry';
import { runExperimentCheckLocally } from '../../src/local/experiment-check-runner';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from '../retraining/support';

/**
 * The experiment check's state machine with the real CheckExperiment Lambda handler (its S3 registry, its
 * DynamoDB attribution reader) against the emulators: the wiring CDK deploys, short of AWS itself.
 */
let aws: TestAws;
const PROD = 'v20261201T020000Z';
const CHALLENGER = 'v20261202T020000Z-canary';

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-analytics-check-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
});
afterAll(async () => {
  delete process.env.ANALYTICS_TABLE;
  await aws?.stop();
});

async function putPointer(pointer: ProductionPointer) {
  await lakeOf(aws).putObject(PRODUCTION_POINTER_KEY, JSON.stringify(pointer), 'application/json');
}

describe('experiment check, the ASL run locally with the real Lambda handler against the emulators', () => {
  it('with nothing in production or no experiment running: ends quietly, writes nothing', async () => {
    const empty = await runExperimentCheckLocally({ retryIntervalMs: 1 });
    expect(empty.output).toMatchObject({ action: 'none', reason: 'nothing is in production', productionVersion: null });
    await putPointer(pointerFor(PROD, undefined));
    const run = await runExperimentCheckLocally({ retryIntervalMs: 1 });
    expect(run.error).toBeNull();
    expect(run.path).toEqual(['CheckExperiment', 'Applied', 'Done']);
    expect(run.output).toMatchObject({ action: 'none', reason: 'no experiment is running', productionVersion: PROD });
    expect(await lakeOf(aws).listKeys(EXPERIMENTS_PREFIX)).toEqual([]);
  });

  it('rolls back an experiment that gathered too little data by its deadline, logs it and publishes the decision', async () => {
    const started = new Date(Date.now() - 100 * 3_600_000);
    const experimentId = 'xcheckint01';
    await putPointer({
      ...pointerFor(PROD, undefined),
      experiment: {
        id: experimentId,
        challenger: deploymentOf(CHALLENGER, started),
        sharePercent: 10,
        startedAt: started.toISOString(),
        startedBy: 'canary',
        runId: 'run-1',
        decision: { metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72 },
      },
    });
    const run = await runExperimentCheckLocally({ retryIntervalMs: 1 });
    expect(run.error).toBeNull();
    expect(run.path).toEqual(['CheckExperiment', 'Applied', 'NotifyDecision', 'Done']);
    expect(run.output).toMatchObject({ action: 'rollback', experimentId, productionVersion: PROD, reason: expect.stringMatching(/^inconclusive after 100\.0 of 72 h: too little data: 0 control and 0 challenger impressions/) });
    expect(parseProductionPointer((await lakeOf(aws).getText(PRODUCTION_POINTER_KEY))!)).toMatchObject({ version: PROD, experiment: null });
    const keys = (await lakeOf(aws).listKeys(`${EXPERIMENTS_PREFIX}${experimentId}/`)).sort();
    expect(keys.map((k) => k.replace(/^.*\d{6}Z-/, ''))).toEqual(['decision.json', 'rolled-back.json']);
    const decision = JSON.parse((await lakeOf(aws).getText(keys[0]!))!) as { decision: { action: string; control: { n: number } } };
    expect(decision.decision).toMatchObject({ action: 'rollback', control: { n: 0 } });
    expect(run.notifications).toEqual([expect.objectContaining({ Subject: `Experiment ${experimentId}: challenger rolled back` })]);
  });
});
