import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { ensureCatalogTable } from '../../src/adapters/local-resources';
import type { CatalogReader } from '../../src/catalog/catalog-store';
import { parseCatalogItem, type CatalogItem } from '../../src/catalog/item';
import { LiveCatalogue } from '../../src/catalog/live-catalogue';
import { startTestAws, type TestAws } from '../support/aws-env';
import { failing } from '../support/faults';

/** The serving replica over the real adapter on dynalite: cold start, incremental refresh, ordering, failures. */
let aws: TestAws;
let tableNo = 0;

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

async function freshCatalog(ddb = aws.ddb): Promise<{ store: DynamoCatalog; table: string }> {
  const table = `test-live-${process.pid}-${++tableNo}`;
  await ensureCatalogTable(aws.ddb, table);
  return { store: new DynamoCatalog(ddb, table), table };
}

const item = (itemId: string, extra: Record<string, unknown> = {}): CatalogItem => {
  const parsed = parseCatalogItem({ itemId, title: `Title ${itemId}`, categories: ['c'], ...extra });
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.item;
};

/** A clock the test moves. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

/** The port, counting the reads the replica makes (a delegate, not a fake: every read reaches dynalite). */
function counting(reader: CatalogReader) {
  const calls = { scanAll: 0, changedSince: [] as number[] };
  const counted: CatalogReader = {
    scanAll: () => {
      calls.scanAll += 1;
      return reader.scanAll();
    },
    changedSince: (since) => {
      calls.changedSince.push(since);
      return reader.changedSince(since);
    },
  };
  return { reader: counted, calls };
}

const quiet = { warn: () => undefined };

describe('LiveCatalogue.ready', () => {
  it('loads every record with one scan shared by concurrent callers', async () => {
    const { store } = await freshCatalog();
    await store.put([item('a'), item('b'), item('c', { available: false })], 1000);
    await store.withdraw('b', 1100);
    const { reader, calls } = counting(store);
    const live = new LiveCatalogue(reader, { refreshMs: 1000, now: clock().now });
    expect(live.health()).toMatchObject({ items: 0, withdrawn: 0, loadedAt: null, lastRefreshAt: null });
    await Promise.all([live.ready(), live.ready(), live.ready()]);
    await live.ready();
    expect(calls.scanAll).toBe(1);
    expect(live.size).toBe(3);
    expect(live.get('a')).toMatchObject({ itemId: 'a', title: 'Title a', withdrawn: false, available: true, updatedAt: 1000 });
    expect(live.get('b')?.withdrawn).toBe(true);
    expect(live.get('c')?.available).toBe(false);
    expect(live.get('zzz')).toBeUndefined();
    expect(live.get('constructor')).toBeUndefined();
    expect(live.get('__proto__')).toBeUndefined();
    expect(live.health()).toMatchObject({ items: 2, withdrawn: 1, refreshMs: 1000, stalenessBoundMs: 2000 });
    expect(live.health().loadedAt).not.toBeNull();
    expect([...live.records()].map((r) => r.itemId).sort()).toEqual(['a', 'b', 'c']);
  });

  it('after a failed full read, tries again on the next call', async () => {
    let broken = true;
    const ddb = createDynamoDocumentClient();
    failing(ddb, /^Scan/, () => broken);
    const { store } = await freshCatalog(ddb);
    await store.put([item('a')], 1000);
    const warnings: string[] = [];
    const live = new LiveCatalogue(store, { refreshMs: 1000, now: clock().now, log: { warn: (m) => warnings.push(m) } });
    await expect(live.ready()).rejects.toThrow(/injected fault/);
    expect(live.health().lastError).toMatch(/full read failed/);
    expect(warnings).toHaveLength(1);
    // maybeRefresh never rejects, even while the full read fails.
    await expect(live.maybeRefresh()).resolves.toBeUndefined();
    broken = false;
    await live.ready();
    expect(live.get('a')?.title).toBe('Title a');
    expect(live.health().lastError).toBeUndefined();
    ddb.destroy();
  });
});

describe('LiveCatalogue.maybeRefresh', () => {
  it('makes a put visible once refreshMs have passed, and a withdrawal likewise; version bumps only on a change', async () => {
    const { store } = await freshCatalog();
    await store.put([item('a')], 1000);
    const c = clock();
    const { reader, calls } = counting(store);
    const live = new LiveCatalogue(reader, { refreshMs: 2000, now: c.now });
    await live.ready();
    const v0 = live.version;
    await store.put([item('new', { title: 'fresh' })], 2000);

    c.advance(1999);
    await live.maybeRefresh();
    expect(calls.changedSince).toEqual([]);
    expect(live.get('new')).toBeUndefined();

    c.advance(1);
    await live.maybeRefresh();
    expect(live.get('new')?.title).toBe('fresh');
    expect(live.version).toBe(v0 + 1);

    // Nothing changed: the overlap re-reads records already held, and the version stays.
    c.advance(2000);
    await live.maybeRefresh();
    expect(calls.changedSince).toHaveLength(2);
    expect(live.version).toBe(v0 + 1);

    await store.withdraw('a', 3000);
    c.advance(2000);
    await live.maybeRefresh();
    expect(live.get('a')?.withdrawn).toBe(true);
    expect(live.version).toBe(v0 + 2);
    expect(live.health()).toMatchObject({ items: 1, withdrawn: 1 });
    expect(live.changedSince(v0)?.sort()).toEqual(['a', 'new']);
    expect(live.changedSince(v0 + 1)).toEqual(['a']);
    expect(live.changedSince(live.version)).toEqual([]);
  });

  it('pulls from the newest updatedAt seen minus the overlap, so a write stamped behind it is still picked up', async () => {
    const { store } = await freshCatalog();
    await store.put([item('a')], 50_000);
    const c = clock();
    const { reader, calls } = counting(store);
    const live = new LiveCatalogue(reader, { refreshMs: 100, overlapMs: 10_000, now: c.now });
    await live.ready();
    // Another writer's clock is 5 s behind (or the index showed this write after later ones).
    await store.put([item('late')], 45_000);
    c.advance(100);
    await live.maybeRefresh();
    expect(live.get('late')).toBeDefined();
    expect(Math.min(...calls.changedSince)).toBeLessThanOrEqual(40_000);
  });

  it('never lets an older write overwrite a newer one', async () => {
    const { store } = await freshCatalog();
    await store.put([item('x', { title: 'newer' })], 5000);
    const c = clock();
    const live = new LiveCatalogue(store, { refreshMs: 100, now: c.now });
    await live.ready();
    const v = live.version;
    // The store now holds an older-stamped value (a delayed writer): the replica keeps the newer one.
    await store.put([item('x', { title: 'older' })], 4000);
    c.advance(100);
    await live.maybeRefresh();
    expect(live.get('x')).toMatchObject({ title: 'newer', updatedAt: 5000 });
    expect(live.version).toBe(v);
    // A newer write does replace it.
    await store.put([item('x', { title: 'newest' })], 6000);
    c.advance(100);
    await live.maybeRefresh();
    expect(live.get('x')).toMatchObject({ title: 'newest', updatedAt: 6000 });
  });

  it('runs one pull at a time: concurrent requests share it', async () => {
    const { store } = await freshCatalog();
    await store.put([item('a')], 1000);
    const c = clock();
    const { reader, calls } = counting(store);
    const live = new LiveCatalogue(reader, { refreshMs: 100, now: c.now });
    await live.ready();
    c.advance(100);
    await Promise.all(Array.from({ length: 10 }, () => live.maybeRefresh()));
    expect(calls.changedSince).toHaveLength(1);
  });

  it('keeps the state it has when a pull fails, says so in health, and recovers on a later pull', async () => {
    let broken = false;
    const ddb = createDynamoDocumentClient();
    const fault = failing(ddb, /^Query/, () => broken);
    const { store } = await freshCatalog(ddb);
    await store.put([item('a', { title: 'one' })], 1000);
    const c = clock();
    const warnings: string[] = [];
    const live = new LiveCatalogue(store, { refreshMs: 100, now: c.now, log: { warn: (m) => warnings.push(m) } });
    await live.ready();
    await store.put([item('a', { title: 'two' }), item('b')], 2000);
    broken = true;
    c.advance(100);
    await expect(live.maybeRefresh()).resolves.toBeUndefined();
    expect(fault.injected()).toBeGreaterThan(0);
    expect(live.get('a')?.title).toBe('one');
    expect(live.get('b')).toBeUndefined();
    expect(live.health().lastError).toMatch(/refresh failed/);
    expect(warnings).toEqual(['catalogue refresh failed; serving the state before it']);
    broken = false;
    // The failed pull counts: the next one comes refreshMs later.
    await live.maybeRefresh();
    expect(live.get('b')).toBeUndefined();
    c.advance(100);
    await live.maybeRefresh();
    expect(live.get('a')?.title).toBe('two');
    expect(live.get('b')).toBeDefined();
    expect(live.health().lastError).toBeUndefined();
    ddb.destroy();
  });

  it('holds attributes named like Object members as data, in a null-prototype object', async () => {
    const { store } = await freshCatalog();
    await store.put([item('p', { attributes: { constructor: 'x', toString: 2 } })], 1000);
    const live = new LiveCatalogue(store, { refreshMs: 100, log: quiet });
    await live.ready();
    const r = live.get('p')!;
    expect(Object.getPrototypeOf(r.attributes)).toBeNull();
    expect({ ...r.attributes }).toEqual({ constructor: 'x', toString: 2 });
    expect(Object.isFrozen(r)).toBe(true);
  });
});

describe('the staleness bound, measured', () => {
  it('a write is visible on a serving replica within refreshMs + the feed propagation allowance', async () => {
    const { store } = await freshCatalog();
    await store.put([item('seed')], Date.now());
    const refreshMs = 200;
    const live = new LiveCatalogue(store, { refreshMs });
    await live.ready();
    const bound = live.health().stalenessBoundMs;
    const written = Date.now();
    await store.put([item('measured')], written);
    // A request every 20 ms, each calling maybeRefresh first, as the read API does.
    while (!live.get('measured') && Date.now() - written < bound + 1000) {
      await live.maybeRefresh();
      await new Promise((r) => setTimeout(r, 20));
    }
    const visibleAfter = Date.now() - written;
    expect(live.get('measured')).toBeDefined();
    expect(visibleAfter).toBeLessThanOrEqual(bound);
  });
});
