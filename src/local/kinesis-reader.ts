import type { KinesisStreamEvent } from 'aws-lambda';
import type { KinesisClient } from '../adapters/aws-clients';
import { streamArnFor, toLambdaKinesisRecord } from '../adapters/kinesis-records';
import { listShardIds, readRecordsPage, shardIterator } from '../adapters/kinesis-shards';

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
    let iterator = await shardIterator(kinesis, { streamName: stream }, shardId, { type: 'TRIM_HORIZON' });
    while (iterator) {
      const page = await readRecordsPage(kinesis, iterator, batchSize);
      const records = page.records;
      if (records.length > 0) events.push({ Records: records.map((r) => toLambdaKinesisRecord(r, shardId, arn)) });
      // Only an empty page means the end: kinesalite reports MillisBehindLatest 0 even with records left.
      iterator = records.length === 0 ? undefined : page.nextIterator;
    }
  }
  return events;
}
