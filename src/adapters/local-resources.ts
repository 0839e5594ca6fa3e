import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface ResourceNames {
  lakeBucket: string;
  featuresTable: string;
  eventsStream: string;
  eventsStreamShards: number;
  /** The analytics consumer's window table (same `pk`/`sk` keys), when analytics runs. */
  analyticsTable?: string;
}

/**
 * Creates what the CDK stacks define (bucket, feature table with the same keys, stream with the same shard
 * count) on an emulator or LocalStack. Idempotent: existing resources are left as they are.
 */
export async function ensureResources(
  clients: { s3: S3Client; ddb: DynamoDBDocumentClient; kinesis: KinesisClient },
  names: ResourceNames,
): Promise<void> {
  await Promise.all([
    ensureBucket(clients.s3, names.lakeBucket),
    ensureFeatureTable(clients.ddb, names.featuresTable),
    ...(names.analyticsTable ? [ensureFeatureTable(clients.ddb, names.analyticsTable)] : []),
    ensureStream(clients.kinesis, names.eventsStream, names.eventsStreamShards),
  ]);
}

async function ensureBucket(s3: S3Client, bucket: string) {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}

/** Same key schema as the CDK tables (features, analytics): `pk` (hash) + `sk` (range), strings, on demand. */
export async function ensureFeatureTable(ddb: DynamoDBDocumentClient, table: string) {
  try {
    await ddb.send(new DescribeTableCommand({ TableName: table }));
  } catch {
    await ddb.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      }),
    );
  }
  for (let i = 0; i < 100; i++) {
    const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
    if (d.Table?.TableStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`table ${table} did not become ACTIVE`);
}

async function ensureStream(kinesis: KinesisClient, stream: string, shards: number) {
  try {
    await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
  } catch {
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  }
  for (let i = 0; i < 100; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`stream ${stream} did not become ACTIVE`);
}
