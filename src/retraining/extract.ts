import { applyItemEvents, applyUserEvents, DEFAULT_RECENT_LIMIT, type ItemFeatures, type UserFeatures } from '../domain/features';
import type { UserEvent } from '../domain/events';
import { partitionDate } from '../domain/lake-layout';
import { EXACT_SK, itemPk, userPk } from '../ingest/ports';
import type { ExactFeatureRow } from '../adapters/dynamo-feature-table';
import { dedupeByEventId, readBronzeWindow } from './bronze';
import { TransientError } from './errors';
import { mapLimit, type RetrainingLake } from './lake';
import { parseSilverInteractionsKey, SILVER_INTERACTIONS_PREFIX, silverFeaturesKey, silverInteractionsKey } from './layout';
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
import { datesInWindow, type DateWindow } from './window';

export interface ExactFeatureWriter {
  putExactFeatures(rows: readonly ExactFeatureRow[]): Promise<{ failed: Set<string> }>;
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
}

const IO_CONCURRENCY = 8;

/**
 * Bronze → Silver for one window, then exact features from the whole Silver history.
 *
 * Each event lives in exactly one Silver file: `dt=<event date>/part-<arrival date of its first delivery>`.
 * The window rewrites its own parts (and drops parts it no longer produces); an event already stored by an
 * earlier arrival date is dropped from the window, one stored by a later one is moved here. So a rerun of
 * the same window writes the same bytes, and windows can run in any order.
 */
export async function extractWindow(window: DateWindow, deps: ExtractDeps): Promise<ExtractResult> {
  const { lake } = deps;
  const windowDates = new Set(datesInWindow(window));
  const bronze = await readBronzeWindow(lake, window);
  const deduped = dedupeByEventId(bronze.records);

  // Window rows by event date and arrival date.
  const windowRows = new Map<string, SilverInteraction[]>();
  for (const r of deduped.records) {
    const row = toSilverInteraction(r);
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

    for (const [arrivalDt, rows] of byArrival) {
      rows.sort(compareInteractions);
      const key = silverInteractionsKey(eventDt, arrivalDt);
      await lake.putObject(key, await writeParquet(INTERACTION_COLUMNS, rows.map(toParquetRow)), 'application/vnd.apache.parquet');
      finalRows.set(key, rows);
      written += 1;
      windowInteractions += rows.length;
    }
    for (const p of existing) {
      if (windowDates.has(p.arrivalDt) && !byArrival.has(p.arrivalDt)) {
        await lake.deleteObject(p.key);
        deleted += 1;
      }
    }
    for (const p of outsideRows) {
      const kept = p.rows.filter((r) => !movedHere.has(r.event_id));
      if (kept.length !== p.rows.length) {
        if (kept.length > 0) await lake.putObject(p.key, await writeParquet(INTERACTION_COLUMNS, kept.map(toParquetRow)), 'application/vnd.apache.parquet');
        else await lake.deleteObject(p.key);
        written += kept.length > 0 ? 1 : 0;
        deleted += kept.length > 0 ? 0 : 1;
      }
      if (kept.length > 0) finalRows.set(p.key, kept);
    }
  });

  // The whole history: untouched partitions from the lake, touched ones from memory.
  const untouchedKeys = [...parts].filter(([dt]) => !touched.has(dt)).flatMap(([, list]) => list.map((p) => p.key));
  const history: SilverInteraction[] = [...finalRows.values()].flat();
  for (const rows of await mapLimit(untouchedKeys, IO_CONCURRENCY, (key) => readInteractions(lake, key))) appendAll(history, rows);

  const { users, items, asOf } = exactFeatures(history, deps.recentLimit ?? DEFAULT_RECENT_LIMIT);
  const asOfDt = window.to;
  const keys = { userFeatures: silverFeaturesKey('user', asOfDt), itemFeatures: silverFeaturesKey('item', asOfDt) };
  await lake.putObject(keys.userFeatures, await writeParquet(USER_FEATURE_COLUMNS, users.map(userFeatureRow)), 'application/vnd.apache.parquet');
  await lake.putObject(keys.itemFeatures, await writeParquet(ITEM_FEATURE_COLUMNS, items.map(itemFeatureRow)), 'application/vnd.apache.parquet');

  const rows: ExactFeatureRow[] = [
    ...users.map((features): ExactFeatureRow => ({ pk: userPk(features.userId), sk: EXACT_SK, entity: 'user', features, asOf, window })),
    ...items.map((features): ExactFeatureRow => ({ pk: itemPk(features.itemId), sk: EXACT_SK, entity: 'item', features, asOf, window })),
  ];
  const { failed } = await deps.table.putExactFeatures(rows);
  // Every row is rewritten on a retry, so the whole step can simply run again.
  if (failed.size > 0) throw new TransientError(`${failed.size} of ${rows.length} exact feature rows could not be written to DynamoDB`);

  return {
    windowInteractions,
    duplicatesDropped: deduped.duplicates + crossWindowDuplicates,
    silverFilesWritten: written,
    silverFilesDeleted: deleted,
    eventDates: touched.size,
    totalInteractions: history.length,
    users: users.length,
    items: items.length,
    featureRowsWritten: rows.length,
    asOf,
    keys,
  };
}

/** Exact user and item features over the whole history, sorted by id; `asOf` is the latest event time. */
export function exactFeatures(history: readonly SilverInteraction[], recentLimit = DEFAULT_RECENT_LIMIT): { users: UserFeatures[]; items: ItemFeatures[]; asOf: string } {
  const byUser = new Map<string, UserEvent[]>();
  const byItem = new Map<string, UserEvent[]>();
  let latest = 0;
  for (const row of history) {
    const event = toUserEvent(row);
    let u = byUser.get(row.user_id);
    if (!u) byUser.set(row.user_id, (u = []));
    u.push(event);
    let i = byItem.get(row.item_id);
    if (!i) byItem.set(row.item_id, (i = []));
    i.push(event);
    if (row.event_time_ms > latest) latest = row.event_time_ms;
  }
  // Arrival order inside equal timestamps must not depend on file order: sort by eventId first.
  const stable = (events: UserEvent[]) => events.sort((a, b) => (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const users = [...byUser.keys()].sort().map((id) => applyUserEvents(undefined, stable(byUser.get(id)!), recentLimit));
  const items = [...byItem.keys()].sort().map((id) => applyItemEvents(undefined, stable(byItem.get(id)!)));
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
