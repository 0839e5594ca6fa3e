import { ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CatalogStore } from '../catalog/catalog-store';
import type { AttributeValue, CatalogItem, CatalogRecord } from '../catalog/item';
import { unstorableReason } from '../ingest/storable';
import { queryAll } from './dynamo-query';
import { BATCH_WRITE_LIMIT, chunk, describeWriteError as describe, writeBatchWithRetries } from './dynamo-batch-write';

/**
 * The live item catalogue in DynamoDB (the table H5 declares in lib/item-catalogue.ts and
 * src/adapters/local-resources.ts creates on the emulators, key for key):
 * - key `itemId` (S); attributes `title`, `categories` (L of S), `price` (N), `available` (BOOL), `createdAt` (S),
 *   `attributes` (M), `updatedAt` (N, epoch ms of the last write), `withdrawn` (BOOL), `feed` (S, `f0`..`f7`).
 * - GSI `byUpdate`: hash `feed`, range `updatedAt`, projection ALL: the change feed a serving replica polls.
 *   `feed` is a stable hash of the item id, so the feed's writes spread over 8 partitions instead of one.
 */
export const CATALOG_UPDATE_INDEX = 'byUpdate';
/** Partitions of the change feed (`feed` = `f0` .. `f7`). */
export const CATALOG_FEEDS = 8;
export const CATALOG_FEED_NAMES: readonly string[] = Array.from({ length: CATALOG_FEEDS }, (_, i) => `f${i}`);

/** The change-feed partition of an item: FNV-1a (32 bit) of its id's UTF-8 bytes, mod 8. Stable across versions. */
export function catalogFeed(itemId: string): string {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(itemId, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `f${hash % CATALOG_FEEDS}`;
}

export interface DynamoCatalogOptions {
  /** Base delay of the exponential backoff on unprocessed items and throttled requests (ms). Default 50. */
  backoffMs?: number;
  /** Attempts of one BatchWriteItem request before its items count as failed. Default 5. */
  maxAttempts?: number;
  /** BatchWriteItem requests in flight at once (one request: 25 items). Default 8. */
  batchesInFlight?: number;
  /** Parallel Scan segments of `scanAll` (1-16). Default 1; a large catalogue's cold start reads faster with 4. */
  scanSegments?: number;
}


/**
 * `CatalogStore` on the catalogue table. Writes are last-writer-wins per item, stamped `updatedAt`; a withdrawal
 * is a tombstone (`withdrawn: true`, the fields kept) so every replica's incremental refresh hears of it.
 */
export class DynamoCatalog implements CatalogStore {
  private readonly backoffMs: number;
  private readonly maxAttempts: number;
  private readonly batchesInFlight: number;
  private readonly scanSegments: number;

  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    readonly tableName: string,
    options: DynamoCatalogOptions = {},
  ) {
    this.backoffMs = options.backoffMs ?? 50;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.batchesInFlight = Math.max(1, options.batchesInFlight ?? 8);
    this.scanSegments = Math.min(16, Math.max(1, Math.floor(options.scanSegments ?? 1)));
  }

  /**
   * Creates or replaces items (`withdrawn: false`, `updatedAt = nowMs`), 25 a BatchWriteItem request and
   * `batchesInFlight` requests at a time. Unprocessed items and throttled requests are retried with backoff;
   * what is still unwritten is reported per item id with the reason, never thrown. A request DynamoDB refuses
   * as invalid is written again one item at a time, so only the items at fault fail. An id given twice is
   * written once, with its last value.
   */
  async put(items: readonly CatalogItem[], nowMs: number): Promise<{ failed: { itemId: string; reason: string }[] }> {
    const failed = new Map<string, string>();
    const byId = new Map<string, Record<string, unknown>>();
    for (const item of items) {
      const record: CatalogRecord = { ...item, updatedAt: nowMs, withdrawn: false };
      const problem = unstorableReason(record);
      if (problem) {
        failed.set(item.itemId, problem);
        byId.delete(item.itemId);
      } else {
        failed.delete(item.itemId);
        byId.set(item.itemId, toStoredItem(record));
      }
    }
    const batches = chunk([...byId.values()], BATCH_WRITE_LIMIT);
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const refused = await this.writeBatch(batch, failed);
        if (refused === undefined) continue;
        if (batch.length === 1) {
          failed.set(String(batch[0]!.itemId), `refused: ${describe(refused)}`);
          continue;
        }
        for (const one of batch) {
          const err = await this.writeBatch([one], failed);
          if (err !== undefined) failed.set(String(one.itemId), `refused: ${describe(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.batchesInFlight, batches.length) }, worker));
    return { failed: [...failed].map(([itemId, reason]) => ({ itemId, reason })) };
  }

  /**
   * Up to 25 items with retries; items still pending at the end go into `failed`. Resolves with the error when
   * the request was refused as invalid (nothing written), else undefined.
   */
  private writeBatch(batch: readonly Record<string, unknown>[], failed: Map<string, string>): Promise<unknown> {
    return writeBatchWithRetries(this.ddb, this.tableName, batch, {
      maxAttempts: this.maxAttempts,
      backoffMs: this.backoffMs,
      fail: (item, why) => failed.set(String(item.itemId), why),
    });
  }

  /**
   * Marks an item withdrawn: `withdrawn = true`, `updatedAt = nowMs` (its fields stay, as a tombstone).
   * Conditional on the item existing; resolves false when it was never in the catalogue. Withdrawing an
   * already withdrawn item succeeds (and re-stamps it).
   */
  async withdraw(itemId: string, nowMs: number): Promise<boolean> {
    try {
      await this.ddb.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { itemId },
          UpdateExpression: 'SET #withdrawn = :true, #updatedAt = :now, #feed = :feed',
          ConditionExpression: 'attribute_exists(#itemId)',
          ExpressionAttributeNames: { '#withdrawn': 'withdrawn', '#updatedAt': 'updatedAt', '#feed': 'feed', '#itemId': 'itemId' },
          ExpressionAttributeValues: { ':true': true, ':now': nowMs, ':feed': catalogFeed(itemId) },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  /** Every record, tombstones included: Scan page by page (`scanSegments` segments in parallel). */
  async *scanAll(): AsyncGenerator<CatalogRecord> {
    if (this.scanSegments === 1) {
      yield* this.scanSegment(undefined);
      return;
    }
    // Segments are read in parallel, a page at a time each, and yielded as their pages arrive.
    const iterators = Array.from({ length: this.scanSegments }, (_, segment) => this.scanPages(segment)[Symbol.asyncIterator]());
    const pending = new Map<number, Promise<{ segment: number; result: IteratorResult<CatalogRecord[]> }>>();
    const pull = (segment: number) => pending.set(segment, iterators[segment]!.next().then((result) => ({ segment, result })));
    iterators.forEach((_, segment) => pull(segment));
    while (pending.size > 0) {
      const { segment, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(segment);
        continue;
      }
      pull(segment);
      yield* result.value;
    }
  }

  private async *scanSegment(segment: number | undefined): AsyncGenerator<CatalogRecord> {
    for await (const page of this.scanPages(segment)) yield* page;
  }

  private async *scanPages(segment: number | undefined): AsyncGenerator<CatalogRecord[]> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new ScanCommand({
          TableName: this.tableName,
          ExclusiveStartKey: start,
          ...(segment === undefined ? {} : { Segment: segment, TotalSegments: this.scanSegments }),
        }),
      );
      yield (page.Items ?? []).map(toCatalogRecord).filter((r): r is CatalogRecord => r !== undefined);
      start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
    } while (start);
  }

  /**
   * Records written at or after `sinceMs`, tombstones included: a Query of index `byUpdate` on each of the 8
   * feed partitions, in parallel, yielded feed after feed. The index is eventually consistent: a replica
   * re-reads an overlap behind the newest `updatedAt` it saw (src/catalog/live-catalogue.ts).
   */
  async *changedSince(sinceMs: number): AsyncGenerator<CatalogRecord> {
    const feeds = CATALOG_FEED_NAMES.map(async (feed) => {
      const out: CatalogRecord[] = [];
      const query = {
        TableName: this.tableName,
        IndexName: CATALOG_UPDATE_INDEX,
        KeyConditionExpression: '#feed = :feed AND #updatedAt >= :since',
        ExpressionAttributeNames: { '#feed': 'feed', '#updatedAt': 'updatedAt' },
        ExpressionAttributeValues: { ':feed': feed, ':since': sinceMs },
      };
      for await (const raw of queryAll(this.ddb, query)) {
        const record = toCatalogRecord(raw);
        if (record) out.push(record);
      }
      return out;
    });
    // Start every feed's query before waiting on any; a failed feed fails the whole read (the replica keeps its state).
    const settled = await Promise.allSettled(feeds);
    for (const result of settled) if (result.status === 'rejected') throw result.reason;
    for (const result of settled) if (result.status === 'fulfilled') yield* result.value;
  }
}

/**
 * A record as the table stores it. `attributes` goes to the marshaller as a Map: the document client
 * marshals a null-prototype object through its `constructor` property, so an attribute named `constructor`
 * (a valid name) would make it refuse the whole item; a Map's entries are data whatever their names.
 */
function toStoredItem(record: CatalogRecord): Record<string, unknown> {
  const item: Record<string, unknown> = {
    itemId: record.itemId,
    categories: [...record.categories],
    available: record.available,
    attributes: new Map(Object.entries(record.attributes)),
    updatedAt: record.updatedAt,
    withdrawn: record.withdrawn,
    feed: catalogFeed(record.itemId),
  };
  if (record.title !== undefined) item.title = record.title;
  if (record.price !== undefined) item.price = record.price;
  if (record.createdAt !== undefined) item.createdAt = record.createdAt;
  return item;
}

/**
 * A stored item as a record, read defensively (a hand-edited row cannot crash a replica): an item without a
 * string `itemId` is skipped, fields of the wrong type are dropped, attributes land in a null-prototype object.
 */
export function toCatalogRecord(raw: Record<string, unknown>): CatalogRecord | undefined {
  if (typeof raw.itemId !== 'string' || raw.itemId === '') return undefined;
  const attributes: Record<string, AttributeValue> = Object.create(null);
  const stored = raw.attributes;
  if (stored instanceof Map) {
    for (const [k, v] of stored) if (typeof k === 'string' && isAttributeValue(v)) attributes[k] = v;
  } else if (typeof stored === 'object' && stored !== null && !Array.isArray(stored)) {
    for (const [k, v] of Object.entries(stored)) if (isAttributeValue(v)) attributes[k] = v;
  }
  const record: CatalogRecord = {
    itemId: raw.itemId,
    categories: Array.isArray(raw.categories) ? raw.categories.filter((c): c is string => typeof c === 'string') : [],
    available: raw.available !== false,
    attributes,
    updatedAt: typeof raw.updatedAt === 'number' && Number.isFinite(raw.updatedAt) ? raw.updatedAt : 0,
    withdrawn: raw.withdrawn === true,
  };
  if (typeof raw.title === 'string') record.title = raw.title;
  if (typeof raw.price === 'number' && Number.isFinite(raw.price)) record.price = raw.price;
  if (typeof raw.createdAt === 'string') record.createdAt = raw.createdAt;
  return record;
}

const isAttributeValue = (v: unknown): v is AttributeValue => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
