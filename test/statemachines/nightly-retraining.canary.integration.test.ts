import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { EXPERIMENTS_PREFIX, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { parseProductionPointer } from '../../src/domain/model-registry';
import { runRetrainingLocally, type LocalRunResult } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import type { RunSummary } from '../../src/retraining/record';
import { startTestAws, type TestAws } from '../support/aws-env';
import { fillLakeThroughConsumer, lakeOf } from '../retraining/support';

/** ROLLOUT=canary through the nightly state machine, run locally against the emulators. */
let aws: TestAws;
const HAPPY_PATH = ['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi', 'Deployed', 'RecordRun', 'Succeeded'];
const ENV = ['ROLLOUT', 'CANARY_SHARE_PERCENT', 'EXPERIMENT_MIN_IMPRESSIONS', 'API_BASE_URL', 'MODEL_REFRESH_SECONDS', 'RELOAD_MARGIN_SECONDS', 'RELOAD_POLL_INTERVAL_MS', 'RELOAD_CONSECUTIVE_ANSWERS'];
const today = () => new Date().toISOString().slice(0, 10);
let runs = 0;
const retrain = (): Promise<LocalRunResult> => runRetrainingLocally({ date: today() }, { retryIntervalMs: 1, executionName: `canary-run-${++runs}` });
const pointerText = () => lakeOf(aws).getText(PRODUCTION_POINTER_KEY);
const pointer = async () => parseProductionPointer((await pointerText())!);
const runSummary = async (r: LocalRunResult) => JSON.parse((await lakeOf(aws).getText(`reports/retraining/${r.executionName}/run.json`))!) as RunSummary;
const versionOf = (r: LocalRunResult) => (r.output as { training: { version: string } }).training.version;

/** A /health answering `body(n)` to its n-th request. */
async function healthServer(body: (n: number) => Record<string, unknown>): Promise<{ url: string; close(): Promise<void> }> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    n += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...body(n) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  const keys = await lakeOf(aws).listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 2000, users: 100, items: 80, seed: 3 })]);
  Object.assign(process.env, { ROLLOUT: 'canary', CANARY_SHARE_PERCENT: '25', EXPERIMENT_MIN_IMPRESSIONS: '500' });
});
afterEach(() => {
  for (const k of ENV) delete process.env[k];
});

describe('nightly retraining with ROLLOUT=canary', () => {
  it('deploys the first model plainly, starts a canary experiment with the next, and never replaces a running one', async () => {
    // No production model: a canary deploy is a plain deploy.
    const first = await retrain();
    expect(first.path).toEqual(HAPPY_PATH);
    const v1 = versionOf(first);
    expect(await pointer()).toMatchObject({ version: v1, previous: null });
    expect((await pointer()).experiment ?? null).toBeNull();
    expect((await runSummary(first)).rollout).toEqual({ mode: 'replace', experimentId: null, sharePercent: null });

    // With production: the candidate becomes the challenger of an experiment; production keeps its version.
    const second = await retrain();
    expect(second.path).toEqual(HAPPY_PATH);
    const v2 = versionOf(second);
    const p = await pointer();
    expect(p).toMatchObject({
      version: v1,
      experiment: { challenger: { version: v2 }, sharePercent: 25, startedBy: 'canary', runId: second.executionName, decision: { metric: 'ctr', minImpressions: 500, alpha: 0.01, maxDurationHours: 72 } },
    });
    const experimentId = p.experiment!.id;
    expect((await lakeOf(aws).listKeys(`${EXPERIMENTS_PREFIX}${experimentId}/`)).map((k) => k.replace(/^.*Z-/, ''))).toEqual(['started.json']);
    const summary = await runSummary(second);
    expect(summary).toMatchObject({ status: 'deployed', productionVersion: v1, rollout: { mode: 'canary', experimentId, sharePercent: 25 } });
    expect(summary.reason).toMatch(new RegExp(`^canary: experiment ${experimentId} serves ${v2} to 25% of users`));
    expect(second.output).toMatchObject({ outcome: { status: 'deployed', rollout: 'canary', experimentId } });

    // An experiment is running: the next candidate is not deployed, the pointer is untouched, the run says why.
    const before = await pointerText();
    const third = await retrain();
    expect(third.status, JSON.stringify({ error: third.error, path: third.path })).toBe('SUCCEEDED');
    expect(third.path).toEqual(HAPPY_PATH);
    expect(await pointerText()).toBe(before);
    const skipped = await runSummary(third);
    expect(skipped).toMatchObject({ status: 'not-deployed', rollout: { mode: 'canary', experimentId: null } });
    expect(skipped.reason).toMatch(new RegExp(`experiment ${experimentId} is already running \\(challenger ${v2}, started by canary\\); v\\S+ was not deployed`));
    expect(third.output).toMatchObject({ reload: { skipped: true, reason: expect.stringMatching(/^nothing was deployed/) } });
  });

  it('ReloadApi confirms the challenger is served, and the failure path stops a canary the API never loads', async () => {
    process.env.ROLLOUT = 'replace';
    const v1 = versionOf(await retrain());
    process.env.ROLLOUT = 'canary';
    const before = await pointerText();
    Object.assign(process.env, { MODEL_REFRESH_SECONDS: '0', RELOAD_MARGIN_SECONDS: '0.5', RELOAD_POLL_INTERVAL_MS: '10', RELOAD_CONSECUTIVE_ANSWERS: '4' });

    // The API reports the challenger's version but never loaded: not confirmed → RestoreProduction.
    const notLoaded = await healthServer(() => ({ modelVersion: v1, experiment: { id: 'x', sharePercent: 25, challengerVersion: 'any', challengerLoaded: false, error: 'no artifact' } }));
    process.env.API_BASE_URL = notLoaded.url;
    try {
      const failed = await retrain();
      expect(failed.status).toBe('FAILED');
      expect(failed.error?.name).toBe('ReloadNotConfirmedError');
      expect(failed.error?.message).toMatch(/did not report challenger v\S+ loaded/);
      expect(failed.path).toEqual([...HAPPY_PATH.slice(0, 12), 'RestoreProduction', 'NotifyFailure', 'RecordFailure', 'RunFailed']);
      expect(await pointerText()).toBe(before);
    } finally {
      await notLoaded.close();
    }

    // The API loads whichever challenger the pointer names: confirmed.
    let currentChallenger: string | null = null;
    const loaded = await healthServer(() => ({ modelVersion: v1, experiment: { id: 'x', sharePercent: 25, challengerVersion: currentChallenger, challengerLoaded: true } }));
    const poll = setInterval(() => void pointer().then((p) => (currentChallenger = p.experiment?.challenger.version ?? null), () => {}), 5);
    process.env.API_BASE_URL = loaded.url;
    try {
      const ok = await retrain();
      expect(ok.path).toEqual(HAPPY_PATH);
      const challenger = (await pointer()).experiment!.challenger.version;
      expect(ok.output).toMatchObject({ reload: { skipped: false, confirmedVersion: challenger, reason: expect.stringContaining(`report challenger ${challenger} loaded`) } });
    } finally {
      clearInterval(poll);
      await loaded.close();
    }
  });
});
