import { BatchGetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { rowId, type RowKey, type RowStore } from '../stream/ports';
import { queryAll } from './dynamo-query';
import { BATCH_WRITE_LIMIT, chunk, describeWriteError as describe, isRefusal, sleep, writeBatchWithRetries } from './dynamo-batch-write';

const BATCH_GET_LIMIT = 100;
const MAX_ATTEMPTS = 5;
/** Conditional PutItem requests in flight at once (a replay's rows). */
const CONDITIONAL_PUTS_IN_FLIGHT = 16;

export interface RowStoreOptions {
  /** Base delay of the exponential backoff on throttled or unprocessed items (ms). */
  backoffMs?: number;
}

/**
 * Rows of a `pk`/`sk` DynamoDB table read with BatchGetItem (100 a request, strongly consistent) and written
 * with BatchWriteItem (25 a request). Each row has a single writer (its shard's consumer), so unconditional
 * puts are safe and cheap; unprocessed items are retried with backoff, and rows that still fail are reported.
 */
export class DynamoRowStore<R extends RowKey> implements RowStore<R> {
  protected readonly backoffMs: number;

  constructor(
    protected readonly ddb: DynamoDBDocumentClient,
    readonly tableName: string,
    options: RowStoreOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? 50;
  }

  async queryRows(pk: string, fromSk: string, toSk: string): Promise<R[]> {
    const out: R[] = [];
    const query = {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: { ':pk': pk, ':from': fromSk, ':to': toSk },
      ConsistentRead: true,
    };
    for await (const item of queryAll(this.ddb, query)) out.push(item as R);
    return out;
  }

  async getRows(keys: readonly RowKey[]): Promise<Map<string, R>> {
    const unique = [...new Map(keys.map((k) => [rowId(k), { pk: k.pk, sk: k.sk }])).values()];
    const out = new Map<string, R>();
    await Promise.all(
      chunk(unique, BATCH_GET_LIMIT).map(async (batch) => {
        let pending: Record<string, unknown>[] = batch;
        for (let attempt = 1; pending.length > 0; attempt++) {
          const res = await this.ddb.send(
            new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
          );
          for (const item of res.Responses?.[this.tableName] ?? []) {
            const row = item as R;
            out.set(rowId(row), row);
          }
          pending = (res.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as Record<string, unknown>[];
          if (pending.length && attempt >= MAX_ATTEMPTS) throw new Error(`BatchGetItem left ${pending.length} keys unprocessed`);
          if (pending.length) await sleep(this.backoffMs * 2 ** attempt);
        }
      }),
    );
    return out;
  }

  /**
   * Writes rows, 25 a BatchWriteItem request, requests in parallel. Throttled requests and unprocessed items
   * are retried with backoff; rows still unwritten are `failed`. A request DynamoDB (or the marshaller)
   * refuses as invalid is written again one row at a time, so only the rows at fault are `rejected` (with
   * the reason) and their neighbours land.
   */
  async putRows(rows: readonly R[]): Promise<{ failed: Set<string>; rejected: Map<string, string>; causes: Map<string, string> }> {
    const failed = new Set<string>();
    const rejected = new Map<string, string>();
    const causes = new Map<string, string>();
    await Promise.all(
      chunk(rows, BATCH_WRITE_LIMIT).map(async (batch) => {
        const refused = await this.writeBatch(batch, failed, causes);
        if (!refused) return;
        if (batch.length === 1) {
          rejected.set(rowId(batch[0]!), describe(refused));
          return;
        }
        // One request for each row, in sequence: only the rows at fault are refused again.
        for (const row of batch) {
          const err = await this.writeBatch([row], failed, causes);
          if (err) rejected.set(rowId(row), describe(err));
        }
      }),
    );
    return { failed, rejected, causes };
  }

  /**
   * Writes up to 25 rows with retries. Rows still pending after retries are added to `failed`; resolves
   * with the error when the request was refused as invalid (nothing written), else undefined.
   */
  private writeBatch(batch: readonly R[], failed: Set<string>, causes: Map<string, string>): Promise<unknown> {
    return writeBatchWithRetries(this.ddb, this.tableName, batch as unknown as Record<string, unknown>[], {
      maxAttempts: MAX_ATTEMPTS,
      backoffMs: this.backoffMs,
      fail: (item, why) => {
        const id = rowId(item as unknown as RowKey);
        failed.add(id);
        causes.set(id, why);
      },
    });
  }

  async putRowsIfUnchanged(
    rows: readonly { row: R; expectedWm: string | undefined }[],
  ): Promise<{ failed: Set<string>; conflicts: Set<string>; rejected: Map<string, string>; causes: Map<string, string> }> {
    const failed = new Set<string>();
    const causes = new Map<string, string>();
    const conflicts = new Set<string>();
    const rejected = new Map<string, string>();
    let next = 0;
    const worker = async () => {
      while (next < rows.length) {
        const { row, expectedWm } = rows[next++]!;
        try {
          await this.ddb.send(
            new PutCommand({
              TableName: this.tableName,
              Item: row as unknown as Record<string, unknown>,
              ...(expectedWm === undefined
                ? { ConditionExpression: 'attribute_not_exists(pk)' }
                : { ConditionExpression: 'wm = :wm', ExpressionAttributeValues: { ':wm': expectedWm } }),
            }),
          );
        } catch (err) {
          if ((err as { name?: string }).name === 'ConditionalCheckFailedException') conflicts.add(rowId(row));
          else if (isRefusal(err)) rejected.set(rowId(row), describe(err));
          else {
            failed.add(rowId(row));
            causes.set(rowId(row), describe(err));
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONDITIONAL_PUTS_IN_FLIGHT, rows.length) }, worker));
    return { failed, conflicts, rejected, causes };
  }
}
