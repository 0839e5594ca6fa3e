import { parquetMetadata, parquetScan, type AsyncBuffer, type DecodedArray } from 'hyparquet';
import { implicitStrength } from '../domain/event-strengths';
import { CompactBuilder, canonicalCompact } from '../recommender/columnar';
import type { CompactInteractions } from '../recommender/types';
import { CorruptObjectError, DataError } from './errors';
import type { RetrainingLake } from './lake';
import type { ParquetColumns } from './parquet';
import type { SetAsideLog } from './poison';
import type { SilverInteraction } from './silver';

/**
 * The compact interaction table training reads: one row per (user, item) pair, what `toInteractions`
 * (src/retraining/interactions.ts) makes of Silver. The Athena engine's query writes it as Parquet under a lake prefix
 * (any number of files, any names); the Lambda engine builds it in memory (`compactFromSilver`). Both land in
 * CompactInteractions (src/recommender/types.ts): typed-array columns and interned ids, no object per row.
 */
export const COMPACT_INTERACTION_COLUMNS: ParquetColumns = {
  user_id: { type: 'UTF8' },
  item_id: { type: 'UTF8' },
  /** The strongest signal of the pair (a rating's value, else EVENT_STRENGTHS). */
  strength: { type: 'DOUBLE' },
  /** Epoch ms of the pair's earliest event. */
  first_contact_ms: { type: 'INT64' },
  /** Optional: events behind the pair (for the training record's event count); absent, rows are counted. */
  events: { type: 'INT64', optional: true },
};

/** The item categories table next to it: the latest category of each item seen in interactions. */
export const ITEM_CATEGORY_COLUMNS: ParquetColumns = {
  item_id: { type: 'UTF8' },
  category: { type: 'UTF8', optional: true },
};

/**
 * `toInteractions(rows)` as columns: the same pairs, strengths, first contacts and order (users, then items, sorted),
 * built without an object per pair. Impressions and other non-interactions give nothing, as there.
 */
export function compactFromSilver(rows: readonly SilverInteraction[]): CompactInteractions {
  const b = new CompactBuilder(rows.length);
  for (const row of rows) {
    // The rule of toInteractions: a rating counts as its value, an implicit event as its strength.
    const strength = row.event_type === 'rating' ? (row.rating ?? 0) : implicitStrength(row.event_type);
    if (strength === undefined) continue;
    b.add(row.user_id, row.item_id, strength, row.event_time_ms);
  }
  return canonicalCompact(b.build());
}

/** What the readers need of the lake. */
export type TableLake = Pick<RetrainingLake, 'listKeys' | 'getBytes'>;

/** What reading a compact table found. */
export interface CompactTable {
  interactions: CompactInteractions;
  /** Parquet files read. */
  files: number;
  /** Events behind the pairs (the `events` column's sum; the row count where the column is absent). */
  events: number;
}

/** Lake objects under `prefix` that hold table data: everything but folder markers and `_`/`.` files (`_SUCCESS`, `.crc`). */
export async function tableKeys(lake: TableLake, prefix: string): Promise<string[]> {
  return (await lake.listKeys(prefix))
    .filter((key) => {
      const name = key.slice(key.lastIndexOf('/') + 1);
      return name !== '' && !name.startsWith('_') && !name.startsWith('.') && !key.endsWith('$folder$');
    })
    .sort();
}

/**
 * Reads the compact table under `prefix` (Parquet files, COMPACT_INTERACTION_COLUMNS) into columns, in canonical order
 * (`canonicalCompact`: pairs repeated across files merge). One file's bytes and one row group's decoded columns are
 * held at a time besides the columns being built. A file that is not Parquet, or lacks a column, fails with a
 * CorruptObjectError naming it; a row with a null id, strength or time fails with a DataError.
 */
export async function readCompactInteractions(lake: TableLake, prefix: string): Promise<CompactTable> {
  const keys = await tableKeys(lake, prefix);
  const builder = new CompactBuilder(0);
  let events = 0;
  for (const key of keys) {
    const bytes = await lake.getBytes(key);
    if (bytes === undefined) throw new CorruptObjectError(key, 'listed but gone while reading the compact interaction table');
    events += await appendParquet(builder, bytes, key);
  }
  return { interactions: canonicalCompact(builder.build()), files: keys.length, events };
}

/** Appends one Parquet file's rows to `builder`; returns its events. */
export async function appendParquet(builder: CompactBuilder, bytes: Uint8Array, key: string): Promise<number> {
  const file = asyncBuffer(bytes);
  let metadata: ReturnType<typeof parquetMetadata>;
  try {
    metadata = parquetMetadata(file.buffer);
  } catch (err) {
    throw new CorruptObjectError(key, `not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
  const present = new Set(metadata.schema.slice(1).map((s) => s.name));
  for (const column of ['user_id', 'item_id', 'strength', 'first_contact_ms']) {
    if (!present.has(column)) throw new CorruptObjectError(key, `the compact interaction table has no column ${column} (columns: ${[...present].join(', ')})`);
  }
  const hasEvents = present.has('events');
  const columns = ['user_id', 'item_id', 'strength', 'first_contact_ms', ...(hasEvents ? ['events'] : [])];
  const scan = await parquetScan({ file, metadata, columns });
  builder.reserve(Number(metadata.num_rows));
  let events = 0;
  for (const { rowStart, rowEnd } of scan.ranges) {
    // One row group at a time: its four columns decoded, appended, then dropped.
    const [users, items, strengths, times, counts] = await Promise.all(columns.map((column) => scan.readColumn({ column, rowStart, rowEnd })));
    for (let r = 0; r < rowEnd - rowStart; r++) {
      const userId = users[r];
      const itemId = items[r];
      if (typeof userId !== 'string' || typeof itemId !== 'string') throw new DataError(`${key}: row ${rowStart + r} has no user_id or item_id`);
      builder.add(userId, itemId, numberAt(strengths, r, 'strength', key, rowStart), numberAt(times, r, 'first_contact_ms', key, rowStart));
      // A null count (an optional column left empty) counts the row, as a missing column does.
      events += counts && counts[r] !== null && counts[r] !== undefined ? numberAt(counts, r, 'events', key, rowStart) : 1;
    }
  }
  return events;
}

function numberAt(column: DecodedArray, r: number, name: string, key: string, rowStart: number): number {
  const v: unknown = column[r];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  // A TIMESTAMP column (if an engine writes one) reads back as a Date.
  if (v instanceof Date) return v.getTime();
  throw new DataError(`${key}: row ${rowStart + r} has no number in ${name} (got ${v === null || v === undefined ? 'null' : typeof v})`);
}

function asyncBuffer(bytes: Uint8Array): AsyncBuffer & { buffer: ArrayBuffer } {
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  return { buffer, byteLength: buffer.byteLength, slice: (start, end) => buffer.slice(start, end) };
}

/**
 * The item categories table under `prefix` (ITEM_CATEGORY_COLUMNS) as the content signal's genres, one entry per item
 * (items without a category get none), sorted by item id like `itemCatalogue` (src/retraining/interactions.ts).
 * No files: no categories.
 */
export async function readItemCategories(lake: TableLake, prefix: string): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (const key of await tableKeys(lake, prefix)) {
    const bytes = await lake.getBytes(key);
    if (bytes === undefined) throw new CorruptObjectError(key, 'listed but gone while reading the item categories');
    const file = asyncBuffer(bytes);
    let metadata: ReturnType<typeof parquetMetadata>;
    try {
      metadata = parquetMetadata(file.buffer);
    } catch (err) {
      throw new CorruptObjectError(key, `not a readable Parquet file: ${(err as Error).message}`, { cause: err });
    }
    const scan = await parquetScan({ file, metadata, columns: ['item_id', 'category'] });
    for (const { rowStart, rowEnd } of scan.ranges) {
      const [ids, categories] = await Promise.all(['item_id', 'category'].map((column) => scan.readColumn({ column, rowStart, rowEnd })));
      for (let r = 0; r < rowEnd - rowStart; r++) {
        const id = ids[r];
        const category: unknown = categories[r];
        if (typeof id !== 'string') throw new DataError(`${key}: row ${rowStart + r} has no item_id`);
        out.set(id, typeof category === 'string' ? category : null);
      }
    }
  }
  return out;
}

/** Ids the model artifact cannot store (see interactionProblem in src/retraining/poison.ts). */
const UNUSABLE_ID = /[\n\r]/;

/**
 * The rows whose ids the model artifact can hold (not empty, no line break: the rule `usableInteractions` applies to
 * Silver rows); the others are set aside in `log`, one entry per row. Returns `c` itself when every id is usable.
 */
export function usableCompact(c: CompactInteractions, log: SetAsideLog, where = 'compact interactions'): CompactInteractions {
  const badUser = c.users.map((id) => id === '' || UNUSABLE_ID.test(id));
  const badItem = c.items.map((id) => id === '' || UNUSABLE_ID.test(id));
  if (!badUser.includes(true) && !badItem.includes(true)) return c;
  const b = new CompactBuilder(c.length);
  for (let r = 0; r < c.length; r++) {
    const userId = c.users[c.user[r]];
    const itemId = c.items[c.item[r]];
    if (badUser[c.user[r]] || badItem[c.item[r]]) {
      // The row number, not the ids: the outcome is stored in the lake, and an erased user's id must not linger there.
      log.add(where, `row ${r}`, 'userId or itemId is empty or contains a line break, which the model artifact cannot store');
      continue;
    }
    b.add(userId, itemId, c.strength[r], c.firstContactMs[r]);
  }
  // Rows keep their order: canonicalCompact only re-sorts the (smaller) id tables and finds the rows in order.
  return canonicalCompact(b.build());
}

/**
 * One stand-in Silver row per seen item carrying its category, so `runCatalogue` (src/retraining/train-candidate.ts)
 * joins the catalogue snapshot exactly as it does for Silver rows: `itemCatalogue` keeps each item's one category and
 * the seen set is every item. O(items) objects, never O(interactions).
 */
export function categoryRows(items: readonly string[], categories: ReadonlyMap<string, string | null>): SilverInteraction[] {
  return items.map((itemId) => ({
    event_id: '',
    event_type: 'view',
    user_id: '',
    item_id: itemId,
    event_time_ms: 0,
    rating: null,
    price: null,
    quantity: null,
    category: categories.get(itemId) ?? null,
    session_id: null,
    arrival_time_ms: 0,
    shard_id: '',
    sequence_number: '',
  }));
}
