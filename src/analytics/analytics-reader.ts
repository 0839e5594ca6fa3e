import { experimentTotalsOf, mergeAttribution, OTHER_ATTRIBUTION_KEY, parseAttributionKey, emptyAttributionTotals, type AttributionMap, type AttributionSource, type AttributionTotals, type ExperimentTotals } from './attribution';
import { fromWindowRow, partitionOf, RETENTION_SECONDS, type WindowRow } from './window-rows';
import { mergeWindows, spanMs, summarize, windowStart, type Granularity, type WindowAggregate, type WindowSummary } from './windows';

/** The coarser period that one partition of each granularity holds. */
const PARTITION_SPAN: Record<Granularity, (ms: number) => number> = {
  minute: (ms) => windowStart(ms, 'hour') + 3_600_000,
  hour: (ms) => windowStart(ms, 'day') + 86_400_000,
  day: (ms) => {
    const d = new Date(ms);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  },
};

/** The window the API's answers before the first model are drawn from. */
export const LIVE_POPULAR_WINDOW_MS = 86_400_000;

/** The finest granularity a window of this length is read at (few rows, whole windows). */
function granularityFor(windowMs: number): Granularity {
  return windowMs <= 3 * 3_600_000 ? 'minute' : windowMs <= 3 * 86_400_000 ? 'hour' : 'day';
}

/**
 * The granularity an explicit range [fromMs, toMs) is read at: the finest that keeps it to a few hundred windows
 * and whose rows still exist for `fromMs` (minutes live a week, hours 90 days).
 */
function granularityForRange(fromMs: number, toMs: number, nowMs: number): Granularity {
  const byLength = granularityFor(toMs - fromMs);
  const order: Granularity[] = ['minute', 'hour', 'day'];
  for (const g of order.slice(order.indexOf(byLength))) if (fromMs >= nowMs - RETENTION_SECONDS[g] * 1000 || g === 'day') return g;
  return 'day';
}

/** Attribution over a range of whole windows (see AnalyticsReader.attribution). */
export interface AttributionReport {
  /** Start of the first window read (at or before the range asked for) and end of the last. */
  fromMs: number;
  toMs: number;
  granularity: Granularity;
  /** Totals per attribution key (only the experiment's keys when one was asked for); never OTHER_ATTRIBUTION_KEY. */
  keys: AttributionMap;
  /**
   * What rows summed under OTHER_ATTRIBUTION_KEY (keys beyond MAX_ATTRIBUTION_KEYS in a row): events of unknown
   * key, possibly of the experiment asked for. Zero unless a window saw more than 64 keys.
   */
  other: AttributionTotals;
  /**
   * Implicit attribution (events without a recommendation id credited to an earlier impression's key, see
   * implicit-attribution.ts) per key, filtered as `keys`; empty when the setting is off or nothing was credited.
   */
  implicit: AttributionMap;
  /** Implicit credits rows summed under OTHER_ATTRIBUTION_KEY (as `other`). */
  implicitOther: AttributionTotals;
}

/** An item of `GET /items/trending`: its growth score and the weighted interactions behind it. */
export interface TrendingItem {
  itemId: string;
  score: number;
  /** Weighted interactions in the window (lower bound). */
  now: number;
  /** Weighted interactions in the window before (upper bound). */
  before: number;
  category?: string;
}

export interface SeriesPoint {
  start: string;
  events: number;
  views: number;
  purchases: number;
  revenue: number;
  activeUsers: number;
}

/** The window rows of one partition whose `sk` lies in [fromSk, toSk] (`src/adapters/dynamo-analytics-reader.ts` queries the table). */
export interface WindowRowQuery {
  rows(pk: string, fromSk: string, toSk: string): AsyncIterable<WindowRow>;
}

/** Reads window rows back, merging shards, for the analytics routes and the experiment check. */
export class AnalyticsReader implements AttributionSource {
  constructor(private readonly query: WindowRowQuery) {}

  /** One merged aggregate per window of `granularity` that has data in [fromMs, toMs), oldest first. */
  async windows(granularity: Granularity, fromMs: number, toMs: number): Promise<WindowAggregate[]> {
    const first = windowStart(fromMs, granularity);
    const byStart = new Map<number, WindowAggregate[]>();
    for (let partStart = first; partStart < toMs; partStart = PARTITION_SPAN[granularity](partStart)) {
      const partEnd = Math.min(PARTITION_SPAN[granularity](partStart), toMs);
      const { pk, slot: lo } = partitionOf(granularity, Math.max(partStart, first));
      const { slot: hi } = partitionOf(granularity, windowStart(partEnd - 1, granularity));
      for await (const item of this.query.rows(pk, `${lo}#`, `${hi}#\uffff`)) {
        const start = Date.parse(item.start);
        if (start < first || start >= toMs) continue;
        const list = byStart.get(start) ?? [];
        list.push(fromWindowRow(item));
        byStart.set(start, list);
      }
    }
    return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([start, parts]) => mergeWindows(parts, granularity, start));
  }

  /** The last `windowMs` (whole minutes up to now): totals, top items and categories, and a per-minute series. */
  async realtime(windowMs: number, nowMs = Date.now()): Promise<{ summary: WindowSummary; perMinute: SeriesPoint[] }> {
    const toMs = windowStart(nowMs, 'minute') + 60_000;
    const fromMs = toMs - Math.max(60_000, windowStart(windowMs, 'minute'));
    const minutes = await this.windows('minute', fromMs, toMs);
    const perMinute: SeriesPoint[] = [];
    const byStart = new Map(minutes.map((w) => [Date.parse(w.start), w]));
    for (let t = fromMs; t < toMs; t += 60_000) perMinute.push(point(byStart.get(t), t));
    return { summary: summarize(mergeWindows(minutes, 'minute', fromMs), toMs), perMinute };
  }

  /** One summary per window of `granularity` in [fromMs, toMs), including empty windows. */
  async trends(granularity: Granularity, fromMs: number, toMs: number, topK = 3): Promise<WindowSummary[]> {
    const windows = await this.windows(granularity, fromMs, toMs);
    const byStart = new Map(windows.map((w) => [Date.parse(w.start), w]));
    const out: WindowSummary[] = [];
    const span = spanMs(granularity);
    for (let t = windowStart(fromMs, granularity); t < toMs; t += span) {
      const w = byStart.get(t) ?? mergeWindows([], granularity, t);
      out.push(summarize(w, t + span, topK));
    }
    return out;
  }

  /** Most popular items over the last `windowMs`, optionally in one category, read at the coarsest fitting granularity. */
  async popularItems(windowMs: number, options: { category?: string; k?: number; nowMs?: number } = {}): Promise<WindowSummary['topItems']> {
    const nowMs = options.nowMs ?? Date.now();
    const granularity = granularityFor(windowMs);
    const toMs = windowStart(nowMs, granularity) + spanMs(granularity);
    const fromMs = toMs - Math.max(spanMs(granularity), windowStart(windowMs, granularity));
    const merged = mergeWindows(await this.windows(granularity, fromMs, toMs), granularity, fromMs);
    const k = options.k ?? 10;
    return merged.items
      .top(k, options.category ? (h) => h.label === options.category : undefined)
      .map((h) => ({ itemId: h.key, score: h.count, ...(h.label ? { category: h.label } : {}) }));
  }

  /**
   * Items gaining interactions fastest: the last `windowMs` against the `windowMs` before it, both read at the
   * granularity `popularItems` uses. Score `(now - before) / √(before + 1)`: absolute growth, damped by the
   * item's baseline, so 30 → 60 outranks 0 → 3 and an item that merely stays popular does not trend.
   * `now` is the Space-Saving lower bound (count − error) of the current window and `before` the upper bound
   * of the previous one (an item missing from a full summary may have had up to its smallest count), so the
   * sketch's error can only understate growth. Only items that grew appear; `accept` filters by item id (the
   * serving rules) before the top k is taken.
   */
  async trending(
    windowMs: number,
    options: { k?: number; nowMs?: number; accept?: (itemId: string) => boolean } = {},
  ): Promise<TrendingItem[]> {
    const nowMs = options.nowMs ?? Date.now();
    const granularity = granularityFor(windowMs);
    const span = spanMs(granularity);
    const toMs = windowStart(nowMs, granularity) + span;
    const length = Math.max(span, windowStart(windowMs, granularity));
    const [current, previous] = await Promise.all([
      this.windows(granularity, toMs - length, toMs).then((w) => mergeWindows(w, granularity, toMs - length)),
      this.windows(granularity, toMs - 2 * length, toMs - length).then((w) => mergeWindows(w, granularity, toMs - 2 * length)),
    ]);
    const before = new Map(previous.items.top(Number.MAX_SAFE_INTEGER).map((h) => [h.key, h.count]));
    const { capacity } = previous.items;
    // A key absent from a full summary may have had up to the summary's smallest count.
    const absentBound = before.size >= capacity ? Math.min(...before.values()) : 0;
    const out: TrendingItem[] = [];
    for (const h of current.items.top(Number.MAX_SAFE_INTEGER)) {
      const now = h.count - h.error;
      const was = before.get(h.key) ?? absentBound;
      if (now <= was) continue;
      if (options.accept && !options.accept(h.key)) continue;
      out.push({ itemId: h.key, score: (now - was) / Math.sqrt(was + 1), now, before: was, ...(h.label ? { category: h.label } : {}) });
    }
    out.sort((a, b) => b.score - a.score || b.now - a.now || (a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
    return out.slice(0, options.k ?? 10);
  }

  /**
   * Attribution totals per key: over the last `windowMs` (whole windows up to now, as popularItems reads), or over
   * the windows holding [fromMs, toMs). With `experimentId`, only that experiment's keys (an unknown experiment
   * gives no keys, not an error).
   */
  async attribution(range: { fromMs: number; toMs: number } | number, options: { experimentId?: string; nowMs?: number } = {}): Promise<AttributionReport> {
    const nowMs = options.nowMs ?? Date.now();
    let granularity: Granularity;
    let fromMs: number;
    let toMs: number;
    if (typeof range === 'number') {
      granularity = granularityFor(range);
      toMs = windowStart(nowMs, granularity) + spanMs(granularity);
      fromMs = toMs - Math.max(spanMs(granularity), windowStart(range, granularity));
    } else {
      granularity = granularityForRange(range.fromMs, range.toMs, nowMs);
      fromMs = windowStart(range.fromMs, granularity);
      toMs = range.toMs;
    }
    const windows = await this.windows(granularity, fromMs, toMs);
    const select = (merged: AttributionMap): AttributionMap => {
      const keys: AttributionMap = new Map();
      for (const [key, totals] of merged) {
        if (key === OTHER_ATTRIBUTION_KEY) continue;
        if (options.experimentId !== undefined && parseAttributionKey(key)?.experimentId !== options.experimentId) continue;
        keys.set(key, totals);
      }
      return keys;
    };
    const merged = mergeAttribution(windows.map((w) => w.attribution));
    const implicit = mergeAttribution(windows.map((w) => w.implicit));
    return {
      fromMs,
      toMs,
      granularity,
      keys: select(merged),
      other: merged.get(OTHER_ATTRIBUTION_KEY) ?? emptyAttributionTotals(),
      implicit: select(implicit),
      implicitOther: implicit.get(OTHER_ATTRIBUTION_KEY) ?? emptyAttributionTotals(),
    };
  }

  /**
   * Per variant totals of one experiment's events in [fromMs, toMs) (whole windows; the AttributionSource port).
   * Explicit attribution only: implicit credits never reach the experiment's decision.
   */
  async experimentTotals(experimentId: string, fromMs: number, toMs: number): Promise<ExperimentTotals> {
    const { keys } = await this.attribution({ fromMs, toMs }, { experimentId, nowMs: Math.max(toMs, Date.now()) });
    return experimentTotalsOf(keys, experimentId);
  }

  /**
   * The most popular items of the last day, without `exclude`: what the API answers before the first model
   * is deployed (the same windows as `GET /analytics/items/popular?window=1d`).
   */
  async popularNow(k: number, exclude: ReadonlySet<string> = new Set(), nowMs = Date.now()): Promise<{ itemId: string; score: number }[]> {
    const items = await this.popularItems(LIVE_POPULAR_WINDOW_MS, { k: k + exclude.size, nowMs });
    return items.filter((i) => !exclude.has(i.itemId)).slice(0, k).map(({ itemId, score }) => ({ itemId, score }));
  }
}

function point(w: WindowAggregate | undefined, startMs: number): SeriesPoint {
  if (!w) return { start: new Date(startMs).toISOString(), events: 0, views: 0, purchases: 0, revenue: 0, activeUsers: 0 };
  return {
    start: w.start,
    events: Object.values(w.counts).reduce((a, b) => a + b, 0),
    views: w.counts.view,
    purchases: w.counts.purchase,
    revenue: w.revenue,
    activeUsers: w.activeUsers.count(),
  };
}
