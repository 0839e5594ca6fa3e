import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { ensureCatalogTable } from '../../src/adapters/local-resources';
import type { CatalogRecord } from '../../src/catalog/item';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { resetCatalogApi } from '../../lambdas/catalog-api/index';
import { MAX_ITEMS_BODY_BYTES } from '../../src/serving/catalog-api';
import { callApi } from '../support/http';
import { startTestAws, type TestAws } from '../support/aws-env';
import { failing } from '../support/faults';
import { rawRequest } from './support';

/**
 * PUT /items and DELETE /items/{itemId} over HTTP (local server → API Gateway proxy event → the catalog Lambda
 * handler → DynamoDB on dynalite): what a shop's back office sees.
 */
let aws: TestAws;
let api: RunningApiServer;
let store: DynamoCatalog;
const table = `test-catalog-api-${process.pid}`;

beforeAll(async () => {
  aws = await startTestAws();
  await ensureCatalogTable(aws.ddb, table);
  store = new DynamoCatalog(aws.ddb, table);
  api = await startApiServer({ port: 0, env: { CATALOG_TABLE: table, MODEL_REFRESH_SECONDS: '3600' }, log: { warn: () => undefined } });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});
afterEach(() => resetCatalogApi());

function call(method: string, path: string, init: { body?: string; headers?: Record<string, string>; admin?: boolean } = {}) {
  const headers: Record<string, string> = { ...(init.admin === false ? {} : { 'X-Local-Admin-Token': api.adminToken }), ...init.headers };
  return callApi(api.url, method, path, { body: init.body, headers });
}
const put = (body: unknown, init: { admin?: boolean; headers?: Record<string, string> } = {}) =>
  call('PUT', '/items', { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...init.headers }, admin: init.admin });
const del = (itemId: string, init: { admin?: boolean } = {}) => call('DELETE', `/items/${itemId}`, init);

async function stored(): Promise<Map<string, CatalogRecord>> {
  const out = new Map<string, CatalogRecord>();
  for await (const r of store.scanAll()) out.set(r.itemId, r);
  return out;
}

let n = 0;
const id = (label: string) => `${label}-${++n}`;
const item = (itemId: string, extra: Record<string, unknown> = {}) => ({ itemId, title: `Title ${itemId}`, categories: ['books'], price: 12.5, ...extra });

function expectError(res: { status: number; json: any }, status: number, code: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.json.error.code).toBe(code);
  expect(typeof res.json.error.message).toBe('string');
  if (field) expect(res.json.error.field).toBe(field);
}

describe('PUT /items', () => {
  it('200: writes every item ({ items } or a bare array) and answers each one', async () => {
    const a = id('a');
    const b = id('b');
    const res = await put({ items: [item(a, { attributes: { brand: 'acme', rating: 4.5, onSale: true } }), item(b, { available: false })] });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toEqual({ written: 2, rejected: 0, failed: 0, results: [{ index: 0, status: 200, itemId: a }, { index: 1, status: 200, itemId: b }] });
    const c = id('c');
    expect((await put([item(c)])).status).toBe(200);
    const rows = await stored();
    expect(rows.get(a)).toMatchObject({ title: `Title ${a}`, price: 12.5, available: true, withdrawn: false, attributes: { brand: 'acme', rating: 4.5, onSale: true } });
    expect(rows.get(b)?.available).toBe(false);
    expect(rows.get(c)).toBeDefined();
    expect(Math.abs(rows.get(a)!.updatedAt - Date.now())).toBeLessThan(60_000);
  });

  it('200: takes 500 items in one request', async () => {
    const ids = Array.from({ length: 500 }, () => id('bulk'));
    const res = await put({ items: ids.map((i) => item(i, { attributes: { note: 'x'.repeat(200) } })) });
    expect(res.status).toBe(200);
    expect(res.json.written).toBe(500);
    const rows = await stored();
    for (const i of ids) expect(rows.has(i)).toBe(true);
  });

  it('207: writes the valid items of a mixed request; the invalid and the repeated ids are refused per index', async () => {
    const ok = id('ok');
    const res = await put({ items: [item(ok), { itemId: 'bad id!' }, { ...item(ok), title: 'again' }, item(id('p'), { price: -1 })] });
    expect(res.status).toBe(207);
    expect(res.json).toMatchObject({ written: 1, rejected: 3, failed: 0 });
    const [r0, r1, r2, r3] = res.json.results;
    expect(r0).toEqual({ index: 0, status: 200, itemId: ok });
    expect(r1).toMatchObject({ index: 1, status: 400, itemId: 'bad id!', error: { code: 'INVALID_ITEM', field: 'items[1].itemId' } });
    expect(r2).toMatchObject({ index: 2, status: 400, itemId: ok, error: { code: 'DUPLICATE_ITEM', field: 'items[2].itemId', message: expect.stringContaining('items[0]') } });
    expect(r3).toMatchObject({ index: 3, status: 400, error: { code: 'INVALID_ITEM', field: 'items[3].price' } });
    // The earlier of the repeated ids is the one written.
    expect((await stored()).get(ok)?.title).toBe(`Title ${ok}`);
  });

  it('400: no valid item, naming the first field at fault', async () => {
    const res = await put({ items: [{ itemId: id('x'), categories: 'books' }, { title: 'no id' }] });
    expectError(res, 400, 'INVALID_ITEM', 'items[0].categories');
    expect(res.json.results).toHaveLength(2);
    expect(res.json.results[1].error.field).toBe('items[1].itemId');
  });

  it.each([
    ['an empty list', { items: [] }, 400, 'NO_ITEMS'],
    ['an empty array', [], 400, 'NO_ITEMS'],
    ['items that is not an array', { items: { itemId: 'a' } }, 400, 'INVALID_BODY'],
    ['a bare object', { itemId: 'a' }, 400, 'INVALID_BODY'],
    ['a string', '"items"', 400, 'INVALID_BODY'],
    ['null', 'null', 400, 'INVALID_BODY'],
    ['fields besides items', { items: [{ itemId: 'a' }], extra: 1 }, 400, 'INVALID_BODY'],
    ['malformed JSON', '{"items": [', 400, 'MALFORMED_JSON'],
    ['an empty body', '', 400, 'MALFORMED_JSON'],
    ['600 items', { items: Array.from({ length: 600 }, (_, i) => ({ itemId: `i${i}` })) }, 413, 'TOO_MANY_ITEMS'],
    ['501 items', { items: Array.from({ length: 501 }, (_, i) => ({ itemId: `i${i}` })) }, 413, 'TOO_MANY_ITEMS'],
  ])('refuses %s', async (_name, body, status, code) => {
    expectError(await put(body), status, code);
  });

  it('413: a body over the size bound, before parsing it', async () => {
    const huge = JSON.stringify({ items: [{ itemId: 'a', title: 'x'.repeat(MAX_ITEMS_BODY_BYTES) }] });
    expectError(await put(huge), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('415: a body that is not JSON', async () => {
    const res = await rawRequest(api.url, { method: 'PUT', path: '/items', headers: [['X-Local-Admin-Token', api.adminToken], ['Content-Type', 'text/plain']], body: '[]' });
    expect(res.status).toBe(415);
    expect(res.json.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('refuses hostile items with a clear error per item, never a crash', async () => {
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const res = await put(`{"items":[${deep(50_000)},{"itemId":"deep","attributes":{"x":${deep(50_000)}}},{"itemId":"nested","attributes":{"x":{"y":{"z":1}}}}]}`);
    expect(res.status).toBe(400);
    expect(res.json.results.map((r: any) => r.error.field)).toEqual(['items[0]', 'items[1].attributes.x', 'items[2].attributes.x']);

    const names = await put({
      items: [
        item(id('n1'), { attributes: { '1abc': 1 } }),
        item(id('n2'), { attributes: { price: 1 } }),
        item(id('n3'), { attributes: { 'has space': 'x' } }),
        item(id('n4'), { attributes: { ['a'.repeat(65)]: 'x' } }),
        item(id('n5'), { attributes: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`a${i}`, i])) }),
        item(id('n6'), { attributes: { big: 1e300 } }),
        item(id('n7'), { unknownField: 1 }),
      ],
    });
    expect(names.status).toBe(400);
    expect(names.json.results.map((r: any) => [r.status, r.error.field])).toEqual([
      [400, 'items[0].attributes.1abc'],
      [400, 'items[1].attributes.price'],
      [400, 'items[2].attributes.has space'],
      [400, `items[3].attributes.${'a'.repeat(40)}`],
      [400, 'items[4].attributes'],
      [400, 'items[5].attributes.big'],
      [400, 'items[6]'],
    ]);
  });

  it('treats prototype names as data: `__proto__` and `constructor` ids and attribute names', async () => {
    const res = await put(`{"items":[{"itemId":"__proto__","title":"proto"},{"itemId":"constructor","attributes":{"constructor":"c","toString":1}},{"itemId":"${id('pp')}","__proto__":{"x":1}},{"itemId":"${id('pa')}","attributes":{"__proto__":1}}]}`);
    expect(res.status).toBe(207);
    expect(res.json.results.map((r: any) => r.status)).toEqual([200, 200, 400, 400]);
    expect(res.json.results[2].error.field).toBe('items[2]');
    expect(res.json.results[3].error.field).toBe('items[3].attributes.__proto__');
    const rows = await stored();
    expect(rows.get('__proto__')?.title).toBe('proto');
    expect({ ...rows.get('constructor')!.attributes }).toEqual({ constructor: 'c', toString: 1 });
    expect((await del('__proto__')).json).toEqual({ itemId: '__proto__', withdrawn: true });
    expect((await stored()).get('__proto__')?.withdrawn).toBe(true);
  });

  it('403 without an IAM caller, writing nothing', async () => {
    const x = id('anon');
    const res = await put({ items: [item(x)] }, { admin: false });
    expectError(res, 403, 'FORBIDDEN');
    const wrong = await put({ items: [item(x)] }, { admin: false, headers: { 'X-Local-Admin-Token': 'guess' } });
    expectError(wrong, 403, 'FORBIDDEN');
    expect((await stored()).has(x)).toBe(false);
  });

  it('503: the store failed every valid item (Retry-After); 207 when only some batches failed', async () => {
    const ddb = createDynamoDocumentClient();
    let failIf: (ids: string[]) => boolean = () => true;
    failing(ddb, /^BatchWrite/, (input) => failIf(Object.values(input.RequestItems as Record<string, { PutRequest: { Item: { itemId: string } } }[]>)[0]!.map((r) => r.PutRequest.Item.itemId)));
    resetCatalogApi(new DynamoCatalog(ddb, table, { backoffMs: 1, maxAttempts: 2 }));
    const all = await put({ items: [item(id('f')), item(id('f'))] });
    expectError(all, 503, 'CATALOG_UNAVAILABLE');
    expect(all.headers.get('retry-after')).toBe('1');
    expect(all.json.results.map((r: any) => [r.status, r.error.code])).toEqual([[503, 'STORE_FAILED'], [503, 'STORE_FAILED']]);

    // 30 items: the second BatchWriteItem request (items 25-29) fails, the first lands.
    const ids = Array.from({ length: 30 }, () => id('g'));
    failIf = (batch) => batch.includes(ids[27]!);
    const some = await put({ items: [...ids.map((i) => item(i)), { itemId: '' }] });
    expect(some.status).toBe(207);
    expect(some.json).toMatchObject({ written: 25, failed: 5, rejected: 1 });
    expect(some.json.results[27]).toMatchObject({ status: 503, itemId: ids[27], error: { code: 'STORE_FAILED' } });
    ddb.destroy();
  });
});

describe('DELETE /items/{itemId}', () => {
  it('200 withdraws the item: the store holds a tombstone, and again is fine', async () => {
    const x = id('del');
    await put({ items: [item(x)] });
    const res = await del(x);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ itemId: x, withdrawn: true });
    expect((await stored()).get(x)).toMatchObject({ withdrawn: true, title: `Title ${x}` });
    expect((await del(x)).status).toBe(200);
  });

  it('404 for an item never in the catalogue, creating nothing', async () => {
    const x = id('never');
    expectError(await del(x), 404, 'ITEM_NOT_FOUND', 'itemId');
    expectError(await del('constructor-never'), 404, 'ITEM_NOT_FOUND');
    expect((await stored()).has(x)).toBe(false);
  });

  it('400 for an id the pipeline cannot have', async () => {
    expectError(await del('bad%20id'), 400, 'INVALID_ID', 'itemId');
    expectError(await del('%E0%A4%A'), 400, 'INVALID_ID', 'itemId');
    const dots = await rawRequest(api.url, { method: 'DELETE', path: '/items/%2E%2E', headers: [['X-Local-Admin-Token', api.adminToken]] });
    expect(dots.status).toBe(400);
  });

  it('403 without an IAM caller, withdrawing nothing', async () => {
    const x = id('keep');
    await put({ items: [item(x)] });
    expectError(await del(x, { admin: false }), 403, 'FORBIDDEN');
    expect((await stored()).get(x)?.withdrawn).toBe(false);
  });
});

describe('CatalogApi without a verified caller (defence in depth behind the handler)', () => {
  it('refuses both routes itself with 403 before touching the store', async () => {
    const { CatalogApi } = await import('../../src/serving/catalog-api');
    const warned: string[] = [];
    const direct = new CatalogApi(store, { log: { info: () => undefined, warn: (m) => warned.push(m), error: () => undefined } });
    const request = { method: 'PUT', path: '/items', params: { itemId: 'a' }, query: {}, headers: { 'content-type': 'application/json' }, body: '{"items":[{"itemId":"direct-1"}]}', requestId: 'r1' };
    await expect(direct.put(request)).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    await expect(direct.delete({ ...request, method: 'DELETE' })).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(warned).toHaveLength(2);
    expect((await stored()).has('direct-1')).toBe(false);
  });
});
