import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { ensureCatalogTable } from '../../src/adapters/local-resources';
import type { CatalogItem } from '../../src/catalog/item';
import { CATALOG_KEY, catalogSnapshotKey, isCatalogSnapshotKey } from '../../src/domain/lake-layout';
import { withCatalogue } from '../../src/retraining/interactions';
import { snapshotCatalog } from '../../src/retraining/snapshot-catalog';
import { retrainingDeps } from '../../src/retraining/deps';
import { evaluateModelStep, trainModelStep } from '../../src/retraining/steps';
import { handler as snapshotHandler } from '../../lambdas/retraining/snapshot-catalog';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';
import { lakeOf } from './support';

let aws: TestAws;
let catalog: DynamoCatalog;
const table = () => aws.names.catalogTable!;
const item = (itemId: string, extra: Partial<CatalogItem> = {}): CatalogItem => ({ itemId, categories: [], available: true, attributes: {}, ...extra });
const run = (runId: string) => ({ runId, window: { from: '2026-01-01', to: '2026-01-01' }, trigger: 'manual', startedAt: '2026-01-01T02:00:00Z', modelConfig: null });

beforeAll(async () => {
  aws = await startTestAws({ catalogTable: `test-catalog-${process.pid}` });
  catalog = new DynamoCatalog(aws.ddb, table());
});
afterAll(async () => {
  delete process.env.CATALOG_TABLE;
  await aws?.stop();
});
beforeEach(async () => {
  const keys = await lakeOf(aws).listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  await aws.ddb.send(new DeleteTableCommand({ TableName: table() }));
  await ensureCatalogTable(aws.ddb, table());
  process.env.CATALOG_TABLE = table();
});

const readSnapshot = async (key: string) => JSON.parse((await lakeOf(aws).getText(key))!) as unknown[];

describe('SnapshotCatalog on dynalite and s3rver', () => {
  it('writes the table to catalog/snapshots/<runId>.json: categories as genres, withdrawn items recorded but joined to nothing', async () => {
    await catalog.put(
      [
        item('lamp', { title: 'Desk lamp', categories: ['home', 'lighting'], price: 19.99, attributes: { brand: 'Acme' } }),
        item('mug', { title: 'Mug', categories: ['kitchen'], available: false }),
        item('old', { title: 'Discontinued', categories: ['retro'] }),
      ],
      1_000,
    );
    expect(await catalog.withdraw('old', 2_000)).toBe(true);
    // The same content in items.json must not be used while the table has items.
    await lakeOf(aws).putObject(CATALOG_KEY, JSON.stringify([{ itemId: 'lamp', title: 'From the old upload', genres: ['stale'] }]), 'application/json');

    const result = await snapshotCatalog('run-1', { lake: lakeOf(aws), catalog });
    expect(result).toEqual({ key: 'catalog/snapshots/run-1.json', source: 'table', items: 2, withdrawn: 1, unavailable: 1, bytes: expect.any(Number) });
    const snapshot = await readSnapshot(result.key!);
    expect(snapshot).toEqual([
      { itemId: 'lamp', title: 'Desk lamp', genres: ['home', 'lighting'] },
      { itemId: 'mug', title: 'Mug', genres: ['kitchen'] },
      { itemId: 'old', genres: [], withdrawn: true },
    ]);
    expect(result.bytes).toBe(Buffer.byteLength((await lakeOf(aws).getText(result.key!))!));

    // Training metadata: the withdrawn item keeps only what its events say; the others get the table's titles.
    const joined = withCatalogue([{ itemId: 'old', genres: ['from-events'] }], snapshot, ['lamp', 'mug', 'old'], result.key!);
    expect(joined).toEqual([
      { itemId: 'lamp', title: 'Desk lamp', genres: ['home', 'lighting'] },
      { itemId: 'mug', title: 'Mug', genres: ['kitchen'] },
      { itemId: 'old', genres: ['from-events'] },
    ]);
  });

  it('joins nothing of an entry marked withdrawn, even one that carries a title and genres (a hand-made items.json)', () => {
    const snapshot = [{ itemId: 'x', title: 'Gone', genres: ['g'], withdrawn: true }, { itemId: 'y', title: 'Here', genres: [] }];
    expect(withCatalogue([{ itemId: 'x', genres: ['ev'] }], snapshot, ['x', 'y'])).toEqual([{ itemId: 'x', genres: ['ev'] }, { itemId: 'y', title: 'Here', genres: [] }]);
  });

  it('falls back to a validated copy of catalog/items.json when the table is empty or not configured', async () => {
    const uploaded = [{ itemId: '1', title: 'Toy Story (1995)', genres: ['Animation'] }, { itemId: '2', genres: [] }];
    await lakeOf(aws).putObject(CATALOG_KEY, JSON.stringify(uploaded), 'application/json');
    const empty = await snapshotCatalog('run-2', { lake: lakeOf(aws), catalog });
    expect(empty).toMatchObject({ key: 'catalog/snapshots/run-2.json', source: 'items.json', items: 2, withdrawn: 0 });
    expect(await readSnapshot(empty.key!)).toEqual(uploaded);
    const none = await snapshotCatalog('run-3', { lake: lakeOf(aws), catalog: undefined });
    expect(none).toMatchObject({ key: 'catalog/snapshots/run-3.json', source: 'items.json', items: 2 });
  });

  it('writes nothing and answers key null when there is no catalogue at all', async () => {
    expect(await snapshotCatalog('run-4', { lake: lakeOf(aws), catalog })).toEqual({ key: null, source: 'none', items: 0, withdrawn: 0, unavailable: 0, bytes: 0 });
    expect(await lakeOf(aws).listKeys('catalog/')).toEqual([]);
  });

  it('fails with a DataError naming the file when catalog/items.json is invalid, and a CorruptObjectError when it is not JSON', async () => {
    await lakeOf(aws).putObject(CATALOG_KEY, JSON.stringify([{ itemId: '', genres: 'x' }]), 'application/json');
    await expect(snapshotCatalog('run-5', { lake: lakeOf(aws), catalog })).rejects.toMatchObject({ name: 'DataError', message: expect.stringMatching(/^catalog\/items\.json is invalid: 0\.itemId/) });
    await lakeOf(aws).putObject(CATALOG_KEY, '[{"itemId":', 'application/json');
    await expect(snapshotCatalog('run-5', { lake: lakeOf(aws), catalog })).rejects.toMatchObject({ name: 'CorruptObjectError', key: CATALOG_KEY });
  });

  it('runs as the Lambda handler, with the table from CATALOG_TABLE', async () => {
    await catalog.put([item('a', { title: 'A', categories: ['c'] })], 5);
    const out = (await snapshotHandler({ run: run('handler-run') }, lambdaContext('snapshot-catalog'))) as { key: string; source: string; durationMs: number };
    expect(out).toMatchObject({ key: 'catalog/snapshots/handler-run.json', source: 'table', items: 1, durationMs: expect.any(Number) });
    expect(retrainingDeps().catalog).toBeDefined();
    await expect(snapshotHandler({ run: { runId: 'x' } }, lambdaContext('snapshot-catalog'))).rejects.toThrow('SnapshotCatalog: invalid payload');
  });
});

describe('the snapshot key', () => {
  it('is built per run and refuses ids that would leave the prefix', () => {
    expect(catalogSnapshotKey('nightly-2026-01-01.x_1')).toBe('catalog/snapshots/nightly-2026-01-01.x_1.json');
    for (const bad of ['', '.', '..', '../models/production', 'a/b', '__proto__ ', 'x'.repeat(81)]) expect(() => catalogSnapshotKey(bad), bad).toThrow('not a run id');
    expect(isCatalogSnapshotKey('catalog/snapshots/run-1.json')).toBe(true);
    for (const bad of ['catalog/items.json', 'catalog/snapshots/../items.json', 'catalog/snapshots/a/b.json', 'models/production.json', 'catalog/snapshots/.json']) expect(isCatalogSnapshotKey(bad), bad).toBe(false);
  });

  it('TrainModel and EvaluateModel accept only their own run\'s snapshot or null', async () => {
    const deps = retrainingDeps();
    await expect(trainModelStep({ run: run('r1'), catalogKey: 'catalog/items.json' }, deps)).rejects.toThrow('TrainModel: invalid payload: catalogKey must be a catalogue snapshot key');
    await expect(trainModelStep({ run: run('r1') }, deps)).rejects.toThrow('TrainModel: invalid payload');
    await expect(trainModelStep({ run: run('r1'), catalogKey: 'catalog/snapshots/r2.json' }, deps)).rejects.toThrow("catalogKey catalog/snapshots/r2.json is not this run's snapshot");
    await expect(evaluateModelStep({ run: run('r1'), version: 'v20260101T020000Z', catalogKey: 'models/production.json' }, deps)).rejects.toThrow('EvaluateModel: invalid payload');
  });
});
