import type { KinesisStreamRecord } from 'aws-lambda';
import type { StreamRecord } from '../ingest/ingest-batch';

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
