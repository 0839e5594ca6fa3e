import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createKinesisClient } from '../adapters/aws-clients';
import { describeError } from '../retraining/errors';
import { formatDeadLetterLine, type FailedBatchRecord } from '../stream/dead-letters';
import { EventSourcePoller, type KinesisHandler } from './event-source-poller';

export interface StreamConsumersOptions {
  /** Holds `checkpoints.json` (where each consumer resumes) and `dead-letters.jsonl` (the on-failure destination). */
  dataDir: string;
  stream: string;
  /** Also feed the analytics consumer. */
  analytics: boolean;
  log: (line: string) => void;
}

/** What the consumers have done so far, for the status page. */
export interface ConsumerCounts {
  consumed: number;
  analyticsConsumed: number;
  sentToDlq: number;
  retries: number;
}

type Consumer = 'consumer' | 'analytics';

/**
 * The stream's event source mappings on this machine: the consumer (and, with `analytics`, the analytics
 * consumer) handlers fed by their own pollers, resuming from the checkpoints in `dataDir`, with batches
 * that exhaust their retries appended to the dead-letter file there.
 */
export class StreamConsumers {
  private consumer?: EventSourcePoller;
  private analytics?: EventSourcePoller;
  private readonly pollers: EventSourcePoller[] = [];

  constructor(private readonly options: StreamConsumersOptions) {}

  /** Starts polling every shard for each consumer; returns at once. */
  async start(): Promise<void> {
    const consumer = await import('../../lambdas/consumer/index');
    consumer.resetConsumer();
    const checkpoints = await this.readCheckpoints();
    const kinesis = createKinesisClient();
    const poller = (which: Consumer, handler: KinesisHandler, functionName: string, maxRetries?: number) => {
      const p = new EventSourcePoller({
        kinesis,
        stream: this.options.stream,
        handler,
        functionName,
        batchSize: 1000,
        ...(maxRetries === undefined ? {} : { maxRetries }),
        idleMs: 200,
        checkpoints: checkpoints[which],
        onCheckpoint: (shard, seq) => {
          checkpoints[which][shard] = seq;
          this.persist(checkpoints);
        },
        onFailure: (f) => this.deadLetter(f),
      });
      this.pollers.push(p);
      return p;
    };
    this.consumer = poller('consumer', consumer.handler, 'consumer', 10);
    if (this.options.analytics) {
      const analytics = await import('../../lambdas/analytics-consumer/index');
      analytics.resetAnalyticsConsumer();
      this.analytics = poller('analytics', analytics.handler, 'analytics-consumer');
    }
    await Promise.all(this.pollers.map((p) => p.start()));
  }

  counts(): ConsumerCounts {
    return {
      consumed: this.consumer?.stats.recordsSucceeded ?? 0,
      analyticsConsumed: this.analytics?.stats.recordsSucceeded ?? 0,
      sentToDlq: (this.consumer?.stats.sentToDlq ?? 0) + (this.analytics?.stats.sentToDlq ?? 0),
      retries: this.consumer?.stats.retries ?? 0,
    };
  }

  /** Waits until each consumer has taken `expected` records (those produced by this run) off the stream. */
  async waitFor(expected: number, timeoutMs = 30 * 60_000): Promise<void> {
    const done = (p: EventSourcePoller | undefined) => !p || p.stats.recordsSucceeded + p.stats.sentToDlq >= expected;
    const deadline = Date.now() + timeoutMs;
    while (!(done(this.consumer) && done(this.analytics))) {
      if (Date.now() > deadline) throw new Error(`the consumers did not catch up with the stream within ${timeoutMs / 60_000} minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.pollers.map((p) => p.stop()));
  }

  private get checkpointsFile(): string {
    return join(this.options.dataDir, 'checkpoints.json');
  }

  private async readCheckpoints(): Promise<Record<Consumer, Record<string, string>>> {
    const file = this.checkpointsFile;
    const saved = existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as Partial<Record<Consumer, Record<string, string>>>) : {};
    return { consumer: saved.consumer ?? {}, analytics: saved.analytics ?? {} };
  }

  private persist(checkpoints: Record<Consumer, Record<string, string>>): void {
    const file = this.checkpointsFile;
    void writeFile(file, JSON.stringify(checkpoints)).catch((err: unknown) => this.options.log(`could not save checkpoints to ${file}: ${describeError(err)}`));
  }

  /** Lambda's on-failure destination: one line per exhausted batch in `dead-letters.jsonl`. */
  private async deadLetter(f: FailedBatchRecord): Promise<void> {
    const dlqFile = join(this.options.dataDir, 'dead-letters.jsonl');
    this.options.log(`DLQ: ${f.batchSize} records of ${f.shardId} from ${f.startSequenceNumber} (${f.error}) → ${dlqFile}`);
    try {
      await writeFile(dlqFile, formatDeadLetterLine(f), { flag: 'a' });
    } catch (err) {
      this.options.log(`could not append the dead letter to ${dlqFile}: ${describeError(err)}`);
      throw err;
    }
  }
}
