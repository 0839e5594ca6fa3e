import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTableCommand, DescribeTableCommand, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CATALOG_UPDATE_INDEX } from './dynamo-catalog';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';

export interface ResourceNames {
  lakeBucket: string;
  featuresTable: string;
  eventsStream: string;
  eventsStreamShards: number;
  /** The analytics consumer's window table (same `pk`/`sk` keys), when analytics runs. */
  analyticsTable?: string;
  /** The live item catalogue (key `itemId`, GSI `byUpdate`), when the catalogue API runs. */
  catalogTable?: string;
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
    ...(names.catalogTable ? [ensureCatalogTable(clients.ddb, names.catalogTable)] : []),
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
  await ensureTable(ddb, {
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
  });
}

/**
 * The live item catalogue's table, as lib/item-catalogue.ts declares it (see src/adapters/dynamo-catalog.ts):
 * key `itemId` (S), on demand, and GSI `byUpdate` (hash `feed` S, range `updatedAt` N, projection ALL).
 */
export async function ensureCatalogTable(ddb: DynamoDBDocumentClient, table: string) {
  await ensureTable(ddb, {
    TableName: table,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: [{ AttributeName: 'itemId', KeyType: 'HASH' }],
    AttributeDefinitions: [
      { AttributeName: 'itemId', AttributeType: 'S' },
      { AttributeName: 'feed', AttributeType: 'S' },
      { AttributeName: 'updatedAt', AttributeType: 'N' },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: CATALOG_UPDATE_INDEX,
        KeySchema: [
          { AttributeName: 'feed', KeyType: 'HASH' },
          { AttributeName: 'updatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  });
}

/**
 * Creates the table unless it exists, then waits until it and its indexes are ACTIVE. A table still being
 * deleted (a test that just dropped it) is waited out and created again.
 */
async function ensureTable(ddb: DynamoDBDocumentClient, input: CreateTableCommandInput) {
  const table = input.TableName!;
  const withIndexes = (input.GlobalSecondaryIndexes?.length ?? 0) > 0;
  for (let i = 0; i < 200; i++) {
    let status: string | undefined;
    let indexesActive = true;
    try {
      const d = await ddb.send(new DescribeTableCommand({ TableName: table }));
      status = d.Table?.TableStatus;
      indexesActive = !withIndexes || (d.Table?.GlobalSecondaryIndexes ?? []).every((g) => g.IndexStatus === 'ACTIVE');
    } catch (err) {
      if ((err as { name?: string }).name !== 'ResourceNotFoundException') throw err;
      try {
        await ddb.send(new CreateTableCommand(input));
      } catch (createErr) {
        // Another caller created it first: wait for it like ours.
        if ((createErr as { name?: string }).name !== 'ResourceInUseException') throw createErr;
      }
      continue;
    }
    if (status === 'ACTIVE' && indexesActive) return;
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
