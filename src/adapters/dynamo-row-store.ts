import { BatchGetCommand, BatchWriteCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { rowId, type RowKey, type RowStore } from '../ingest/ports';

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
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

  async putRows(rows: readonly R[]): Promise<{ failed: Set<string> }> {
    const failed = new Set<string>();
    await Promise.all(
      chunk(rows, BATCH_WRITE_LIMIT).map(async (batch) => {
        let pending = batch.map((row) => ({ PutRequest: { Item: row as unknown as Record<string, unknown> } }));
        for (let attempt = 1; pending.length > 0; attempt++) {
          try {
            const res = await this.ddb.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }));
            pending = (res.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
          } catch (err) {
            // The SDK already retried transient errors; a request that still fails fails all its rows.
            if (attempt >= MAX_ATTEMPTS || !isRetryable(err)) {
              for (const p of pending) failed.add(rowId(p.PutRequest.Item as unknown as RowKey));
              return;
            }
          }
          if (pending.length && attempt >= MAX_ATTEMPTS) {
            for (const p of pending) failed.add(rowId(p.PutRequest.Item as unknown as RowKey));
            return;
          }
          if (pending.length) await sleep(this.backoffMs * 2 ** attempt);
        }
      }),
    );
    return { failed };
  }

  async putRowsIfUnchanged(rows: readonly { row: R; expectedWm: string | undefined }[]): Promise<{ failed: Set<string>; conflicts: Set<string> }> {
    const failed = new Set<string>();
    const conflicts = new Set<string>();
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
          ((err as { name?: string }).name === 'ConditionalCheckFailedException' ? conflicts : failed).add(rowId(row));
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONDITIONAL_PUTS_IN_FLIGHT, rows.length) }, worker));
    return { failed, conflicts };
  }
}

function isRetryable(err: unknown): boolean {
  const e = err as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    e.$retryable !== undefined ||
    e.name === 'ProvisionedThroughputExceededException' ||
    e.name === 'ThrottlingException' ||
    e.name === 'RequestLimitExceeded' ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
