import type { UserEvent } from '../domain/events';
import { addMoney, lineTotal } from '../domain/money';
import { ATTRIBUTED_STRATEGIES, parseRecommendationId, VARIANTS, type AttributedStrategy, type RecommendationContext, type Variant } from '../domain/recommendation-id';

/**
 * Attribution of impressions, clicks, add-to-carts, purchases and revenue to what produced the recommendation
 * (model version, experiment variant, strategy). Pure. The analytics windows fold these per window and shard
 * (`applyToWindow`), the rows store them (`window-rows.ts`), the reader sums them over a range, the attribution
 * route and the experiment check read them.
 *
 * Explicit attribution: an event is credited when its `recommendationId` parses (parseRecommendationId); an id
 * that does not parse (a client's own id, a hostile value) is attributed to nothing. Implicit attribution
 * (optional, implicit-attribution.ts) credits events without an id to the key of an earlier impression, in separate
 * totals (`implicit` maps), so these explicit numbers stay exact.
 */

/** Totals of one attribution key over a range of windows. Revenue in major units, exact to the cent. */
export interface AttributionTotals {
  impressions: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
  revenue: number;
  /**
   * Sum over purchases of (line total)², for the variance of revenue per impression. Saturates at
   * MAX_REVENUE_SQUARES (Number.MAX_SAFE_INTEGER, the largest number a row stores; reached only by line totals
   * near 95 million), so a huge purchase never makes its window unstorable.
   */
  revenueSquares: number;
}

/** The largest revenueSquares kept (see AttributionTotals). */
export const MAX_REVENUE_SQUARES = Number.MAX_SAFE_INTEGER;

/** Per variant totals of one experiment. */
export type ExperimentTotals = Record<Variant, AttributionTotals>;

export function emptyAttributionTotals(): AttributionTotals {
  return { impressions: 0, clicks: 0, addToCarts: 0, purchases: 0, revenue: 0, revenueSquares: 0 };
}

/** Per variant zero totals. */
export function emptyExperimentTotals(): ExperimentTotals {
  return { control: emptyAttributionTotals(), challenger: emptyAttributionTotals() };
}

/**
 * Attribution keys per window row: the first MAX_ATTRIBUTION_KEYS distinct keys a row sees keep their own
 * totals, later ones are summed under OTHER_ATTRIBUTION_KEY, so a row stays bounded whatever ids arrive.
 */
export const MAX_ATTRIBUTION_KEYS = 64;
export const OTHER_ATTRIBUTION_KEY = '(other)';

/**
 * Attribution totals by key (`<experiment|->|<variant>|<strategy>|<modelVersion|->`, see attributionKey).
 * A Map, never a plain object.
 */
export type AttributionMap = Map<string, AttributionTotals>;

/** The key of a context: no part can contain `|` (experiment ids, variants, strategies and versions are patterned). */
export function attributionKey(context: RecommendationContext): string {
  return [context.experimentId ?? '-', context.variant, context.strategy, context.modelVersion ?? '-'].join('|');
}

/** The context of a key, or undefined for OTHER_ATTRIBUTION_KEY or anything that is not a key. */
export function parseAttributionKey(key: string): RecommendationContext | undefined {
  const parts = key.split('|');
  if (parts.length !== 4) return undefined;
  const [experiment, variant, strategy, version] = parts as [string, string, string, string];
  if (!(VARIANTS as readonly string[]).includes(variant) || !Object.hasOwn(ATTRIBUTED_STRATEGIES, strategy)) return undefined;
  return {
    experimentId: experiment === '-' ? null : experiment,
    variant: variant as Variant,
    strategy: strategy as AttributedStrategy,
    modelVersion: version === '-' ? null : version,
  };
}

/** a + b (revenue exactly, in cents). */
export function addTotals(a: AttributionTotals, b: AttributionTotals): AttributionTotals {
  return {
    impressions: a.impressions + b.impressions,
    clicks: a.clicks + b.clicks,
    addToCarts: a.addToCarts + b.addToCarts,
    purchases: a.purchases + b.purchases,
    revenue: addMoney(a.revenue, b.revenue),
    revenueSquares: Math.min(MAX_REVENUE_SQUARES, a.revenueSquares + b.revenueSquares),
  };
}

/** What one event adds to its key's totals, or undefined when it credits nothing (views, ratings). */
export function eventCredit(event: UserEvent): AttributionTotals | undefined {
  const t = emptyAttributionTotals();
  switch (event.type) {
    case 'impression':
      t.impressions = 1;
      return t;
    case 'click':
      t.clicks = 1;
      return t;
    case 'add_to_cart':
      t.addToCarts = 1;
      return t;
    case 'purchase': {
      const line = lineTotal(event.price, event.quantity);
      t.purchases = 1;
      t.revenue = line;
      t.revenueSquares = Math.min(MAX_REVENUE_SQUARES, line * line);
      return t;
    }
    default:
      return undefined;
  }
}

/** Adds totals under a key, bounded: a new key beyond `maxKeys` goes to OTHER_ATTRIBUTION_KEY. */
export function addUnderKey(map: AttributionMap, key: string, totals: AttributionTotals, maxKeys = MAX_ATTRIBUTION_KEYS): void {
  const k = map.has(key) || map.size < maxKeys ? key : OTHER_ATTRIBUTION_KEY;
  map.set(k, addTotals(map.get(k) ?? emptyAttributionTotals(), totals));
}

/** Credits each event with a recommendation id this API issued to that id's key (a new map; `map` is unchanged). */
export function creditEvents(map: ReadonlyMap<string, AttributionTotals>, events: readonly UserEvent[], maxKeys = MAX_ATTRIBUTION_KEYS): AttributionMap {
  const out: AttributionMap = new Map(map);
  for (const e of events) {
    if (e.recommendationId === undefined) continue;
    const context = parseRecommendationId(e.recommendationId);
    const credit = context && eventCredit(e);
    if (credit) addUnderKey(out, attributionKey(context), credit, maxKeys);
  }
  return out;
}

/** Credits events to the keys implicit attribution found for them (a new map; `map` is unchanged). */
export function creditImplicit(map: ReadonlyMap<string, AttributionTotals>, credits: readonly { key: string; event: UserEvent }[], maxKeys = MAX_ATTRIBUTION_KEYS): AttributionMap {
  const out: AttributionMap = new Map(map);
  for (const { key, event } of credits) {
    const credit = eventCredit(event);
    if (credit) addUnderKey(out, key, credit, maxKeys);
  }
  return out;
}

/**
 * Sums maps (shards of one window, or consecutive windows). `maxKeys` bounds the result like a row (default:
 * unbounded, for reads: a range of rows holds at most rows × (MAX_ATTRIBUTION_KEYS + 1) keys).
 */
export function mergeAttribution(maps: Iterable<ReadonlyMap<string, AttributionTotals>>, maxKeys = Number.POSITIVE_INFINITY): AttributionMap {
  const out: AttributionMap = new Map();
  for (const m of maps) for (const [k, t] of m) addUnderKey(out, k, t, maxKeys);
  return out;
}

/** Per variant totals of the keys of one experiment (no experiment: `null`, the traffic outside experiments). */
export function experimentTotalsOf(map: ReadonlyMap<string, AttributionTotals>, experimentId: string | null): ExperimentTotals {
  const out = emptyExperimentTotals();
  for (const [key, totals] of map) {
    const context = parseAttributionKey(key);
    if (context && context.experimentId === experimentId) out[context.variant] = addTotals(out[context.variant], totals);
  }
  return out;
}

/** Per variant totals of every key (traffic outside experiments counts as control). */
export function variantTotalsOf(map: ReadonlyMap<string, AttributionTotals>): ExperimentTotals {
  const out = emptyExperimentTotals();
  for (const [key, totals] of map) {
    const context = parseAttributionKey(key);
    if (context) out[context.variant] = addTotals(out[context.variant], totals);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Storage: [key, [impressions, clicks, addToCarts, purchases, revenue, revenueSquares]] pairs

export type AttributionPairs = [key: string, totals: [number, number, number, number, number, number]][];

export function attributionToPairs(map: ReadonlyMap<string, AttributionTotals>): AttributionPairs {
  return [...map].map(([k, t]) => [k, [t.impressions, t.clicks, t.addToCarts, t.purchases, t.revenue, t.revenueSquares]]);
}

/** The attribution of a stored row: pairs, or nothing (rows written before attribution existed). Malformed entries are skipped. */
export function readAttribution(raw: unknown): AttributionMap {
  const out: AttributionMap = new Map();
  if (!Array.isArray(raw)) return out;
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN);
  for (const pair of raw) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || !Array.isArray(pair[1]) || pair[1].length !== 6) continue;
    const values = (pair[1] as unknown[]).map(num);
    if (!values.every(Number.isFinite)) continue;
    const [impressions, clicks, addToCarts, purchases, revenue, revenueSquares] = values as [number, number, number, number, number, number];
    addUnderKey(out, pair[0], { impressions, clicks, addToCarts, purchases, revenue, revenueSquares }, Number.POSITIVE_INFINITY);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Rates with 95 % intervals

/** z for a two-sided 95 % interval. */
export const Z95 = 1.959963984540054;

export interface Estimate {
  value: number;
  low: number;
  high: number;
}

/** successes / n with its 95 % Wilson score interval ({0, 0, 0} when n = 0). */
export function wilsonInterval(successes: number, n: number, z = Z95): Estimate {
  if (n <= 0) return { value: 0, low: 0, high: 0 };
  const p = Math.min(1, successes / n);
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * Revenue per impression with a normal 95 % interval: each impression is a sample whose value is the revenue it
 * led to (most are 0), so the mean is revenue / n and the sample variance (Σx² − n·mean²) / (n − 1), with Σx²
 * taken as revenueSquares (each purchase counted as its own sample). Low is never below 0.
 */
export function revenuePerImpression(totals: AttributionTotals, z = Z95): Estimate {
  const n = totals.impressions;
  if (n <= 0) return { value: 0, low: 0, high: 0 };
  const mean = totals.revenue / n;
  const variance = n > 1 ? Math.max(0, (totals.revenueSquares - n * mean * mean) / (n - 1)) : 0;
  const half = z * Math.sqrt(variance / n);
  return { value: mean, low: Math.max(0, mean - half), high: mean + half };
}

/** What the attribution route reports for a set of totals. */
export interface AttributionMetrics {
  impressions: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
  revenue: number;
  /** clicks / impressions. */
  ctr: Estimate;
  /** purchases / impressions. */
  conversion: Estimate;
  revenuePerImpression: Estimate;
}

export function attributionMetrics(t: AttributionTotals): AttributionMetrics {
  return {
    impressions: t.impressions,
    clicks: t.clicks,
    addToCarts: t.addToCarts,
    purchases: t.purchases,
    revenue: t.revenue,
    ctr: wilsonInterval(t.clicks, t.impressions),
    conversion: wilsonInterval(t.purchases, t.impressions),
    revenuePerImpression: revenuePerImpression(t),
  };
}

/**
 * The port the experiment check reads (package D): per variant totals of one experiment's attributed events
 * with event time in [fromMs, toMs), read at whole windows (see AnalyticsReader.experimentTotals).
 */
export interface AttributionSource {
  experimentTotals(experimentId: string, fromMs: number, toMs: number): Promise<ExperimentTotals>;
}

/** The per-variant CloudWatch metrics the analytics consumer publishes (dimension `Variant` beside `service`). */
export const VARIANT_METRIC_NAMES = { impressions: 'Impressions', clicks: 'Clicks', purchases: 'Purchases', revenue: 'Revenue' } as const;

/** The per-variant metric values of a batch's attributed totals: only variants that saw something. */
export function variantMetricValues(totals: ExperimentTotals): { variant: Variant; name: string; value: number }[] {
  return VARIANTS.flatMap((variant) => {
    const t = totals[variant];
    if (t.impressions + t.clicks + t.addToCarts + t.purchases === 0) return [];
    return (Object.keys(VARIANT_METRIC_NAMES) as (keyof typeof VARIANT_METRIC_NAMES)[]).map((k) => ({ variant, name: VARIANT_METRIC_NAMES[k], value: t[k] }));
  });
}
