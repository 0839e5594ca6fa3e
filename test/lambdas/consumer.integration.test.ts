import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KinesisStreamEvent } from 'aws-lambda';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { handler, resetConsumer } from '../../lambdas/consumer/index';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { S3Lake } from '../../src/adapters/s3-lake';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { generateEvents } from '../../src/domain/event-generator';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deliverUntilDone, lambdaContext } from '../support/lambda';
import { linesUnder, snapshotState } from '../support/snapshot';

let aws: TestAws;

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

/** Empties the lake and the table, so every test starts from a clean pipeline. */
beforeEach(async () => {
  resetConsumer();
  const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
  const keys = await lake.listKeys('');
  if (keys.length) {
    await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  }
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
  await ensureFeatureTable(aws.ddb, aws.names.featuresTable);
  // Start every test with a stream holding only its own records.
  await aws.kinesis.send(new (await import('@aws-sdk/client-kinesis')).DeleteStreamCommand({ StreamName: aws.names.eventsStream }));
  const { ensureResources } = await import('../../src/adapters/local-resources');
  await ensureResources({ s3: aws.s3, ddb: aws.ddb, kinesis: aws.kinesis }, aws.names);
});

const events = (n: number, seed = 1, users = 15, items = 40) => [...generateEvents({ users, items, events: n, seed })];
const valid = (input: unknown): UserEvent => {
  const r = parseEvent(input);
  if (!r.ok) throw new Error(r.message);
  return r.event;
};

async function consumeAll(batchSize = 100): Promise<KinesisStreamEvent[]> {
  const batches = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, batchSize);
  for (const batch of batches) {
    const res = await handler(batch, lambdaContext('consumer'));
    expect(res?.batchItemFailures ?? []).toEqual([]);
  }
  return batches;
}

describe('consumer Lambda against s3rver, dynalite and kinesalite', () => {
  it('lands every valid event in Bronze once, one object per batch, partition and shard', async () => {
    const input = events(300);
    await aws.putRecords(input);
    const batches = await consumeAll(100);

    const { objects } = await snapshotState(aws);
    const bronzeKeys = Object.keys(objects).filter((k) => k.startsWith('bronze/events/'));
    expect(bronzeKeys.length).toBe(batches.length);
    for (const key of bronzeKeys) expect(key).toMatch(/^bronze\/events\/dt=\d{4}-\d{2}-\d{2}\/shard=shardId-\d+\/\d+\.jsonl$/);

    const lines = linesUnder(objects, 'bronze/events/');
    expect(lines).toHaveLength(input.length);
    expect(new Set(lines.map((l) => l.eventId))).toEqual(new Set(input.map((e) => e.eventId)));
    // Raw fields are kept as sent, with the stream position alongside.
    const sample = lines.find((l) => l.eventId === input[0]!.eventId)!;
    expect(sample).toMatchObject({ ...input[0], _ingest: { shardId: expect.stringMatching(/^shardId-/) } });
  });

  it('keeps per-user and per-item features equal to the events, whatever the shard split', async () => {
    const input = events(400, 7);
    await aws.putRecords(input);
    await consumeAll(64);

    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const parsed = input.map(valid);
    for (const userId of new Set(parsed.map((e) => e.userId))) {
      const mine = parsed.filter((e) => e.userId === userId);
      const f = await table.userFeatures(userId);
      expect(f?.counts.view).toBe(mine.filter((e) => e.type === 'view').length);
      expect(f?.counts.purchase).toBe(mine.filter((e) => e.type === 'purchase').length);
      const ratings = mine.filter((e) => e.type === 'rating');
      expect(f?.ratingCount).toBe(ratings.length);
      expect(f?.ratingSum).toBeCloseTo(ratings.reduce((s, e) => s + (e.type === 'rating' ? e.rating : 0), 0), 6);
      expect(f?.recent.length).toBe(Math.min(50, mine.length));
      expect(f?.recent[0]?.timestamp).toBe(mine.map((e) => e.timestamp).sort().at(-1));
    }
    for (const itemId of ['i1', 'i2', 'i3']) {
      const mine = parsed.filter((e) => e.itemId === itemId);
      const f = await table.itemFeatures(itemId);
      expect(f?.counts.view ?? 0).toBe(mine.filter((e) => e.type === 'view').length);
      expect(f?.unitsSold ?? 0).toBe(mine.reduce((s, e) => s + (e.type === 'purchase' ? e.quantity : 0), 0));
    }
  });

  it('quarantines malformed records with the reason and lands the rest', async () => {
    const good = events(20, 3);
    const bad: (unknown | string | Uint8Array)[] = [
      '{not json',
      { eventId: 'b1', type: 'rating', userId: 'u1', itemId: 'i1', timestamp: '2026-01-01T00:00:00Z', rating: 9 },
      { eventId: 'b2', type: 'teleport', userId: 'u1', itemId: 'i1', timestamp: '2026-01-01T00:00:00Z' },
      new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
      // wrong types, and a payload near Kinesis' 1 MiB record limit
      { eventId: 'b3', type: 'rating', userId: { id: 1 }, itemId: ['i1'], timestamp: true, rating: 'five' },
      { eventId: 'b4', type: 'view', userId: 'u1', itemId: 'i1', timestamp: '2026-01-01T00:00:00Z', category: 'x'.repeat(900_000) },
    ];
    await aws.putRecords([...good.slice(0, 10), ...bad, ...good.slice(10)]);
    await consumeAll(100);

    const { objects } = await snapshotState(aws);
    expect(linesUnder(objects, 'bronze/events/')).toHaveLength(good.length);
    const quarantined = linesUnder(objects, 'bronze/_quarantine/');
    expect(quarantined).toHaveLength(bad.length);
    const reasons = quarantined.map((q) => String(q.reason));
    expect(reasons.some((r) => r.includes('not valid JSON'))).toBe(true);
    expect(reasons.some((r) => r.includes('rating must be between 0.5 and 5'))).toBe(true);
    expect(reasons.some((r) => r.includes('type must be one of'))).toBe(true);
    expect(quarantined.some((q) => q.dataBase64 === Buffer.from([0xff, 0xfe, 0x00, 0x01]).toString('base64'))).toBe(true);
    expect(reasons.some((r) => r.includes('userId must be a string') && r.includes('rating must be a number'))).toBe(true);
    // The near-1 MiB record is refused for its size (or its category's length), by name.
    expect(reasons.some((r) => /category|bytes/.test(r))).toBe(true);
    expect(quarantined.every((q) => typeof q.sequenceNumber === 'string' && typeof q.shardId === 'string')).toBe(true);
  });

  it('leaves Bronze and the features exactly as they were when a batch is delivered again', async () => {
    await aws.putRecords(events(250, 11));
    const batches = await consumeAll(50);
    const once = await snapshotState(aws);

    for (const batch of batches) await handler(batch, lambdaContext('consumer'));
    // Bisected re-deliveries of a batch are no-ops too.
    const first = batches[0]!;
    const half = Math.floor(first.Records.length / 2);
    await handler({ Records: first.Records.slice(half) }, lambdaContext('consumer'));
    await handler({ Records: first.Records.slice(0, half) }, lambdaContext('consumer'));

    expect(await snapshotState(aws)).toEqual(once);
  });

  it('reports exactly the records of a partition whose S3 write failed, and a retry completes it without duplicates', async () => {
    await aws.putRecords(events(120, 5));
    const [batch] = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000);
    // The batch straddles midnight: the first 40 records arrived yesterday, so they belong to another partition.
    const yesterday = Date.now() / 1000 - 86_400;
    const records = batch!.Records.map((r, i) => (i < 40 ? { ...r, kinesis: { ...r.kinesis, approximateArrivalTimestamp: yesterday } } : r));
    const yesterdayDt = new Date(yesterday * 1000).toISOString().slice(0, 10);

    const s3 = createS3Client();
    let failing = true;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: string }).Key ?? '';
        if (failing && context.commandName === 'PutObjectCommand' && key.includes(`dt=${yesterdayDt}`)) {
          throw Object.assign(new Error('We encountered an internal error. Please try again.'), { name: 'InternalError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectS3Failure' },
    );
    resetConsumer({
      lake: new S3Lake(s3, aws.names.lakeBucket),
      table: new DynamoFeatureTable(createDynamoDocumentClient(), aws.names.featuresTable),
    });
    const res = await handler({ Records: records }, lambdaContext('consumer'));
    const failed = (res?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
    expect(new Set(failed)).toEqual(new Set(records.slice(0, 40).map((r) => r.kinesis.sequenceNumber)));

    failing = false;
    const attempts = await deliverUntilDone(handler, { Records: records.slice(0) });
    expect(attempts.at(-1)).toEqual([]);
    const { objects } = await snapshotState(aws);
    const lines = linesUnder(objects, 'bronze/events/');
    expect(lines).toHaveLength(records.length);
    expect(new Set(lines.map((l) => l.eventId)).size).toBe(records.length);
  });

  it('reports exactly the records behind feature rows DynamoDB could not take during an outage, and ends equal to a clean run', async () => {
    // Many distinct users and items, so the failing request (25 rows) holds only part of the batch.
    const input = events(150, 9, 300, 600);
    await aws.putRecords(input);
    const [batch] = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000);
    const records = batch!.Records;

    // Clean run first, as the reference state.
    await handler({ Records: records }, lambdaContext('consumer'));
    const clean = await snapshotState(aws);
    await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
    await ensureFeatureTable(aws.ddb, aws.names.featuresTable);

    const ddb = createDynamoDocumentClient();
    const refused = new Set<string>();
    let outage = true;
    ddb.middlewareStack.add(
      (next, context) => async (args) => {
        if (outage && /^BatchWrite(Item)?Command$/.test(context.commandName ?? '')) {
          // The document client marshals before this step: keys arrive as { S: '…' } attribute values.
          type Key = { S?: string } | string;
          const req = (args.input as { RequestItems: Record<string, { PutRequest: { Item: { pk: Key; sk: Key } } }[]> }).RequestItems;
          const str = (k: Key) => (typeof k === 'string' ? k : k.S ?? '');
          const keys = Object.values(req)[0]!.map((r) => `${str(r.PutRequest.Item.pk)}|${str(r.PutRequest.Item.sk)}`);
          // The first request of feature rows only (a failed lake watermark would fail a whole partition)
          // keeps failing with a 5xx through every retry.
          if (refused.size === 0 && !keys.some((k) => k.startsWith('CTL#'))) for (const k of keys) refused.add(k);
          if (keys.some((k) => refused.has(k))) throw Object.assign(new Error('internal error (injected)'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectDynamoFailure' },
    );
    resetConsumer({ lake: new S3Lake(createS3Client(), aws.names.lakeBucket), table: new DynamoFeatureTable(ddb, aws.names.featuresTable, { backoffMs: 1 }) });
    const res = await handler({ Records: records }, lambdaContext('consumer'));
    const failed = new Set((res?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    outage = false;

    const expected = new Set(
      records
        .filter((r) => {
          const shard = r.eventID.split(':')[0];
          const e = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as { userId: string; itemId: string };
          return refused.has(`U#${e.userId}|RT#${shard}`) || refused.has(`I#${e.itemId}|RT#${shard}`);
        })
        .map((r) => r.kinesis.sequenceNumber),
    );
    expect(refused.size).toBeGreaterThan(0);
    expect(failed).toEqual(expected);

    await deliverUntilDone(handler, { Records: records });
    const after = await snapshotState(aws);
    const strip = (rows: Record<string, unknown>[]) => rows.map(({ expiresAt: _e, ...rest }) => rest);
    expect(strip(after.rows)).toEqual(strip(clean.rows));
    expect(after.objects).toEqual(clean.objects);
  });

  it('fails fast at cold start with a clear message when configuration is missing', async () => {
    const saved = process.env.LAKE_BUCKET;
    delete process.env.LAKE_BUCKET;
    try {
      resetConsumer();
      await expect(handler({ Records: [] }, lambdaContext('consumer'))).rejects.toThrow(/LAKE_BUCKET/);
    } finally {
      process.env.LAKE_BUCKET = saved;
    }
  });
});
