import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { KinesisClient } from '../adapters/aws-clients';
import { streamArnFor, toLambdaKinesisRecord } from '../adapters/kinesis-records';
import { listShardIds, readRecordsPage, shardIterator } from '../adapters/kinesis-shards';
import { lowestSequenceNumber } from '../domain/lake-layout';
import { FAILURE_CAUSES } from '../ingest/failure-summary';
import type { FailedBatchRecord } from '../stream/dead-letters';
import { localLambdaContext } from './lambda-context';

export type KinesisHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse | void>;

export interface PollerOptions {
  kinesis: KinesisClient;
  stream: string;
  handler: KinesisHandler;
  functionName?: string;
  batchSize?: number;
  /** Retries of a failing batch (or piece of one) before it goes to `onFailure`, as `MaximumRetryAttempts`. */
  maxRetries?: number;
  /** Split a batch in two when the function errors, as `BisectBatchOnFunctionError`. */
  bisectOnError?: boolean;
  /** Wait between polls of an empty shard. */
  idleMs?: number;
  /** Where the batch goes when retries are exhausted (Lambda's on-failure destination). */
  onFailure?: (failed: FailedBatchRecord) => void | Promise<void>;
  /** Last processed sequence number per shard, to resume after it (e.g. from `.local/`). */
  checkpoints?: Record<string, string>;
  onCheckpoint?: (shardId: string, sequenceNumber: string) => void | Promise<void>;
  onBatch?: (info: { shardId: string; records: number; failed: number; attempt: number }) => void;
}

export interface PollerStats {
  invocations: number;
  recordsDelivered: number;
  recordsSucceeded: number;
  retries: number;
  bisects: number;
  sentToDlq: number;
}



/**
 * Plays Lambda's Kinesis event source mapping on this machine: one poller per shard, batches of records
 * handed to the handler as real `KinesisStreamEvent`s, partial batch responses honoured (retry from the
 * lowest failed record), function errors bisected, retries bounded, exhausted batches sent to `onFailure`.
 */
export class EventSourcePoller {
  readonly stats: PollerStats = { invocations: 0, recordsDelivered: 0, recordsSucceeded: 0, retries: 0, bisects: 0, sentToDlq: 0 };
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly checkpoints: Record<string, string>;

  constructor(private readonly options: PollerOptions) {
    this.checkpoints = { ...options.checkpoints };
  }

  /** Starts polling every shard; returns at once. */
  async start(): Promise<void> {
    this.running = true;
    const shards = await listShardIds(this.options.kinesis, this.options.stream);
    this.loops = shards.map((shardId) => this.pollShard(shardId));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.loops);
  }

  /** Processes everything currently in the stream, then returns (for scripts and tests). */
  async drain(): Promise<PollerStats> {
    const shards = await listShardIds(this.options.kinesis, this.options.stream);
    this.running = true;
    await Promise.all(shards.map((shardId) => this.pollShard(shardId, true)));
    this.running = false;
    return this.stats;
  }

  private async iterator(shardId: string): Promise<string | undefined> {
    const after = this.checkpoints[shardId];
    return shardIterator(this.options.kinesis, { streamName: this.options.stream }, shardId, after ? { type: 'AFTER_SEQUENCE_NUMBER', sequenceNumber: after } : { type: 'TRIM_HORIZON' });
  }

  private async pollShard(shardId: string, untilCaughtUp = false): Promise<void> {
    const arn = streamArnFor(this.options.stream);
    let iterator = await this.iterator(shardId);
    while (this.running && iterator) {
      const page = await readRecordsPage(this.options.kinesis, iterator, this.options.batchSize ?? 100);
      iterator = page.nextIterator;
      const records = page.records.map((r) => toLambdaKinesisRecord(r, shardId, arn));
      if (records.length > 0) {
        await this.deliver(shardId, records);
        const last = records[records.length - 1]!.kinesis.sequenceNumber;
        this.checkpoints[shardId] = last;
        await this.options.onCheckpoint?.(shardId, last);
      }
      // Only an empty page means caught up: kinesalite reports MillisBehindLatest 0 even with records left.
      if (records.length === 0) {
        if (untilCaughtUp) return;
        await new Promise((r) => setTimeout(r, this.options.idleMs ?? 250));
      }
    }
  }

  /** Delivers one batch until it succeeds or its retries are exhausted, bisecting on function errors. */
  private async deliver(shardId: string, batch: KinesisStreamRecord[], attempt = 0): Promise<void> {
    const maxRetries = this.options.maxRetries ?? 10;
    let records = batch;
    for (let tries = attempt; records.length > 0; tries++) {
      this.stats.invocations += 1;
      this.stats.recordsDelivered += records.length;
      let failedIds: string[];
      let error = '';
      try {
        const res = await this.options.handler({ Records: records }, localLambdaContext(this.options.functionName ?? 'consumer', { timeoutMs: 120_000 }));
        failedIds = (res?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
        // The consumers name their failed records' causes beside the partial response (never sent to Lambda).
        const causes = (res as { [FAILURE_CAUSES]?: unknown } | undefined)?.[FAILURE_CAUSES];
        if (failedIds.length > 0 && typeof causes === 'string') error = causes;
      } catch (err) {
        error = describeError(err);
        if ((this.options.bisectOnError ?? true) && records.length > 1 && tries < maxRetries) {
          this.stats.bisects += 1;
          const half = Math.ceil(records.length / 2);
          await this.deliver(shardId, records.slice(0, half), tries + 1);
          await this.deliver(shardId, records.slice(half), tries + 1);
          return;
        }
        failedIds = records.map((r) => r.kinesis.sequenceNumber);
      }
      this.options.onBatch?.({ shardId, records: records.length, failed: failedIds.length, attempt: tries });
      if (failedIds.length === 0) {
        this.stats.recordsSucceeded += records.length;
        return;
      }
      const from = BigInt(lowestSequenceNumber(failedIds));
      const succeeded = records.filter((r) => BigInt(r.kinesis.sequenceNumber) < from);
      this.stats.recordsSucceeded += succeeded.length;
      records = records.filter((r) => BigInt(r.kinesis.sequenceNumber) >= from);
      if (tries >= maxRetries) {
        this.stats.sentToDlq += records.length;
        await this.options.onFailure?.({
          reason: 'RetryAttemptsExhausted',
          functionName: this.options.functionName,
          shardId,
          startSequenceNumber: records[0]!.kinesis.sequenceNumber,
          endSequenceNumber: records[records.length - 1]!.kinesis.sequenceNumber,
          batchSize: records.length,
          error: error || `${failedIds.length} records reported as failed`,
          at: new Date().toISOString(),
        });
        return;
      }
      this.stats.retries += 1;
    }
  }
}

/** A thrown error as a dead letter records it: its name when it says something, its message, and its cause. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const name = err.name && err.name !== 'Error' ? `${err.name}: ` : '';
  const cause = err.cause instanceof Error ? ` (cause: ${err.cause.message})` : '';
  return `${name}${err.message}${cause}`.slice(0, 4000);
}
