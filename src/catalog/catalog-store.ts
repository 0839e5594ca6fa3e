import type { CatalogItem, CatalogRecord } from './item';

/**
 * The port to the live item catalogue (DynamoDB in AWS and on the emulators: src/adapters/dynamo-catalog.ts).
 * Writes stamp `updatedAt`; a withdrawal is a tombstone so every replica hears of it.
 */
export interface CatalogWriter {
  /** Writes (creates or replaces) items, stamped `updatedAt = nowMs`, not withdrawn. Resolves per item: failed ids with a reason. */
  put(items: readonly CatalogItem[], nowMs: number): Promise<{ failed: { itemId: string; reason: string }[] }>;
  /** Marks an item withdrawn (a tombstone stamped `nowMs`). Resolves false when the item was never in the catalogue. */
  withdraw(itemId: string, nowMs: number): Promise<boolean>;
}

export interface CatalogReader {
  /** Every record, tombstones included (cold start of a replica, the nightly snapshot). */
  scanAll(): AsyncIterable<CatalogRecord>;
  /** Records written at or after `sinceMs` (tombstones included), in any order: a replica's incremental refresh. */
  changedSince(sinceMs: number): AsyncIterable<CatalogRecord>;
}

export type CatalogStore = CatalogWriter & CatalogReader;
