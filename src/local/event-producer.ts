import { PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from '@aws-sdk/client-kinesis';
import type { UserEventInput } from '../domain/events';

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
  let batch: PutRecordsRequestEntry[] = [];

  const flush = async () => {
    let pending = batch;
    batch = [];
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await options.kinesis.send(new PutRecordsCommand({ StreamName: options.stream, Records: pending }));
      const failed = (out.Records ?? []).map((r, i) => (r.ErrorCode ? pending[i]! : undefined)).filter((r): r is PutRecordsRequestEntry => !!r);
      sent += pending.length - failed.length;
      if (failed.length && attempt >= MAX_ATTEMPTS) throw new Error(`${failed.length} records still refused by Kinesis after ${MAX_ATTEMPTS} attempts`);
      if (failed.length) {
        retried += failed.length;
        await sleep(50 * 2 ** attempt);
      }
      pending = failed;
    }
    options.onProgress?.(sent);
    if (options.ratePerSecond) {
      const due = (sent / options.ratePerSecond) * 1000 - (performance.now() - started);
      if (due > 0) await sleep(due);
    }
  };

  for (const event of events) {
    if (options.signal?.aborted) break;
    batch.push({ Data: Buffer.from(JSON.stringify(event)), PartitionKey: String(event.userId) });
    // Under a slow rate, send small batches so events trickle in rather than arrive in bursts.
    const limit = options.ratePerSecond ? Math.max(1, Math.min(size, Math.floor(options.ratePerSecond / 4))) : size;
    if (batch.length >= limit) await flush();
  }
  if (batch.length > 0 && !options.signal?.aborted) await flush();
  return { sent, retried };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
