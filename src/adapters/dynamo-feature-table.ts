import type { ItemFeatures, UserFeatures } from '../domain/features';
import { mergeItemFeatures, mergeUserFeatures } from '../domain/features';
import { EXACT_SK, itemPk, rowId, userPk, type FeatureTable, type FeatureTableRow } from '../stream/ports';
import { queryAll } from './dynamo-query';
import { DynamoRowStore } from './dynamo-row-store';
import { unstorableReason } from '../ingest/storable';

/**
 * The nightly batch truth for one user or item (`sk = EXACT`), recomputed from the whole Silver history.
 * The real-time `RT#<shard>` rows stay the speed layer on top of it.
 */
export type ExactFeatureRow =
  | { pk: string; sk: typeof EXACT_SK; entity: 'user'; features: UserFeatures; asOf: string; window: { from: string; to: string } }
  | { pk: string; sk: typeof EXACT_SK; entity: 'item'; features: ItemFeatures; asOf: string; window: { from: string; to: string } };

/** BatchWriteItem requests in flight at once when the nightly job rewrites every exact row. */
const EXACT_WRITE_REQUESTS_IN_FLIGHT = 16;

/**
 * The DynamoDB feature table (`pk`, `sk`): batch row access for the consumer, plus reads that merge a
 * user's or an item's per-shard real-time rows.
 */
export class DynamoFeatureTable extends DynamoRowStore<FeatureTableRow> implements FeatureTable {
  /**
   * Writes the nightly exact features, 25 rows a request and a bounded number of requests at a time (the
   * nightly job rewrites every user and item). It is their only writer, so puts are unconditional.
   *
   * Resolves with `failed`, the ids (`rowId`) of rows not written after retries (infrastructure), and
   * `rejected`, rows that can never be written, with the reason: those the pure pre-check refuses (numbers
   * the marshaller refuses, size and nesting limits) are never sent, so they cannot fail the 24 other rows
   * of their BatchWriteItem request; those the service refuses come from the row store's own isolation.
   */
  async putExactFeatures(rows: readonly ExactFeatureRow[]): Promise<{ failed: Set<string>; rejected: Map<string, string> }> {
    const store = new DynamoRowStore<ExactFeatureRow>(this.ddb, this.tableName, { backoffMs: this.backoffMs });
    const failed = new Set<string>();
    const rejected = new Map<string, string>();
    const writable: ExactFeatureRow[] = [];
    for (const row of rows) {
      const problem = unstorableReason(row);
      if (problem) rejected.set(rowId(row), problem);
      else writable.push(row);
    }
    const slice = 25 * EXACT_WRITE_REQUESTS_IN_FLIGHT;
    for (let i = 0; i < writable.length; i += slice) {
      const result = await store.putRows(writable.slice(i, i + slice));
      for (const [id, reason] of result.rejected) rejected.set(id, reason);
      for (const id of result.failed) if (!rejected.has(id)) failed.add(id);
    }
    return { failed, rejected };
  }

  /** A user's exact (nightly) features, if the nightly job has computed them. */
  async exactUserFeatures(userId: string): Promise<ExactFeatureRow | undefined> {
    return this.exactRow(userPk(userId));
  }

  /** An item's exact (nightly) features, if the nightly job has computed them. */
  async exactItemFeatures(itemId: string): Promise<ExactFeatureRow | undefined> {
    return this.exactRow(itemPk(itemId));
  }

  private async exactRow(pk: string): Promise<ExactFeatureRow | undefined> {
    const key = { pk, sk: EXACT_SK };
    const store = new DynamoRowStore<ExactFeatureRow>(this.ddb, this.tableName);
    return (await store.getRows([key])).get(rowId(key));
  }

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
    const query = { TableName: this.tableName, KeyConditionExpression: 'pk = :pk AND begins_with(sk, :rt)', ExpressionAttributeValues: { ':pk': pk, ':rt': 'RT#' } };
    for await (const item of queryAll(this.ddb, query)) items.push(item);
    return items;
  }
}
