import type { ItemFeatures, UserFeatures } from '../domain/features';

/** Where Bronze objects go. The S3 adapter implements it; so could anything with put semantics. */
export interface LakeWriter {
  putObject(key: string, body: string, contentType: string): Promise<void>;
  /** Keys under a prefix; needed only to replay dead-lettered batches (see `ingestBatch`'s `replay`). */
  listKeys?(prefix: string): Promise<string[]>;
  /** An object's text, or undefined when absent; needed only to replay dead-lettered batches. */
  getText?(key: string): Promise<string | undefined>;
}

/**
 * Keys of the feature table. Every aggregate row is owned by exactly one Kinesis shard (`sk`), so one
 * consumer invocation at a time writes it and no conditional writes or transactions are needed.
 */
export interface RowKey {
  pk: string;
  sk: string;
}

export interface WatermarkedRow {
  /** Highest sequence number of this row's shard already folded into the row. */
  wm: string;
}

export type UserFeatureRow = RowKey & WatermarkedRow & { entity: 'user'; shardId: string; features: UserFeatures };
export type ItemFeatureRow = RowKey & WatermarkedRow & { entity: 'item'; shardId: string; features: ItemFeatures };
/** Records which part of a shard already reached a Bronze partition, so redeliveries are not written twice. */
export type LakeWatermarkRow = RowKey & WatermarkedRow & { entity: 'lake'; objectKey: string; expiresAt: number };
/**
 * One batch's new first deliveries in one minute of a shard's event ledger (see `event-ledger.ts`), as packed
 * 12-byte entries; written once, never rewritten. Kept in the feature table by the ingestion consumer and
 * in the analytics table by the analytics consumer (each decides on its own, the same way).
 */
export type EventLedgerRow = RowKey &
  WatermarkedRow & { entity: 'ledger'; shardId: string; minute: number; count: number; entries?: Uint8Array; expiresAt: number };
export type FeatureTableRow = UserFeatureRow | ItemFeatureRow | LakeWatermarkRow | EventLedgerRow;

/** What a row write reports: rows to retry (`failed`) and rows that can never be written (`rejected`). */
export interface RowWriteResult {
  /** Ids (`rowId`) of rows that could not be written after retries (throttling, outages): retry later. */
  failed: Set<string>;
  /**
   * Ids of rows the store refuses whatever the retry (DynamoDB ValidationException, item too large, a value
   * the marshaller cannot represent), with why. Found by writing a refused request's rows one by one, so
   * they never fail their neighbours. Optional for stores that cannot tell (treat as none).
   */
  rejected?: Map<string, string>;
  /** Why each `failed` row failed (the last error after retries), when the store says. */
  causes?: Map<string, string>;
}

/** Batch access to rows of a `pk`/`sk` table. */
export interface RowStore<R extends RowKey> {
  /** Reads rows by key; missing rows are simply absent from the map (keyed by `rowId`). */
  getRows(keys: readonly RowKey[]): Promise<Map<string, R>>;
  /** Every row of partition `pk` with `fromSk <= sk <= toSk`, strongly consistent (the event ledger needs it). */
  queryRows?(pk: string, fromSk: string, toSk: string): Promise<R[]>;
  /** Writes rows; resolves with the ids of rows that could not be written (after retries) or never can be. */
  putRows(rows: readonly R[]): Promise<RowWriteResult>;
  /**
   * Writes each row only if the stored row still has watermark `expectedWm` (or, when undefined, does not
   * exist): for a writer that may race the shard's own consumer, such as a dead-letter replay. Resolves
   * with the ids of rows not written: `conflicts` changed meanwhile, `failed` could not be written,
   * `rejected` never can be (as in `putRows`).
   */
  putRowsIfUnchanged?(rows: readonly { row: R; expectedWm: string | undefined }[]): Promise<RowWriteResult & { conflicts: Set<string> }>;
}

export type FeatureTable = RowStore<FeatureTableRow>;

export const rowId = (k: RowKey): string => `${k.pk}\u0000${k.sk}`;

export const userPk = (userId: string) => `U#${userId}`;
export const itemPk = (itemId: string) => `I#${itemId}`;
/** Sort key of the speed-layer row a shard owns. The nightly job writes the batch truth under `EXACT`. */
export const realtimeSk = (shardId: string) => `RT#${shardId}`;
export const EXACT_SK = 'EXACT';
export const lakeWatermarkPk = (shardId: string) => `CTL#lake#${shardId}`;
