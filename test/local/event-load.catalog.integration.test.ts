import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { ensureCatalogTable } from '../../src/adapters/local-resources';
import type { CatalogRecord } from '../../src/catalog/item';
import { CATALOG_KEY } from '../../src/domain/lake-layout';
import { EventLoad, type EventLoadOptions } from '../../src/local/event-load';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from '../retraining/support';

/** `npm start --item-metadata`: the catalogue goes into the local catalogue table, items.json only as the fallback. */
let aws: TestAws;
let dir: string;
const flags = (...on: number[]) => Array.from({ length: 19 }, (_, i) => (on.includes(i) ? '1' : '0')).join('|');
const logs: string[] = [];
const load = (over: Partial<EventLoadOptions> = {}) =>
  new EventLoad({ dataDir: dir, events: 10, users: 3, items: 5, seed: 1, rate: 0, liveRate: 0, log: (l) => logs.push(l), stream: aws.names.eventsStream, lakeBucket: aws.names.lakeBucket, ...over } as EventLoadOptions);

async function records(): Promise<Map<string, CatalogRecord>> {
  const out = new Map<string, CatalogRecord>();
  for await (const r of new DynamoCatalog(aws.ddb, aws.names.catalogTable!).scanAll()) out.set(r.itemId, r);
  return out;
}

beforeAll(async () => {
  aws = await startTestAws({ catalogTable: `test-catalog-load-${process.pid}` });
  dir = await mkdtemp(join(tmpdir(), 'event-load-'));
});
afterAll(async () => {
  delete process.env.CATALOG_TABLE;
  await rm(dir, { recursive: true, force: true });
  await aws?.stop();
});
beforeEach(async () => {
  logs.length = 0;
  await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.names.lakeBucket, Key: CATALOG_KEY }));
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.catalogTable! }));
  await ensureCatalogTable(aws.ddb, aws.names.catalogTable!);
  process.env.CATALOG_TABLE = aws.names.catalogTable!;
});

describe('EventLoad.putCatalog', () => {
  it('imports --item-metadata into an empty catalogue table through the writer and writes no items.json', async () => {
    const itemsFile = join(dir, 'u.item');
    await writeFile(itemsFile, Buffer.from(`1|Café (1995)|||u|${flags(5)}\n2|Heat (1995)|||u|${flags(1, 6)}\n`, 'latin1'));
    await load({ itemsFile, ratingsFile: join(dir, 'u.data') }).putCatalog(aws.s3);
    const table = await records();
    expect([...table.keys()].sort()).toEqual(['1', '2']);
    expect(table.get('1')).toMatchObject({ title: 'Café (1995)', categories: ['Comedy'], withdrawn: false });
    expect(table.get('2')!.categories).toEqual(['Action', 'Crime']);
    expect(await lakeOf(aws).getText(CATALOG_KEY)).toBeUndefined();
    expect(logs.join('\n')).toContain(`imported 2 items into catalogue table ${aws.names.catalogTable}`);
  });

  it('leaves a table that already holds items as it is, so a restart does not undo a withdrawal', async () => {
    const catalog = new DynamoCatalog(aws.ddb, aws.names.catalogTable!);
    await catalog.put([{ itemId: 'i1', title: 'Kept', categories: [], available: true, attributes: {} }], 1);
    await catalog.withdraw('i1', 2);
    await load().putCatalog(aws.s3);
    const table = await records();
    expect(table.size).toBe(1);
    expect(table.get('i1')).toMatchObject({ title: 'Kept', withdrawn: true });
    expect(logs.join('\n')).toContain('already holds items');
  });

  it('writes catalog/items.json when no catalogue table is configured, or the table cannot be read', async () => {
    delete process.env.CATALOG_TABLE;
    await load().putCatalog(aws.s3);
    const written = JSON.parse((await lakeOf(aws).getText(CATALOG_KEY))!) as { itemId: string; title: string }[];
    expect(written.map((i) => i.itemId)).toEqual(['i1', 'i2', 'i3', 'i4', 'i5']);

    await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.names.lakeBucket, Key: CATALOG_KEY }));
    await load().putCatalog(aws.s3, new DynamoCatalog(aws.ddb, 'no-such-table'));
    expect(JSON.parse((await lakeOf(aws).getText(CATALOG_KEY))!)).toHaveLength(5);
    expect(logs.join('\n')).toContain('is not readable');
  });
});
