/**
 * The data lake's object layout. Hive-style `dt=` partitions so Athena/Glue read it as is.
 * Bronze is partitioned by *arrival* date (when Kinesis accepted the record): a late event lands in today's
 * partition, so an incremental nightly job never misses it. Silver re-partitions by event date.
 */
export const BRONZE_EVENTS_PREFIX = 'bronze/events/';
export const BRONZE_QUARANTINE_PREFIX = 'bronze/_quarantine/';
/**
 * The item catalogue, `[{ itemId, title?, genres: [] }]` as JSON: titles and genres joined to the items at
 * training time. Optional; upload it whenever the catalogue changes (`npm start` writes it from --item-metadata).
 */
export const CATALOG_KEY = 'catalog/items.json';

export type BronzeKind = 'events' | 'quarantine';

/** UTC calendar date `YYYY-MM-DD` of an epoch-milliseconds instant. */
export function partitionDate(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

export interface BronzeObjectId {
  kind: BronzeKind;
  /** Partition date, `YYYY-MM-DD`. */
  dt: string;
  shardId: string;
  /** Sequence number of the first record in the object. */
  firstSequenceNumber: string;
}

/**
 * Key of one Bronze object: one object per batch, partition and shard, named after the first record's
 * sequence number. A redelivery starting at the same record overwrites the object instead of adding a copy.
 */
export function bronzeKeyFor(id: BronzeObjectId): string {
  const prefix = id.kind === 'events' ? BRONZE_EVENTS_PREFIX : BRONZE_QUARANTINE_PREFIX;
  return `${prefix}dt=${id.dt}/shard=${id.shardId}/${id.firstSequenceNumber}.jsonl`;
}

/** Prefix of one Bronze partition, for listing a day. */
export function bronzePartitionPrefix(kind: BronzeKind, dt: string): string {
  return `${kind === 'events' ? BRONZE_EVENTS_PREFIX : BRONZE_QUARANTINE_PREFIX}dt=${dt}/`;
}

const KEY_PATTERN = /^bronze\/(events|_quarantine)\/dt=(\d{4}-\d{2}-\d{2})\/shard=([^/]+)\/(\d+)\.jsonl$/;

/** Inverse of `bronzeKeyFor`; undefined for keys outside the Bronze layout. */
export function parseBronzeKey(key: string): BronzeObjectId | undefined {
  const m = KEY_PATTERN.exec(key);
  if (!m) return undefined;
  return { kind: m[1] === 'events' ? 'events' : 'quarantine', dt: m[2]!, shardId: m[3]!, firstSequenceNumber: m[4]! };
}

/** Kinesis sequence numbers are decimal strings up to 128 bits: compare them as integers. */
export function compareSequenceNumbers(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The lowest of some sequence numbers: where Lambda resumes a batch after a partial failure. */
export function lowestSequenceNumber(sequenceNumbers: readonly string[]): string {
  return sequenceNumbers.reduce((m, s) => (compareSequenceNumbers(s, m) < 0 ? s : m));
}
