import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { impressionStatePk } from '../analytics/implicit-attribution';
import { userPk } from '../stream/ports';
import { chunk, isRetryable, sleep, BATCH_WRITE_LIMIT } from './dynamo-batch-write';
import { queryAll } from './dynamo-query';

/** Rows removed per table. */
export interface RemovedRows {
  features: number;
  analytics: number;
}

/** Removes every DynamoDB row that is keyed by a user: the port the admin route and the nightly step use. */
export interface UserRowEraser {
  eraseUser(userId: string): Promise<RemovedRows>;
}

/**
 * The per-user rows of the two tables, each under one partition key so one Query finds them all:
 * - feature table `U#<userId>`: the real-time rows (`RT#<shard>`, one per shard that saw the user) and the nightly
 *   exact row (`EXACT`);
 * - analytics table `IMP#<userId>`: the implicit attribution state, one row per shard (`sk = <shardId>`).
 * The analytics windows' HyperLogLog registers (active users, purchasers) hold a hash of the id folded into 6-bit
 * maxima: they cannot be un-counted, hold no id, and expire with their window (RETENTION_SECONDS).
 * Deleting a row that is gone is not an error, so a repeat removes nothing and succeeds.
 */
export class DynamoUserRowEraser implements UserRowEraser {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly tables: { features?: string | undefined; analytics?: string | undefined },
    private readonly options: { maxAttempts?: number; backoffMs?: number } = {},
  ) {}

  async eraseUser(userId: string): Promise<RemovedRows> {
    const features = this.tables.features ? await this.erasePartition(this.tables.features, userPk(userId)) : 0;
    const analytics = this.tables.analytics ? await this.erasePartition(this.tables.analytics, impressionStatePk(userId)) : 0;
    return { features, analytics };
  }

  private async erasePartition(table: string, pk: string): Promise<number> {
    const keys: { pk: string; sk: string }[] = [];
    // Strongly consistent: a row written just before the request is found too.
    for await (const item of queryAll(this.ddb, { TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk }, ProjectionExpression: '#pk, #sk', ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' }, ConsistentRead: true })) {
      keys.push({ pk: String(item.pk), sk: String(item.sk) });
    }
    for (const batch of chunk(keys, BATCH_WRITE_LIMIT)) await this.deleteBatch(table, batch);
    return keys.length;
  }

  private async deleteBatch(table: string, keys: { pk: string; sk: string }[]): Promise<void> {
    const maxAttempts = this.options.maxAttempts ?? 8;
    const backoffMs = this.options.backoffMs ?? 50;
    let pending = keys.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      try {
        const res = await this.ddb.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (res.UnprocessedItems?.[table] ?? []) as typeof pending;
      } catch (err) {
        if (!isRetryable(err) || attempt >= maxAttempts) throw err;
      }
      if (pending.length === 0) break;
      if (attempt >= maxAttempts) throw new Error(`${pending.length} rows of ${table} were still unprocessed after ${maxAttempts} attempts`);
      await sleep(backoffMs * 2 ** (attempt - 1));
    }
  }
}
