import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createKinesisClient } from '../../src/adapters/aws-clients';
import { startEmulators, type RunningEmulators } from '../../src/local/emulators';
import { EventSourcePoller } from '../../src/local/event-source-poller';
import type { FailedBatchRecord } from '../../src/stream/dead-letters';
import { FAILURE_CAUSES } from '../../src/ingest/failure-summary';

let emu: RunningEmulators;
let kinesis: ReturnType<typeof createKinesisClient>;
let streamNo = 0;

beforeAll(async () => {
  emu = await startEmulators();
  Object.assign(process.env, emu.env);
  kinesis = createKinesisClient();
});
afterAll(async () => {
  kinesis?.destroy();
  await emu?.stop();
});

/** A fresh one-shard stream holding the records `0..n-1` (payload = the number). */
async function streamWith(n: number): Promise<string> {
  const name = `poller-${++streamNo}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: 1 }));
  while ((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }))).StreamDescriptionSummary?.StreamStatus !== 'ACTIVE') {
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < n; i += 500) {
    const Records = Array.from({ length: Math.min(500, n - i) }, (_, j) => ({ Data: Buffer.from(String(i + j)), PartitionKey: 'p' }));
    await kinesis.send(new PutRecordsCommand({ StreamName: name, Records }));
  }
  return name;
}

const payload = (e: KinesisStreamEvent) => e.Records.map((r) => Number(Buffer.from(r.kinesis.data, 'base64').toString()));

describe('local event source mapping', () => {
  it('delivers every record once, in order, in batches of at most batchSize', async () => {
    const stream = await streamWith(250);
    const seen: number[][] = [];
    const poller = new EventSourcePoller({ kinesis, stream, batchSize: 100, handler: async (e) => void seen.push(payload(e)) });
    const stats = await poller.drain();
    expect(seen.flat()).toEqual(Array.from({ length: 250 }, (_, i) => i));
    expect(Math.max(...seen.map((b) => b.length))).toBeLessThanOrEqual(100);
    expect(stats.recordsSucceeded).toBe(250);
  });

  it('re-delivers from the lowest failed record after a partial batch failure', async () => {
    const stream = await streamWith(10);
    const deliveries: number[][] = [];
    let failOnce = true;
    const poller = new EventSourcePoller({
      kinesis,
      stream,
      batchSize: 10,
      handler: async (e) => {
        deliveries.push(payload(e));
        if (!failOnce) return { batchItemFailures: [] };
        failOnce = false;
        const r4 = e.Records[4]!;
        const r7 = e.Records[7]!;
        return { batchItemFailures: [{ itemIdentifier: r7.kinesis.sequenceNumber }, { itemIdentifier: r4.kinesis.sequenceNumber }] };
      },
    });
    const stats = await poller.drain();
    expect(deliveries).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [4, 5, 6, 7, 8, 9],
    ]);
    expect(stats.retries).toBe(1);
  });

  it('bisects a batch whose function errors until the poison record is isolated, then sends it to the DLQ', async () => {
    const stream = await streamWith(8);
    const failed: FailedBatchRecord[] = [];
    const delivered = new Set<number>();
    const poller = new EventSourcePoller({
      kinesis,
      stream,
      batchSize: 8,
      maxRetries: 5,
      onFailure: (f) => void failed.push(f),
      handler: async (e) => {
        const values = payload(e);
        if (values.includes(5)) throw new Error('poison record 5');
        values.forEach((v) => delivered.add(v));
      },
    });
    const stats = await poller.drain();
    expect([...delivered].sort()).toEqual([0, 1, 2, 3, 4, 6, 7]);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ reason: 'RetryAttemptsExhausted', batchSize: 1, error: 'poison record 5' });
    expect(stats.bisects).toBeGreaterThan(0);
    expect(stats.sentToDlq).toBe(1);
  });

  it('resumes after its checkpoint instead of starting over', async () => {
    const stream = await streamWith(30);
    const checkpoints: Record<string, string> = {};
    const first = new EventSourcePoller({ kinesis, stream, batchSize: 10, handler: async () => undefined, onCheckpoint: (s, q) => void (checkpoints[s] = q) });
    await first.drain();
    await kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ Data: Buffer.from('30'), PartitionKey: 'p' }] }));
    const seen: number[] = [];
    const second = new EventSourcePoller({ kinesis, stream, batchSize: 10, checkpoints, handler: async (e) => void seen.push(...payload(e)) });
    await second.drain();
    expect(seen).toEqual([30]);
  });

  it('writes the causes a handler names beside its partial response into the dead letter', async () => {
    const stream = await streamWith(4);
    const failed: FailedBatchRecord[] = [];
    const poller = new EventSourcePoller({
      kinesis,
      stream,
      batchSize: 4,
      maxRetries: 2,
      onFailure: (f) => void failed.push(f),
      handler: async (e) => {
        const last = e.Records.at(-1)!;
        const res = { batchItemFailures: [{ itemIdentifier: last.kinesis.sequenceNumber }] };
        return Object.assign(res, { [FAILURE_CAUSES]: `1 of ${e.Records.length} records failed: feature row write failed: InternalServerError: boom (record ${last.kinesis.sequenceNumber})` });
      },
    });
    await poller.drain();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toMatch(/^1 of 1 records failed: feature row write failed: InternalServerError: boom \(record \d+\)$/);
    // Lambda never sees it: the response as JSON is the standard partial batch response.
    expect(JSON.stringify(Object.assign({ batchItemFailures: [] }, { [FAILURE_CAUSES]: 'x' }))).toBe('{"batchItemFailures":[]}');
  });
});
