import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler, resetConsumer } from '../../lambdas/consumer/index';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { S3Lake } from '../../src/adapters/s3-lake';
import { generateEvents } from '../../src/domain/event-generator';
import { EventSourcePoller } from '../../src/local/event-source-poller';
import { startTestAws, type TestAws } from '../support/aws-env';
import { linesUnder, snapshotState } from '../support/snapshot';
import { emptyLakeAndTable, flaky } from '../support/faults';

let aws: TestAws;
const events = [...generateEvents({ users: 150, items: 250, events: 1500, seed: 77 })];

beforeAll(async () => {
  aws = await startTestAws();
  await aws.putRecords(events);
});
afterAll(async () => {
  resetConsumer();
  await aws?.stop();
});

/** Feature rows only (the lake watermark rows depend on how batches were split, not on the data). */
/** User and item rows (lake watermarks and event-ledger rows are bookkeeping that depends on how batches were split). */
const featureRows = (rows: Record<string, unknown>[]) => rows.filter((r) => r.entity === 'user' || r.entity === 'item');

async function consumeWithPoller(): Promise<EventSourcePoller['stats']> {
  const poller = new EventSourcePoller({ kinesis: aws.kinesis, stream: aws.names.eventsStream, handler, batchSize: 200, maxRetries: 30, idleMs: 10 });
  return poller.drain();
}

describe('ingestion under S3 and DynamoDB faults', () => {
  it('ends with every event in Bronze exactly once and features equal to a clean run', async () => {
    resetConsumer();
    const cleanStats = await consumeWithPoller();
    expect(cleanStats.sentToDlq).toBe(0);
    const clean = await snapshotState(aws);

    await emptyLakeAndTable(aws);
    const s3 = flaky(createS3Client(), /^PutObjectCommand$/, 0.3, 1);
    const ddb = flaky(createDynamoDocumentClient(), /^BatchWrite(Item)?Command$/, 0.25, 2);
    resetConsumer({ lake: new S3Lake(s3.client, aws.names.lakeBucket), table: new DynamoFeatureTable(ddb.client, aws.names.featuresTable, { backoffMs: 1 }) });
    const stats = await consumeWithPoller();
    const faulty = await snapshotState(aws);

    // The faults were real: requests failed, batches were retried or bisected, and still nothing was lost.
    expect(s3.injected() + ddb.injected()).toBeGreaterThan(5);
    expect(stats.retries + stats.bisects).toBeGreaterThan(0);
    expect(stats.sentToDlq).toBe(0);

    const ids = linesUnder(faulty.objects, 'bronze/events/').map((l) => l.eventId as string);
    expect(ids).toHaveLength(events.length);
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.eventId)));
    expect(featureRows(faulty.rows)).toEqual(featureRows(clean.rows));
  });
});
