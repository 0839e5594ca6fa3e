import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';

/** A record as Kinesis GetRecords returns it. */
export type KinesisRecord = _Record;

/** A stream by name, or by ARN (a dead letter names its stream's ARN). */
export type StreamTarget = { streamName: string } | { streamArn: string };

/** Where a shard iterator starts. */
export type ShardPosition =
  | { type: 'TRIM_HORIZON' }
  | { type: 'AT_SEQUENCE_NUMBER' | 'AFTER_SEQUENCE_NUMBER'; sequenceNumber: string };

/** One GetRecords page. */
export interface RecordsPage {
  records: KinesisRecord[];
  nextIterator?: string;
  millisBehindLatest?: number;
}

/** The stream's shard ids, sorted. */
export async function listShardIds(kinesis: KinesisClient, stream: string): Promise<string[]> {
  const out = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
  return (out.Shards ?? []).map((s) => s.ShardId!).sort();
}

/** A shard iterator at `position`; SDK errors (e.g. `InvalidArgumentException` for a trimmed sequence number) are thrown as they are. */
export async function shardIterator(kinesis: KinesisClient, target: StreamTarget, shardId: string, position: ShardPosition): Promise<string | undefined> {
  const stream = 'streamArn' in target ? { StreamARN: target.streamArn } : { StreamName: target.streamName };
  const start = position.type === 'TRIM_HORIZON' ? {} : { StartingSequenceNumber: position.sequenceNumber };
  const out = await kinesis.send(new GetShardIteratorCommand({ ...stream, ShardId: shardId, ShardIteratorType: position.type, ...start }));
  return out.ShardIterator;
}

/** Up to `limit` records from `iterator`, and where the next page starts. */
export async function readRecordsPage(kinesis: KinesisClient, iterator: string, limit: number): Promise<RecordsPage> {
  const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }));
  return { records: page.Records ?? [], nextIterator: page.NextShardIterator, millisBehindLatest: page.MillisBehindLatest };
}
