import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoFeatureTable, type ExactFeatureRow } from '../../src/adapters/dynamo-feature-table';
import type { UserEvent } from '../../src/domain/events';
import { bronzeKeyFor, silverInteractionsKey } from '../../src/domain/lake-layout';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import { extractWindow, readSilverHistory, writeParquetIsolating, type ExactFeatureWriter } from '../../src/retraining/extract';
import { readParquet, writeParquet } from '../../src/retraining/parquet';
import { SetAsideLog } from '../../src/retraining/poison';
import { INTERACTION_COLUMNS, toParquetRow, toSilverInteraction } from '../../src/retraining/silver';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from './support';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

const D1 = '2026-11-10';
const D2 = '2026-11-11';

/** Writes one Bronze object the way the consumer does: raw event lines plus `_ingest`. */
async function putBronze(arrivalDt: string, shardId: string, firstSeq: number, events: { id: string; at: string }[]) {
  const lines = events.map((e, i) =>
    JSON.stringify({
      eventId: e.id,
      type: 'click',
      userId: `u${e.id.length % 3}`,
      itemId: `i${e.id}`,
      timestamp: e.at,
      _ingest: { shardId, sequenceNumber: String(firstSeq + i), arrivalTime: `${arrivalDt}T23:00:00.000Z` },
    }),
  );
  await lakeOf(aws).putObject(bronzeKeyFor({ kind: 'events', dt: arrivalDt, shardId, firstSequenceNumber: String(firstSeq) }), lines.join('\n') + '\n', 'application/x-ndjson');
}

class MemoryTable implements ExactFeatureWriter {
  rows = new Map<string, ExactFeatureRow>();
  failNext = 0;
  async putExactFeatures(rows: readonly ExactFeatureRow[]) {
    const failed = new Set<string>();
    for (const r of rows) {
      if (this.failNext > 0) {
        this.failNext -= 1;
        failed.add(r.pk);
      } else this.rows.set(`${r.pk}|${r.sk}`, r);
    }
    return { failed };
  }
}

async function silverParts(): Promise<Record<string, string[]>> {
  const lake = lakeOf(aws);
  const out: Record<string, string[]> = {};
  for (const key of (await lake.listKeys('silver/interactions/')).sort()) out[key] = (await readParquet((await lake.getBytes(key))!)).map((r) => String(r.event_id)).sort();
  return out;
}

describe('Bronze → Silver across windows', () => {
  it('stores each event once, in the part of its first arrival, whatever order windows run in', async () => {
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `e${from + i}`);
    await putBronze(D1, 'shardId-000', 100, ids(1, 10).map((id) => ({ id, at: `${D1}T10:00:00Z` })));
    // e8–e10 are delivered again the next day (producer retry); e16 happened on D2.
    await putBronze(D2, 'shardId-001', 500, [...ids(8, 15).map((id) => ({ id, at: `${D1}T20:00:00Z` })), { id: 'e16', at: `${D2}T01:00:00Z` }]);
    const table = new MemoryTable();

    const later = await extractWindow({ from: D2, to: D2 }, { lake: lakeOf(aws), table });
    expect(later).toMatchObject({ windowInteractions: 9, totalInteractions: 9 });
    const earlier = await extractWindow({ from: D1, to: D1 }, { lake: lakeOf(aws), table });
    expect(earlier).toMatchObject({ windowInteractions: 10, totalInteractions: 16 });

    const parts = await silverParts();
    expect(parts).toEqual({
      [silverInteractionsKey(D1, D1)]: ids(1, 10).sort(),
      [silverInteractionsKey(D1, D2)]: ids(11, 15),
      [silverInteractionsKey(D2, D2)]: ['e16'],
    });

    // Reruns, in either order, change nothing.
    const bytes = async () => Object.fromEntries(await Promise.all(Object.keys(parts).map(async (k) => [k, Buffer.from((await lakeOf(aws).getBytes(k))!).toString('hex')])));
    const before = await bytes();
    const rerun = await extractWindow({ from: D2, to: D2 }, { lake: lakeOf(aws), table });
    expect(rerun).toMatchObject({ windowInteractions: 6, duplicatesDropped: 3, totalInteractions: 16 });
    await extractWindow({ from: D1, to: D2 }, { lake: lakeOf(aws), table });
    expect(await bytes()).toEqual(before);
    expect((await readSilverHistory(lakeOf(aws))).rows).toHaveLength(16);

    // Exact features count every event once.
    const clicks = [...table.rows.values()].filter((r) => r.entity === 'user').reduce((s, r) => s + r.features.counts.click, 0);
    expect(clicks).toBe(16);
  });

  it("rewrites a window's partitions as one file each, replacing legacy and Athena-written files, and keeps earlier arrivals' events where they are", async () => {
    const lake = lakeOf(aws);
    for (const key of await lake.listKeys('')) await lake.deleteObject(key);
    const D0 = '2026-11-09';
    const row = (id: string, arrivalDt: string) =>
      toParquetRow(toSilverInteraction({ event: { eventId: id, type: 'click', userId: 'u1', itemId: `i${id}`, timestamp: `${D1}T10:00:00.000Z` } as UserEvent, arrivalMs: Date.parse(`${arrivalDt}T23:00:00.000Z`), arrivalDt, shardId: 'shardId-000', sequenceNumber: '1' }));
    // e3 first arrived on D0 (a legacy one-level file); the window's own partition holds stale files of both kinds.
    const earlier = `silver/interactions/dt=${D1}/part-${D0}.parquet`;
    await lake.putObject(earlier, await writeParquet(INTERACTION_COLUMNS, [row('e3', D0)]), 'application/vnd.apache.parquet');
    await lake.putObject(`silver/interactions/dt=${D1}/part-${D1}.parquet`, await writeParquet(INTERACTION_COLUMNS, [row('stale-legacy', D1)]), 'application/vnd.apache.parquet');
    await lake.putObject(`silver/interactions/dt=${D1}/arrival_dt=${D1}/20261110_020000_00001_athena.parquet`, await writeParquet(INTERACTION_COLUMNS, [row('stale-athena', D1)]), 'application/vnd.apache.parquet');
    await putBronze(D1, 'shardId-000', 100, ['e1', 'e2', 'e3', 'e4'].map((id) => ({ id, at: `${D1}T10:00:00Z` })));

    const result = await extractWindow({ from: D1, to: D1 }, { lake, table: new MemoryTable() });
    expect(result).toMatchObject({ windowInteractions: 3, duplicatesDropped: 1, totalInteractions: 4 });
    expect(await silverParts()).toEqual({ [earlier]: ['e3'], [silverInteractionsKey(D1, D1)]: ['e1', 'e2', 'e4'] });
  });

  it('fails with a TransientError, to be retried as a whole, when feature rows cannot be written', async () => {
    const table = new MemoryTable();
    table.failNext = 2;
    await expect(extractWindow({ from: D1, to: D1 }, { lake: lakeOf(aws), table })).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining('exact feature rows could not be written') });
  });
});

describe('rows no store can hold are set aside, never failing the step or their neighbours', () => {
  const D0 = '2026-10-01';
  const D3 = '2026-11-20';
  const arrival = (dt: string) => Date.parse(`${dt}T12:00:00.000Z`);
  /** A Silver row as an older contract (or a hand-written fix-up) may have left it in the lake. */
  const silverRow = (e: Record<string, unknown>, dt: string, seq: number) =>
    toParquetRow(
      toSilverInteraction({ event: e as unknown as UserEvent, arrivalMs: arrival(dt), arrivalDt: dt, shardId: 'shardId-000000000000', sequenceNumber: String(seq) }),
    );

  async function freshTable(name: string): Promise<DynamoFeatureTable> {
    await ensureFeatureTable(aws.ddb, name);
    return new DynamoFeatureTable(aws.ddb, name);
  }
  async function exactPks(name: string): Promise<Set<string>> {
    const out = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await aws.ddb.send(new ScanCommand({ TableName: name, ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) if (item.sk === 'EXACT') out.add(String(item.pk));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  it('a purchase whose totals cannot be stored: ExtractFeatures succeeds, every other user is written, the report names the row', async () => {
    const lake = lakeOf(aws);
    for (const key of await lake.listKeys('')) await lake.deleteObject(key);
    // History: 40 users with a view each, plus "whale" whose purchase totals 10^17 (beyond 2^53 and the contract).
    const history = [
      ...Array.from({ length: 40 }, (_, i) => ({ eventId: `h${i}`, type: 'view', userId: `user${i}`, itemId: `item${i % 7}`, timestamp: `${D0}T08:00:00.000Z` })),
      { eventId: 'whale-view', type: 'view', userId: 'whale', itemId: 'gold', timestamp: `${D0}T09:00:00.000Z` },
      { eventId: 'whale-buy', type: 'purchase', userId: 'whale', itemId: 'gold', price: 1e15, quantity: 100, timestamp: `${D0}T09:30:00.000Z` },
    ];
    await lake.putObject(`silver/interactions/dt=${D0}/part-${D0}.parquet`, await writeParquet(INTERACTION_COLUMNS, history.map((e, i) => silverRow(e, D0, 1000 + i))), 'application/vnd.apache.parquet');
    // The window: clean clicks through Bronze, and the same kind of purchase written straight into Bronze.
    await putBronze(D3, 'shardId-000000000001', 5000, Array.from({ length: 30 }, (_, i) => ({ id: `w${i}`, at: `${D3}T10:00:00Z` })));
    const poison = JSON.stringify({ eventId: 'whale-buy-2', type: 'purchase', userId: 'whale', itemId: 'gold', price: 1e15, quantity: 100, timestamp: `${D3}T10:00:00Z`, _ingest: { shardId: 'shardId-000000000002', sequenceNumber: '7', arrivalTime: `${D3}T11:00:00.000Z` } });
    await lake.putObject(bronzeKeyFor({ kind: 'events', dt: D3, shardId: 'shardId-000000000002', firstSequenceNumber: '7' }), poison + '\n', 'application/x-ndjson');

    const tableName = 'poison-features-1';
    const table = await freshTable(tableName);
    const result = await extractWindow({ from: D3, to: D3 }, { lake, table });

    expect(result.setAside.count).toBe(2);
    const ids = result.setAside.samples.map((s) => s.id);
    expect(ids).toContain('whale-buy');
    expect(ids.some((id) => id.startsWith('whale-buy-2'))).toBe(true);
    expect(result.setAside.samples.find((s) => s.id === 'whale-buy')?.reason).toMatch(/price × quantity = 1000000000000000 × 100 = 100000000000000000 cannot be stored exactly/);
    expect(Object.keys(result.setAside.reasons).join(' ')).toMatch(/Silver history/);
    // Every user's exact row is there, the whale's without the purchase it could not hold.
    const pks = await exactPks(tableName);
    for (let i = 0; i < 40; i++) expect(pks.has(`U#user${i}`), `user${i}`).toBe(true);
    for (const u of ['u0', 'u2', 'whale']) expect(pks.has(`U#${u}`), u).toBe(true);
    const whale = await table.exactUserFeatures('whale');
    expect(whale?.features).toMatchObject({ counts: { view: 1, purchase: 0 }, spend: 0 });
    expect(result.featureRowsWritten).toBe(pks.size);
  });

  it('a row the store refuses does not fail its 25-row neighbours: it is set aside with the reason', async () => {
    const lake = lakeOf(aws);
    for (const key of await lake.listKeys('')) await lake.deleteObject(key);
    await putBronze(D3, 'shardId-000000000001', 9000, Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, at: `${D3}T10:00:00Z` })));
    const tableName = 'poison-features-2';
    await ensureFeatureTable(aws.ddb, tableName);
    // DynamoDB refuses any write request that holds item "In3" (as it does an item it cannot hold).
    const ddb = createDynamoDocumentClient();
    ddb.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { RequestItems?: Record<string, { PutRequest?: { Item?: Record<string, { S?: string }> } }[]> };
        const puts = Object.values(input.RequestItems ?? {}).flat();
        if (puts.some((p) => p.PutRequest?.Item?.pk?.S === 'I#in3' || (p.PutRequest?.Item?.pk as unknown) === 'I#in3')) {
          throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
        }
        return next(args);
      },
      { step: 'build', name: 'refuseOneItem' },
    );
    try {
      const table = new DynamoFeatureTable(ddb, tableName);
      const result = await extractWindow({ from: D3, to: D3 }, { lake, table });
      expect(result.setAside).toMatchObject({ count: 1, samples: [{ where: 'exact feature row', id: expect.stringContaining('I#in3'), reason: expect.stringContaining('ValidationException') }] });
      const pks = await exactPks(tableName);
      // 2 users (u0, u2) + 60 items, all but the refused one.
      expect(pks.size).toBe(2 + 60 - 1);
      expect(pks.has('I#in3')).toBe(false);
      for (let i = 0; i < 60; i++) if (i !== 3) expect(pks.has(`I#in${i}`), `in${i}`).toBe(true);
    } finally {
      ddb.destroy();
    }
  });

  it('the pure pre-check keeps rows the marshaller would refuse out of the request, so their batch lands', async () => {
    const tableName = 'poison-features-3';
    await ensureFeatureTable(aws.ddb, tableName);
    const ddb = createDynamoDocumentClient();
    let requests = 0;
    ddb.middlewareStack.add(
      (next) => async (args) => {
        requests += 1;
        return next(args);
      },
      { step: 'initialize', name: 'countRequests' },
    );
    const table = new DynamoFeatureTable(ddb, tableName);
    const rows = Array.from({ length: 30 }, (_, i) => ({
      pk: `U#pre${i}`,
      sk: 'EXACT' as const,
      entity: 'user' as const,
      features: { userId: `pre${i}`, counts: { view: 1, click: 0, add_to_cart: 0, purchase: 0, rating: 0 }, ratingCount: 0, ratingSum: 0, spend: i === 5 ? 2 ** 60 : i === 6 ? Infinity : 0, firstSeen: `${D3}T10:00:00.000Z`, lastSeen: `${D3}T10:00:00.000Z`, recent: [] },
      asOf: `${D3}T10:00:00.000Z`,
      window: { from: D3, to: D3 },
    })) as unknown as ExactFeatureRow[];
    const { failed, rejected } = await table.putExactFeatures(rows);
    ddb.destroy();
    // 28 writable rows: two requests (25 + 3), no request per row to find the refused ones.
    expect(requests).toBe(2);
    expect(failed.size).toBe(0);
    expect([...rejected.keys()].map((id) => id.split('\u0000')[0])).toEqual(['U#pre5', 'U#pre6']);
    expect([...rejected.values()].join(' ')).toMatch(/features\.spend is 1152921504606846976.*|beyond/);
    expect((await exactPks(tableName)).size).toBe(28);
  });

  it('a Silver row the Parquet writer refuses is found and set aside, the rest of its file is written', async () => {
    const log = new SetAsideLog();
    const rows = Array.from({ length: 9 }, (_, i) => ({ id: `r${i}`, n: i === 4 ? 2 ** 40 : i }));
    const { kept } = await writeParquetIsolating({ id: { type: 'UTF8' }, n: { type: 'INT32' } }, rows, (r) => r, (r) => r.id, 'test rows', log);
    expect(kept.map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r5', 'r6', 'r7', 'r8']);
    expect(log.summary()).toMatchObject({ count: 1, samples: [{ id: 'r4' }] });
  });
});
