import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3Lake } from '../../../src/adapters/s3-lake';
import type { LakeSqlEngine } from '../../../src/batch/engine';
import { batchNumber, batchString } from '../../../src/batch/engine';
import { checkedBronzeSelect, DEFAULT_QUERY_CONTRACT } from '../../../src/batch/queries/bronze';
import { MAX_PARTITIONS_PER_WRITE, SILVER_PARTITION_COLUMNS, silverChunks, silverCountsQuery, silverInteractionsSelect, silverLaterPartitionsQuery, silverPartitionRewriteSelect } from '../../../src/batch/queries/silver';
import { validationQuery } from '../../../src/batch/queries/validate';
import { silverPartitionsFromRows, validationReportFromRows } from '../../../src/batch/validation-report';
import { parseSilverInteractionsKey, silverBatchPrefix, silverInteractionsPartitionPrefix } from '../../../src/domain/lake-layout';
import { parquetRowCount } from '../../../src/retraining/parquet';
import { ingestBatch } from '../../../src/ingest/ingest-batch';
import { readBronzeWindow } from '../../../src/retraining/bronze';
import { extractWindow, readInteractions, type ExactFeatureWriter, type ExtractResult } from '../../../src/retraining/extract';
import type { DateWindow } from '../../../src/retraining/run-window';
import type { SilverInteraction } from '../../../src/retraining/silver';
import { validateWindow, type ValidationReport } from '../../../src/retraining/validate';
import type { FeatureTable } from '../../../src/stream/ports';
import type { StreamRecord } from '../../../src/stream/stream-record';
import { startTestAws, type TestAws } from '../../support/aws-env';
import { lakeEngine } from './bronze.support';

/**
 * Conformance of the lake engine's ValidateData and Bronze → Silver (src/batch/queries/validate.ts, silver.ts,
 * src/batch/validation-report.ts) with the Lambda engine's (readBronzeWindow + validateWindow, extractWindow), in
 * s3rver: Bronze landed by the consumer's own ingestBatch (one lake), copied to a second lake, then each engine
 * runs the same windows in the same order on its own lake. Silver rows (read back from the Parquet each wrote),
 * the reports and the counts must be identical; samples may cite an object key where the Lambda cites key:line.
 */

const D1 = '2026-11-10';
const D2 = '2026-11-11';
const D3 = '2026-11-12';
const NOW = new Date(`${D3}T12:00:00.000Z`);
const S0 = 'shardId-000000000000';
const S1 = 'shardId-000000000001';
const TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'impression'] as const;

let aws: TestAws;
let lambdaLake: S3Lake;
let sqlLake: S3Lake;
let engine: LakeSqlEngine;

const noFeatures: FeatureTable = {
  getRows: async () => new Map(),
  putRows: async () => ({ failed: new Set() }),
  putRowsIfUnchanged: async () => ({ failed: new Set(), conflicts: new Set() }),
};
const noTable: ExactFeatureWriter = { putExactFeatures: async () => ({ failed: new Set() }) };

/** A generated event: every type, money as numbers and strings, sessions, categories, recommendation ids. */
function event(n: number, at: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const type = TYPES[n % TYPES.length]!;
  return {
    eventId: `e${n}`,
    type,
    userId: `u${n % 5}`,
    itemId: n % 7 === 0 ? n : `i${n % 8}`,
    timestamp: at,
    ...(type === 'rating' ? { rating: 0.5 + (n % 10) / 2 } : {}),
    ...(type === 'purchase' ? { price: n % 2 ? 12.34 : '0.10', quantity: 1 + (n % 3) } : {}),
    ...(type === 'add_to_cart' && n % 2 ? { price: 5 } : {}),
    ...(type === 'impression' ? { position: n % 20, recommendationId: `r${n}` } : {}),
    ...(n % 3 === 0 ? { sessionId: `s${n % 4}`, category: n % 2 ? 'shoes' : 'Bücher 📚' } : {}),
    ...over,
  };
}

let seqCounter = 0n;
/** Stream records on one shard, arriving from `arrival` one second apart; sequence numbers grow across calls. */
function records(shardId: string, arrival: string, payloads: unknown[], seqs?: string[]): StreamRecord[] {
  return payloads.map((p, i) => {
    seqCounter += 1n;
    return {
      shardId,
      sequenceNumber: seqs?.[i] ?? (49_600_000_000_000_000_000_000_000_000_000_000_000_000_000n + seqCounter).toString(),
      arrivalMs: Date.parse(arrival) + i * 1000,
      data: Buffer.from(typeof p === 'string' ? p : JSON.stringify(p)),
    };
  });
}

async function land(recs: StreamRecord[], replay = false): Promise<void> {
  const out = await ingestBatch(recs, { lake: lambdaLake, table: noFeatures, ledger: false, now: () => NOW.getTime() }, { replay });
  expect(out.failures.size).toBe(0);
}

/** Lines written straight into Bronze, one object each (so both engines list them in the same order). */
const ingestOf = (seq: number, at = `${D2}T08:00:00.000Z`) => ({ shardId: 'shardId-000000000009', sequenceNumber: String(seq), arrivalTime: at });
const HOSTILE: string[] = [
  'not json at all',
  '{"eventId":"trunc",',
  JSON.stringify({ eventId: 'noingest', type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D2}T07:00:00Z` }),
  `{"eventId":"proto-key","type":"click","userId":"u1","itemId":"i1","timestamp":"${D2}T07:00:00Z","__proto__":{"admin":true},"constructor":1,"_ingest":${JSON.stringify(ingestOf(1))}}`,
  JSON.stringify({ eventId: '__proto__', type: 'view', userId: 'constructor', itemId: 'prototype', timestamp: `${D2}T07:00:00Z`, _ingest: ingestOf(2) }),
  JSON.stringify({ eventId: 'long-string', type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D2}T07:00:00Z`, note: 'x'.repeat(10_240), _ingest: ingestOf(3) }),
  JSON.stringify({ eventId: 'too-long', type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D2}T07:00:00Z`, note: 'x'.repeat(17_000), _ingest: ingestOf(4) }),
  JSON.stringify({ eventId: 'deep', type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D2}T07:00:00Z`, x: [[[[[[[[1]]]]]]]], _ingest: ingestOf(5) }),
  `{"eventId":"big-number","type":"click","userId":"u1","itemId":"i1","timestamp":"${D2}T07:00:00Z","n":123456789012345678901234567890,"_ingest":${JSON.stringify(ingestOf(6))}}`,
  `{"eventId":12345678901234567890,"type":"click","userId":"u1","itemId":"i1","timestamp":"${D2}T07:00:00Z","_ingest":${JSON.stringify(ingestOf(7))}}`,
  JSON.stringify({ eventId: 'nan-price', type: 'purchase', price: 'NaN', userId: 'u1', itemId: 'i1', timestamp: `${D2}T07:00:00Z`, _ingest: ingestOf(8) }),
  JSON.stringify({ eventId: 'wrong-types', type: 'rating', rating: '5', userId: ['u1'], itemId: 'i1', timestamp: `${D2}T07:00:00Z`, _ingest: ingestOf(9) }),
  JSON.stringify({ eventId: 'future', type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D2}T09:00:00Z`, _ingest: ingestOf(10) }),
  JSON.stringify({ eventId: 'bad-seq', type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D2}T07:00:00Z`, _ingest: { ...ingestOf(11), sequenceNumber: '12x' } }),
];

beforeAll(async () => {
  aws = await startTestAws();
  lambdaLake = new S3Lake(aws.s3, aws.names.lakeBucket);
  const sqlBucket = `${aws.names.lakeBucket}-sql`;
  await aws.s3.send(new CreateBucketCommand({ Bucket: sqlBucket }));
  sqlLake = new S3Lake(aws.s3, sqlBucket);
  engine = lakeEngine(sqlLake);

  // D1: two shards; e5 repeated by the client (later, same shard), e7 repeated on the other shard; `order`
  // delivered twice at the same instant on one shard with sequence numbers 99999 and 100000 (integer order
  // keeps 99999, text order would keep 100000).
  await land(records(S0, `${D1}T10:00:00.000Z`, [...Array.from({ length: 40 }, (_, i) => event(i + 1, `${D1}T09:${String(i).padStart(2, '0')}:00Z`)), event(5, `${D1}T09:04:00Z`)]));
  await land(records(S1, `${D1}T11:00:00.000Z`, [...Array.from({ length: 20 }, (_, i) => event(i + 41, `${D1}T10:${String(i).padStart(2, '0')}:00+01:00`)), event(7, `${D1}T09:06:00Z`)]));
  await land([
    ...records(S0, `${D1}T12:00:00.000Z`, [event(900, `${D1}T11:00:00Z`, { eventId: 'order', itemId: 'kept' })], ['99999']),
    ...records(S0, `${D1}T12:00:00.000Z`, [event(900, `${D1}T11:00:00Z`, { eventId: 'order', itemId: 'dropped' })], ['100000']),
  ]);
  // D2: new events, late ones (10 days old), e10 delivered again (first delivered on D1), refused records.
  await land(
    records(S0, `${D2}T10:00:00.000Z`, [
      ...Array.from({ length: 20 }, (_, i) => event(i + 61, `${D2}T09:${String(i).padStart(2, '0')}:00Z`)),
      ...Array.from({ length: 4 }, (_, i) => event(i + 81, `2026-11-01T08:00:0${i}Z`)),
      event(10, `${D1}T09:09:00Z`),
      'not json',
      { eventId: 'no-user', type: 'click', itemId: 'i1', timestamp: `${D2}T09:00:00Z` },
      { eventId: 'bad-price', type: 'purchase', price: 'abc', userId: 'u1', itemId: 'i1', timestamp: `${D2}T09:00:00Z` },
    ]),
  );
  // On the lateness bound: 7 days and an hour late (late), exactly 7 days late (not late).
  const at = Date.parse(`${D2}T14:00:00.000Z`);
  await land(records(S1, `${D2}T14:00:00.000Z`, [event(86, new Date(at - 7 * 86_400_000 - 3_600_000).toISOString()), event(87, new Date(at + 1000 - 7 * 86_400_000).toISOString())]));
  // A dead-letter replay lands today (D3): records that arrived on D2 but never reached Bronze, and e20 again.
  await land(records(S1, `${D2}T13:00:00.000Z`, [event(90, `${D2}T12:00:00Z`), event(91, `${D2}T12:01:00Z`), event(20, `${D1}T09:19:00Z`)]), true);

  // Overlapping Bronze objects: a copy of part of a D1 object under a later key, one line conflicting.
  const d1Keys = (await lambdaLake.listKeys(`bronze/events/dt=${D1}/shard=${S1}/`)).sort();
  const original = (await lambdaLake.getText(d1Keys[0]!))!.split('\n').filter((l) => l !== '');
  const conflicting = JSON.parse(original[3]!) as Record<string, unknown>;
  conflicting.eventId = 'conflict';
  await lambdaLake.putObject(`${d1Keys[0]!.replace(/\d+\.jsonl$/, '')}99999999999999999999999999999999999999999999999999999999.jsonl`, [...original.slice(0, 3), JSON.stringify(conflicting)].join('\n') + '\n', 'application/x-ndjson');
  // The hostile corpus, straight into D2.
  for (const [i, text] of HOSTILE.entries()) await lambdaLake.putObject(`bronze/events/dt=${D2}/shard=hostile/${String(i).padStart(3, '0')}.jsonl`, `${text}\n`, 'application/x-ndjson');

  // The same Bronze for the lake engine.
  for (const key of await lambdaLake.listKeys('bronze/')) await sqlLake.putObject(key, (await lambdaLake.getBytes(key))!, 'application/x-ndjson');
}, 60_000);

afterAll(async () => {
  await aws?.stop();
});

// ---------------------------------------------------------------------------------------------------------

/** Every Silver row of a lake by partition (`<event date> <arrival date>`), rows sorted by eventId. */
async function silverOf(lake: S3Lake): Promise<Record<string, SilverInteraction[]>> {
  const out: Record<string, SilverInteraction[]> = {};
  for (const key of await lake.listKeys('silver/interactions/')) {
    const id = parseSilverInteractionsKey(key);
    if (!id) continue;
    (out[`${id.eventDt} ${id.arrivalDt}`] ??= []).push(...(await readInteractions(lake, key)));
  }
  for (const rows of Object.values(out)) rows.sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
  return out;
}

/**
 * Bronze → Silver on the lake engine: count; unload the window's rows, and each later partition that holds an
 * event this window now stores (without those events), to run-scoped prefixes (UNLOAD wants empty ones); then
 * put them in place of the window's arrival-date partitions and of those later partitions (what the state
 * machine's publish step does with S3 copies). Returns the counts and the later partitions rewritten.
 */
async function sqlExtract(window: DateWindow, runId: string, lake: S3Lake = sqlLake, eng: LakeSqlEngine = engine): Promise<{ counts: Record<string, number>; moved: string[] }> {
  // As the state machine does it: the window's Bronze parsed once (CheckBronze), every later query reading that.
  await checkBronze(window, runId, eng, lake);
  const input = { window, contract: DEFAULT_QUERY_CONTRACT, checkedRunId: runId };
  const [counts] = await eng.select(silverCountsQuery(input));
  const staging = silverBatchPrefix(runId, 'interactions');
  const { keys } = await eng.unload({ name: 'silver_interactions', select: silverInteractionsSelect(input), output: { prefix: staging, partitionedBy: SILVER_PARTITION_COLUMNS } });
  const later = (await eng.select(silverLaterPartitionsQuery(input))).map((r) => ({ dt: batchString(r.dt)!, arrivalDt: batchString(r.arrival_dt)! }));
  const rewrites: { prefix: string; keys: string[] }[] = [];
  for (const [i, p] of later.entries()) {
    const prefix = `${silverBatchPrefix(runId)}silver_rewrite_${i}/`;
    const out = await eng.unload({ name: `silver_rewrite_${i}`, select: silverPartitionRewriteSelect(input, p.dt, p.arrivalDt), output: { prefix } });
    rewrites.push({ prefix: silverInteractionsPartitionPrefix(p.dt, p.arrivalDt), keys: out.keys });
  }
  const replaced = (id: { eventDt: string; arrivalDt: string }) =>
    (id.arrivalDt >= window.from && id.arrivalDt <= window.to) || later.some((p) => p.dt === id.eventDt && p.arrivalDt === id.arrivalDt);
  for (const key of await lake.listKeys('silver/interactions/')) {
    const id = parseSilverInteractionsKey(key);
    if (id && replaced(id)) await lake.deleteObject(key);
  }
  for (const key of keys) await lake.putObject(`silver/interactions/${key.slice(staging.length)}`, (await lake.getBytes(key))!, 'application/vnd.apache.parquet');
  for (const r of rewrites) {
    for (const key of r.keys) {
      const bytes = (await lake.getBytes(key))!;
      if (parquetRowCount(bytes) > 0) await lake.putObject(`${r.prefix}${key.split('/').pop()!}`, bytes, 'application/vnd.apache.parquet');
    }
  }
  return { counts: Object.fromEntries(Object.entries(counts!).map(([k, v]) => [k, batchNumber(v) ?? 0])), moved: later.map((p) => `${p.dt} ${p.arrivalDt}`) };
}

/** CheckBronze: the window's Bronze lines judged once into the run's `checked_bronze` table. */
async function checkBronze(window: DateWindow, runId: string, eng: LakeSqlEngine = engine, lake: S3Lake = sqlLake): Promise<void> {
  const prefix = silverBatchPrefix(runId, 'checked_bronze');
  if ((await lake.listKeys(prefix)).length > 0) return; // judged already (the report's comparison did it)
  await eng.unload({ name: 'checked_bronze', select: checkedBronzeSelect({ window, contract: DEFAULT_QUERY_CONTRACT }), output: { prefix } });
}

const rowSet = (rows: readonly Record<string, unknown>[]) => rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))).sort();

/**
 * A report with what only the Lambda engine can say left out: line numbers, zod's messages, and so the order of
 * samples from one object (Athena has no line numbers: the lake engine orders them by their text). Which ten
 * samples are kept still compares exactly: the first ten in key order are the same lines in both engines here.
 */
function comparable(r: ValidationReport) {
  const { text: _text, generatedAt: _at, ...rest } = r;
  const sorted = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();
  return {
    ...rest,
    checks: r.checks.map((c) => ({ ...c, detail: c.detail.replace(/; e\.g\. .*$/, '') })),
    samples: {
      ...r.samples,
      invalid: sorted(r.samples.invalid.map(({ key, kind, eventId }) => ({ key, kind, eventId }))),
      repeatedStreamRecords: sorted(r.samples.repeatedStreamRecords.map((s) => ({ ...s, first: s.first.key, repeat: s.repeat.key }))),
    },
  };
}

const results = new Map<string, { window: DateWindow; lambda: ValidationReport; sql: ValidationReport; extract: ExtractResult; counts: Record<string, number> }>();

describe('the lake engine and the Lambda engine agree, window after window', () => {
  const windows: DateWindow[] = [
    { from: D1, to: D1 },
    { from: D2, to: D2 },
    { from: D3, to: D3 },
  ];
  for (const [i, window] of windows.entries()) {
    it(`window ${window.from}: identical reports, identical Silver`, async () => {
      const runId = `conformance-${i}`;
      const bronze = await readBronzeWindow(lambdaLake, window);
      const lambda = validateWindow(runId, window, bronze, null, {}, NOW);
      const inline = await engine.select(validationQuery({ window, contract: DEFAULT_QUERY_CONTRACT }));
      const sql = validationReportFromRows(runId, window, inline, null, {}, NOW);
      expect(comparable(sql)).toEqual(comparable(lambda));
      // The state machine's form reads the lines CheckBronze judged once: the same rows as parsing them in the query.
      await checkBronze(window, runId);
      expect(rowSet(await engine.select(validationQuery({ window, contract: DEFAULT_QUERY_CONTRACT, checkedRunId: runId })))).toEqual(rowSet(inline));

      const extract = await extractWindow(window, { lake: lambdaLake, table: noTable });
      const { counts } = await sqlExtract(window, runId);
      expect(await silverOf(sqlLake)).toEqual(await silverOf(lambdaLake));
      expect({ rows: counts.silver_rows, dropped: counts.duplicates! + counts.stored_earlier!, setAside: counts.set_aside }).toEqual({
        rows: extract.windowInteractions,
        dropped: extract.duplicatesDropped,
        setAside: Object.entries(extract.setAside.reasons).filter(([k]) => k.startsWith('Silver interaction')).reduce((s, [, n]) => s + n, 0),
      });
      results.set(window.from, { window, lambda, sql, extract, counts });
    }, 30_000);
  }

  it('saw every case it is meant to compare', () => {
    const [d1, d2, d3] = [results.get(D1), results.get(D2), results.get(D3)];
    expect(d1!.lambda.stats).toMatchObject({ duplicates: 3, repeatedStreamRecords: 4 });
    expect(d1!.lambda.samples.repeatedStreamRecords.map((s) => s.sameEvent)).toEqual([true, true, true, false]);
    expect(d2!.lambda.stats).toMatchObject({ lateEvents: 5, quarantined: 3, eventsAfterArrival: 1 });
    expect(d2!.lambda.stats.invalidByKind).toEqual({ json: 2, ingest: 2, contract: 5, 'after-arrival': 1 });
    expect(d2!.counts.stored_earlier).toBe(1);
    expect(d3!.counts.stored_earlier).toBe(1);
    expect(d3!.lambda.stats.perDay).toEqual({ [D3]: 3 });
  });
});

describe('a window rerun after a later one', () => {
  it('moves an event out of the later arrival partition that stored it, as extractWindow does', async () => {
    const a = new S3Lake(aws.s3, `${aws.names.lakeBucket}-order-a`);
    const b = new S3Lake(aws.s3, `${aws.names.lakeBucket}-order-b`);
    for (const lake of [a, b]) await aws.s3.send(new CreateBucketCommand({ Bucket: lake.bucket }));
    // x1 arrives on D1 and again on D2; D2's window runs first (e.g. D1's run had failed and is retried later).
    const lines = (dt: string, ids: string[], seq: number) =>
      ids.map((id, i) => JSON.stringify({ ...event(1, `${D1}T09:00:00Z`, { eventId: id }), _ingest: { shardId: S0, sequenceNumber: String(seq + i), arrivalTime: `${dt}T10:00:00.000Z` } })).join('\n') + '\n';
    for (const lake of [a, b]) {
      await lake.putObject(`bronze/events/dt=${D1}/shard=${S0}/100.jsonl`, lines(D1, ['x1', 'x2'], 100), 'application/x-ndjson');
      await lake.putObject(`bronze/events/dt=${D2}/shard=${S0}/200.jsonl`, lines(D2, ['x1', 'x3'], 200), 'application/x-ndjson');
      await lake.putObject(`bronze/events/dt=${D2}/shard=${S0}/300.jsonl`, lines(D2, ['x4'], 300), 'application/x-ndjson');
    }
    const eng = lakeEngine(b);
    const ids = (silver: Record<string, SilverInteraction[]>) => Object.fromEntries(Object.entries(silver).map(([p, rows]) => [p, rows.map((r) => r.event_id)]));
    await extractWindow({ from: D2, to: D2 }, { lake: a, table: noTable });
    expect((await sqlExtract({ from: D2, to: D2 }, 'order-0', b, eng)).moved).toEqual([]);
    expect(ids(await silverOf(b))).toEqual({ [`${D1} ${D2}`]: ['x1', 'x3', 'x4'] });
    await extractWindow({ from: D1, to: D1 }, { lake: a, table: noTable });
    expect((await sqlExtract({ from: D1, to: D1 }, 'order-1', b, eng)).moved).toEqual([`${D1} ${D2}`]);
    expect(ids(await silverOf(a))).toEqual({ [`${D1} ${D1}`]: ['x1', 'x2'], [`${D1} ${D2}`]: ['x3', 'x4'] });
    expect(await silverOf(b)).toEqual(await silverOf(a));
    // Reruns change nothing, in either engine.
    for (const [i, w] of [{ from: D2, to: D2 }, { from: D1, to: D2 }].entries()) {
      await extractWindow(w, { lake: a, table: noTable });
      expect((await sqlExtract(w, `order-rerun-${i}`, b, eng)).moved).toEqual([]);
    }
    expect(ids(await silverOf(b))).toEqual({ [`${D1} ${D1}`]: ['x1', 'x2'], [`${D1} ${D2}`]: ['x3', 'x4'] });
    expect(await silverOf(b)).toEqual(await silverOf(a));
  }, 30_000);
});

describe('a window whose events fall in more Silver partitions than one Athena query may write', () => {
  it('is written in chunks of at most 100 partitions, and the chunks together are what the Lambda engine writes', async () => {
    const a = new S3Lake(aws.s3, `${aws.names.lakeBucket}-chunks-a`);
    const b = new S3Lake(aws.s3, `${aws.names.lakeBucket}-chunks-b`);
    for (const lake of [a, b]) await aws.s3.send(new CreateBucketCommand({ Bucket: lake.bucket }));
    // 101 events, each of another event date (a client uploading its history), all arriving on D3.
    const day0 = Date.parse(`${D3}T00:00:00Z`);
    const text = Array.from({ length: MAX_PARTITIONS_PER_WRITE + 1 }, (_, i) =>
      JSON.stringify({ ...event(i, new Date(day0 - (i + 1) * 86_400_000 + 3_600_000).toISOString(), { eventId: `h${i}` }), _ingest: { shardId: S0, sequenceNumber: String(1000 + i), arrivalTime: `${D3}T10:00:00.000Z` } }),
    ).join('\n');
    for (const lake of [a, b]) await lake.putObject(`bronze/events/dt=${D3}/shard=${S0}/1000.jsonl`, `${text}\n`, 'application/x-ndjson');
    const eng = lakeEngine(b);
    const window = { from: D3, to: D3 };
    const runId = 'chunks-0';
    await eng.unload({ name: 'checked_bronze', select: checkedBronzeSelect({ window, contract: DEFAULT_QUERY_CONTRACT }), output: { prefix: silverBatchPrefix(runId, 'checked_bronze') } });
    const input = { window, contract: DEFAULT_QUERY_CONTRACT, checkedRunId: runId };
    const partitions = silverPartitionsFromRows(await eng.select(validationQuery(input)));
    expect(partitions).toHaveLength(MAX_PARTITIONS_PER_WRITE + 1);
    const chunks = silverChunks(partitions);
    expect(chunks.map((c) => c?.length)).toEqual([MAX_PARTITIONS_PER_WRITE, 1]);
    for (const [i, chunk] of chunks.entries()) {
      const staging = `${silverBatchPrefix(runId)}chunk_${i}/`;
      const { keys } = await eng.unload({ name: `chunk_${i}`, select: silverInteractionsSelect(input, chunk), output: { prefix: staging, partitionedBy: SILVER_PARTITION_COLUMNS } });
      expect(new Set(keys.map((k) => k.slice(staging.length).split('/').slice(0, 2).join('/'))).size).toBeLessThanOrEqual(MAX_PARTITIONS_PER_WRITE);
      for (const key of keys) await b.putObject(`silver/interactions/${key.slice(staging.length)}`, (await b.getBytes(key))!, 'application/vnd.apache.parquet');
    }
    await extractWindow(window, { lake: a, table: noTable });
    const silver = await silverOf(b);
    expect(Object.keys(silver)).toHaveLength(MAX_PARTITIONS_PER_WRITE + 1);
    expect(silver).toEqual(await silverOf(a));
    // A chunk is refused past the limit, and a bad partition name never reaches the SQL.
    expect(() => silverInteractionsSelect(input, partitions)).toThrow(/1-100 partitions/);
    expect(() => silverInteractionsSelect(input, ["2026-11-01/2026-11-12' OR 1=1 --"])).toThrow(/not a date/);
  }, 30_000);
});
