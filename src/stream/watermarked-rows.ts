import { compareSequenceNumbers } from '../domain/lake-layout';
import { rowId, type RowKey, type RowStore, type RowWriteResult, type WatermarkedRow } from './ports';

/** One input to fold: its stream position and its value. */
export interface Positioned<T> {
  shardId: string;
  sequenceNumber: string;
  value: T;
}

export interface FoldOptions<R> {
  /**
   * Why a folded row could not be stored (see `unstorableReason`), or undefined. A row that fails it is
   * folded again one record at a time, leaving out each record whose addition makes it fail: those are set
   * aside with the reason, and the row keeps the others.
   */
  check?: (row: R) => string | undefined;
  /** Records to leave out of every row (set aside elsewhere); they still move the row's watermark. */
  skip?: ReadonlySet<string>;
}

/**
 * Folds stream items into rows that each remember the highest sequence number they hold. Items at or
 * below a row's watermark were folded before (a redelivery) and are skipped for that row, so folding the
 * same records again changes nothing. Returns the rows to write, per row the records it carries, and the
 * records set aside because folding them would make their row unstorable (with why).
 */
export function foldWatermarked<T, R extends RowKey & WatermarkedRow>(
  items: readonly Positioned<T>[],
  rowKeysOf: (item: Positioned<T>) => RowKey[],
  current: ReadonlyMap<string, unknown>,
  build: (previous: R | undefined, values: T[], key: RowKey, watermark: string, shardId: string) => R,
  options: FoldOptions<R> = {},
): { rows: R[]; recordsOfRow: Map<string, string[]>; setAside: Map<string, string> } {
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
  const setAside = new Map<string, string>();
  const { check, skip } = options;
  /** Builds a row, turning a throw into a reason (a record the fold itself cannot take). */
  const attempt = (previous: R | undefined, values: T[], key: RowKey, watermark: string, shardId: string): { row?: R; reason?: string } => {
    try {
      const row = build(previous, values, key, watermark, shardId);
      const reason = check?.(row);
      return reason ? { reason } : { row };
    } catch (err) {
      return { reason: `cannot be folded: ${(err as Error).message}` };
    }
  };
  for (const [id, { key, items: group }] of groups) {
    const previous = current.get(id) as R | undefined;
    const fresh = group
      .filter((p) => previous === undefined || compareSequenceNumbers(p.sequenceNumber, previous.wm) > 0)
      .sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
    if (fresh.length === 0) continue;
    const watermark = fresh[fresh.length - 1]!.sequenceNumber;
    const shardId = fresh[0]!.shardId;
    const folded = fresh.filter((p) => !skip?.has(p.sequenceNumber));
    if (folded.length === 0) continue;
    const whole = attempt(previous, folded.map((p) => p.value), key, watermark, shardId);
    if (whole.row) {
      rows.push(whole.row);
      recordsOfRow.set(id, folded.map((p) => p.sequenceNumber));
      continue;
    }
    // Some record makes the row unstorable: fold one at a time and leave out each record that does.
    let state = previous;
    const kept: string[] = [];
    for (const p of folded) {
      const one = attempt(state, [p.value], key, watermark, shardId);
      if (one.row) {
        state = one.row;
        kept.push(p.sequenceNumber);
      } else setAside.set(p.sequenceNumber, `${id.replace('\u0000', ' ')}: ${one.reason}`);
    }
    if (state !== undefined && kept.length > 0) {
      rows.push(state);
      recordsOfRow.set(id, kept);
    }
  }
  return { rows, recordsOfRow, setAside };
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
 * `rejected` rows can never be written (the store refused them on their own): their records are set aside.
 */
export async function writeWatermarkedRows<R extends RowKey & WatermarkedRow>(
  table: RowStore<R>,
  rows: readonly R[],
  read: ReadonlyMap<string, R>,
  replay: boolean,
): Promise<{ failed: Set<string>; conflicts: Set<string>; rejected: Map<string, string>; causes: Map<string, string> }> {
  if (rows.length === 0) return { failed: new Set(), conflicts: new Set(), rejected: new Map(), causes: new Map() };
  const complete = (r: RowWriteResult & { conflicts?: Set<string> }) => ({
    failed: r.failed,
    conflicts: r.conflicts ?? new Set<string>(),
    rejected: r.rejected ?? new Map<string, string>(),
    causes: r.causes ?? new Map<string, string>(),
  });
  if (!replay) return complete(await table.putRows(rows));
  if (!table.putRowsIfUnchanged) throw new Error('replaying a dead-lettered batch needs a row store with conditional writes');
  return complete(await table.putRowsIfUnchanged(rows.map((row) => ({ row, expectedWm: read.get(rowId(row))?.wm }))));
}

/**
 * Folds until the records set aside are settled: a record one of its rows cannot hold is left out of every
 * row it belongs to (a user's and an item's, or a minute's, hour's and day's), so the rows agree. `fold`
 * folds every row leaving out `skip`; the records set aside are added to `setAside`, with why.
 */
export function foldSettingAside<F extends { setAside: ReadonlyMap<string, string> }>(fold: (skip: ReadonlySet<string>) => F, setAside: Map<string, string>, maxPasses = 3): F {
  const note = (folded: F) => {
    for (const [seq, reason] of folded.setAside) if (!setAside.has(seq)) setAside.set(seq, reason);
  };
  let folded = fold(new Set());
  for (let pass = 0; pass < maxPasses && [...folded.setAside.keys()].some((seq) => !setAside.has(seq)); pass++) {
    note(folded);
    folded = fold(new Set(setAside.keys()));
  }
  note(folded);
  return folded;
}

export type WrittenRows = Awaited<ReturnType<typeof writeWatermarkedRows>>;

/**
 * What a write means for each record: the records of a row not written fail (with `reasons.failed`, retried
 * by the event source), those of a row changed meanwhile fail (`reasons.conflict`), and those of a row the
 * store refused on its own are set aside (never retried). The first outcome of a record wins. Returns
 * whether a row was written. `reasons` get the row id as `pk sk`.
 */
export function recordOutcomes(
  written: WrittenRows,
  recordsOfRow: ReadonlyMap<string, readonly string[]>,
  outcomes: { failures: Map<string, string>; setAside: Map<string, string> },
  reasons: { failed: (row: string, cause: string, rowKey: string) => string; conflict: (row: string) => string },
): (row: RowKey) => boolean {
  const { failures, setAside } = outcomes;
  const show = (id: string) => id.replace('\u0000', ' ');
  for (const id of written.failed) {
    const reason = reasons.failed(show(id), written.causes.get(id) ?? 'not written after retries', id);
    for (const seq of recordsOfRow.get(id) ?? []) if (!failures.has(seq)) failures.set(seq, reason);
  }
  for (const id of written.conflicts) {
    for (const seq of recordsOfRow.get(id) ?? []) if (!failures.has(seq)) failures.set(seq, reasons.conflict(show(id)));
  }
  for (const [id, reason] of written.rejected) {
    for (const seq of recordsOfRow.get(id) ?? []) if (!failures.has(seq) && !setAside.has(seq)) setAside.set(seq, `${show(id)} refused by the store: ${reason}`);
  }
  return (row) => {
    const id = rowId(row);
    return !written.failed.has(id) && !written.conflicts.has(id) && !written.rejected.has(id);
  };
}
