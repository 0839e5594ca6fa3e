import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { handler, resetConsumer } from '../../lambdas/consumer/index';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { S3Lake } from '../../src/adapters/s3-lake';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import type { AnalyticsTableRow } from '../../src/analytics/analytics-batch';
import { generateEvents } from '../../src/domain/event-generator';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { ingestBatch } from '../../src/ingest/ingest-batch';
import { toStreamRecord } from '../../src/adapters/kinesis-records';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deliverUntilDone, lambdaContext } from '../support/lambda';
import { linesUnder, scanTable, snapshotState } from '../support/snapshot';

/**
 * Each eventId counts once in the speed layer and in the analytics windows, first delivery wins: a stream
 * holding repeats of events (the same event sent again as new records: in the same batch, in later
 * batches, with other content) ends with exactly the features and windows of the same stream without the
 * repeats, whatever the failures and retries on the way, while Bronze keeps every record.
 */

let aws: TestAws;
const now = Date.now();

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-analytics-dedup-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
});
afterAll(async () => {
  resetConsumer();
  resetAnalyticsConsumer();
  await aws?.stop();
});

async function emptyEverything(): Promise<void> {
  const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
  const keys = await lake.listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  for (const table of [aws.names.featuresTable, aws.names.analyticsTable!]) {
    await aws.ddb.send(new DeleteTableCommand({ TableName: table }));
    await ensureFeatureTable(aws.ddb, table);
  }
  // A wiped table is a new deployment: fresh consumer instances (the ledger they hold in memory is gone too).
  resetConsumer();
  resetAnalyticsConsumer();
}

beforeEach(async () => {
  resetConsumer();
  resetAnalyticsConsumer();
  await emptyEverything();
  const { DeleteStreamCommand } = await import('@aws-sdk/client-kinesis');
  await aws.kinesis.send(new DeleteStreamCommand({ StreamName: aws.names.eventsStream }));
  const { ensureResources } = await import('../../src/adapters/local-resources');
  await ensureResources({ s3: aws.s3, ddb: aws.ddb, kinesis: aws.kinesis }, aws.names);
});

const scan = (table: string) => scanTable(aws, table);

const featureRows = async () => (await scan(aws.names.featuresTable)).filter((r) => r.entity === 'user' || r.entity === 'item');
const windowRows = async () => (await scan(aws.names.analyticsTable!)).filter((r) => r.entity === 'window');
const eventOf = (r: KinesisStreamRecord) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString()) as { eventId: string };

/** The batches without the repeats: each eventId's first record in stream order (each shard is ordered). */
function firstDeliveriesOnly(batches: KinesisStreamEvent[]): KinesisStreamEvent[] {
  const seen = new Set<string>();
  return batches
    .map((b) => ({
      Records: b.Records.filter((r) => {
        const id = eventOf(r).eventId;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      }),
    }))
    .filter((b) => b.Records.length > 0);
}

async function consume(batches: KinesisStreamEvent[]): Promise<void> {
  for (const batch of batches) {
    expect((await handler(batch, lambdaContext('consumer')))?.batchItemFailures).toEqual([]);
    expect((await analyticsHandler(batch, lambdaContext('analytics-consumer')))?.batchItemFailures).toEqual([]);
  }
}

const valid = (input: unknown): UserEvent => {
  const r = parseEvent(input);
  if (!r.ok) throw new Error(r.message);
  return r.event;
};

/** Generated events with repeats: right after (same batch), much later (other batches), and with other content. */
function streamWithRepeats() {
  const base = [...generateEvents({ users: 25, items: 40, events: 240, seed: 31, startMs: now - 50 * 60_000, endMs: now - 2 * 60_000 })];
  const out: Record<string, unknown>[] = [];
  base.forEach((e, i) => {
    out.push(e);
    if (i % 5 === 0) out.push({ ...e }); // an exact repeat, next record
    if (i % 7 === 0) out.push({ ...e }, { ...e }); // two more
  });
  // Repeats far later in the stream, some with other content under the same eventId (and user, so shard).
  base.forEach((e, i) => {
    if (i % 3 === 0) out.push({ ...e });
    if (i % 11 === 0) out.push({ ...e, type: 'purchase', itemId: 'i-other', price: 999, quantity: 7, rating: undefined });
  });
  return { base, records: out };
}

describe('each eventId counts once (first delivery wins)', () => {
  it('ends with the features and windows of the stream without its repeats, and Bronze keeps every record', async () => {
    const { base, records } = streamWithRepeats();
    await aws.putRecords(records);
    const batches = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 16);

    await consume(firstDeliveriesOnly(batches));
    const reference = { features: await featureRows(), windows: await windowRows() };
    expect(reference.features.length).toBeGreaterThan(40);

    await emptyEverything();
    await consume(batches);
    expect(await featureRows()).toEqual(reference.features);
    expect(await windowRows()).toEqual(reference.windows);

    // The nightly job sees every delivery in Bronze (its own dedup keeps the first).
    const { objects } = await snapshotState(aws);
    expect(linesUnder(objects, 'bronze/events/')).toHaveLength(records.length);

    // Spelled out for one repeated purchase: counted once, with its first content.
    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const events = base.map(valid);
    const user = events[0]!.userId;
    const mine = events.filter((e) => e.userId === user);
    const f = await table.userFeatures(user);
    expect(f?.counts.purchase).toBe(mine.filter((e) => e.type === 'purchase').length);
    expect(f?.recent.filter((r) => r.itemId === 'i-other')).toEqual([]);
    expect(await table.itemFeatures('i-other')).toBeUndefined();
    const { summary } = await dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!).realtime(60 * 60_000, now);
    expect(summary.events).toBe(events.length);
    expect(summary.purchases).toBe(events.filter((e) => e.type === 'purchase').length);
    expect(summary.revenue).toBeCloseTo(events.reduce((s, e) => s + (e.type === 'purchase' ? e.price * e.quantity : 0), 0), 2);
  });

  it('counts one purchase posted 300 times once, in user and item features, the recent history and the revenue', async () => {
    const at = new Date(now - 5 * 60_000).toISOString();
    const purchase = { eventId: 'p-1', type: 'purchase', userId: 'u-buyer', itemId: 'i-book', price: 12.5, quantity: 2, timestamp: at };
    const copies = Array.from({ length: 300 }, () => purchase);
    // A later record with the same eventId and other content is ignored too.
    await aws.putRecords([...copies, { ...purchase, itemId: 'i-car', price: 40_000, quantity: 1 }, { eventId: 'v-1', type: 'view', userId: 'u-buyer', itemId: 'i-pen', timestamp: at }]);
    const batches = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 50);
    expect(batches.length).toBeGreaterThan(5);
    await consume(batches);

    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const user = await table.userFeatures('u-buyer');
    expect(user).toMatchObject({ counts: { purchase: 1, view: 1 }, spend: 25 });
    expect(user?.recent.map((r) => r.itemId)).toEqual(expect.arrayContaining(['i-book', 'i-pen']));
    expect(user?.recent).toHaveLength(2);
    expect(await table.itemFeatures('i-book')).toMatchObject({ counts: { purchase: 1 }, unitsSold: 2, revenue: 25 });
    expect(await table.itemFeatures('i-car')).toBeUndefined();
    const { summary } = await dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!).realtime(60 * 60_000, now);
    expect(summary).toMatchObject({ purchases: 1, views: 1, revenue: 25 });
  });

  it('reports the repeats as duplicates, and a redelivery as already applied', async () => {
    const at = new Date(now - 5 * 60_000).toISOString();
    const e = { eventId: 'c-1', type: 'click', userId: 'u-2', itemId: 'i-2', timestamp: at };
    await aws.putRecords([e, e, e, { ...e, eventId: 'c-2' }]);
    const [batch] = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 100);
    const deps = { lake: new S3Lake(aws.s3, aws.names.lakeBucket), table: new DynamoFeatureTable(aws.ddb, aws.names.featuresTable) };
    const first = await ingestBatch(batch!.Records.map(toStreamRecord), deps);
    expect(first.stats).toMatchObject({ records: 4, valid: 4, duplicates: 2, alreadyApplied: 0, ledgerRowsWritten: expect.any(Number) });
    expect(first.failures.size).toBe(0);
    const again = await ingestBatch(batch!.Records.map(toStreamRecord), deps);
    expect(again.stats).toMatchObject({ duplicates: 0, alreadyApplied: 4, featureRowsWritten: 0, ledgerRowsWritten: 0 });
  });

  it('decides the same after a partial failure in which the ledger row was written and a feature row was not', async () => {
    const { records } = streamWithRepeats();
    await aws.putRecords(records);
    const batches = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 100);

    // The stream without its repeats, and the clean run of exactly these batches (ledger rows included).
    await consume(firstDeliveriesOnly(batches));
    const reference = { features: await featureRows(), windows: await windowRows() };
    await emptyEverything();
    await consume(batches);
    const clean = { features: await scan(aws.names.featuresTable), analytics: await scan(aws.names.analyticsTable!) };
    await emptyEverything();

    // Requests of feature (or window) rows only fail with a 5xx through every retry on each batch's first
    // delivery; requests holding ledger rows go through, so the retry (from the lowest failed record) finds
    // its batch's ledger already written while some of its feature rows are not.
    type Key = { S?: string } | string;
    const str = (k: Key) => (typeof k === 'string' ? k : k.S ?? '');
    let failing = true;
    let featureRequestsFailed = 0;
    let ledgerRequestsWritten = 0;
    const withOutage = () => {
      const ddb = createDynamoDocumentClient();
      ddb.middlewareStack.add(
        (next, context) => async (args) => {
          if (/^BatchWrite(Item)?Command$/.test(context.commandName ?? '')) {
            const req = (args.input as { RequestItems: Record<string, { PutRequest: { Item: { pk: Key } } }[]> }).RequestItems;
            const pks = Object.values(req)[0]!.map((r) => str(r.PutRequest.Item.pk));
            if (pks.some((pk) => pk.startsWith('CTL#ledger#'))) ledgerRequestsWritten += failing ? 1 : 0;
            else if (failing && !pks.some((pk) => pk.startsWith('CTL#'))) {
              featureRequestsFailed += 1;
              throw Object.assign(new Error('internal error (injected)'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
            }
          }
          return next(args);
        },
        { step: 'initialize', name: 'injectOutage' },
      );
      return ddb;
    };
    resetConsumer({ lake: new S3Lake(createS3Client(), aws.names.lakeBucket), table: new DynamoFeatureTable(withOutage(), aws.names.featuresTable, { backoffMs: 1 }) });
    resetAnalyticsConsumer(new DynamoRowStore<AnalyticsTableRow>(withOutage(), aws.names.analyticsTable!, { backoffMs: 1 }));
    let partial = 0;
    for (const batch of batches) {
      failing = true;
      const first = await handler(batch, lambdaContext('consumer')).catch(() => undefined);
      const firstAnalytics = await analyticsHandler(batch, lambdaContext('analytics-consumer')).catch(() => undefined);
      if ((first?.batchItemFailures.length ?? 0) > 0 || (firstAnalytics?.batchItemFailures.length ?? 0) > 0) partial += 1;
      failing = false;
      expect((await deliverUntilDone(handler, batch)).at(-1)).toEqual([]);
      expect((await deliverUntilDone(analyticsHandler, batch)).at(-1)).toEqual([]);
    }
    expect(featureRequestsFailed).toBeGreaterThan(0);
    expect(ledgerRequestsWritten).toBeGreaterThan(0);
    expect(partial).toBeGreaterThan(0);

    const strip = (rows: Record<string, unknown>[]) => rows.map((r) => (r.entity === 'lake' ? { ...r, expiresAt: 0 } : r));
    expect(strip(await scan(aws.names.featuresTable))).toEqual(strip(clean.features));
    expect(await scan(aws.names.analyticsTable!)).toEqual(clean.analytics);
    expect(await featureRows()).toEqual(reference.features);
    expect(await windowRows()).toEqual(reference.windows);
  });
});
