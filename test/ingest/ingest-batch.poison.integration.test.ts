import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { handler, resetConsumer } from '../../lambdas/consumer/index';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { S3Lake } from '../../src/adapters/s3-lake';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { toStreamRecord } from '../../src/adapters/kinesis-records';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import type { AnalyticsTableRow } from '../../src/analytics/analytics-batch';
import { ingestBatch } from '../../src/ingest/ingest-batch';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { EventSourcePoller } from '../../src/local/event-source-poller';
import type { FailedBatchRecord } from '../../src/stream/dead-letters';
import { startTestAws, type TestAws } from '../support/aws-env';
import { failing } from '../support/faults';
import { lambdaContext } from '../support/lambda';
import { linesUnder, snapshotState } from '../support/snapshot';

/**
 * The event contract now refuses deep nesting and unbounded money, so records that today's consumers must
 * survive on their own are let through by a test double of the contract: a payload marked
 * `"__bypassContract":true` is accepted as it is (its `deep` field dropped from the event, as the schema
 * drops unknown fields), exactly as such records passed the schema before the contract was tightened.
 */
vi.mock('../../src/domain/events', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/domain/events')>();
  const parseEventPayload: typeof real.parseEventPayload = (payload, options) => {
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    if (text.includes('"__bypassContract":true')) {
      const raw = JSON.parse(text) as Record<string, unknown>;
      const { __bypassContract: _b, deep: _d, ...event } = raw;
      return { ok: true, event: event as never, raw };
    }
    return real.parseEventPayload(payload, options);
  };
  return { ...real, parseEventPayload };
});

let aws: TestAws;
const now = Date.now();
const at = (minutesAgo: number) => new Date(now - minutesAgo * 60_000).toISOString();

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-analytics-poison-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
});
afterAll(async () => {
  resetConsumer();
  resetAnalyticsConsumer();
  await aws?.stop();
});
beforeEach(async () => {
  resetConsumer();
  resetAnalyticsConsumer();
  const keys = await new S3Lake(aws.s3, aws.names.lakeBucket).listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  for (const table of [aws.names.featuresTable, aws.names.analyticsTable!]) {
    await aws.ddb.send(new DeleteTableCommand({ TableName: table }));
    await ensureFeatureTable(aws.ddb, table);
  }
  const { DeleteStreamCommand } = await import('@aws-sdk/client-kinesis');
  await aws.kinesis.send(new DeleteStreamCommand({ StreamName: aws.names.eventsStream }));
  const { ensureResources } = await import('../../src/adapters/local-resources');
  await ensureResources({ s3: aws.s3, ddb: aws.ddb, kinesis: aws.kinesis }, aws.names);
});

/** Neighbours: views and purchases of several users, on both shards. */
const neighbours = (prefix: string, n = 40) =>
  Array.from({ length: n }, (_, i) =>
    i % 4 === 3
      ? { eventId: `${prefix}-${i}`, type: 'purchase', userId: `u${i % 10}`, itemId: `i${i % 13}`, price: 10, quantity: 1, timestamp: at(5) }
      : { eventId: `${prefix}-${i}`, type: 'view', userId: `u${i % 10}`, itemId: `i${i % 13}`, timestamp: at(5) },
  );

async function oneBatchPerShard() {
  return readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000);
}

describe('poison isolation in the consumers', () => {
  it('quarantines a record whose Bronze line cannot be serialised (nested 100,000 deep) and lands its neighbours', async () => {
    const good = neighbours('g');
    const deepValue = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const deep = `{"__bypassContract":true,"eventId":"deep-1","type":"view","userId":"u1","itemId":"i1","timestamp":"${at(5)}","deep":${deepValue}}`;
    await aws.putRecords([...good.slice(0, 20), deep, ...good.slice(20)]);
    for (const batch of await oneBatchPerShard()) expect((await handler(batch, lambdaContext('consumer')))?.batchItemFailures).toEqual([]);

    const { objects } = await snapshotState(aws);
    expect(new Set(linesUnder(objects, 'bronze/events/').map((l) => l.eventId))).toEqual(new Set(good.map((e) => e.eventId)));
    const quarantined = linesUnder(objects, 'bronze/_quarantine/');
    expect(quarantined).toHaveLength(1);
    expect(String(quarantined[0]!.reason)).toMatch(/Bronze line cannot be serialised: Maximum call stack size exceeded/);
    expect(quarantined[0]!.data).toBe(deep);
    // The quarantined record is not counted; its neighbours are.
    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const u1 = good.filter((e) => e.userId === 'u1');
    expect((await table.userFeatures('u1'))?.counts.view).toBe(u1.filter((e) => e.type === 'view').length);
  });

  it('sets aside records that would make their feature or window rows unstorable, and fails none of their neighbours', async () => {
    const good = neighbours('n');
    // A rating DynamoDB cannot store in a sum, and an item id that makes every row holding it too large.
    const hugeRating = { __bypassContract: true, eventId: 'huge-rating', type: 'rating', userId: 'u4', itemId: 'i4', rating: 1e300, timestamp: at(5) };
    const hugeItem = { __bypassContract: true, eventId: 'huge-category', type: 'view', userId: 'u3', itemId: 'i5', category: 'c'.repeat(450_000), timestamp: at(5) };
    await aws.putRecords([...good.slice(0, 20), hugeRating, hugeItem, ...good.slice(20)]);
    const batches = await oneBatchPerShard();

    // The consumer's outcome names them and why; nothing is retried.
    const deps = { lake: new S3Lake(aws.s3, aws.names.lakeBucket), table: new DynamoFeatureTable(aws.ddb, aws.names.featuresTable) };
    const outcomes = await Promise.all(batches.map((b) => ingestBatch(b.Records.map(toStreamRecord), deps)));
    expect(outcomes.flatMap((o) => [...o.failures])).toEqual([]);
    const setAside = outcomes.flatMap((o) => [...o.setAside.values()]).sort();
    expect(setAside).toHaveLength(2);
    expect(setAside.some((r) => /^[UI]#[ui]4 RT#shardId-\d+: features\.ratingSum is 1e\+300, beyond/.test(r))).toBe(true);
    expect(setAside.some((r) => /RT#shardId-\d+: row is about \d+ bytes, over the 380000-byte limit/.test(r))).toBe(true);
    for (const batch of batches) {
      expect((await handler(batch, lambdaContext('consumer')))?.batchItemFailures).toEqual([]);
      expect((await analyticsHandler(batch, lambdaContext('analytics-consumer')))?.batchItemFailures).toEqual([]);
    }

    // They are in Bronze (the contract of their day accepted them); the rows hold every neighbour and not
    // them, in the user's row and in the item's alike.
    const { objects } = await snapshotState(aws);
    expect(linesUnder(objects, 'bronze/events/')).toHaveLength(good.length + 2);
    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const count = (userId: string, type: string) => good.filter((e) => e.userId === userId && e.type === type).length;
    expect(await table.userFeatures('u4')).toMatchObject({ counts: { rating: 0, view: count('u4', 'view') }, ratingCount: 0, ratingSum: 0 });
    expect(await table.userFeatures('u3')).toMatchObject({ counts: { view: count('u3', 'view'), purchase: count('u3', 'purchase') } });
    expect((await table.itemFeatures('i4'))?.counts.rating).toBe(0);
    for (const userId of new Set(good.map((e) => e.userId))) expect((await table.userFeatures(userId))?.counts.view).toBe(count(userId, 'view'));
    // The category is left out of the user's row too (u3's views above), so rows agree. The windows can hold
    // the rating (they count it), not the category.
    const { summary } = await dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!).realtime(60 * 60_000, now);
    expect(summary).toMatchObject({ events: good.length + 1, views: good.filter((e) => e.type === 'view').length, purchases: good.filter((e) => e.type === 'purchase').length });
  });

  it('sets aside the records of a row DynamoDB refuses on its own, and writes every other row of the same 25-row request', async () => {
    const good = neighbours('r', 60);
    await aws.putRecords(good);
    const batches = await oneBatchPerShard();
    // DynamoDB refuses any request holding u7's row (as it would an item it cannot take), whatever the retry.
    const refusing = failing(
      createDynamoDocumentClient(),
      /^BatchWrite(Item)?Command$/,
      (input) => JSON.stringify(input).includes('"U#u7"'),
      'refuseU7',
      () => Object.assign(new Error('One or more parameter values were invalid (injected)'), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } }),
    );
    const deps = { lake: new S3Lake(aws.s3, aws.names.lakeBucket), table: new DynamoFeatureTable(refusing.client, aws.names.featuresTable, { backoffMs: 1 }) };
    const outcomes = await Promise.all(batches.map((b) => ingestBatch(b.Records.map(toStreamRecord), deps)));
    expect(outcomes.flatMap((o) => [...o.failures])).toEqual([]);
    const u7 = good.filter((e) => e.userId === 'u7');
    expect(outcomes.reduce((n, o) => n + o.setAside.size, 0)).toBe(u7.length);
    expect([...outcomes.flatMap((o) => [...o.setAside.values()])].every((r) => /U#u7 RT#.* refused by the store: ValidationException/.test(r))).toBe(true);
    expect(refusing.injected()).toBeGreaterThan(1); // the shared request, then u7's own

    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    expect(await table.userFeatures('u7')).toBeUndefined();
    for (const userId of new Set(good.map((e) => e.userId).filter((u) => u !== 'u7'))) {
      expect((await table.userFeatures(userId))?.counts.view).toBe(good.filter((e) => e.userId === userId && e.type === 'view').length);
    }
    for (const itemId of new Set(good.map((e) => e.itemId))) expect((await table.itemFeatures(itemId))?.counts).toBeDefined();
  });

  it('fails a batch whose every record failed with an error that names each real cause, and the dead letter keeps it', async () => {
    await aws.putRecords(neighbours('f', 12));
    const s3 = failing(createS3Client(), /^PutObjectCommand$/, () => true);
    resetConsumer({ lake: new S3Lake(s3.client, aws.names.lakeBucket), table: new DynamoFeatureTable(createDynamoDocumentClient(), aws.names.featuresTable) });
    const [batch] = await oneBatchPerShard();
    const seq = batch!.Records[0]!.kinesis.sequenceNumber;
    const error = await handler(batch!, lambdaContext('consumer')).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(new RegExp(`^${batch!.Records.length} of ${batch!.Records.length} records failed: bronze write failed: InternalServerError: We encountered an internal error.*\\(records \\d+, \\d+, \\d+ and \\d+ more; object bronze/events/`));
    expect(error?.message).toContain(seq);
    expect(error?.message).not.toMatch(/See individual errors below/);

    // Analytics: every window write fails.
    resetAnalyticsConsumer(new DynamoRowStore<AnalyticsTableRow>(failing(createDynamoDocumentClient(), /^BatchWrite(Item)?Command$/, () => true).client, aws.names.analyticsTable!, { backoffMs: 1 }));
    await expect(analyticsHandler(batch!, lambdaContext('analytics-consumer'))).rejects.toThrow(new RegExp(`^${batch!.Records.length} of ${batch!.Records.length} records failed: analytics (window|ledger) write failed: InternalServerError: We encountered an internal error.*\\(records? \\d+`));

    // Through the local event source mapping: the dead letter records the cause, not "All records failed".
    const letters: FailedBatchRecord[] = [];
    const poller = new EventSourcePoller({ kinesis: aws.kinesis, stream: aws.names.eventsStream, handler, functionName: 'consumer', batchSize: 100, maxRetries: 1, idleMs: 10, onFailure: (l) => void letters.push(l) });
    await poller.drain();
    expect(letters.length).toBeGreaterThan(0);
    for (const letter of letters) expect(letter.error).toMatch(/records? failed: bronze write failed: InternalServerError: We encountered an internal error.*\(records? \d+/);
  });
});
