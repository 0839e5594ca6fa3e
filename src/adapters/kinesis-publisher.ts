import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { MAX_RECORDS_PER_PUT, type EventPublisher, type OutgoingRecord, type PublishResult } from '../serving/event-publisher';

export interface PutRecordsOptions {
  /** PutRecords calls at most; each retries only the records refused by the one before. Default 3. */
  attempts?: number;
  /** How long to wait before attempt `attempt` (2, 3, …). Default 50 ms doubling. */
  delayMs?: (attempt: number) => number;
  /**
   * When a call itself fails (rather than refusing some records), mark its records failed with the error and
   * retry them; otherwise the error is thrown at once.
   */
  retryFailedCalls?: boolean;
  /** Called before each retry with how many records it sends again. */
  onRetry?: (records: number) => void;
}

/**
 * Kinesis PutRecords of at most MAX_RECORDS_PER_PUT records, one result per record, in order. Records the
 * stream refuses (throttling, internal errors) are retried with backoff; what still fails after the last
 * attempt is reported per record, never silently dropped.
 */
export async function putRecords(
  kinesis: KinesisClient,
  streamName: string,
  records: readonly OutgoingRecord[],
  options: PutRecordsOptions = {},
): Promise<PublishResult[]> {
  if (records.length > MAX_RECORDS_PER_PUT) throw new Error(`at most ${MAX_RECORDS_PER_PUT} records per call (got ${records.length})`);
  const results: PublishResult[] = records.map(() => ({ ok: false, errorCode: 'NotAttempted', errorMessage: 'not sent' }));
  let pending = records.map((_, i) => i);
  const attempts = options.attempts ?? 3;
  const delayMs = options.delayMs ?? ((attempt: number) => 50 * 2 ** (attempt - 2));
  for (let attempt = 1; pending.length > 0 && attempt <= attempts; attempt++) {
    if (attempt > 1) {
      options.onRetry?.(pending.length);
      await new Promise((r) => setTimeout(r, delayMs(attempt)));
    }
    let out;
    try {
      out = await kinesis.send(
        new PutRecordsCommand({
          StreamName: streamName,
          Records: pending.map((i) => ({ PartitionKey: records[i]!.partitionKey, Data: records[i]!.data })),
        }),
      );
    } catch (err) {
      if (!options.retryFailedCalls) throw err;
      const e = err as { name?: string; message?: string };
      for (const i of pending) results[i] = { ok: false, errorCode: e.name ?? 'Error', errorMessage: e.message ?? String(err) };
      continue;
    }
    const next: number[] = [];
    (out.Records ?? []).forEach((r, j) => {
      const i = pending[j]!;
      if (r.ErrorCode || !r.SequenceNumber) {
        results[i] = { ok: false, errorCode: r.ErrorCode ?? 'Unknown', errorMessage: r.ErrorMessage ?? 'record was not put' };
        next.push(i);
      } else {
        results[i] = { ok: true, shardId: r.ShardId ?? '', sequenceNumber: r.SequenceNumber };
      }
    });
    pending = next;
  }
  return results;
}

/** The events API's publisher: PutRecords with retries, a failed call retried like refused records. */
export class KinesisEventPublisher implements EventPublisher {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly options: { attempts?: number; backoffMs?: number } = {},
  ) {}

  publish(records: readonly OutgoingRecord[]): Promise<PublishResult[]> {
    const backoffMs = this.options.backoffMs ?? 50;
    return putRecords(this.kinesis, this.streamName, records, {
      attempts: this.options.attempts ?? 3,
      delayMs: (attempt) => backoffMs * 2 ** (attempt - 2),
      retryFailedCalls: true,
    });
  }
}
