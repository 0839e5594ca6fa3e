import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ItemFeatures, UserFeatures } from '../domain/features';
import { mergeItemFeatures, mergeUserFeatures } from '../domain/features';
import { itemPk, userPk, type FeatureTable, type FeatureTableRow } from '../ingest/ports';
import { DynamoRowStore } from './dynamo-row-store';

/**
 * The DynamoDB feature table (`pk`, `sk`): batch row access for the consumer, plus reads that merge a
 * user's or an item's per-shard real-time rows.
 */
export class DynamoFeatureTable extends DynamoRowStore<FeatureTableRow> implements FeatureTable {
  /** A user's features across every shard row (speed layer), merged. */
  async userFeatures(userId: string): Promise<UserFeatures | undefined> {
    const rows = await this.realtimeRows(userPk(userId));
    return mergeUserFeatures(rows.map((r) => (r as { features: UserFeatures }).features));
  }

  /** An item's features across every shard row (speed layer), merged. */
  async itemFeatures(itemId: string): Promise<ItemFeatures | undefined> {
    const rows = await this.realtimeRows(itemPk(itemId));
    return mergeItemFeatures(rows.map((r) => (r as { features: ItemFeatures }).features));
  }

  private async realtimeRows(pk: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.ddb.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rt)',
          ExpressionAttributeValues: { ':pk': pk, ':rt': 'RT#' },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((res.Items ?? []) as Record<string, unknown>[]));
      start = res.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (start);
    return items;
  }
}
