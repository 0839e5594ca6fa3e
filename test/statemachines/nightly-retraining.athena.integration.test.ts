import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import { modelKeys, parseSilverInteractionsKey } from '../../src/domain/lake-layout';
import { trainTaskResultKey } from '../../src/retraining/train-task';
import { runRetrainingLocally, type LocalRunResult } from '../../src/local/retraining-runner';
import { readParquet } from '../../src/retraining/parquet';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { startTestAws, type TestAws } from '../support/aws-env';
import { fillLakeThroughConsumer, lakeOf } from '../retraining/support';

/**
 * The same nightly run on both engines, from the same Bronze (landed by the real consumer): the Lambda steps, and the
 * Athena path of the same ASL file with its queries on DuckDB, its Distributed Map emulated. Silver, the exact feature
 * rows in DynamoDB, the training data and the gate's figures must be the same.
 */

let aws: TestAws;
const today = () => new Date().toISOString().slice(0, 10);
const ATHENA_PATH = ['EraseUsers', 'PlanRun', 'ChooseEngine', 'CheckBronze', 'ValidateQuery', 'ValidateReport', 'BuildSilver', 'FeatureQueries', 'WriteFeatures.ItemReader', 'WriteFeatures', 'FinishExtract', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi', 'Deployed', 'RecordRun', 'Succeeded'];
/** The same run training on the Fargate task (its ecs:runTask.sync emulated in-process, src/local/ecs-task.ts). */
const FARGATE_PATH = ATHENA_PATH.flatMap((s) => (s === 'TrainModel' ? ['TrainTaskRequest', 'TrainTask', 'TrainTaskResult'] : [s]));

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  delete process.env.RETRAINING_ENGINE;
  delete process.env.FARGATE_TRAINING;
  delete process.env.FARGATE_MIN_INTERACTIONS;
  await aws?.stop();
});
beforeEach(async () => {
  await clear('');
  await resetTable();
});

async function clear(prefix: string) {
  const keys = await lakeOf(aws).listKeys(prefix);
  for (let i = 0; i < keys.length; i += 1000) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
}
async function resetTable() {
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
  await ensureFeatureTable(aws.ddb, aws.names.featuresTable);
}

let runs = 0;
async function retrain(engine: 'lambda' | 'athena', fargateMinInteractions?: number): Promise<LocalRunResult> {
  process.env.RETRAINING_ENGINE = engine;
  // FARGATE_TRAINING on (as CDK sets it once the task is deployed), with the threshold the test picks.
  if (fargateMinInteractions !== undefined) Object.assign(process.env, { FARGATE_TRAINING: 'true', FARGATE_MIN_INTERACTIONS: String(fargateMinInteractions) });
  try {
    return await runRetrainingLocally({ date: today() }, { retryIntervalMs: 1, executionName: `engines-${engine}-${++runs}` });
  } finally {
    delete process.env.RETRAINING_ENGINE;
    delete process.env.FARGATE_TRAINING;
    delete process.env.FARGATE_MIN_INTERACTIONS;
  }
}
const modelBytes = async (version: unknown) => Buffer.from((await lakeOf(aws).getBytes(modelKeys(String(version)).payload))!);

/** Every Silver interaction by eventId, with the partition it sits in (file names differ between engines). */
async function silverRows(): Promise<Record<string, unknown>[]> {
  const lake = lakeOf(aws);
  const out: Record<string, unknown>[] = [];
  for (const key of await lake.listKeys('silver/interactions/')) {
    const part = parseSilverInteractionsKey(key);
    if (!part) continue;
    for (const row of await readParquet((await lake.getBytes(key))!)) {
      const clean = Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v]));
      out.push({ ...clean, partition: `${part.eventDt}/${part.arrivalDt}` });
    }
  }
  return out.sort((a, b) => (String(a.event_id) < String(b.event_id) ? -1 : 1));
}
async function exactRows(): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await aws.ddb.send(new ScanCommand({ TableName: aws.names.featuresTable, ExclusiveStartKey: start as never }));
    for (const item of page.Items ?? []) rows.push(unmarshall(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return rows.filter((r) => r.sk === 'EXACT').sort((a, b) => (String(a.pk) < String(b.pk) ? -1 : 1));
}

describe('the nightly run on the Athena engine (DuckDB locally) and on the Lambda engine', () => {
  it('writes the same Silver, the same exact features and trains on the same data, through the Athena path of the ASL', async () => {
    // Repeats and a second delivery of some events: deduplication is part of what must agree.
    const events = [...generateTasteEvents({ events: 1500, users: 80, items: 60, seed: 5, duplicateShare: 0.03 })];
    await fillLakeThroughConsumer(aws, events);

    // Fargate on from one pair: the Lambda engine still trains in the Lambda (the task reads the compact table only
    // the Athena engine writes).
    const lambda = await retrain('lambda', 1);
    expect(lambda.error, JSON.stringify(lambda.error)).toBeNull();
    expect(lambda.path).toEqual(expect.arrayContaining(['SnapshotCatalog', 'ChooseTrainer', 'TrainModel']));
    expect(lambda.path).not.toContain('TrainTask');
    expect((lambda.output as { extract: { trainer: string } }).extract.trainer).toBe('lambda');
    const lambdaOut = lambda.output as Record<string, Record<string, unknown>>;
    const lambdaSilver = await silverRows();
    const lambdaExact = await exactRows();
    const lambdaTraining = lambdaOut.training!;

    // Same Bronze, nothing else: the Athena path starts from the lake as the consumer left it.
    for (const prefix of ['silver/', 'models/', 'reports/', 'catalog/']) await clear(prefix);
    await resetTable();
    // A retried PlanRun finds what its first attempt's queries left: it empties the run's batch location first.
    await lakeOf(aws).putObject(`silver/_batch/engines-athena-${runs + 1}/validation/left-by-a-first-attempt.parquet`, new Uint8Array([1, 2, 3]), 'application/vnd.apache.parquet');
    // One pair below the threshold: the Lambda trains.
    const pairs = Number(lambdaOut.training!.interactions);
    const athena = await retrain('athena', pairs + 1);
    expect(athena.error).toBeNull();
    // Top-level states in order (the Map and Parallel states' inner states are in the path too, interleaved).
    expect(athena.path.filter((s) => ATHENA_PATH.includes(s))).toEqual(ATHENA_PATH);
    expect(athena.path.filter((s) => s === 'WriteFeatureFile')).toHaveLength(2);
    expect(athena.path).toEqual(expect.arrayContaining(['SilverQuery', 'UserFeaturesQuery', 'ItemFeaturesQuery', 'InteractionsQuery', 'ItemCategoriesQuery', 'SilverCountsQuery']));
    const athenaOut = athena.output as Record<string, Record<string, unknown>>;

    expect(await silverRows()).toEqual(lambdaSilver);
    expect(lambdaSilver.length).toBeGreaterThan(1000);
    expect(await exactRows()).toEqual(lambdaExact);
    for (const field of ['uniqueEvents', 'validEvents', 'duplicates', 'repeatedEventIds', 'invalidLines', 'quarantined', 'warnings']) {
      expect(athenaOut.validation![field], field).toEqual(lambdaOut.validation![field]);
    }
    expect(athenaOut.extract).toMatchObject({
      windowInteractions: lambdaOut.extract!.windowInteractions,
      duplicatesDropped: lambdaOut.extract!.duplicatesDropped,
      users: lambdaOut.extract!.users,
      items: lambdaOut.extract!.items,
      featureRowsWritten: lambdaOut.extract!.featureRowsWritten,
      asOf: lambdaOut.extract!.asOf,
      interactionsPrefix: expect.stringMatching(/^silver\/_batch\/engines-athena-\d+\/interactions\/$/),
    });
    expect(athenaOut.training).toMatchObject({ interactions: lambdaTraining.interactions, users: lambdaTraining.users, items: lambdaTraining.items });
    // What ChooseTrainer compared: the compact table's (user, item) pairs, the pairs training held.
    expect(athenaOut.extract).toMatchObject({ totalInteractions: pairs, trainer: 'lambda' });
    // The same interactions train the same model: the gate sees the same figures.
    expect(athenaOut.evaluation!.gate).toEqual(lambdaOut.evaluation!.gate);

    // Rerunning the window on the Athena engine replaces its partitions: the same Silver, nothing twice. At the
    // threshold itself it trains on the Fargate task, into the same model, byte for byte.
    const again = await retrain('athena', pairs);
    expect(again.error, JSON.stringify(again.error)).toBeNull();
    expect(await silverRows()).toEqual(lambdaSilver);
    expect(again.path.filter((s) => FARGATE_PATH.includes(s))).toEqual(FARGATE_PATH);
    expect(again.path).not.toContain('TrainModel');
    const againOut = again.output as Record<string, Record<string, unknown>>;
    expect(againOut.extract!.trainer).toBe('fargate');
    expect(againOut.trainTask).toMatchObject({ request: { runId: again.executionName, catalogKey: athenaOut.catalog!.key === null ? null : expect.any(String) }, task: { stopCode: 'EssentialContainerExited', exitCode: 0 } });
    expect(Object.keys(againOut.training!).sort()).toEqual(Object.keys(athenaOut.training!).sort());
    expect(againOut.training).toMatchObject({ interactions: pairs, users: athenaOut.training!.users, items: athenaOut.training!.items });
    expect(againOut.training!.version).not.toBe(athenaOut.training!.version);
    expect((await modelBytes(againOut.training!.version)).equals(await modelBytes(athenaOut.training!.version))).toBe(true);
    expect(await lakeOf(aws).getText(trainTaskResultKey(again.executionName))).toContain('"succeeded"');
    // The candidate scores what the Lambda-trained one did, which is now production.
    const gate = (out: Record<string, Record<string, unknown>>) => out.evaluation!.gate as { candidate: number; popularity: number; production: number | null };
    expect(gate(againOut)).toMatchObject({ candidate: gate(athenaOut).candidate, popularity: gate(athenaOut).popularity, production: gate(athenaOut).candidate });
  }, 120_000);

  it('refuses, with the way out, to rerun an older window once a later one is in Silver (the Athena path runs windows in order)', async () => {
    await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 300, users: 20, items: 15, seed: 8 })]);
    const lake = lakeOf(aws);
    // A later arrival partition already in Silver (as a later night would have left it).
    const later = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await lake.putObject(`silver/interactions/dt=${later}/arrival_dt=${later}/part-0.parquet`, new Uint8Array(), 'application/vnd.apache.parquet');
    const run = await retrain('athena');
    expect(run.status).toBe('FAILED');
    expect(run.path).toContain('ValidateReport');
    expect(run.path).not.toContain('BuildSilver');
    expect(run.error?.message ?? '').toMatch(/RETRAINING_ENGINE=lambda/);
  }, 60_000);
});
