import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describeError } from '../domain/describe-error';

/** Items one BatchWriteItem request takes. */
export const BATCH_WRITE_LIMIT = 25;

/**
 * The request was refused for what it holds, not for the state of the service: DynamoDB's
 * ValidationException (item too large, invalid number or attribute, duplicate keys in one request) or an
 * error of the document client's marshaller, thrown before anything is sent. Retrying the same item never
 * helps; other 4xx errors (missing table, access denied) are about the infrastructure, and fail the items.
 */
export function isRefusal(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  if (e.name === 'ValidationException' || e.name === 'ItemCollectionSizeLimitExceededException') return true;
  // The marshaller throws plain errors (no service metadata) for values DynamoDB cannot represent.
  return e.$metadata === undefined && e.$fault === undefined && (e.name === 'Error' || e.name === 'TypeError' || e.name === 'RangeError');
}

export function isRetryable(err: unknown): boolean {
  const e = err as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    e.$retryable !== undefined ||
    e.name === 'ProvisionedThroughputExceededException' ||
    e.name === 'ThrottlingException' ||
    e.name === 'RequestLimitExceeded' ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  );
}

/** A write error as an item's reason: the whole cause chain, bounded. */
export const describeWriteError = (err: unknown): string => describeError(err).slice(0, 400);

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Puts up to 25 items with one BatchWriteItem request and its retries: unprocessed items and throttled or
 * failed requests are retried with exponential backoff (`backoffMs × 2^attempt`) up to `maxAttempts`; items
 * still unwritten then are passed to `fail` with the reason. Resolves with the error when the request was
 * refused as invalid before anything was written (the caller may write the items one by one), else undefined.
 */
export async function writeBatchWithRetries(
  ddb: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
  options: { maxAttempts: number; backoffMs: number; fail: (item: Record<string, unknown>, why: string) => void },
): Promise<unknown> {
  let pending = items.map((Item) => ({ PutRequest: { Item } }));
  const fail = (why: string) => {
    for (const p of pending) options.fail(p.PutRequest.Item, why);
  };
  for (let attempt = 1; pending.length > 0; attempt++) {
    try {
      const res = await ddb.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (res.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    } catch (err) {
      if (isRefusal(err) && pending.length === items.length) return err;
      // The SDK already retried transient errors; a request that still fails fails all its items.
      if (attempt >= options.maxAttempts || !isRetryable(err)) {
        fail(`${describeWriteError(err)}${attempt > 1 ? ` (after ${attempt} attempts)` : ''}`);
        return undefined;
      }
    }
    if (pending.length && attempt >= options.maxAttempts) {
      fail(`unprocessed after ${attempt} attempts (throttled)`);
      return undefined;
    }
    if (pending.length) await sleep(options.backoffMs * 2 ** attempt);
  }
  return undefined;
}
