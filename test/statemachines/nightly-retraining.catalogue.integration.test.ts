import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { ensureCatalogTable, ensureFeatureTable } from '../../src/adapters/local-resources';
import { CATALOG_KEY, catalogSnapshotKey, modelKeys } from '../../src/domain/lake-layout';
import { deserializeModel } from '../../src/recommender/index';
import { modelRegistryOf } from '../../src/retraining/lake';
import { runRetrainingLocally, type LocalRunResult } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { startTestAws, type TestAws } from '../support/aws-env';
import { fillLakeThroughConsumer, lakeOf } from '../retraining/support';

/**
 * The nightly run with the live catalogue: SnapshotCatalog freezes the table, and the model TrainModel ships (and
 * EvaluateModel judged) carries the table's titles and categories, not the old catalog/items.json upload.
 */
let aws: TestAws;
let catalog: DynamoCatalog;
const today = () => new Date().toISOString().slice(0, 10);
let runs = 0;
const retrain = (): Promise<LocalRunResult> => runRetrainingLocally({ date: today() }, { retryIntervalMs: 1, executionName: `catalogue-run-${++runs}` });

interface RunOutput {
  catalog: { key: string | null; source: string; items: number; withdrawn: number; unavailable: number };
  training: { version: string };
  evaluation: { evaluationKey: string };
}

async function trainedModel(version: string) {
  const registry = modelRegistryOf(lakeOf(aws));
  const keys = modelKeys(version);
  return deserializeModel({ manifest: (await registry.readManifest(keys.manifest))!, payload: (await registry.readPayload(keys.payload))! });
}

beforeAll(async () => {
  aws = await startTestAws({ catalogTable: `test-catalog-sm-${process.pid}` });
  catalog = new DynamoCatalog(aws.ddb, aws.names.catalogTable!);
});
afterAll(async () => {
  delete process.env.CATALOG_TABLE;
  await aws?.stop();
});
beforeEach(async () => {
  for (const k of ['API_BASE_URL', 'DEPLOY_TOLERANCE']) delete process.env[k];
  const keys = await lakeOf(aws).listKeys('');
  for (let i = 0; i < keys.length; i += 1000) {
    await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
  await ensureFeatureTable(aws.ddb, aws.names.featuresTable);
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.catalogTable! }));
  await ensureCatalogTable(aws.ddb, aws.names.catalogTable!);
  process.env.CATALOG_TABLE = aws.names.catalogTable!;
});

describe('nightly retraining with the live catalogue', () => {
  it('trains and evaluates with the snapshot of the table: titles and categories from the table, withdrawn items joined to nothing', async () => {
    await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 2000, users: 100, items: 80, seed: 3 })]);
    const ids = Array.from({ length: 80 }, (_, i) => `i${i + 1}`);
    await catalog.put(ids.map((itemId, n) => ({ itemId, title: `Table title ${itemId}`, categories: [`cat-${n % 5}`], available: n % 7 !== 0, attributes: {} })), 1_000);
    expect(await catalog.withdraw('i2', 2_000)).toBe(true);
    // An old upload that must lose to the table.
    await lakeOf(aws).putObject(CATALOG_KEY, JSON.stringify(ids.map((itemId) => ({ itemId, title: `Upload ${itemId}`, genres: ['upload'] }))), 'application/json');

    const run = await retrain();
    expect(run.error).toBeNull();
    expect(run.path.slice(0, 9)).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel']);
    expect(run.path.at(-1)).toBe('Succeeded');
    const out = run.output as unknown as RunOutput;
    const key = catalogSnapshotKey(run.executionName);
    expect(out.catalog).toMatchObject({ key, source: 'table', items: 79, withdrawn: 1, unavailable: 12 });

    const model = await trainedModel(out.training.version);
    expect(model.itemMeta('i1')).toMatchObject({ title: 'Table title i1', genres: ['cat-0'] });
    expect(model.itemMeta('i13')).toMatchObject({ title: 'Table title i13', genres: ['cat-2'] });
    // Withdrawn: neither the table's nor the upload's metadata.
    expect(model.itemMeta('i2')?.title).toBeUndefined();
    expect(model.itemMeta('i2')?.genres ?? []).not.toContain('cat-1');

    const lake = lakeOf(aws);
    const training = JSON.parse((await lake.getText(modelKeys(out.training.version).training))!);
    expect(training.catalogue).toEqual({ key, joinedItems: 79 });
    expect(JSON.parse((await lake.getText(out.evaluation.evaluationKey))!)).toMatchObject({ version: out.training.version });
  });

  it('falls back to catalog/items.json when the table is empty, and trains without a catalogue when there is none', async () => {
    await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 1500, users: 80, items: 60, seed: 5 })]);
    await lakeOf(aws).putObject(CATALOG_KEY, JSON.stringify([{ itemId: 'i1', title: 'Uploaded one', genres: ['upload'] }]), 'application/json');
    const first = await retrain();
    expect(first.error).toBeNull();
    const out = first.output as unknown as RunOutput;
    expect(out.catalog).toMatchObject({ key: catalogSnapshotKey(first.executionName), source: 'items.json', items: 1 });
    expect((await trainedModel(out.training.version)).itemMeta('i1')).toMatchObject({ title: 'Uploaded one', genres: ['upload'] });

    await lakeOf(aws).deleteObject(CATALOG_KEY);
    delete process.env.CATALOG_TABLE;
    const second = await retrain();
    expect(second.error).toBeNull();
    const bare = second.output as unknown as RunOutput;
    expect(bare.catalog).toMatchObject({ key: null, source: 'none', items: 0 });
    expect((await trainedModel(bare.training.version)).itemMeta('i1')?.title).toBeUndefined();
  });
});
