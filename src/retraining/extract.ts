import { applyItemEvents, applyUserEvents, DEFAULT_RECENT_LIMIT, type ItemFeatures, type UserFeatures } from '../domain/features';
import { isInteractionType, type UserEvent } from '../domain/events';
import { parseSilverInteractionsKey, partitionDate, SILVER_INTERACTIONS_PREFIX, silverFeaturesKey, silverInteractionsKey } from '../domain/lake-layout';
import { EXACT_SK, itemPk, userPk } from '../stream/ports';
import type { ExactFeatureRow } from '../adapters/dynamo-feature-table';
import { dedupeByEventId, readBronzeWindow } from './bronze';
import { describeError, TransientError } from './errors';
import { unstorableReason } from '../ingest/storable';
import { parquetRowProblem, SetAsideLog, usableInteractions, type SetAside } from './poison';
import { mapLimit, type RetrainingLake } from './lake';
import { readParquet, writeParquet } from './parquet';
import {
  compareInteractions,
  fromParquetInteraction,
  INTERACTION_COLUMNS,
  ITEM_FEATURE_COLUMNS,
  itemFeatureRow,
  toParquetRow,
  toSilverInteraction,
  toUserEvent,
  USER_FEATURE_COLUMNS,
  userFeatureRow,
  type SilverInteraction,
} from './silver';
import { datesInWindow, type DateWindow } from './run-window';

export interface ExactFeatureWriter {
  /**
   * `failed`: rows not written after retries (infrastructure: the step is retried); `rejected`: rows the
   * store can never hold, by row id with the reason (set aside, never retried).
   */
  putExactFeatures(rows: readonly ExactFeatureRow[]): Promise<{ failed: Set<string>; rejected?: Map<string, string> }>;
}

export interface ExtractDeps {
  lake: RetrainingLake;
  table: ExactFeatureWriter;
  recentLimit?: number;
}

export interface ExtractResult {
  /** Deduplicated window interactions now in Silver (after cross-window deduplication). */
  windowInteractions: number;
  duplicatesDropped: number;
  silverFilesWritten: number;
  silverFilesDeleted: number;
  eventDates: number;
  /** All Silver interactions, the history the features and the model are built from. */
  totalInteractions: number;
  users: number;
  items: number;
  featureRowsWritten: number;
  asOf: string;
  keys: { userFeatures: string; itemFeatures: string };
  /** Rows derived from client data that no store could hold: left out, counted and reported, never retried. */
  setAside: SetAside;
}

const IO_CONCURRENCY = 8;

/**
 * Bronze → Silver for one window, then exact features from the whole Silver history.
 *
 * Each event lives in exactly one Silver partition: `dt=<event date>/arrival_dt=<arrival date of its first
 * delivery>/` (src/domain/lake-layout.ts). The window rewrites its own partitions as one file each (and drops every
 * other file of them: legacy `part-<date>.parquet` files, Athena's output files, partitions it no longer produces); an event already stored by an
 * earlier arrival date is dropped from the window, one stored by a later one is moved here. So a rerun of
 * the same window writes the same bytes, and windows can run in any order.
 */
export async function extractWindow(window: DateWindow, deps: ExtractDeps): Promise<ExtractResult> {
  const { lake } = deps;
  const windowDates = new Set(datesInWindow(window));
  const bronze = await readBronzeWindow(lake, window);
  const deduped = dedupeByEventId(bronze.records);
  const setAside = new SetAsideLog();
  // Bronze lines outside the contract (ValidateData fails the run on them unless configured to tolerate some).
  for (const line of bronze.invalid) setAside.add('Bronze line', `${line.eventId !== undefined ? `${line.eventId} at ` : ''}${line.key}:${line.line}`, line.reason);

  // Window rows by event date and arrival date; rows Silver (or the steps after it) cannot hold are set aside.
  const windowRows = new Map<string, SilverInteraction[]>();
  for (const r of deduped.records) {
    let converted: SilverInteraction;
    try {
      converted = toSilverInteraction(r);
    } catch (err) {
      setAside.add('Silver interaction', r.event.eventId, `cannot be converted: ${describeError(err)}`);
      continue;
    }
    const [row] = usableInteractions([converted], setAside);
    if (!row) continue;
    const eventDt = partitionDate(row.event_time_ms);
    let list = windowRows.get(eventDt);
    if (!list) windowRows.set(eventDt, (list = []));
    list.push(row);
  }

  // Existing Silver parts by event date.
  const parts = new Map<string, { arrivalDt: string; key: string }[]>();
  for (const key of await lake.listKeys(SILVER_INTERACTIONS_PREFIX)) {
    const id = parseSilverInteractionsKey(key);
    if (!id) continue;
    let list = parts.get(id.eventDt);
    if (!list) parts.set(id.eventDt, (list = []));
    list.push({ arrivalDt: id.arrivalDt, key });
  }
  const touched = new Set(windowRows.keys());
  for (const [eventDt, list] of parts) if (list.some((p) => windowDates.has(p.arrivalDt))) touched.add(eventDt);

  /** Final content of every Silver file of touched partitions (for the features, without re-reading). */
  const finalRows = new Map<string, SilverInteraction[]>();
  let written = 0;
  let deleted = 0;
  let windowInteractions = 0;
  let crossWindowDuplicates = 0;

  await mapLimit([...touched].sort(), IO_CONCURRENCY, async (eventDt) => {
    const existing = parts.get(eventDt) ?? [];
    const outside = existing.filter((p) => !windowDates.has(p.arrivalDt));
    const outsideRows = await Promise.all(outside.map(async (p) => ({ ...p, rows: await readInteractions(lake, p.key) })));
    const storedAt = new Map<string, string>();
    for (const p of outsideRows) for (const row of p.rows) storedAt.set(row.event_id, p.arrivalDt);

    // Window rows: drop events an earlier arrival date already stored; note those a later one must give up.
    const byArrival = new Map<string, SilverInteraction[]>();
    const movedHere = new Set<string>();
    for (const row of windowRows.get(eventDt) ?? []) {
      const other = storedAt.get(row.event_id);
      const arrivalDt = partitionDate(row.arrival_time_ms);
      if (other !== undefined && other < arrivalDt) {
        crossWindowDuplicates += 1;
        continue;
      }
      if (other !== undefined) movedHere.add(row.event_id);
      let list = byArrival.get(arrivalDt);
      if (!list) byArrival.set(arrivalDt, (list = []));
      list.push(row);
    }

    const writtenKeys = new Set<string>();
    for (const [arrivalDt, rows] of byArrival) {
      rows.sort(compareInteractions);
      const key = silverInteractionsKey(eventDt, arrivalDt);
      const { bytes, kept } = await writeParquetIsolating(INTERACTION_COLUMNS, rows, toParquetRow, (row) => row.event_id, 'Silver interaction', setAside);
      if (kept.length === 0) continue;
      await lake.putObject(key, bytes, 'application/vnd.apache.parquet');
      writtenKeys.add(key);
      finalRows.set(key, kept);
      written += 1;
      windowInteractions += kept.length;
    }
    for (const p of existing) {
      if (windowDates.has(p.arrivalDt) && !writtenKeys.has(p.key)) {
        await lake.deleteObject(p.key);
        deleted += 1;
      }
    }
    for (const p of outsideRows) {
      const kept = p.rows.filter((r) => !movedHere.has(r.event_id));
      if (kept.length !== p.rows.length) {
        if (kept.length > 0) await lake.putObject(p.key, (await writeParquetIsolating(INTERACTION_COLUMNS, kept, toParquetRow, (row) => row.event_id, 'Silver interaction', setAside)).bytes, 'application/vnd.apache.parquet');
        else await lake.deleteObject(p.key);
        written += kept.length > 0 ? 1 : 0;
        deleted += kept.length > 0 ? 0 : 1;
      }
      if (kept.length > 0) finalRows.set(p.key, kept);
    }
  });

  // The whole history: untouched partitions from the lake, touched ones from memory.
  const untouchedKeys = [...parts].filter(([dt]) => !touched.has(dt)).flatMap(([, list]) => list.map((p) => p.key));
  const stored: SilverInteraction[] = [...finalRows.values()].flat();
  for (const rows of await mapLimit(untouchedKeys, IO_CONCURRENCY, (key) => readInteractions(lake, key))) appendAll(stored, rows);
  // Parts written before a row was known to be unusable (or by an older contract) are filtered the same way.
  const history = usableInteractions(stored, setAside, 'Silver history');

  const computed = exactFeatures(history, deps.recentLimit ?? DEFAULT_RECENT_LIMIT, setAside);
  const { asOf } = computed;
  const users: UserFeatures[] = [];
  const items: ItemFeatures[] = [];
  const rows: ExactFeatureRow[] = [];
  for (const features of computed.users) {
    const { exact, problem } = exactUserRow(features, asOf, window);
    if (problem) setAside.add('user features', features.userId, problem);
    else {
      users.push(features);
      rows.push(exact);
    }
  }
  for (const features of computed.items) {
    const { exact, problem } = exactItemRow(features, asOf, window);
    if (problem) setAside.add('item features', features.itemId, problem);
    else {
      items.push(features);
      rows.push(exact);
    }
  }
  const asOfDt = window.to;
  const keys = { userFeatures: silverFeaturesKey('user', asOfDt), itemFeatures: silverFeaturesKey('item', asOfDt) };
  await lake.putObject(keys.userFeatures, (await writeParquetIsolating(USER_FEATURE_COLUMNS, users, userFeatureRow, (f) => f.userId, 'user features', setAside)).bytes, 'application/vnd.apache.parquet');
  await lake.putObject(keys.itemFeatures, (await writeParquetIsolating(ITEM_FEATURE_COLUMNS, items, itemFeatureRow, (f) => f.itemId, 'item features', setAside)).bytes, 'application/vnd.apache.parquet');

  const refused = await writeExactRows(deps.table, rows, setAside);

  return {
    windowInteractions,
    duplicatesDropped: deduped.duplicates + crossWindowDuplicates,
    silverFilesWritten: written,
    silverFilesDeleted: deleted,
    eventDates: touched.size,
    totalInteractions: history.length,
    users: users.length,
    items: items.length,
    featureRowsWritten: rows.length - refused,
    asOf,
    keys,
    setAside: setAside.summary(),
  };
}

/**
 * Writes exact feature rows: rows the store refuses are set aside with its reason; rows it failed to take after its
 * own retries (throttling, 5xx) fail as a TransientError, and every row is rewritten when the step runs again.
 * Returns how many were refused. Both engines' feature writers use it.
 */
export async function writeExactRows(table: ExactFeatureWriter, rows: readonly ExactFeatureRow[], setAside: SetAsideLog, what = ''): Promise<number> {
  const { failed, rejected = new Map<string, string>() } = await table.putExactFeatures(rows);
  for (const [id, reason] of rejected) setAside.add('exact feature row', id.replace('\u0000', ' '), reason);
  const unwritten = [...failed].filter((id) => !rejected.has(id));
  if (unwritten.length > 0) {
    throw new TransientError(`${unwritten.length} of ${rows.length} exact feature rows${what} could not be written to DynamoDB after retries (throttling or service errors), e.g. ${unwritten[0]!.replace('\u0000', ' ')}`);
  }
  return rejected.size;
}

/** A user's exact feature row, and why neither the feature Parquet file nor the table could hold it (both engines set such rows aside). */
export function exactUserRow(features: UserFeatures, asOf: string, window: DateWindow): { exact: ExactFeatureRow; problem: string | undefined } {
  const exact: ExactFeatureRow = { pk: userPk(features.userId), sk: EXACT_SK, entity: 'user', features, asOf, window };
  return { exact, problem: parquetRowProblem(USER_FEATURE_COLUMNS, userFeatureRow(features)) ?? unstorableReason(exact) };
}

/** An item's exact feature row, and why it could not be stored (as exactUserRow). */
export function exactItemRow(features: ItemFeatures, asOf: string, window: DateWindow): { exact: ExactFeatureRow; problem: string | undefined } {
  const exact: ExactFeatureRow = { pk: itemPk(features.itemId), sk: EXACT_SK, entity: 'item', features, asOf, window };
  return { exact, problem: parquetRowProblem(ITEM_FEATURE_COLUMNS, itemFeatureRow(features)) ?? unstorableReason(exact) };
}

/**
 * Writes `rows` to one Parquet file; a row the writer refuses (which the pre-check did not foresee) is
 * found by bisection and set aside instead of failing the file. Writing is in memory, so a writer error
 * is deterministic: the same rows would fail again on a retry.
 */
export async function writeParquetIsolating<T>(
  columns: typeof INTERACTION_COLUMNS,
  rows: readonly T[],
  toRow: (row: T) => Record<string, unknown>,
  idOf: (row: T) => string,
  where: string,
  setAside: SetAsideLog,
): Promise<{ bytes: Uint8Array; kept: T[] }> {
  try {
    return { bytes: await writeParquet(columns, rows.map(toRow)), kept: [...rows] };
  } catch {
    const kept: T[] = [];
    const sift = async (part: readonly T[]): Promise<void> => {
      if (part.length === 0) return;
      try {
        await writeParquet(columns, part.map(toRow));
        for (const r of part) kept.push(r);
      } catch (err) {
        if (part.length === 1) setAside.add(where, idOf(part[0]!), `Parquet writer refused it: ${describeError(err)}`);
        else {
          const mid = part.length >> 1;
          await sift(part.slice(0, mid));
          await sift(part.slice(mid));
        }
      }
    };
    await sift(rows);
    return { bytes: await writeParquet(columns, kept.map(toRow)), kept };
  }
}

/** Exact user and item features over the whole history, sorted by id; `asOf` is the latest event time. */
export function exactFeatures(
  history: readonly SilverInteraction[],
  recentLimit = DEFAULT_RECENT_LIMIT,
  setAside: SetAsideLog = new SetAsideLog(),
): { users: UserFeatures[]; items: ItemFeatures[]; asOf: string } {
  const byUser = new Map<string, UserEvent[]>();
  const byItem = new Map<string, UserEvent[]>();
  let latest = 0;
  for (const row of history) {
    // Impressions are not interactions: they move no feature (nor `asOf`) and create no user or item row.
    if (!isInteractionType(row.event_type)) continue;
    if (row.event_time_ms > latest) latest = row.event_time_ms;
    const event = toUserEvent(row);
    let u = byUser.get(row.user_id);
    if (!u) byUser.set(row.user_id, (u = []));
    u.push(event);
    let i = byItem.get(row.item_id);
    if (!i) byItem.set(row.item_id, (i = []));
    i.push(event);
  }
  // Arrival order inside equal timestamps must not depend on file order: sort by eventId first.
  const stable = (events: UserEvent[]) => events.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  // One entity's fold that throws (data the fold cannot handle) sets that entity aside, not the step.
  const fold = <F>(where: string, ids: Map<string, UserEvent[]>, f: (events: UserEvent[]) => F): F[] => {
    const out: F[] = [];
    for (const id of [...ids.keys()].sort()) {
      try {
        out.push(f(stable(ids.get(id)!)));
      } catch (err) {
        setAside.add(where, id, `features cannot be computed: ${describeError(err)}`);
      }
    }
    return out;
  };
  const users = fold('user features', byUser, (events) => applyUserEvents(undefined, events, recentLimit));
  const items = fold('item features', byItem, (events) => applyItemEvents(undefined, events));
  return { users, items, asOf: new Date(latest).toISOString() };
}

export async function readInteractions(lake: RetrainingLake, key: string): Promise<SilverInteraction[]> {
  const bytes = await lake.getBytes(key);
  if (!bytes) return [];
  return (await readParquet(bytes)).map(fromParquetInteraction);
}

/** Silver interactions whose event date is on or after `fromDt` (all of them when undefined). */
export async function readSilverHistory(lake: RetrainingLake, fromDt?: string): Promise<{ rows: SilverInteraction[]; files: number }> {
  const keys = (await lake.listKeys(SILVER_INTERACTIONS_PREFIX))
    .filter((k) => {
      const id = parseSilverInteractionsKey(k);
      return id !== undefined && (fromDt === undefined || id.eventDt >= fromDt);
    })
    .sort();
  const rows: SilverInteraction[] = [];
  for (const part of await mapLimit(keys, IO_CONCURRENCY, (key) => readInteractions(lake, key))) appendAll(rows, part);
  return { rows, files: keys.length };
}

/** `target.push(...items)` overflows the stack for the hundreds of thousands of rows of one Silver file. */
function appendAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}
