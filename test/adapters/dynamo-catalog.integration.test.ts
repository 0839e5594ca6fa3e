import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CATALOG_FEED_NAMES, catalogFeed, DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { ensureCatalogTable } from '../../src/adapters/local-resources';
import type { CatalogItem, CatalogRecord } from '../../src/catalog/item';
import { parseCatalogItem } from '../../src/catalog/item';
import { startTestAws, type TestAws } from '../support/aws-env';

/** The catalogue adapter with the real SDK against dynalite: the table layout, writes, tombstones and the change feed. */
let aws: TestAws;
let tableNo = 0;

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

async function freshTable(): Promise<string> {
  const name = `test-catalog-${process.pid}-${++tableNo}`;
  await ensureCatalogTable(aws.ddb, name);
  return name;
}

const item = (itemId: string, extra: Partial<CatalogItem> = {}): CatalogItem => {
  const parsed = parseCatalogItem({ itemId, title: `Title ${itemId}`, categories: ['books'], price: 9.99, ...extra });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.item;
};

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

type Middleware = (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>, context: { commandName?: string }) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

/**
 * DynamoDB throttling a real BatchWriteItem partly, as a hot partition does: the items `unprocessed(id, call)`
 * selects are not sent and come back in `UnprocessedItems`; the rest go to dynalite. Counts every request.
 */
function throttling(ddb: TestAws['ddb'], unprocessed: (itemId: string, call: number) => boolean, name: string): { calls: () => number; remove: () => void } {
  let calls = 0;
  const mw: Middleware = (next, context) => async (args) => {
    if (!/^BatchWrite(Item)?Command$/.test(context.commandName ?? '')) return next(args);
    calls += 1;
    const call = calls;
    const requestItems = args.input.RequestItems as Record<string, { PutRequest: { Item: { itemId: string } } }[]>;
    const [table, requests] = Object.entries(requestItems)[0]!;
    const held = requests.filter((r) => unprocessed(r.PutRequest.Item.itemId, call));
    const sent = requests.filter((r) => !held.includes(r));
    const res = sent.length ? await next({ ...args, input: { ...args.input, RequestItems: { [table]: sent } } }) : { output: { $metadata: {} } };
    return { ...res, output: { ...res.output, UnprocessedItems: held.length ? { [table]: held } : {} } };
  };
  (ddb.middlewareStack.add as unknown as (mw: Middleware, o: unknown) => void)(mw, { step: 'initialize', name });
  return { calls: () => calls, remove: () => ddb.middlewareStack.remove(name) };
}

describe('the catalogue table', () => {
  it('has the layout the CDK construct declares: key itemId, GSI byUpdate (feed, updatedAt), projection ALL, on demand', async () => {
    const name = await freshTable();
    await ensureCatalogTable(aws.ddb, name); // idempotent
    const t = (await aws.ddb.send(new DescribeTableCommand({ TableName: name }))).Table!;
    expect(t.KeySchema).toEqual([{ AttributeName: 'itemId', KeyType: 'HASH' }]);
    expect(t.BillingModeSummary?.BillingMode ?? 'PAY_PER_REQUEST').toBe('PAY_PER_REQUEST');
    expect(t.GlobalSecondaryIndexes).toHaveLength(1);
    const gsi = t.GlobalSecondaryIndexes![0]!;
    expect(gsi.IndexName).toBe('byUpdate');
    expect(gsi.KeySchema).toEqual([{ AttributeName: 'feed', KeyType: 'HASH' }, { AttributeName: 'updatedAt', KeyType: 'RANGE' }]);
    expect(gsi.Projection?.ProjectionType).toBe('ALL');
    expect(new Map(t.AttributeDefinitions!.map((a) => [a.AttributeName, a.AttributeType]))).toEqual(new Map([['itemId', 'S'], ['feed', 'S'], ['updatedAt', 'N']]));
  });

  it('spreads items over the 8 feeds by a stable hash of the id', () => {
    // Pinned: the feed of an id must never change between versions (the table already holds it).
    expect(['i1', 'i2', 'item-42', 'constructor', '__proto__'].map(catalogFeed)).toMatchInlineSnapshot(`
      [
        "f7",
        "f2",
        "f7",
        "f7",
        "f5",
      ]
    `);
    const counts = new Map<string, number>();
    for (let i = 0; i < 800; i++) counts.set(catalogFeed(`i${i}`), (counts.get(catalogFeed(`i${i}`)) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...CATALOG_FEED_NAMES].sort());
    for (const n of counts.values()) expect(n).toBeGreaterThan(60);
  });
});

describe('DynamoCatalog.put and scanAll', () => {
  it('writes 500 items in 20 BatchWriteItem requests and reads every field back, with one or parallel scan segments', async () => {
    const name = await freshTable();
    const meter = throttling(aws.ddb, () => false, 'count500');
    const items = Array.from({ length: 500 }, (_, i) => item(`i${i}`, { categories: [`c${i % 7}`, 'all'], available: i % 3 !== 0, createdAt: '2024-05-01T10:00:00+02:00', attributes: { brand: `b${i % 5}`, rating: i / 10, onSale: i % 2 === 0 } } as never));
    try {
      expect(await new DynamoCatalog(aws.ddb, name).put(items, 1_700_000_000_000)).toEqual({ failed: [] });
      expect(meter.calls()).toBe(20);
    } finally {
      meter.remove();
    }
    for (const segments of [1, 4]) {
      const records = await all(new DynamoCatalog(aws.ddb, name, { scanSegments: segments }).scanAll());
      expect(records).toHaveLength(500);
      const byId = new Map(records.map((r) => [r.itemId, r]));
      const r7 = byId.get('i7')!;
      expect({ ...r7, attributes: { ...r7.attributes } }).toEqual({
        itemId: 'i7', title: 'Title i7', categories: ['c0', 'all'], price: 9.99, available: true, createdAt: '2024-05-01T08:00:00.000Z',
        attributes: { brand: 'b2', rating: 0.7, onSale: false }, updatedAt: 1_700_000_000_000, withdrawn: false,
      });
      expect(byId.get('i3')!.available).toBe(false);
    }
    // The stored item carries its feed, for the index.
    const raw = (await aws.ddb.send(new GetCommand({ TableName: name, Key: { itemId: 'i7' } }))).Item!;
    expect(raw.feed).toBe(catalogFeed('i7'));
  });

  it('round-trips attribute names that are Object members, into a null-prototype object', async () => {
    const name = await freshTable();
    const catalog = new DynamoCatalog(aws.ddb, name);
    const attributes = { constructor: 'c', toString: 1, hasOwnProperty: true, valueOf: 'v', isPrototypeOf: 0 };
    const hostile = item('proto-names', { attributes } as never);
    expect(Object.getPrototypeOf(hostile.attributes)).toBeNull();
    expect(await catalog.put([hostile, item('__proto__'), item('constructor')], 1000)).toEqual({ failed: [] });
    const records = new Map((await all(catalog.scanAll())).map((r) => [r.itemId, r]));
    const back = records.get('proto-names')!;
    expect(Object.getPrototypeOf(back.attributes)).toBeNull();
    expect({ ...back.attributes }).toEqual(attributes);
    expect(records.get('__proto__')?.title).toBe('Title __proto__');
    expect(records.get('constructor')?.title).toBe('Title constructor');
  });

  it('retries unprocessed items with backoff until they are written', async () => {
    const name = await freshTable();
    // The first two requests of each batch leave every other item unprocessed.
    const meter = throttling(aws.ddb, (id, call) => call <= 4 && Number(id.slice(1)) % 2 === 0, 'throttleSome');
    try {
      const items = Array.from({ length: 50 }, (_, i) => item(`i${i}`));
      expect(await new DynamoCatalog(aws.ddb, name, { backoffMs: 1 }).put(items, 5)).toEqual({ failed: [] });
      expect(meter.calls()).toBeGreaterThan(2);
    } finally {
      meter.remove();
    }
    expect(await all(new DynamoCatalog(aws.ddb, name).scanAll())).toHaveLength(50);
  });

  it('reports the items still unprocessed after its attempts, per id, and writes their neighbours (never throws)', async () => {
    const name = await freshTable();
    const meter = throttling(aws.ddb, (id) => id === 'i3' || id === 'i30', 'throttleTwo');
    let result: Awaited<ReturnType<DynamoCatalog['put']>>;
    try {
      result = await new DynamoCatalog(aws.ddb, name, { backoffMs: 1, maxAttempts: 3 }).put(Array.from({ length: 40 }, (_, i) => item(`i${i}`)), 5);
    } finally {
      meter.remove();
    }
    expect(result.failed.map((f) => f.itemId).sort()).toEqual(['i3', 'i30']);
    expect(result.failed[0]!.reason).toMatch(/unprocessed after 3 attempts/);
    const ids = (await all(new DynamoCatalog(aws.ddb, name).scanAll())).map((r) => r.itemId);
    expect(ids).toHaveLength(38);
    expect(ids).not.toContain('i3');
  });

  it('reports an item DynamoDB cannot store (a number beyond 2^53) without sending it, and writes the others', async () => {
    const name = await freshTable();
    const big = item('big', { attributes: { huge: 1e20 } } as never);
    const result = await new DynamoCatalog(aws.ddb, name).put([item('a'), big, item('b')], 5);
    expect(result.failed).toEqual([{ itemId: 'big', reason: expect.stringContaining('attributes.huge') }]);
    expect((await all(new DynamoCatalog(aws.ddb, name).scanAll())).map((r) => r.itemId).sort()).toEqual(['a', 'b']);
  });

  it('writes an id given twice once, with its last value', async () => {
    const name = await freshTable();
    expect(await new DynamoCatalog(aws.ddb, name).put([item('x', { title: 'first' }), item('x', { title: 'second' })], 5)).toEqual({ failed: [] });
    expect((await all(new DynamoCatalog(aws.ddb, name).scanAll())).map((r) => r.title)).toEqual(['second']);
  });
});

describe('DynamoCatalog.withdraw', () => {
  it('tombstones an existing item (fields kept, re-stamped), is false for an item never in the catalogue, and a second withdrawal is fine', async () => {
    const name = await freshTable();
    const catalog = new DynamoCatalog(aws.ddb, name);
    await catalog.put([item('w1'), item('w2')], 1000);
    expect(await catalog.withdraw('nope', 2000)).toBe(false);
    expect((await all(catalog.scanAll())).map((r) => r.itemId).sort()).toEqual(['w1', 'w2']); // no row created
    expect(await catalog.withdraw('w1', 2000)).toBe(true);
    expect(await catalog.withdraw('w1', 3000)).toBe(true);
    const records = new Map((await all(catalog.scanAll())).map((r) => [r.itemId, r]));
    expect(records.get('w1')).toMatchObject({ withdrawn: true, updatedAt: 3000, title: 'Title w1', categories: ['books'] });
    expect(records.get('w2')).toMatchObject({ withdrawn: false, updatedAt: 1000 });
    // The tombstone is in the change feed, and a later put brings the item back.
    expect((await all(catalog.changedSince(2500))).map((r) => [r.itemId, r.withdrawn])).toEqual([['w1', true]]);
    await catalog.put([item('w1', { title: 'back' })], 4000);
    expect((await all(catalog.changedSince(3500)))).toMatchObject([{ itemId: 'w1', withdrawn: false, title: 'back', updatedAt: 4000 }]);
  });
});

describe('DynamoCatalog.changedSince', () => {
  it('reads the records written at or after a time from all 8 feeds of the byUpdate index', async () => {
    const name = await freshTable();
    const catalog = new DynamoCatalog(aws.ddb, name);
    const early = Array.from({ length: 60 }, (_, i) => item(`e${i}`));
    const late = Array.from({ length: 60 }, (_, i) => item(`l${i}`));
    await catalog.put(early, 1000);
    await catalog.put(late, 2000);
    await catalog.withdraw('e5', 3000);
    const since: CatalogRecord[] = await all(catalog.changedSince(2000));
    expect(since.map((r) => r.itemId).sort()).toEqual([...late.map((i) => i.itemId), 'e5'].sort());
    expect(new Set(since.map((r) => catalogFeed(r.itemId))).size).toBe(8);
    expect(await all(catalog.changedSince(0))).toHaveLength(120);
    expect(await all(catalog.changedSince(3001))).toEqual([]);
  });
});
