import type { KinesisClient } from '../adapters/aws-clients';
import { putRecords } from '../adapters/kinesis-publisher';
import type { UserEventInput } from '../domain/events';
import type { OutgoingRecord } from '../serving/event-publisher';

export interface ProduceOptions {
  kinesis: KinesisClient;
  stream: string;
  /** Events per second at most; unlimited when absent or 0. */
  ratePerSecond?: number;
  /** Records per PutRecords request (1–500). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (sent: number) => void;
}

const MAX_ATTEMPTS = 8;

/**
 * Puts events on the stream with the user id as partition key (so one user's events stay in order on one
 * shard), at a bounded rate. Records Kinesis refuses (throttling) are retried with backoff, so none is lost.
 */
export async function produceEvents(events: Iterable<UserEventInput>, options: ProduceOptions): Promise<{ sent: number; retried: number }> {
  const size = Math.min(500, Math.max(1, options.batchSize ?? 500));
  const started = performance.now();
  let sent = 0;
  let retried = 0;
  let batch: OutgoingRecord[] = [];

  const flush = async () => {
    const pending = batch;
    batch = [];
    const results = await putRecords(options.kinesis, options.stream, pending, {
      attempts: MAX_ATTEMPTS,
      delayMs: (attempt) => 50 * 2 ** (attempt - 1),
      onRetry: (records) => (retried += records),
    });
    const failed = results.filter((r) => !r.ok).length;
    if (failed) throw new Error(`${failed} records still refused by Kinesis after ${MAX_ATTEMPTS} attempts`);
    sent += results.length;
    options.onProgress?.(sent);
    if (options.ratePerSecond) {
      const due = (sent / options.ratePerSecond) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
  };

  for (const event of events) {
    if (options.signal?.aborted) break;
    batch.push({ data: Buffer.from(JSON.stringify(event)), partitionKey: String(event.userId) });
    // Under a slow rate, send small batches so events trickle in rather than arrive in bursts.
    const limit = options.ratePerSecond ? Math.max(1, Math.min(size, Math.floor(options.ratePerSecond / 4))) : size;
    if (batch.length >= limit) await flush();
  }
  if (batch.length > 0 && !options.signal?.aborted) await flush();
  return { sent, retried };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
