import { compareSequenceNumbers } from '../domain/lake-layout';
import { rowId, type RowKey, type RowStore, type WatermarkedRow } from './ports';

/** One input to fold: its stream position and its value. */
export interface Positioned<T> {
  shardId: string;
  sequenceNumber: string;
  value: T;
}

/**
 * Folds stream items into rows that each remember the highest sequence number they hold. Items at or
 * below a row's watermark were folded before (a redelivery) and are skipped for that row, so folding the
 * same records again changes nothing. Returns the rows to write and, per row, the records it carries.
 */
export function foldWatermarked<T, R extends RowKey & WatermarkedRow>(
  items: readonly Positioned<T>[],
  rowKeysOf: (item: Positioned<T>) => RowKey[],
  current: ReadonlyMap<string, unknown>,
  build: (previous: R | undefined, values: T[], key: RowKey, watermark: string, shardId: string) => R,
): { rows: R[]; recordsOfRow: Map<string, string[]> } {
  const groups = new Map<string, { key: RowKey; items: Positioned<T>[] }>();
  for (const item of items) {
    for (const key of rowKeysOf(item)) {
      const id = rowId(key);
      let g = groups.get(id);
      if (!g) groups.set(id, (g = { key, items: [] }));
      g.items.push(item);
    }
  }
  const rows: R[] = [];
  const recordsOfRow = new Map<string, string[]>();
  for (const [id, { key, items: group }] of groups) {
    const previous = current.get(id) as R | undefined;
    const fresh = group
      .filter((p) => previous === undefined || compareSequenceNumbers(p.sequenceNumber, previous.wm) > 0)
      .sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
    if (fresh.length === 0) continue;
    const watermark = fresh[fresh.length - 1]!.sequenceNumber;
    rows.push(build(previous, fresh.map((p) => p.value), key, watermark, fresh[0]!.shardId));
    recordsOfRow.set(id, fresh.map((p) => p.sequenceNumber));
  }
  return { rows, recordsOfRow };
}

/** The set of row keys an array of positioned items touches, for a single BatchGet. */
export function distinctKeys<T>(items: readonly Positioned<T>[], rowKeysOf: (item: Positioned<T>) => RowKey[]): RowKey[] {
  const out = new Map<string, RowKey>();
  for (const item of items) for (const key of rowKeysOf(item)) out.set(rowId(key), { pk: key.pk, sk: key.sk });
  return [...out.values()];
}

/**
 * Writes folded rows. The shard's own consumer is a row's only writer and writes unconditionally. A
 * dead-letter replay may run beside it, so it writes each row only if the row is still as it was read
 * (`read`); a row changed meanwhile is a conflict, whose records fail and are read again on the retry.
 */
export async function writeWatermarkedRows<R extends RowKey & WatermarkedRow>(
  table: RowStore<R>,
  rows: readonly R[],
  read: ReadonlyMap<string, R>,
  replay: boolean,
): Promise<{ failed: Set<string>; conflicts: Set<string> }> {
  if (rows.length === 0) return { failed: new Set(), conflicts: new Set() };
  if (!replay) return { ...(await table.putRows(rows)), conflicts: new Set() };
  if (!table.putRowsIfUnchanged) throw new Error('replaying a dead-lettered batch needs a row store with conditional writes');
  return table.putRowsIfUnchanged(rows.map((row) => ({ row, expectedWm: read.get(rowId(row))?.wm })));
}
