import type { UserEvent } from '../domain/events';
import { eventTimeMs, isInteraction } from '../domain/events';
import { emptyCounts, POPULARITY_WEIGHTS, type EventCounts } from '../domain/features';
import { addMoney, lineTotal } from '../domain/money';
import { creditEvents, creditImplicit, mergeAttribution, type AttributionMap } from './attribution';
import { HyperLogLog } from './hyperloglog';
import { SpaceSaving, type HeavyHitter } from './space-saving';

/**
 * Tumbling-window shop metrics by event time: per minute, rolled up to hour and day. Every window is a
 * mergeable summary (counters add, HyperLogLogs union, heavy hitters merge), so per-shard partial windows
 * and consecutive windows combine into any range without re-reading events.
 */
export type Granularity = 'minute' | 'hour' | 'day';
export const GRANULARITIES: readonly Granularity[] = ['minute', 'hour', 'day'];

const SPAN_MS: Record<Granularity, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Categories kept per window; rarer ones are summed under `(other)` so a row stays bounded. */
export const MAX_CATEGORIES = 200;
/** The bucket that sums the categories beyond MAX_CATEGORIES. */
export const OTHER_CATEGORY = '(other)';

export interface WindowAggregate {
  granularity: Granularity;
  /** ISO-8601 start of the window (UTC). */
  start: string;
  counts: EventCounts;
  revenue: number;
  unitsSold: number;
  activeUsers: HyperLogLog;
  purchasers: HyperLogLog;
  /** Items by intent-weighted interactions (POPULARITY_WEIGHTS), labelled with their category. */
  items: SpaceSaving;
  /**
   * Intent-weighted interactions per category. A Map, never a plain object: categories are free text and may
   * be names of Object.prototype members (`constructor`, `__proto__`, `toString`).
   */
  categories: Map<string, number>;
  /** Attribution totals per key (attribution.ts): impressions and the events that follow a recommendation. */
  attribution: AttributionMap;
  /**
   * Implicit attribution totals per key (implicit-attribution.ts): events without a recommendation id credited to
   * an earlier impression's key. Separate, so `attribution` stays explicit only. Empty when the setting is off.
   */
  implicit: AttributionMap;
}

export function windowStart(epochMs: number, granularity: Granularity): number {
  return Math.floor(epochMs / SPAN_MS[granularity]) * SPAN_MS[granularity];
}

export function spanMs(granularity: Granularity): number {
  return SPAN_MS[granularity];
}

export function emptyWindow(granularity: Granularity, startMs: number): WindowAggregate {
  return {
    granularity,
    start: new Date(startMs).toISOString(),
    counts: emptyCounts(),
    revenue: 0,
    unitsSold: 0,
    activeUsers: new HyperLogLog(),
    purchasers: new HyperLogLog(),
    items: new SpaceSaving(),
    categories: new Map(),
    attribution: new Map(),
    implicit: new Map(),
  };
}

/**
 * Folds events (all inside the window) into it. Impressions are not interactions: they move no counter, active
 * user, item or category (attribution counts them).
 */
export function applyToWindow(window: WindowAggregate, events: readonly UserEvent[]): WindowAggregate {
  const out: WindowAggregate = {
    ...window,
    counts: { ...window.counts },
    activeUsers: new HyperLogLog(window.activeUsers.precision, window.activeUsers.registers),
    purchasers: new HyperLogLog(window.purchasers.precision, window.purchasers.registers),
    items: SpaceSaving.fromJSON(window.items.toJSON()),
    categories: new Map(window.categories),
  };
  const startMs = Date.parse(window.start);
  for (const e of events) {
    const t = eventTimeMs(e);
    if (t < startMs || t >= startMs + SPAN_MS[window.granularity]) throw new Error(`event ${e.eventId} at ${e.timestamp} is outside the ${window.granularity} window ${window.start}`);
    if (!isInteraction(e)) continue;
    out.counts[e.type] += 1;
    out.activeUsers.add(e.userId);
    if (e.type === 'purchase') {
      out.purchasers.add(e.userId);
      out.revenue = addMoney(out.revenue, lineTotal(e.price, e.quantity));
      out.unitsSold += e.quantity;
    }
    const weight = POPULARITY_WEIGHTS[e.type];
    out.items.add(e.itemId, weight, e.category);
    if (e.category) addCategory(out.categories, e.category, weight);
  }
  // Every event with a recommendation id this API issued, impressions included (bounded per window: see attribution.ts).
  out.attribution = creditEvents(window.attribution, events);
  return out;
}

/** Adds implicit credits (events of this window with the key implicit attribution found for each) to a window. */
export function applyImplicitToWindow(window: WindowAggregate, credits: readonly { key: string; event: UserEvent }[]): WindowAggregate {
  return credits.length === 0 ? window : { ...window, implicit: creditImplicit(window.implicit, credits) };
}

function addCategory(categories: Map<string, number>, category: string, weight: number): void {
  const key = categories.has(category) || categories.size < MAX_CATEGORIES ? category : OTHER_CATEGORY;
  categories.set(key, (categories.get(key) ?? 0) + weight);
}

/** Combines windows (shards of one window, or consecutive windows) into one summary. */
export function mergeWindows(windows: readonly WindowAggregate[], granularity: Granularity, startMs: number): WindowAggregate {
  const out = emptyWindow(granularity, startMs);
  for (const w of windows) {
    for (const t of Object.keys(out.counts) as (keyof EventCounts)[]) out.counts[t] += w.counts[t];
    out.revenue = addMoney(out.revenue, w.revenue);
    out.unitsSold += w.unitsSold;
    out.activeUsers.merge(w.activeUsers);
    out.purchasers.merge(w.purchasers);
    out.items = out.items.merge(w.items);
    for (const [c, n] of w.categories) addCategory(out.categories, c, n);
  }
  out.attribution = mergeAttribution(windows.map((w) => w.attribution));
  out.implicit = mergeAttribution(windows.map((w) => w.implicit));
  return out;
}

export interface WindowSummary {
  start: string;
  end: string;
  activeUsers: number;
  views: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
  ratings: number;
  events: number;
  revenue: number;
  unitsSold: number;
  /** Distinct purchasing users / distinct active users (both approximate, see HyperLogLog). */
  conversionRate: number;
  topItems: { itemId: string; score: number; category?: string }[];
  topCategories: { category: string; score: number }[];
}

export function summarize(w: WindowAggregate, endMs: number, topK = 10): WindowSummary {
  const activeUsers = w.activeUsers.count();
  const purchasers = w.purchasers.count();
  const events = Object.values(w.counts).reduce((a, b) => a + b, 0);
  return {
    start: w.start,
    end: new Date(endMs).toISOString(),
    activeUsers,
    views: w.counts.view,
    clicks: w.counts.click,
    addToCarts: w.counts.add_to_cart,
    purchases: w.counts.purchase,
    ratings: w.counts.rating,
    events,
    revenue: w.revenue,
    unitsSold: w.unitsSold,
    conversionRate: activeUsers > 0 ? Math.min(1, purchasers / activeUsers) : 0,
    topItems: w.items.top(topK).map((h: HeavyHitter) => ({ itemId: h.key, score: h.count, ...(h.label ? { category: h.label } : {}) })),
    topCategories: [...w.categories]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, topK)
      .map(([category, score]) => ({ category, score })),
  };
}
