import type { CatalogReader } from './catalog-store';
import type { CatalogRecord } from './item';

export interface LiveCatalogueLog {
  info?(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface LiveCatalogueOptions {
  /** Pull the change feed at most this often (ms). */
  refreshMs: number;
  /** How far behind the newest `updatedAt` seen each pull re-reads (ms), for the feed's eventual consistency. Default 10 000. */
  overlapMs?: number;
  now?: () => number;
  log?: LiveCatalogueLog;
}

export interface LiveCatalogueHealth {
  /** Records held that are not withdrawn. */
  items: number;
  /** Tombstones held. */
  withdrawn: number;
  /** ISO time the first full read completed, or null before it. */
  loadedAt: string | null;
  /** ISO time of the last successful pull (the full read counts), or null before it. */
  lastRefreshAt: string | null;
  refreshMs: number;
  /** A write is visible here within this, counted from its acknowledgement: refreshMs + FEED_PROPAGATION_ALLOWANCE_MS (plus the triggering request's wait). */
  stalenessBoundMs: number;
  /** The last failed read, while the replica serves the state before it. */
  lastError?: string;
  version: number;
}

export const DEFAULT_CATALOG_OVERLAP_MS = 10_000;
/** Changes kept for `changedSince(version)`; a caller further behind than that gets undefined (re-read everything). */
const MAX_CHANGE_LOG = 10_000;
/** The index's propagation, counted into `stalenessBoundMs` (DynamoDB documents GSIs as eventually consistent, usually within a second). */
export const FEED_PROPAGATION_ALLOWANCE_MS = 1000;

/**
 * The serving replica of the live item catalogue: every record (tombstones included) in memory, kept fresh by
 * pulling the store's change feed. Pure: it knows the store only through the `CatalogReader` port.
 *
 * ## Staleness bound
 * A catalogue write (PUT /items, DELETE /items/{itemId}) is visible on an instance at most
 *
 *     refreshMs + the change feed's propagation (DynamoDB GSI: typically well under a second)
 *               + the wait of the request that triggers the refresh
 *
 * after the write was acknowledged, provided the instance serves requests: a request calls `maybeRefresh()`,
 * which pulls the feed when `refreshMs` have passed since the last pull; the request waits for that pull at
 * most a bound it chooses (it may answer from the current state and let the pull finish in the background).
 * An idle instance refreshes on its next request, before it can answer with stale data beyond that bound.
 *
 * The feed (a GSI) is eventually consistent: a write can become readable there after a later one. Each pull
 * therefore re-reads `overlapMs` (default 10 s) behind the newest `updatedAt` seen, so a late-propagating write
 * is picked up by a later pull instead of being skipped for good. Re-reading is idempotent: a record replaces
 * the one held only when its `updatedAt` is newer (an older write never overwrites a newer one); at equal
 * `updatedAt` the one read later wins when it differs, so the replica converges on what the store finally holds.
 * `version` bumps only when a record actually changed.
 */
export class LiveCatalogue {
  private readonly byId = new Map<string, CatalogRecord>();
  private readonly refreshMs: number;
  private readonly overlapMs: number;
  private readonly now: () => number;
  private readonly log?: LiveCatalogueLog;
  private loading?: Promise<void>;
  private refreshing?: Promise<void>;
  private loaded = false;
  private loadedAt: number | undefined;
  private lastRefreshAt: number | undefined;
  private lastAttemptAt = 0;
  private maxUpdatedAt = 0;
  private withdrawnCount = 0;
  private currentVersion = 0;
  private lastError: string | undefined;
  /** When the full read started: the first pull re-reads from there (minus the overlap) at least. */
  private scanStartedAt: number | undefined;
  /** Ids changed at each version since the oldest kept (for `changedSince`). */
  private changeLog: { version: number; itemId: string }[] = [];

  constructor(
    private readonly reader: CatalogReader,
    options: LiveCatalogueOptions,
  ) {
    if (!Number.isFinite(options.refreshMs) || options.refreshMs < 0) throw new Error(`refreshMs must be a non-negative number of milliseconds (got ${options.refreshMs})`);
    const overlap = options.overlapMs ?? DEFAULT_CATALOG_OVERLAP_MS;
    if (!Number.isFinite(overlap) || overlap < 0) throw new Error(`overlapMs must be a non-negative number of milliseconds (got ${overlap})`);
    this.refreshMs = options.refreshMs;
    this.overlapMs = overlap;
    this.now = options.now ?? Date.now;
    this.log = options.log;
  }

  /**
   * The first full read (`scanAll`). Concurrent callers share one read; after a failure the next call tries
   * again. Resolves at once when loaded.
   */
  ready(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= this.loadAll().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async loadAll(): Promise<void> {
    const started = this.now();
    try {
      const records: CatalogRecord[] = [];
      for await (const record of this.reader.scanAll()) records.push(record);
      for (const record of records) this.apply(record);
      this.loaded = true;
      this.loadedAt = this.now();
      this.lastRefreshAt = this.loadedAt;
      // The scan began at `started`: anything written since may be missing from it; the feed covers it.
      this.lastAttemptAt = this.loadedAt;
      this.scanStartedAt = started;
      this.lastError = undefined;
      this.log?.info?.('catalogue loaded', { items: this.byId.size - this.withdrawnCount, withdrawn: this.withdrawnCount, ms: this.now() - started });
    } catch (err) {
      this.lastError = `full read failed: ${message(err)}`;
      this.log?.warn('catalogue full read failed; retrying on the next request', { error: this.lastError });
      throw err;
    }
  }

  /**
   * Pulls the change feed when `refreshMs` have passed since the last pull (loading first if needed): records
   * written at or after `maxUpdatedAt - overlapMs`. One pull at a time (concurrent callers share it). A failed
   * pull keeps the current state, is logged and counts as a pull (the next comes `refreshMs` later). Never rejects.
   */
  maybeRefresh(): Promise<void> {
    if (!this.loaded) return this.ready().catch(() => undefined);
    if (this.refreshing) return this.refreshing;
    if (this.now() - this.lastAttemptAt < this.refreshMs) return Promise.resolve();
    this.refreshing = this.pull().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async pull(): Promise<void> {
    const started = this.now();
    this.lastAttemptAt = started;
    // From the newest write seen, or from when the full read began if that is earlier (a write racing the
    // scan may carry an older stamp than records the scan returned), minus the overlap.
    const from = Math.max(0, Math.min(this.maxUpdatedAt, this.scanStartedAt ?? this.maxUpdatedAt) - this.overlapMs);
    try {
      const records: CatalogRecord[] = [];
      for await (const record of this.reader.changedSince(from)) records.push(record);
      let changed = 0;
      for (const record of records) if (this.apply(record)) changed += 1;
      this.lastRefreshAt = this.now();
      this.scanStartedAt = undefined;
      this.lastError = undefined;
      if (changed > 0) this.log?.info?.('catalogue refreshed', { changed, read: records.length, version: this.currentVersion });
    } catch (err) {
      this.lastError = `refresh failed: ${message(err)}`;
      this.log?.warn('catalogue refresh failed; serving the state before it', { error: this.lastError });
    }
  }

  /** Takes a record if it is newer than the one held (or differs at the same `updatedAt`); true when it changed anything. */
  private apply(record: CatalogRecord): boolean {
    const held = this.byId.get(record.itemId);
    if (held) {
      if (record.updatedAt < held.updatedAt) return false;
      if (record.updatedAt === held.updatedAt && sameRecord(held, record)) return false;
      if (held.withdrawn) this.withdrawnCount -= 1;
    }
    const copy = freeze(record);
    this.byId.set(record.itemId, copy);
    if (copy.withdrawn) this.withdrawnCount += 1;
    if (copy.updatedAt > this.maxUpdatedAt) this.maxUpdatedAt = copy.updatedAt;
    this.currentVersion += 1;
    this.changeLog.push({ version: this.currentVersion, itemId: copy.itemId });
    if (this.changeLog.length > MAX_CHANGE_LOG * 2) this.changeLog = this.changeLog.slice(-MAX_CHANGE_LOG);
    return true;
  }

  /** The record of an item (tombstones included: check `withdrawn`), or undefined when the catalogue never had it. */
  get(itemId: string): CatalogRecord | undefined {
    return this.byId.get(itemId);
  }

  /** Bumps each time a record held changes; a consumer caching derived state (filters) compares it. */
  get version(): number {
    return this.currentVersion;
  }

  /** Records held, tombstones included. */
  get size(): number {
    return this.byId.size;
  }

  get isLoaded(): boolean {
    return this.loaded;
  }

  /** Every record held, tombstones included. */
  records(): Iterable<CatalogRecord> {
    return this.byId.values();
  }

  /**
   * Ids whose record changed after `version` (each once), or undefined when the replica no longer remembers
   * that far back (the caller then rebuilds from `records()`).
   */
  changedSince(version: number): string[] | undefined {
    if (version >= this.currentVersion) return [];
    const oldest = this.changeLog[0]?.version ?? this.currentVersion + 1;
    if (version < oldest - 1) return undefined;
    const ids = new Set<string>();
    for (const change of this.changeLog) if (change.version > version) ids.add(change.itemId);
    return [...ids];
  }

  health(): LiveCatalogueHealth {
    return {
      items: this.byId.size - this.withdrawnCount,
      withdrawn: this.withdrawnCount,
      loadedAt: this.loadedAt === undefined ? null : new Date(this.loadedAt).toISOString(),
      lastRefreshAt: this.lastRefreshAt === undefined ? null : new Date(this.lastRefreshAt).toISOString(),
      refreshMs: this.refreshMs,
      stalenessBoundMs: this.refreshMs + FEED_PROPAGATION_ALLOWANCE_MS,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      version: this.currentVersion,
    };
  }
}

function sameRecord(a: CatalogRecord, b: CatalogRecord): boolean {
  if (a.withdrawn !== b.withdrawn || a.available !== b.available || a.title !== b.title || a.price !== b.price || a.createdAt !== b.createdAt) return false;
  if (a.categories.length !== b.categories.length || a.categories.some((c, i) => c !== b.categories[i])) return false;
  const ka = Object.keys(a.attributes);
  const kb = Object.keys(b.attributes);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b.attributes, k) && a.attributes[k] === b.attributes[k]);
}

/** A frozen copy the replica owns: attributes in a null-prototype object, so `constructor` is data. */
function freeze(record: CatalogRecord): CatalogRecord {
  const attributes: CatalogRecord['attributes'] = Object.create(null);
  for (const k of Object.keys(record.attributes)) attributes[k] = record.attributes[k]!;
  const copy: CatalogRecord = { ...record, categories: Object.freeze([...record.categories]) as string[], attributes: Object.freeze(attributes) };
  return Object.freeze(copy);
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}
