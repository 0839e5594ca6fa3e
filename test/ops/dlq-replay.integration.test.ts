import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handler, resetConsumer } from '../../lambdas/consumer/index';
import type { IngestDeps } from '../../src/ingest/ingest-batch';
import type { FeatureTable, FeatureTableRow } from '../../src/stream/ports';
import type { UserFeatures } from '../../src/domain/features';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { S3Lake } from '../../src/adapters/s3-lake';
import { generateEvents } from '../../src/domain/event-generator';
import { EventSourcePoller } from '../../src/local/event-source-poller';
import type { FailedBatchRecord } from '../../src/stream/dead-letters';
import { localLambdaContext } from '../../src/local/lambda-context';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { FileDeadLetterSource } from '../../src/ops/dead-letters';
import { readRange, replayDeadLetters, type BatchInvoker } from '../../src/ops/dlq-replay';
import { extractWindow, readSilverHistory } from '../../src/retraining/extract';
import { startTestAws, type TestAws } from '../support/aws-env';
import { emptyLakeAndTable, failing } from '../support/faults';
import { linesUnder, snapshotState } from '../support/snapshot';

let aws: TestAws;
let dir: string;
const events = [...generateEvents({ users: 60, items: 90, events: 1200, seed: 5 })];
const context = localLambdaContext('consumer');
const consumer: BatchInvoker = (event) => handler(event, context);
/** User and item rows (lake watermarks and event-ledger rows are bookkeeping that depends on how batches were split). */
const featureRows = (rows: Record<string, unknown>[]) => rows.filter((r) => r.entity === 'user' || r.entity === 'item');
const bronzeIds = (objects: Record<string, string>) => linesUnder(objects, 'bronze/events/').map((l) => l.eventId as string);

beforeAll(async () => {
  aws = await startTestAws();
  await aws.putRecords(events);
  dir = await mkdtemp(join(tmpdir(), 'recsys-dlq-'));
});
afterAll(async () => {
  resetConsumer();
  await aws?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Consumes the whole stream with the given clients while an outage lasts: it ends when the first batch is
 * given up on (its letter appended to `file`), and later batches of the same shard then land.
 */
async function consumeThroughAnOutage(file: string, clients: (during: () => boolean) => IngestDeps): Promise<{ letters: FailedBatchRecord[] }> {
  let outage = true;
  const letters: FailedBatchRecord[] = [];
  resetConsumer(clients(() => outage));
  const poller = new EventSourcePoller({
    kinesis: aws.kinesis,
    stream: aws.names.eventsStream,
    handler,
    functionName: 'consumer',
    batchSize: 100,
    maxRetries: 1,
    idleMs: 10,
    onFailure: async (letter) => {
      letters.push(letter);
      outage = false;
      await writeFile(file, `${JSON.stringify(letter)}\n`, { flag: 'a' });
    },
  });
  await poller.drain();
  resetConsumer();
  return { letters };
}

const SHARD_0 = 'shardId-000000000000';

describe('npm run dlq:replay', () => {
  let clean: Awaited<ReturnType<typeof snapshotState>>;

  it('lands a batch given up on after its shard moved on in Bronze exactly once, where a plain redelivery would skip it', async () => {
    resetConsumer();
    await new EventSourcePoller({ kinesis: aws.kinesis, stream: aws.names.eventsStream, handler, batchSize: 100, idleMs: 10 }).drain();
    clean = await snapshotState(aws);
    expect(bronzeIds(clean.objects)).toHaveLength(events.length);

    await emptyLakeAndTable(aws);
    const file = join(dir, 'dead-letters.jsonl');
    // S3 refuses Bronze writes of shard 0 until its first batch is given up on.
    const { letters } = await consumeThroughAnOutage(file, (during) => ({
      lake: new S3Lake(failing(createS3Client(), /^PutObjectCommand$/, (input) => during() && String(input.Key).includes(`shard=${SHARD_0}`)).client, aws.names.lakeBucket),
      table: new DynamoFeatureTable(createDynamoDocumentClient(), aws.names.featuresTable),
    }));
    const lost = letters.reduce((n, l) => n + l.batchSize, 0);
    expect(letters.length).toBeGreaterThan(0);
    expect(lost).toBeGreaterThan(0);
    const afterOutage = await snapshotState(aws);
    // Later batches of shard 0 landed, so the partition's watermark is past the given-up records.
    expect(bronzeIds(afterOutage.objects)).toHaveLength(events.length - lost);
    expect(Object.keys(afterOutage.objects).some((k) => k.includes('shard=shardId-000000000000'))).toBe(true);

    // Redelivering the records as the stream would (no replay mark) changes nothing: the watermark skips them.
    const copy = join(dir, 'copy.jsonl');
    await writeFile(copy, await readFile(file, 'utf8'));
    const plain = await replayDeadLetters({ source: new FileDeadLetterSource(copy), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: (e) => handler({ Records: e.Records }, context) });
    expect(plain.records).toBe(lost);
    expect(bronzeIds((await snapshotState(aws)).objects)).toHaveLength(events.length - lost);

    // The replay tool marks its invocations: every event is in Bronze exactly once, features equal a clean run.
    const lines: string[] = [];
    const report = await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: consumer, log: (l) => lines.push(l) });
    expect(report).toMatchObject({ replayed: letters.length, failed: 0, records: lost, missing: 0 });
    expect(lines.every((l) => l.startsWith('✓'))).toBe(true);
    const replayed = await snapshotState(aws);
    const ids = bronzeIds(replayed.objects);
    expect(ids).toHaveLength(events.length);
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.eventId)));
    expect(featureRows(replayed.rows)).toEqual(featureRows(clean.rows));
    // Replayed letters are removed from the file.
    expect((await readFile(file, 'utf8')).trim()).toBe('');

    // Replaying the same letters again changes nothing at all.
    await writeFile(file, letters.map((l) => JSON.stringify(l)).join('\n') + '\n');
    await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: consumer });
    const again = await snapshotState(aws);
    expect(again.objects).toEqual(replayed.objects);
    expect(featureRows(again.rows)).toEqual(featureRows(replayed.rows));
  });

  it('does not write Bronze twice for records that reached it before their batch was given up on, and never over-counts features', async () => {
    await emptyLakeAndTable(aws);
    const file = join(dir, 'ddb-outage.jsonl');
    // DynamoDB refuses shard 0's rows until its first batch is given up on; its Bronze objects are written.
    const { letters } = await consumeThroughAnOutage(file, (during) => ({
      lake: new S3Lake(createS3Client(), aws.names.lakeBucket),
      table: new DynamoFeatureTable(failing(createDynamoDocumentClient(), /^BatchWrite(Item)?Command$/, (input) => during() && JSON.stringify(input).includes(SHARD_0)).client, aws.names.featuresTable, { backoffMs: 1 }),
    }));
    expect(letters.length).toBeGreaterThan(0);
    // The given-up records did reach Bronze (only their feature rows failed).
    expect(bronzeIds((await snapshotState(aws)).objects)).toHaveLength(events.length);

    // As after a bisect: the letter starts inside the object its batch wrote, and pieces of 7 start at other
    // records again, so writing without looking would duplicate them.
    const range = await readRange(aws.kinesis, aws.names.eventsStream, { id: 'x', ...letters[0]! });
    const inside = { ...letters[0]!, startSequenceNumber: range[3]!.SequenceNumber!, batchSize: range.length - 3 };
    await writeFile(file, `${JSON.stringify(inside)}\n${letters.slice(1).map((l) => JSON.stringify(l)).join('\n')}\n`);
    const report = await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: consumer, batchSize: 7 });
    expect(report.failed).toBe(0);
    const after = await snapshotState(aws);
    expect(bronzeIds(after.objects)).toHaveLength(events.length);
    // Rows that folded later records skip the replayed ones (the nightly exact features count them from
    // Bronze); no row ever holds more than in a clean run.
    const total = (row: Record<string, unknown>) => Object.values(((row.features as { counts?: Record<string, number> }).counts ?? {})).reduce((a, b) => a + b, 0);
    const cleanById = new Map(featureRows(clean.rows).map((r) => [`${r.pk}|${r.sk}`, r]));
    for (const row of featureRows(after.rows)) expect(total(row)).toBeLessThanOrEqual(total(cleanById.get(`${row.pk}|${row.sk}`)!));
  });

  it("lands a replay days later in that day's partition, which the nightly job then takes into Silver with nothing lost", async () => {
    await emptyLakeAndTable(aws);
    const file = join(dir, 'later.jsonl');
    const { letters } = await consumeThroughAnOutage(file, (during) => ({
      lake: new S3Lake(failing(createS3Client(), /^PutObjectCommand$/, (input) => during() && String(input.Key).includes(`shard=${SHARD_0}`)).client, aws.names.lakeBucket),
      table: new DynamoFeatureTable(createDynamoDocumentClient(), aws.names.featuresTable),
    }));
    const lost = letters.reduce((n, l) => n + l.batchSize, 0);
    expect(lost).toBeGreaterThan(0);
    const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const today = new Date().toISOString().slice(0, 10);
    await extractWindow({ from: today, to: today }, { lake, table });
    expect((await readSilverHistory(lake)).rows).toHaveLength(events.length - lost);

    // Two days later the operator replays: the records land in that day's partition.
    const later = Date.now() + 2 * 86_400_000;
    const laterDt = new Date(later).toISOString().slice(0, 10);
    resetConsumer({ lake: new S3Lake(createS3Client(), aws.names.lakeBucket), table: new DynamoFeatureTable(createDynamoDocumentClient(), aws.names.featuresTable), now: () => later });
    const report = await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: consumer });
    resetConsumer();
    expect(report).toMatchObject({ failed: 0, records: lost });
    const lines = linesUnder((await snapshotState(aws)).objects, `bronze/events/dt=${laterDt}/`);
    expect(lines).toHaveLength(lost);
    for (const line of lines) {
      const ingest = line._ingest as { arrivalTime: string; streamArrivalTime: string };
      expect(ingest.arrivalTime.slice(0, 10)).toBe(laterDt);
      expect(ingest.streamArrivalTime.slice(0, 10)).toBe(today);
    }

    // That night's run takes them into Silver; what earlier nights stored stays.
    await extractWindow({ from: laterDt, to: laterDt }, { lake, table });
    const silver = (await readSilverHistory(lake)).rows;
    expect(silver).toHaveLength(events.length);
    expect(new Set(silver.map((r) => r.event_id))).toEqual(new Set(events.map((e) => e.eventId)));
  });

  it('finds records from overlapping replays, however the ranges nest', async () => {
    await emptyLakeAndTable(aws);
    const shard0 = (await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000)).flatMap((e) => e.Records).filter((r) => r.eventID.startsWith(`${SHARD_0}:`));
    const letter = (from: number, to: number) => JSON.stringify({ shardId: SHARD_0, startSequenceNumber: shard0[from]!.kinesis.sequenceNumber, endSequenceNumber: shard0[to]!.kinesis.sequenceNumber });
    const file = join(dir, 'nested.jsonl');
    // The middle first, then a range around it (written as two objects around the middle), then one inside the end.
    for (const [from, to] of [[10, 20], [0, 30], [25, 28], [5, 24]] as const) {
      await writeFile(file, `${letter(from, to)}\n`);
      const report = await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: consumer, batchSize: 1000 });
      expect(report.failed).toBe(0);
    }
    const lines = linesUnder((await snapshotState(aws)).objects, 'bronze/').filter((l) => ((l._ingest as { shardId?: string } | undefined)?.shardId ?? l.shardId) === SHARD_0);
    expect(lines).toHaveLength(31);
  });

  it("never overwrites a row the shard's own consumer changed while the replay ran", async () => {
    await emptyLakeAndTable(aws);
    const inner = new DynamoFeatureTable(createDynamoDocumentClient(), aws.names.featuresTable);
    let rival: FeatureTableRow | undefined;
    // Right after the replay reads its rows, the live consumer writes one of them (a later event of that user).
    const racing: FeatureTable = {
      getRows: async (keys) => {
        const rows = await inner.getRows(keys);
        const key = keys.find((k) => k.pk.startsWith('U#'));
        if (!rival && key) {
          rival = { pk: key.pk, sk: key.sk, entity: 'user', shardId: SHARD_0, wm: '9'.repeat(60), features: { userId: 'written-by-the-live-consumer' } as unknown as UserFeatures };
          await inner.putRows([rival]);
        }
        return rows;
      },
      queryRows: (pk, fromSk, toSk) => inner.queryRows(pk, fromSk, toSk),
      putRows: (rows) => inner.putRows(rows),
      putRowsIfUnchanged: (rows) => inner.putRowsIfUnchanged(rows),
    };
    resetConsumer({ lake: new S3Lake(createS3Client(), aws.names.lakeBucket), table: racing });
    const shard0 = (await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000)).flatMap((e) => e.Records).filter((r) => r.eventID.startsWith(`${SHARD_0}:`));
    const file = join(dir, 'race.jsonl');
    await writeFile(file, `${JSON.stringify({ shardId: SHARD_0, startSequenceNumber: shard0[0]!.kinesis.sequenceNumber, endSequenceNumber: shard0[30]!.kinesis.sequenceNumber })}\n`);
    const report = await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: consumer, backoffMs: () => 1 });
    resetConsumer();
    // The first attempt's conditional write lost to the live consumer; the retry read the row again.
    expect(report).toMatchObject({ replayed: 1, failed: 0 });
    const rows = (await snapshotState(aws)).rows;
    expect(rows.find((r) => r.pk === rival!.pk && r.sk === rival!.sk)).toEqual(rival);
    expect(rows.filter((r) => r.entity === 'user').length).toBeGreaterThan(1);
  });

  it('reads exactly the letter range of its shard back from the stream', async () => {
    const all = (await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000)).flatMap((e) => e.Records);
    const shard1 = all.filter((r) => r.eventID.startsWith('shardId-000000000001:'));
    const [start, end] = [shard1[10]!.kinesis.sequenceNumber, shard1[59]!.kinesis.sequenceNumber];
    const records = await readRange(aws.kinesis, aws.names.eventsStream, { id: 'x', shardId: 'shardId-000000000001', startSequenceNumber: start, endSequenceNumber: end });
    expect(records.map((r) => r.SequenceNumber)).toEqual(shard1.slice(10, 60).map((r) => r.kinesis.sequenceNumber));
  });

  it('dry-runs without invoking or removing anything', async () => {
    const file = join(dir, 'dry.jsonl');
    const all = (await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000)).flatMap((e) => e.Records).filter((r) => r.eventID.startsWith('shardId-000000000000:'));
    const line = JSON.stringify({ reason: 'RetryAttemptsExhausted', functionName: 'consumer', shardId: 'shardId-000000000000', startSequenceNumber: all[0]!.kinesis.sequenceNumber, endSequenceNumber: all[24]!.kinesis.sequenceNumber, batchSize: 25 });
    await writeFile(file, `${line}\n`);
    let invoked = 0;
    const report = await replayDeadLetters({ source: new FileDeadLetterSource(file), kinesis: aws.kinesis, stream: aws.names.eventsStream, invoke: async () => void invoked++, dryRun: true });
    expect(report).toMatchObject({ records: 25, missing: 0, replayed: 0, failed: 0 });
    expect(report.letters[0]!.status).toBe('dry-run');
    expect(invoked).toBe(0);
    expect((await readFile(file, 'utf8')).trim()).toBe(line);
  });

  it('keeps a letter whose records still fail, after retrying from the lowest failed record', async () => {
    const file = join(dir, 'stuck.jsonl');
    const all = (await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000)).flatMap((e) => e.Records).filter((r) => r.eventID.startsWith('shardId-000000000000:'));
    const unreadable = '{"not":"a letter"}';
    await writeFile(file, `${JSON.stringify({ shardId: 'shardId-000000000000', startSequenceNumber: all[0]!.kinesis.sequenceNumber, endSequenceNumber: all[9]!.kinesis.sequenceNumber, batchSize: 10 })}\n${unreadable}\n`);
    const pieces: number[] = [];
    const stuck = all[6]!.kinesis.sequenceNumber;
    const report = await replayDeadLetters({
      source: new FileDeadLetterSource(file),
      kinesis: aws.kinesis,
      stream: aws.names.eventsStream,
      maxAttempts: 3,
      backoffMs: () => 1,
      invoke: async (event) => {
        pieces.push(event.Records.length);
        return { batchItemFailures: [{ itemIdentifier: stuck }] };
      },
    });
    expect(report).toMatchObject({ replayed: 0, failed: 1 });
    expect(report.letters[0]!.error).toContain(stuck);
    expect(pieces).toEqual([10, 4, 4]);
    // Both the failed letter and the unreadable line stay for the next attempt.
    expect((await readFile(file, 'utf8')).split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('cuts invocations below the 6 MB Lambda payload limit when records are large', async () => {
    const big = Array.from({ length: 8 }, (_, i) => ({ eventId: `big-${i}`, type: 'view', userId: 'big-user', itemId: 'i1', timestamp: new Date().toISOString(), sessionId: 'x'.repeat(900_000) }));
    // PutRecords takes at most 5 MB a request.
    for (let i = 0; i < big.length; i += 4) await aws.putRecords(big.slice(i, i + 4));
    const records = (await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000)).flatMap((e) => e.Records).filter((r) => r.kinesis.partitionKey === 'big-user');
    expect(records).toHaveLength(8);
    const shardId = records[0]!.eventID.split(':')[0]!;
    const file = join(dir, 'big.jsonl');
    await writeFile(file, `${JSON.stringify({ shardId, startSequenceNumber: records[0]!.kinesis.sequenceNumber, endSequenceNumber: records[7]!.kinesis.sequenceNumber, batchSize: 8 })}\n`);
    const payloads: number[] = [];
    let delivered = 0;
    const report = await replayDeadLetters({
      source: new FileDeadLetterSource(file),
      kinesis: aws.kinesis,
      stream: aws.names.eventsStream,
      invoke: async (event) => {
        payloads.push(Buffer.byteLength(JSON.stringify(event)));
        delivered += event.Records.length;
      },
    });
    expect(report).toMatchObject({ replayed: 1, records: 8 });
    expect(delivered).toBe(8);
    expect(payloads.length).toBeGreaterThan(1);
    expect(Math.max(...payloads)).toBeLessThan(6 * 1024 * 1024);
  });
});
