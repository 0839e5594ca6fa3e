import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface OutgoingRecord {
  partitionKey: string;
  data: Uint8Array;
}

export type PublishResult = { ok: true; shardId: string; sequenceNumber: string } | { ok: false; errorCode: string; errorMessage: string };

/** Where accepted events go; one result per record, in order. */
export interface EventPublisher {
  publish(records: readonly OutgoingRecord[]): Promise<PublishResult[]>;
}

export const MAX_RECORDS_PER_PUT = 500;

/**
 * Kinesis PutRecords. Records the stream refuses (throttling, internal errors) are retried with backoff;
 * what still fails after the last attempt is reported per record, never silently dropped.
 */
export class KinesisEventPublisher implements EventPublisher {
  constructor(
    private readonly kinesis: KinesisClient,
    private readonly streamName: string,
    private readonly options: { attempts?: number; backoffMs?: number } = {},
  ) {}

  async publish(records: readonly OutgoingRecord[]): Promise<PublishResult[]> {
    if (records.length > MAX_RECORDS_PER_PUT) throw new Error(`at most ${MAX_RECORDS_PER_PUT} records per call (got ${records.length})`);
    const results: PublishResult[] = records.map(() => ({ ok: false, errorCode: 'NotAttempted', errorMessage: 'not sent' }));
    let pending = records.map((_, i) => i);
    const attempts = this.options.attempts ?? 3;
    for (let attempt = 1; pending.length > 0 && attempt <= attempts; attempt++) {
      if (attempt > 1) await new Promise((r) => setTimeout(r, (this.options.backoffMs ?? 50) * 2 ** (attempt - 2)));
      let out;
      try {
        out = await this.kinesis.send(
          new PutRecordsCommand({
            StreamName: this.streamName,
            Records: pending.map((i) => ({ PartitionKey: records[i]!.partitionKey, Data: records[i]!.data })),
          }),
        );
      } catch (err) {
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
}
