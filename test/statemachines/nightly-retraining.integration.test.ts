import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { applyItemEvents, applyUserEvents } from '../../src/domain/features';
import { parseProductionPointer } from '../../src/domain/model-registry';
import { bronzeKeyFor, modelKeys, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import { TransientError } from '../../src/retraining/errors';
import { runRetrainingLocally, type LocalRunOptions, type LocalRunResult } from '../../src/local/retraining-runner';
import { parquetColumns, parquetRowCount, readParquet, writeParquet } from '../../src/retraining/parquet';
import { INTERACTION_COLUMNS, toParquetRow, toSilverInteraction } from '../../src/retraining/silver';
import type { RunSummary } from '../../src/retraining/record';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import type { StepHandler } from '../../src/retraining/lambda-step';
import { RETRAINING_FUNCTIONS } from '../../src/retraining/functions';
import { startTestAws, type TestAws } from '../support/aws-env';
import { fillLakeThroughConsumer, lakeOf, startHealthServer } from '../retraining/support';

let aws: TestAws;
const today = () => new Date().toISOString().slice(0, 10);
/** 100 users with tastes, 80 items: enough for the hybrid model to beat popularity (≈0.31 vs 0.27 nDCG@10). */
const tasteEvents = () => [...generateTasteEvents({ events: 2000, users: 100, items: 80, seed: 3 })];
const HAPPY_PATH = ['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi', 'Deployed', 'RecordRun', 'Succeeded'];

const RELOAD_ENV = ['API_BASE_URL', 'MODEL_REFRESH_SECONDS', 'RELOAD_MARGIN_SECONDS', 'RELOAD_POLL_INTERVAL_MS', 'RELOAD_CONSECUTIVE_ANSWERS', 'DEPLOY_TOLERANCE'];

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  for (const k of RELOAD_ENV) delete process.env[k];
  const keys = await lakeOf(aws).listKeys('');
  for (let i = 0; i < keys.length; i += 1000) {
    await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
  await ensureFeatureTable(aws.ddb, aws.names.featuresTable);
  const { DeleteStreamCommand } = await import('@aws-sdk/client-kinesis');
  await aws.kinesis.send(new DeleteStreamCommand({ StreamName: aws.names.eventsStream }));
  const { ensureResources } = await import('../../src/adapters/local-resources');
  await ensureResources({ s3: aws.s3, ddb: aws.ddb, kinesis: aws.kinesis }, aws.names);
});

let runs = 0;
const retrain = (input: Record<string, unknown> = {}, options: LocalRunOptions = {}): Promise<LocalRunResult> =>
  runRetrainingLocally({ date: today(), ...input }, { retryIntervalMs: 1, executionName: `test-run-${++runs}`, ...options });

const pointerText = () => lakeOf(aws).getText(PRODUCTION_POINTER_KEY);
const runSummary = async (r: LocalRunResult) => JSON.parse((await lakeOf(aws).getText(`reports/retraining/${r.executionName}/run.json`))!) as RunSummary;

async function silverSnapshot(): Promise<Record<string, string>> {
  const lake = lakeOf(aws);
  const out: Record<string, string> = {};
  for (const key of (await lake.listKeys('silver/')).sort()) out[key] = Buffer.from((await lake.getBytes(key))!).toString('base64');
  return out;
}
async function exactRows(): Promise<Record<string, unknown>[]> {
  const page = await aws.ddb.send(new ScanCommand({ TableName: aws.names.featuresTable }));
  return (page.Items ?? []).map((i) => unmarshall(i)).filter((r) => r.sk === 'EXACT').sort((a, b) => String(a.pk).localeCompare(String(b.pk)));
}

describe('nightly retraining, the ASL run locally against the emulators', () => {
  it('goes Bronze → Silver → model → production pointer on a lake filled by the consumer', async () => {
    const input = tasteEvents();
    await fillLakeThroughConsumer(aws, input);
    const run = await retrain();

    expect(run.error).toBeNull();
    expect(run.path).toEqual(HAPPY_PATH);
    const out = run.output as { training: { version: string }; evaluation: { gate: { candidate: number; popularity: number } }; reload: { skipped: boolean } };
    const version = out.training.version;

    // Production points at the new version, with its metrics; nothing was deployed before.
    const pointer = parseProductionPointer((await pointerText())!);
    expect(pointer).toMatchObject({ version, previous: null, manifestKey: modelKeys(version).manifest });
    expect(pointer.metrics?.['ndcg@10']).toBeCloseTo(out.evaluation.gate.candidate, 10);
    expect(out.evaluation.gate.candidate).toBeGreaterThan(out.evaluation.gate.popularity);
    expect(out.reload.skipped).toBe(true);

    // The artifact, its training metadata and its evaluation sit side by side.
    const lake = lakeOf(aws);
    const keys = modelKeys(version);
    expect(await lake.getBytes(keys.payload)).toBeDefined();
    const training = JSON.parse((await lake.getText(`models/${version}/training.json`))!);
    expect(training).toMatchObject({ version, silver: { events: input.length }, interactions: { mapping: expect.stringContaining('strongest signal') } });
    const evaluation = JSON.parse((await lake.getText(keys.evaluation))!);
    expect(evaluation).toMatchObject({ version, production: null, split: { method: 'per-user temporal hold-out' }, gate: { deploy: true } });
    expect(evaluation.popularity.ndcg).toBeGreaterThan(0);

    // Silver Parquet reads back with the expected schema and one row per event.
    const silverKeys = (await lake.listKeys('silver/interactions/')).sort();
    expect(silverKeys.length).toBeGreaterThan(1);
    for (const key of silverKeys) expect(key).toMatch(/^silver\/interactions\/dt=\d{4}-\d{2}-\d{2}\/arrival_dt=\d{4}-\d{2}-\d{2}\/part-0\.parquet$/);
    let rows = 0;
    const ids = new Set<string>();
    for (const key of silverKeys) {
      const bytes = (await lake.getBytes(key))!;
      rows += parquetRowCount(bytes);
      for (const r of await readParquet(bytes)) {
        ids.add(String(r.event_id));
        expect(key).toContain(`dt=${new Date(Number(r.event_time_ms)).toISOString().slice(0, 10)}/`);
      }
    }
    expect(rows).toBe(input.length);
    expect(ids.size).toBe(input.length);
    const columns = parquetColumns((await lake.getBytes(silverKeys[0]!))!);
    expect(columns).toEqual([
      { name: 'event_id', type: 'BYTE_ARRAY', optional: false },
      { name: 'event_type', type: 'BYTE_ARRAY', optional: false },
      { name: 'user_id', type: 'BYTE_ARRAY', optional: false },
      { name: 'item_id', type: 'BYTE_ARRAY', optional: false },
      { name: 'event_time_ms', type: 'INT64', optional: false },
      { name: 'rating', type: 'DOUBLE', optional: true },
      { name: 'price', type: 'DOUBLE', optional: true },
      { name: 'quantity', type: 'INT32', optional: true },
      { name: 'category', type: 'BYTE_ARRAY', optional: true },
      { name: 'session_id', type: 'BYTE_ARRAY', optional: true },
      { name: 'arrival_time_ms', type: 'INT64', optional: false },
      { name: 'shard_id', type: 'BYTE_ARRAY', optional: false },
      { name: 'sequence_number', type: 'BYTE_ARRAY', optional: false },
      { name: 'recommendation_id', type: 'BYTE_ARRAY', optional: true },
      { name: 'position', type: 'INT32', optional: true },
    ]);
    const userFeatureKey = `silver/user_features/as_of=${today()}/part-0.parquet`;
    const userRows = await readParquet((await lake.getBytes(userFeatureKey))!);
    expect(userRows.length).toBe(new Set(input.map((e) => e.userId)).size);

    // Exact features in DynamoDB equal the domain folds over every event.
    const events = input.map((e) => (parseEvent(e) as { ok: true; event: UserEvent }).event);
    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    for (const userId of [...new Set(events.map((e) => e.userId))].slice(0, 5)) {
      const row = await table.exactUserFeatures(userId);
      const mine = events.filter((e) => e.userId === userId).sort((a, b) => a.eventId.localeCompare(b.eventId));
      expect(row).toMatchObject({ entity: 'user', window: { from: today(), to: today() }, features: applyUserEvents(undefined, mine) });
    }
    const itemId = events[0]!.itemId;
    const item = await table.exactItemFeatures(itemId);
    expect(item?.features).toEqual(applyItemEvents(undefined, events.filter((e) => e.itemId === itemId).sort((a, b) => a.eventId.localeCompare(b.eventId))));

    // Reports: the validation report and the run summary with time and rows per step.
    const validation = JSON.parse((await lake.getText(`reports/retraining/${run.executionName}/validation.json`))!);
    expect(validation).toMatchObject({ status: 'passed', uniqueEvents: input.length });
    const summary = await runSummary(run);
    expect(summary).toMatchObject({ status: 'deployed', version, steps: { ValidateData: { rows: input.length }, ExtractFeatures: { rows: input.length } } });
  });

  it('is idempotent: rerunning the window rewrites the same Silver bytes and the same exact features', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const first = await retrain();
    expect(first.status).toBe('SUCCEEDED');
    const silver = await silverSnapshot();
    const exact = await exactRows();
    expect(exact.length).toBeGreaterThan(0);

    const second = await retrain();
    expect(second.path).toEqual(HAPPY_PATH);
    expect(await silverSnapshot()).toEqual(silver);
    expect(await exactRows()).toEqual(exact);
    // The same data and recipe is not worse than production: the new version replaces it, keeping it as previous.
    const pointer = parseProductionPointer((await pointerText())!);
    expect(pointer.previous?.version).toBe((first.output as { training: { version: string } }).training.version);
  });

  it('does not deploy a candidate worse than production, and ends successfully with the reason', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    expect((await retrain()).status).toBe('SUCCEEDED');
    const before = await pointerText();

    process.env.DEPLOY_TOLERANCE = '0.01';
    const worse = await retrain({ modelConfig: { easeLambda: 100000 } });
    expect(worse.status).toBe('SUCCEEDED');
    expect(worse.path).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'NotDeployedWorseThanProduction', 'RecordRun', 'Succeeded']);
    expect(await pointerText()).toBe(before);
    const summary = await runSummary(worse);
    expect(summary.status).toBe('not-deployed');
    expect(summary.reason).toMatch(/candidate ndcg@10 0\.\d+ is below production 0\.\d+ by more than the tolerance/);
    const evaluation = JSON.parse((await lakeOf(aws).getText(modelKeys(summary.version!).evaluation))!);
    expect(evaluation.production).toMatchObject({ sameRecipe: false });
    expect(evaluation.candidate.ndcg).toBeLessThan(evaluation.production.metrics.ndcg * 0.99);
  });

  it('does not deploy a candidate that does not beat popularity', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const run = await retrain({ modelConfig: { minRating: 4 } });
    expect(run.path).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'NotDeployedBelowPopularity', 'RecordRun', 'Succeeded']);
    expect(await pointerText()).toBeUndefined();
    expect((await runSummary(run)).reason).toMatch(/does not beat popularity/);
  });

  it('takes the failure path when a step fails: notifies, records, fails, and leaves production.json unchanged', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    expect((await retrain()).status).toBe('SUCCEEDED');
    const before = await pointerText();

    const broken: StepHandler = async () => {
      throw new Error('training ran out of memory');
    };
    const run = await retrain({}, { handlers: { TrainModel: broken } });
    expect(run.status).toBe('FAILED');
    expect(run.error).toEqual({ name: 'Error', message: 'training ran out of memory' });
    expect(run.path).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'NotifyFailure', 'RecordFailure', 'RunFailed']);
    expect(run.notifications).toHaveLength(1);
    expect(run.notifications[0]!.Message).toContain('training ran out of memory');
    expect(run.notifications[0]!.Message).toContain('Production was left as it was');
    expect(await pointerText()).toBe(before);
    expect(await runSummary(run)).toMatchObject({ status: 'failed', error: { Error: 'Error' } });
  });

  it.each(['ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'TrainModel', 'EvaluateModel', 'DeployModel', 'ReloadApi'] as const)(
    'leaves production serving the previous model when %s is killed after doing its work',
    async (step) => {
      await fillLakeThroughConsumer(aws, tasteEvents());
      expect((await retrain()).status).toBe('SUCCEEDED');
      const before = await pointerText();
      // The step does all of its work (for DeployModel: the new pointer is written), then its process dies.
      const real = ((await import(`../../lambdas/retraining/${RETRAINING_FUNCTIONS[step]}.ts`)) as { handler: StepHandler }).handler;
      const killed: StepHandler = async (payload, context) => {
        await real(payload, context);
        throw Object.assign(new Error(`RequestId: local Error: Runtime exited with error: signal: killed (${step})`), { name: 'Runtime.ExitError' });
      };
      const run = await retrain({}, { handlers: { [step]: killed } });
      expect(run.status).toBe('FAILED');
      expect(run.path).toContain('NotifyFailure');
      expect(run.path).not.toContain('Deployed');
      expect(await pointerText()).toBe(before);
    },
  );

  it('restores production.json byte for byte when the API never reports the new version', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const first = await retrain();
    const v1 = (first.output as { training: { version: string } }).training.version;
    const before = await pointerText();

    const api = await startHealthServer(() => v1);
    Object.assign(process.env, { API_BASE_URL: api.url, MODEL_REFRESH_SECONDS: '0', RELOAD_MARGIN_SECONDS: '0.3', RELOAD_POLL_INTERVAL_MS: '20' });
    try {
      const run = await retrain();
      expect(run.status).toBe('FAILED');
      expect(run.error?.name).toBe('ReloadNotConfirmedError');
      expect(run.path).toEqual([...HAPPY_PATH.slice(0, 12), 'RestoreProduction', 'NotifyFailure', 'RecordFailure', 'RunFailed']);
      expect(await pointerText()).toBe(before);
      expect(run.notifications[0]!.Message).toContain('ReloadNotConfirmedError');
      expect(api.requests()).toBeGreaterThan(1);
    } finally {
      await api.close();
    }
  });

  it('removes the pointer again when the first deployment cannot be confirmed', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const api = await startHealthServer(() => null);
    Object.assign(process.env, { API_BASE_URL: api.url, MODEL_REFRESH_SECONDS: '0', RELOAD_MARGIN_SECONDS: '0.2', RELOAD_POLL_INTERVAL_MS: '20' });
    try {
      const run = await retrain();
      expect(run.path).toContain('RestoreProduction');
      expect(await pointerText()).toBeUndefined();
    } finally {
      await api.close();
    }
  });

  it('confirms the reload once every sampled instance reports the new version', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const lake = lakeOf(aws);
    // Three instances behind a round robin; each picks up production.json only on its own refresh.
    const instances = [{ version: null as string | null, refreshAt: 3 }, { version: null as string | null, refreshAt: 7 }, { version: null as string | null, refreshAt: 12 }];
    let current: string | null = null;
    const poller = setInterval(() => {
      void lake.getText(PRODUCTION_POINTER_KEY).then((t) => (current = t ? parseProductionPointer(t).version : null));
    }, 10);
    let served = 0;
    const api = await startHealthServer(() => {
      const instance = instances[served % instances.length]!;
      served += 1;
      if (current && served >= instance.refreshAt) instance.version = current;
      return instance.version;
    });
    Object.assign(process.env, { API_BASE_URL: api.url, MODEL_REFRESH_SECONDS: '5', RELOAD_MARGIN_SECONDS: '5', RELOAD_POLL_INTERVAL_MS: '20', RELOAD_CONSECUTIVE_ANSWERS: '6' });
    try {
      const run = await retrain();
      expect(run.path).toEqual(HAPPY_PATH);
      const out = run.output as { training: { version: string }; reload: { skipped: boolean; confirmedVersion: string; answers: number } };
      expect(out.reload).toMatchObject({ skipped: false, confirmedVersion: out.training.version });
      expect(out.reload.answers).toBeGreaterThanOrEqual(6);
      expect(instances.every((i) => i.version === out.training.version)).toBe(true);
    } finally {
      clearInterval(poller);
      await api.close();
    }
  });

  it('clients cannot stop retraining: quarantined events and thousands of repeats of one eventId only warn, with the numbers', async () => {
    const good = tasteEvents().slice(0, 400);
    // 300 events the consumer refuses (quarantine), sent by a careless client.
    const bad = Array.from({ length: 300 }, (_, i) => ({ eventId: `bad-${i}`, type: 'rating', userId: 'u1', itemId: 'i1', timestamp: new Date().toISOString(), rating: 11 }));
    await fillLakeThroughConsumer(aws, [...good, ...bad]);
    // 3,000 more deliveries of one event, as Bronze keeps them (each its own stream record).
    const lake = lakeOf(aws);
    const copy = good[0]!;
    const arrival = new Date().toISOString();
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ ...copy, _ingest: { shardId: 'shardId-000000000009', sequenceNumber: String(900_000 + i), arrivalTime: arrival } }));
    await lake.putObject(bronzeKeyFor({ kind: 'events', dt: today(), shardId: 'shardId-000000000009', firstSequenceNumber: '900000' }), lines.join('\n') + '\n', 'application/x-ndjson');

    const run = await retrain();
    expect(run.error).toBeNull();
    expect(run.path).toEqual(HAPPY_PATH);
    const report = JSON.parse((await lake.getText(`reports/retraining/${run.executionName}/validation.json`))!);
    expect(report).toMatchObject({ status: 'passed', uniqueEvents: 400, failedRules: [], stats: { duplicates: 3000, repeatedEventIds: 1, quarantined: 300 } });
    expect(report.warnings).toEqual(expect.arrayContaining(['duplicates', 'quarantine']));
    expect(report.samples.mostRepeatedEventIds).toEqual([{ eventId: copy.eventId, copies: 3001 }]);
    const out = run.output as { validated?: unknown; validation?: { duplicates: number; warnings: string[] } };
    expect(out.validation).toMatchObject({ duplicates: 3000, warnings: expect.arrayContaining(['duplicates', 'quarantine']) });
    // The repeats were dropped: Silver and the model saw each event once.
    expect((await runSummary(run)).steps.ExtractFeatures?.rows).toBe(400);
    expect((await runSummary(run)).warnings.join('\n')).toContain('3,000 repeats of 1 already-seen eventIds dropped');
  });

  it('fails on a lake fault (the same stream record twice in Bronze) with the rule and the numbers, before anything is built', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents().slice(0, 200));
    const lake = lakeOf(aws);
    // An object copied under another key: its stream records are in Bronze twice.
    const [key] = (await lake.listKeys(`bronze/events/dt=${today()}/`)).sort();
    const body = (await lake.getText(key!))!;
    const copyKey = key!.replace(/\.jsonl$/, '-copy.jsonl');
    await lake.putObject(copyKey, body, 'application/x-ndjson');
    const copied = body.split('\n').filter(Boolean).length;

    const run = await retrain();
    expect(run.path).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'NotifyFailure', 'RecordFailure', 'RunFailed']);
    expect(run.error?.name).toBe('DataValidationError');
    expect(run.error?.message).toMatch(/^Data validation FAILED for Bronze window .*: failed rule stream-records/);
    expect(run.error?.message).toContain(`[FAIL] stream-records: ${copied.toLocaleString('en-US')} Bronze lines repeat a stream record (shard + sequence number) already read (max 0, VALIDATION_MAX_REPEATED_STREAM_RECORDS); e.g.`);
    expect(run.error?.message).toContain('(same event)');
    const report = JSON.parse((await lake.getText(`reports/retraining/${run.executionName}/validation.json`))!);
    expect(report).toMatchObject({ status: 'failed', failedRules: ['stream-records'], stats: { repeatedStreamRecords: copied, duplicates: 0 } });
    expect(await lake.listKeys('silver/')).toEqual([]);
    expect(await pointerText()).toBeUndefined();
    const summary = await runSummary(run);
    expect(summary).toMatchObject({ status: 'failed', failedStep: 'ValidateData', steps: { ValidateData: { status: 'failed' } } });
  });

  it('fails on unparseable Bronze lines (a lake fault) naming the rule, the numbers and where the lines are', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents().slice(0, 200));
    const lake = lakeOf(aws);
    // An object whose lines were cut off (a broken upload): 5 lines that are not JSON.
    const brokenKey = bronzeKeyFor({ kind: 'events', dt: today(), shardId: 'shardId-000000000007', firstSequenceNumber: '1' });
    await lake.putObject(brokenKey, Array.from({ length: 5 }, (_, i) => `{"eventId":"half-written-${i}","type":"vi`).join('\n') + '\n', 'application/x-ndjson');
    const run = await retrain();
    expect(run.error?.name).toBe('DataValidationError');
    expect(run.error?.message).toContain('failed rule bronze-contract');
    expect(run.error?.message).toContain('[FAIL] bronze-contract: 5 of 205 Bronze event lines fail re-validation against the event contract as of their arrival (2.44%, max 1.00%, VALIDATION_MAX_INVALID_RATIO): 5 not JSON');
    expect(run.error?.message).toContain(`e.g. ${brokenKey} line 1: not valid JSON`);
    // Configurable: an operator who accepts more broken lines lets the run go on; they are set aside.
    process.env.VALIDATION_MAX_INVALID_RATIO = '0.05';
    try {
      const tolerant = await retrain();
      expect(tolerant.status).toBe('SUCCEEDED');
      expect(tolerant.path.slice(0, 9)).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel']);
      expect((tolerant.output as { extract: { setAside: { count: number } } }).extract.setAside.count).toBe(5);
    } finally {
      delete process.env.VALIDATION_MAX_INVALID_RATIO;
    }
  });

  it('a Silver history holding a purchase no store can hold: the run succeeds and the report names the row set aside', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const lake = lakeOf(aws);
    // History from before the contract bounded money: one purchase of 10^15 × 100.
    const dt = '2026-01-05';
    const poison = { eventId: 'whale-buy', type: 'purchase', userId: 'whale', itemId: 'gold', price: 1e15, quantity: 100, timestamp: `${dt}T09:30:00.000Z` } as unknown as UserEvent;
    const row = toParquetRow(toSilverInteraction({ event: poison, arrivalMs: Date.parse(`${dt}T10:00:00.000Z`), arrivalDt: dt, shardId: 'shardId-000000000000', sequenceNumber: '1' }));
    await lake.putObject(`silver/interactions/dt=${dt}/part-${dt}.parquet`, await writeParquet(INTERACTION_COLUMNS, [row]), 'application/vnd.apache.parquet');

    const run = await retrain();
    expect(run.error).toBeNull();
    expect(run.path).toEqual(HAPPY_PATH);
    const out = run.output as { extract: { setAside: { count: number; samples: { id: string; reason: string }[] } }; training: { setAside: { count: number } } };
    expect(out.extract.setAside).toMatchObject({ count: 1, samples: [{ id: 'whale-buy', reason: expect.stringContaining('cannot be stored exactly') }] });
    expect(out.training.setAside.count).toBe(1);
    expect(run.events.filter((e) => e.type === 'retried')).toEqual([]);
    const summary = await runSummary(run);
    expect(summary.steps.ExtractFeatures?.detail).toContain('1 row set aside');
    expect(summary.warnings.join('\n')).toMatch(/ExtractFeatures: 1 row set aside .*whale-buy/);
    // Every user of the window has exact features.
    const pks = new Set((await exactRows()).map((r) => String(r.pk)));
    for (const e of tasteEvents()) expect(pks.has(`U#${e.userId}`)).toBe(true);
  });

  it('retries a step that failed with a transient error', async () => {
    await fillLakeThroughConsumer(aws, tasteEvents());
    const { handler: realTrain } = await import('../../lambdas/retraining/train-model');
    let calls = 0;
    const flaky: StepHandler = async (payload, context) => {
      calls += 1;
      if (calls === 1) throw new TransientError('SlowDown: Please reduce your request rate.');
      return realTrain(payload, context);
    };
    const run = await retrain({}, { handlers: { TrainModel: flaky } });
    expect(run.path).toEqual(HAPPY_PATH);
    expect(run.events.filter((e) => e.type === 'retried').map((e) => e.state)).toEqual(['TrainModel']);
    expect(calls).toBe(2);
  });
});
