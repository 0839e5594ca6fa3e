import { errorAnswer, HttpError, json, type ApiRequest, type ApiResponse } from '../serving/http';
import { invalidParameter, parseK } from '../serving/params';
import { EXPERIMENT_ID_PATTERN } from '../domain/recommendation-id';
import type { AnalyticsReader } from './analytics-reader';
import { attributionMetrics, parseAttributionKey, variantTotalsOf, type AttributionMap, type AttributionMetrics, type AttributionTotals } from './attribution';
import { GRANULARITIES, spanMs, type Granularity } from './windows';

/** An HTTP answer independent of API Gateway's shapes; the API router turns it into a proxy result. */
export interface RouteAnswer {
  status: number;
  body: unknown;
}

export type Query = Record<string, string | undefined>;

const MAX_WINDOW_MS = 31 * 86_400_000;
/** The most windows one trends request may return. */
export const MAX_TREND_POINTS = 1_500;
const DURATION = /^(\d{1,4})(m|h|d)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * Runs a route with the serving convention for bad input: the route throws an HttpError (invalidParameter,
 * parseK) and answers with its status and `{ error }` body, exactly as the recommendation routes do.
 */
async function answering(route: () => Promise<RouteAnswer>): Promise<RouteAnswer> {
  try {
    return await route();
  } catch (err) {
    if (err instanceof HttpError) return errorAnswer(err);
    throw err;
  }
}

/** `5m`, `1h`, `7d` → milliseconds (1 minute to 31 days). */
export function parseWindow(raw: string | undefined, fallback: string): number | string {
  const m = DURATION.exec(raw ?? fallback);
  if (!m) return 'must be a duration like 5m, 1h or 7d';
  const ms = Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  if (ms < 60_000 || ms > MAX_WINDOW_MS) return 'must be between 1m and 31d';
  return ms;
}

function parseInstant(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = /^\d+$/.test(raw) ? Number(raw) : Date.parse(raw);
  return Number.isFinite(t) ? t : NaN;
}

/** `GET /analytics/realtime?window=5m`: totals, conversion, top items and categories, and a per-minute series. */
export function realtimeRoute(query: Query, reader: AnalyticsReader, now = Date.now()): Promise<RouteAnswer> {
  return answering(async () => {
    const window = parseWindow(query.window, '5m');
    if (typeof window === 'string') throw invalidParameter('window', window);
    if (window > 24 * 3_600_000) throw invalidParameter('window', 'must be at most 24h for realtime; use /analytics/trends for longer ranges');
    const { summary, perMinute } = await reader.realtime(window, now);
    return { status: 200, body: { window: query.window ?? '5m', ...summary, perMinute } };
  });
}

/** `GET /analytics/trends?from=…&to=…&granularity=hour`: one summary per window. */
export function trendsRoute(query: Query, reader: AnalyticsReader, now = Date.now()): Promise<RouteAnswer> {
  return answering(async () => {
    const granularity = (query.granularity ?? 'hour') as Granularity;
    if (!GRANULARITIES.includes(granularity)) throw invalidParameter('granularity', `must be one of ${GRANULARITIES.join(', ')}`);
    const to = parseInstant(query.to) ?? now;
    const from = parseInstant(query.from) ?? to - 24 * spanMs(granularity);
    if (Number.isNaN(from)) throw invalidParameter('from', 'must be an ISO-8601 date or epoch milliseconds');
    if (Number.isNaN(to)) throw invalidParameter('to', 'must be an ISO-8601 date or epoch milliseconds');
    if (from >= to) throw invalidParameter('from', 'must be before to');
    const points = Math.ceil((to - from) / spanMs(granularity));
    if (points > MAX_TREND_POINTS) throw invalidParameter('granularity', `gives ${points} windows for this range; at most ${MAX_TREND_POINTS} (use a coarser granularity)`);
    const series = await reader.trends(granularity, from, to);
    return { status: 200, body: { granularity, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points: series } };
  });
}

/** `GET /analytics/items/popular?window=1h&category=…&k=10`. */
export function popularItemsRoute(query: Query, reader: AnalyticsReader, now = Date.now()): Promise<RouteAnswer> {
  return answering(async () => {
    const window = parseWindow(query.window, '1h');
    if (typeof window === 'string') throw invalidParameter('window', window);
    const k = parseK(query.k);
    if (query.category !== undefined && (query.category.length === 0 || query.category.length > 128)) throw invalidParameter('category', 'must be 1-128 characters');
    const items = await reader.popularItems(window, { k, category: query.category, nowMs: now });
    return { status: 200, body: { window: query.window ?? '1h', ...(query.category ? { category: query.category } : {}), items } };
  });
}

/** One attribution key of `GET /analytics/attribution`. */
export interface AttributionKeyAnswer extends AttributionMetrics {
  experimentId: string | null;
  variant: string;
  strategy: string;
  modelVersion: string | null;
}

/** Implicit credits of a key or variant: what followed an impression without carrying its id (no impressions of their own). */
export interface ImplicitTotalsAnswer {
  clicks: number;
  addToCarts: number;
  purchases: number;
  revenue: number;
}

const implicitTotals = (t: AttributionTotals): ImplicitTotalsAnswer => ({ clicks: t.clicks, addToCarts: t.addToCarts, purchases: t.purchases, revenue: t.revenue });

/** The `implicit` part of the answer: per variant and per key, or null when the range holds no implicit credit. */
function implicitAnswer(keys: AttributionMap, other: AttributionTotals) {
  const overflow = other.clicks + other.addToCarts + other.purchases > 0;
  if (keys.size === 0 && !overflow) return null;
  const variants = variantTotalsOf(keys);
  return {
    variants: { control: implicitTotals(variants.control), challenger: implicitTotals(variants.challenger) },
    keys: [...keys]
      .flatMap(([key, totals]) => {
        const context = parseAttributionKey(key);
        return context ? [{ ...context, ...implicitTotals(totals) }] : [];
      })
      .sort((a, b) => b.clicks - a.clicks || b.purchases - a.purchases || `${a.experimentId}${a.variant}${a.strategy}${a.modelVersion}`.localeCompare(`${b.experimentId}${b.variant}${b.strategy}${b.modelVersion}`)),
    unattributedOverflow: implicitTotals(other),
  };
}

/**
 * `GET /analytics/attribution?window=24h[&experiment=<id>]`: per attribution key and per variant, impressions,
 * clicks, add-to-carts, purchases, revenue, CTR, conversion (purchases / impressions) and revenue per impression,
 * each rate with its 95 % interval. An experiment nobody knows answers zeros, not an error. `implicit`: the
 * implicit credits (clicks, add-to-carts, purchases, revenue of events without an id, per variant and key), or null
 * when the range holds none (implicit attribution off, or nothing credited); the explicit numbers never include them.
 */
export function attributionRoute(query: Query, reader: AnalyticsReader, now = Date.now()): Promise<RouteAnswer> {
  return answering(async () => {
    const window = parseWindow(query.window, '24h');
    if (typeof window === 'string') throw invalidParameter('window', window);
    const experimentId = query.experiment;
    if (experimentId !== undefined && !EXPERIMENT_ID_PATTERN.test(experimentId)) throw invalidParameter('experiment', 'must be an experiment id (x followed by 1-24 of a-z, 0-9)');
    const report = await reader.attribution(window, { ...(experimentId !== undefined ? { experimentId } : {}), nowMs: now });
    const keys: AttributionKeyAnswer[] = [...report.keys]
      .flatMap(([key, totals]) => {
        const context = parseAttributionKey(key);
        return context ? [{ ...context, ...attributionMetrics(totals) }] : [];
      })
      .sort((a, b) => b.impressions - a.impressions || `${a.experimentId}${a.variant}${a.strategy}${a.modelVersion}`.localeCompare(`${b.experimentId}${b.variant}${b.strategy}${b.modelVersion}`));
    const variants = variantTotalsOf(report.keys);
    return {
      status: 200,
      body: {
        window: query.window ?? '24h',
        from: new Date(report.fromMs).toISOString(),
        to: new Date(report.toMs).toISOString(),
        experimentId: experimentId ?? null,
        variants: { control: attributionMetrics(variants.control), challenger: attributionMetrics(variants.challenger) },
        keys,
        /** Events of rows that saw more than 64 keys, beyond the first 64 (of unknown key). */
        unattributedOverflow: attributionMetrics(report.other),
        implicit: implicitAnswer(report.implicit, report.implicitOther),
      },
    };
  });
}

/** Route implementations for the API's route table (`/analytics/...`), from the analytics reader. */
type AnalyticsRouteId = 'analyticsRealtime' | 'analyticsTrends' | 'analyticsPopularItems' | 'analyticsAttribution';

export function analyticsRoutes(reader: AnalyticsReader | undefined): Partial<Record<AnalyticsRouteId, (request: { query: Query }) => Promise<RouteAnswer>>> {
  const disabled = async (): Promise<RouteAnswer> =>
    errorAnswer(new HttpError(404, 'ANALYTICS_DISABLED', 'shop analytics is not enabled in this deployment (context analyticsEnabled=false)'));
  if (!reader) return { analyticsRealtime: disabled, analyticsTrends: disabled, analyticsPopularItems: disabled, analyticsAttribution: disabled };
  return {
    analyticsAttribution: (r) => attributionRoute(r.query, reader),
    analyticsRealtime: (r) => realtimeRoute(r.query, reader),
    analyticsTrends: (r) => trendsRoute(r.query, reader),
    analyticsPopularItems: (r) => popularItemsRoute(r.query, reader),
  };
}

/** The analytics routes as API responses (JSON, never cached: the windows move every second). */
export function analyticsApiRoutes(reader: AnalyticsReader | undefined): Partial<Record<AnalyticsRouteId, (request: ApiRequest) => Promise<ApiResponse>>> {
  return Object.fromEntries(
    Object.entries(analyticsRoutes(reader)).map(([id, route]) => [
      id,
      async (request: ApiRequest) => {
        const answer = await route(request);
        return json(answer.status, answer.body, { 'Cache-Control': 'no-store' });
      },
    ]),
  );
}
