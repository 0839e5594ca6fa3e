import type { CatalogReader } from '../catalog/catalog-store';
import type { CatalogRecord } from '../catalog/item';
import { CATALOG_KEY, catalogSnapshotKey } from '../domain/lake-layout';
import { formatIssues } from '../domain/zod-issues';
import { DataError } from './errors';
import { CatalogueSchema, type CatalogueEntry } from './interactions';
import { getJson, type RetrainingLake } from './lake';

/**
 * SnapshotCatalog: freezes the run's item catalogue in the lake, so TrainModel and EvaluateModel of one run join
 * the same titles and categories (the catalogue table may change while they run). The source, in order:
 * 1. the live catalogue table (`CATALOG_TABLE`), when configured and not empty: every record, withdrawn ones kept
 *    as `{ itemId, genres: [], withdrawn: true }` (recorded, joined to nothing);
 * 2. otherwise `catalog/items.json` (the import path of earlier versions and `npm start --item-metadata` without a
 *    table), validated and copied;
 * 3. otherwise nothing: `key` is null and training uses the categories its events carry.
 */

export type SnapshotSource = 'table' | 'items.json' | 'none';

export interface SnapshotResult {
  /** The object the run's TrainModel and EvaluateModel read; null when there is no catalogue at all. */
  key: string | null;
  source: SnapshotSource;
  /** Entries joined to training (not withdrawn). */
  items: number;
  /** Withdrawn items recorded in the snapshot (table only). */
  withdrawn: number;
  /** Items the table marks unavailable (out of stock): still joined to training, which ranks by taste, not stock. */
  unavailable: number;
  /** Size of the snapshot object. */
  bytes: number;
}

export interface SnapshotDeps {
  lake: RetrainingLake;
  /** The live catalogue; undefined when no table is configured. */
  catalog: CatalogReader | undefined;
}

/** A record as the snapshot keeps it: the training metadata shape, or a withdrawn marker. */
export function snapshotEntry(record: CatalogRecord): CatalogueEntry {
  if (record.withdrawn) return { itemId: record.itemId, genres: [], withdrawn: true };
  return { itemId: record.itemId, ...(record.title !== undefined ? { title: record.title } : {}), genres: [...record.categories] };
}

const byItemId = (a: { itemId: string }, b: { itemId: string }) => (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0);

/** Writes `catalog/snapshots/<runId>.json` from the table, or from catalog/items.json, and says which. */
export async function snapshotCatalog(runId: string, deps: SnapshotDeps): Promise<SnapshotResult> {
  const key = catalogSnapshotKey(runId);
  if (deps.catalog) {
    const entries: CatalogueEntry[] = [];
    let withdrawn = 0;
    let unavailable = 0;
    for await (const record of deps.catalog.scanAll()) {
      entries.push(snapshotEntry(record));
      if (record.withdrawn) withdrawn++;
      else if (!record.available) unavailable++;
    }
    if (entries.length > 0) {
      entries.sort(byItemId);
      const bytes = await write(deps.lake, key, entries);
      return { key, source: 'table', items: entries.length - withdrawn, withdrawn, unavailable, bytes };
    }
  }
  const uploaded = await getJson<unknown>(deps.lake, CATALOG_KEY);
  if (uploaded === undefined) return { key: null, source: 'none', items: 0, withdrawn: 0, unavailable: 0, bytes: 0 };
  const parsed = CatalogueSchema.safeParse(uploaded);
  // The same file fails on every attempt: a DataError goes to the failure path, never retried.
  if (!parsed.success) throw new DataError(`${CATALOG_KEY} is invalid: ${formatIssues(parsed.error.issues, { limit: 3 })}`);
  const entries = parsed.data;
  const withdrawn = entries.filter((e) => e.withdrawn === true).length;
  const bytes = await write(deps.lake, key, entries);
  return { key, source: 'items.json', items: entries.length - withdrawn, withdrawn, unavailable: 0, bytes };
}

async function write(lake: RetrainingLake, key: string, entries: readonly CatalogueEntry[]): Promise<number> {
  const text = JSON.stringify(entries) + '\n';
  await lake.putObject(key, text, 'application/json');
  return Buffer.byteLength(text);
}
