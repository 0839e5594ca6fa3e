import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record as KinesisRecord,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';

/** Builds the record Lambda's Kinesis event source mapping hands to a function. */
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

export function streamArnFor(stream: string, region = process.env.AWS_REGION ?? 'us-east-1'): string {
  return `arn:aws:kinesis:${region}:000000000000:stream/${stream}`;
}

export async function listShardIds(kinesis: KinesisClient, stream: string): Promise<string[]> {
  const out = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  return (out.Shards ?? []).map((s) => s.ShardId!).sort();
}

/**
 * Reads everything currently in a stream, shard by shard from TRIM_HORIZON, as Lambda Kinesis events
 * of at most `batchSize` records (each event holds records of one shard, as the event source mapping does).
 */
export async function readStreamAsLambdaEvents(
  kinesis: KinesisClient,
  stream: string,
  batchSize = 100,
): Promise<KinesisStreamEvent[]> {
  const arn = streamArnFor(stream);
  const events: KinesisStreamEvent[] = [];
  for (const shardId of await listShardIds(kinesis, stream)) {
    let iterator = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }))
    ).ShardIterator;
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize }));
      const records = page.Records ?? [];
      if (records.length > 0) events.push({ Records: records.map((r) => toLambdaKinesisRecord(r, shardId, arn)) });
      // Only an empty page means the end: kinesalite reports MillisBehindLatest 0 even with records left.
      iterator = records.length === 0 ? undefined : page.NextShardIterator;
    }
  }
  return events;
}
