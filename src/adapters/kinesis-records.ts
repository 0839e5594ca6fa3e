import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from '../stream/stream-record';
import type { KinesisRecord } from './kinesis-shards';
import { BatchFailedError, FAILURE_CAUSES, summarizeFailures } from '../ingest/failure-summary';

/** The Lambda Kinesis record as the consumers' batch logic sees it. `eventID` is `<shardId>:<sequenceNumber>`. */
export function toStreamRecord(record: KinesisStreamRecord): StreamRecord {
  const shardId = record.eventID.slice(0, record.eventID.lastIndexOf(':')) || 'shardId-unknown';
  return {
    shardId,
    sequenceNumber: record.kinesis.sequenceNumber,
    arrivalMs: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
    data: Buffer.from(record.kinesis.data, 'base64'),
  };
}

/** Builds the record Lambda's Kinesis event source mapping hands to a function (the local pollers and dead-letter replays). */
export function toLambdaKinesisRecord(
  record: KinesisRecord,
  shardId: string,
  streamArn: string,
  region = process.env.AWS_REGION ?? 'us-east-1',
): KinesisStreamRecord {
  return {
    eventSource: 'aws:kinesis',
    eventVersion: '1.0',
    eventID: `${shardId}:${record.SequenceNumber}`,
    eventName: 'aws:kinesis:record',
    invokeIdentityArn: 'arn:aws:iam::000000000000:role/local-consumer',
    awsRegion: region,
    eventSourceARN: streamArn,
    kinesis: {
      kinesisSchemaVersion: '1.0',
      partitionKey: record.PartitionKey ?? '',
      sequenceNumber: record.SequenceNumber ?? '0',
      data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
      approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
    },
  };
}

/** The ARN of a stream of the local account (emulators, and replays whose letter names no ARN). */
export function streamArnFor(stream: string, region = process.env.AWS_REGION ?? 'us-east-1'): string {
  return `arn:aws:kinesis:${region}:000000000000:stream/${stream}`;
}

export type ConsumerResponse = KinesisStreamBatchResponse & { [FAILURE_CAUSES]?: string };

/**
 * The partial batch response (`ReportBatchItemFailures`) for a consumer's per-record outcome. When every
 * record failed the invocation fails instead, so the event source mapping bisects the batch, with an error
 * that names each distinct cause and the records it hit (rather than a bare "All records failed"). A
 * partial response carries the same summary under a symbol key, which JSON never shows.
 */
export function respond(event: KinesisStreamEvent, failures: ReadonlyMap<string, string>, _context?: Context): ConsumerResponse {
  const records = event.Records;
  const failed = records.filter((r) => failures.has(r.kinesis.sequenceNumber));
  const mine = new Map(failed.map((r) => [r.kinesis.sequenceNumber, failures.get(r.kinesis.sequenceNumber)!]));
  if (records.length > 0 && failed.length === records.length) throw new BatchFailedError(summarizeFailures(mine, records.length));
  const response: ConsumerResponse = { batchItemFailures: failed.map((r) => ({ itemIdentifier: r.kinesis.sequenceNumber })) };
  if (failed.length > 0) response[FAILURE_CAUSES] = summarizeFailures(mine, records.length);
  return response;
}

/** What a consumer's batch logic answers: per-record retries and set-asides (sequence number → why). */
export interface ConsumerOutcome {
  failures: ReadonlyMap<string, string>;
  setAside: ReadonlyMap<string, string>;
}

/** What one batch reports: counts published as metrics (one EMF metric each), and its summary log line. */
export interface BatchReport {
  counts: Record<string, number>;
  summary: string;
  details: object;
}

/**
 * One invocation of a Kinesis consumer, shared by both: the Lambda records as `StreamRecord`s (a
 * dead-letter replay marked by `replay: true`), the batch logic, its report (metrics and one summary line),
 * the set-aside and retried records logged (the first 20 of each), and the partial batch response (see
 * `respond`).
 */
export async function consumeKinesisBatch<O extends ConsumerOutcome>(
  event: KinesisStreamEvent & { replay?: boolean },
  observe: { logger: Pick<Logger, 'info' | 'warn'>; metrics: Pick<Metrics, 'addMetric'> },
  batch: (records: StreamRecord[], replay: boolean) => Promise<O>,
  report: (outcome: O) => BatchReport,
  setAsideMeans: string,
): Promise<ConsumerResponse> {
  const { logger, metrics } = observe;
  const replay = event.replay === true;
  if (replay) logger.info('dead-letter replay', { records: event.Records.length });
  const outcome = await batch(event.Records.map(toStreamRecord), replay);
  const { counts, summary, details } = report(outcome);
  for (const [name, value] of Object.entries(counts)) metrics.addMetric(name, MetricUnit.Count, value);
  logger.info(summary, { ...details, failed: outcome.failures.size });
  if (outcome.setAside.size > 0) logger.warn(`records set aside: ${setAsideMeans}`, { setAside: Object.fromEntries([...outcome.setAside].slice(0, 20)) });
  if (outcome.failures.size > 0) logger.warn('records will be retried', { failures: Object.fromEntries([...outcome.failures].slice(0, 20)) });
  return respond(event, outcome.failures);
}
