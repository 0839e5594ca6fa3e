import { EVENT_STRENGTHS } from '../../domain/event-strengths';
import { INTERACTION_TYPES, type InteractionType } from '../../domain/events';
import { emptyCounts, POPULARITY_WEIGHTS, type ItemFeatures, type RecentInteraction, type UserFeatures } from '../../domain/features';
import { fromMinor, MAX_MONEY_TOTAL_MINOR, MINOR_PER_MAJOR } from '../../domain/money';
import { batchArray, batchNumber, batchString, type BatchRow } from '../engine';
import { sqlDate, sqlInteger } from '../dialect';
import { INTERACTION_PROBLEM_SQL } from './silver';

/**
 * The exact features and the compact interaction table as SQL over the whole Silver history (`silver_interactions`),
 * equal to what the Lambda engine computes in src/retraining/extract.ts `exactFeatures` (src/domain/features.ts
 * folds) and src/retraining/interactions.ts `toInteractions` / `itemCatalogue`. Only interactions count (impressions
 * never move a feature); rows src/retraining/poison.ts `interactionProblem` refuses are left out, as there.
 *
 * Exact by construction: counts, popularity (integer weights), money summed in integer minor units (cents) and
 * saturated as src/domain/money.ts does (non-negative amounts: saturating step by step equals saturating the total),
 * first and last contact, the latest category (event time, then eventId), the newest-first recent list (event time
 * descending, then itemId, then eventId). One difference is documented, not hidden: `ratingSum` is a sum of doubles,
 * and SQL engines sum in no fixed order; ratings on a binary grid (halves, quarters: every rating the API and the
 * MovieLens files give) sum exactly in any order, others may differ from the Lambda's sum in the last bit.
 */

const TYPES_SQL = INTERACTION_TYPES.map((t) => `'${t}'`).join(', ');

/** The usable interactions of the history (event dates from `fromDt` when given). */
function usableInteractions(fromDt?: string): string {
  return `SELECT * FROM silver_interactions
  WHERE event_type IN (${TYPES_SQL})${fromDt !== undefined ? ` AND dt >= ${sqlDate(fromDt)}` : ''} AND (${INTERACTION_PROBLEM_SQL}) IS NULL`;
}

const countOf = (type: InteractionType) => `count(*) FILTER (WHERE event_type = '${type}')`;
/** An event's line total in minor units: Math.round(price × 100) × quantity, as lineTotal (quantity defaults to 1). */
const LINE_MINOR = `CAST(round(coalesce(price, 0) * ${MINOR_PER_MAJOR}) AS BIGINT) * coalesce(quantity, 1)`;
/** What user and item rows both count: events per type, and the ratings' count and sum. */
const SHARED_TOTALS = `${countOf('view')} AS views, ${countOf('click')} AS clicks, ${countOf('add_to_cart')} AS add_to_carts,
    ${countOf('purchase')} AS purchases, ${countOf('rating')} AS ratings,
    coalesce(sum(coalesce(rating, 0)) FILTER (WHERE event_type = 'rating'), 0) AS rating_sum`;
const money = (filter: string) => `least(coalesce(sum(${LINE_MINOR}) FILTER (WHERE ${filter}), 0), ${sqlInteger(MAX_MONEY_TOTAL_MINOR)})`;

/**
 * One row per user: counts, rating count and sum, spend in minor units, first and last event time, the latest
 * `recentLimit` interactions as four parallel arrays (newest first), and `as_of_ms`, the latest interaction time of the
 * whole history (the `asOf` every exact row records).
 */
export function userFeaturesSelect(recentLimit: number): string {
  const limit = sqlInteger(recentLimit, 1, 10_000);
  return `WITH usable AS (${usableInteractions()}),
ranked AS (
  SELECT user_id, item_id, event_type, event_time_ms, rating,
    row_number() OVER (PARTITION BY user_id ORDER BY event_time_ms DESC, item_id ASC, event_id ASC) AS recency
  FROM usable
),
recent AS (
  SELECT user_id,
    array_agg(item_id ORDER BY recency) AS recent_item,
    array_agg(event_type ORDER BY recency) AS recent_type,
    array_agg(event_time_ms ORDER BY recency) AS recent_ms,
    array_agg(CASE WHEN event_type = 'rating' THEN coalesce(rating, 0) ELSE CAST(NULL AS DOUBLE) END ORDER BY recency) AS recent_rating
  FROM ranked WHERE recency <= ${limit} GROUP BY user_id
),
totals AS (
  SELECT user_id,
    ${SHARED_TOTALS},
    ${money("event_type = 'purchase'")} AS spend_minor,
    min(event_time_ms) AS first_ms, max(event_time_ms) AS last_ms
  FROM usable GROUP BY user_id
)
SELECT t.user_id, t.views, t.clicks, t.add_to_carts, t.purchases, t.ratings, CAST(t.rating_sum AS DOUBLE) AS rating_sum, t.spend_minor, t.first_ms, t.last_ms,
  r.recent_item, r.recent_type, r.recent_ms, r.recent_rating, (SELECT max(event_time_ms) FROM usable) AS as_of_ms
FROM totals t JOIN recent r ON r.user_id = t.user_id`;
}

/** One row per item: counts, rating count and sum, revenue in minor units, units sold, popularity, the latest category. */
export function itemFeaturesSelect(): string {
  const popularity = INTERACTION_TYPES.map((t) => `${sqlInteger(POPULARITY_WEIGHTS[t])} * ${countOf(t)}`).join(' + ');
  return `WITH usable AS (${usableInteractions()}),
categorised AS (
  SELECT item_id, category, row_number() OVER (PARTITION BY item_id ORDER BY event_time_ms DESC, event_id DESC) AS latest
  FROM usable WHERE category IS NOT NULL AND category <> ''
),
totals AS (
  SELECT item_id,
    ${SHARED_TOTALS},
    ${money("event_type = 'purchase'")} AS revenue_minor,
    coalesce(sum(coalesce(quantity, 1)) FILTER (WHERE event_type = 'purchase'), 0) AS units_sold,
    ${popularity} AS popularity,
    min(event_time_ms) AS first_ms, max(event_time_ms) AS last_ms
  FROM usable GROUP BY item_id
)
SELECT t.item_id, t.views, t.clicks, t.add_to_carts, t.purchases, t.ratings, CAST(t.rating_sum AS DOUBLE) AS rating_sum, t.revenue_minor,
  CAST(t.units_sold AS BIGINT) AS units_sold, CAST(t.popularity AS BIGINT) AS popularity, c.category, t.first_ms, t.last_ms,
  (SELECT max(event_time_ms) FROM usable) AS as_of_ms
FROM totals t LEFT JOIN (SELECT item_id, category FROM categorised WHERE latest = 1) c ON c.item_id = t.item_id`;
}

/**
 * The compact interaction table training reads (src/retraining/compact-interactions.ts COMPACT_INTERACTION_COLUMNS):
 * one row per (user, item) with the strongest signal (a rating's value, EVENT_STRENGTHS otherwise) and the first
 * contact, over event dates from `fromDt` (the training window; all history when undefined), as toInteractions.
 */
export function interactionsSelect(fromDt?: string): string {
  const strength = `CASE event_type WHEN 'rating' THEN coalesce(rating, 0) ${Object.entries(EVENT_STRENGTHS)
    .map(([type, s]) => `WHEN '${type}' THEN ${sqlInteger(s)}`)
    .join(' ')} END`;
  return `SELECT user_id, item_id, CAST(max(${strength}) AS DOUBLE) AS strength, min(event_time_ms) AS first_contact_ms, count(*) AS events
FROM (${usableInteractions(fromDt)}) usable GROUP BY user_id, item_id`;
}

/**
 * The items' categories as itemCatalogue derives them from the training rows: the category of the latest event that
 * has one, equal times going to the row read last (Silver's file order: arrival date, then eventId).
 */
export function itemCategoriesSelect(fromDt?: string): string {
  return `SELECT item_id, category FROM (
  SELECT item_id, category, row_number() OVER (PARTITION BY item_id ORDER BY event_time_ms DESC, arrival_dt DESC, event_id DESC) AS latest
  FROM (${usableInteractions(fromDt)}) usable WHERE category IS NOT NULL
) c WHERE latest = 1`;
}

// ---------------------------------------------------------------------------------------------------------
// Rows back to the domain's features

const iso = (ms: number): string => new Date(ms).toISOString();
const num = (row: BatchRow, col: string): number => {
  const v = batchNumber(row[col]);
  if (v === null) throw new Error(`feature row: ${col} is null`);
  return v;
};
const str = (row: BatchRow, col: string): string => {
  const v = batchString(row[col]);
  if (v === null) throw new Error(`feature row: ${col} is null`);
  return v;
};

/** The SHARED_TOTALS columns of a feature row, as both feature types hold them. */
function sharedTotals(row: BatchRow): Pick<UserFeatures, 'counts' | 'ratingCount' | 'ratingSum'> {
  return {
    counts: { ...emptyCounts(), view: num(row, 'views'), click: num(row, 'clicks'), add_to_cart: num(row, 'add_to_carts'), purchase: num(row, 'purchases'), rating: num(row, 'ratings') },
    ratingCount: num(row, 'ratings'),
    ratingSum: num(row, 'rating_sum'),
  };
}

/** `as_of_ms` of a feature row: the history's latest interaction. */
export function asOfOf(row: BatchRow): string {
  return iso(num(row, 'as_of_ms'));
}

/** A row of `userFeaturesSelect` as the UserFeatures the Lambda engine computes. */
export function userFeaturesFromRow(row: BatchRow): UserFeatures {
  const items = batchArray(row.recent_item) ?? [];
  const types = batchArray(row.recent_type) ?? [];
  const times = batchArray(row.recent_ms) ?? [];
  const ratings = batchArray(row.recent_rating) ?? [];
  const recent: RecentInteraction[] = items.map((item, i) => {
    const type = String(types[i]) as InteractionType;
    const entry: RecentInteraction = { itemId: String(item), type, timestamp: iso(batchNumber(times[i]) ?? 0) };
    if (type === 'rating') entry.rating = batchNumber(ratings[i]) ?? 0;
    return entry;
  });
  return {
    userId: str(row, 'user_id'),
    ...sharedTotals(row),
    spend: fromMinor(num(row, 'spend_minor')),
    firstSeen: iso(num(row, 'first_ms')),
    lastSeen: iso(num(row, 'last_ms')),
    recent,
  };
}

/** A row of `itemFeaturesSelect` as the ItemFeatures the Lambda engine computes. */
export function itemFeaturesFromRow(row: BatchRow): ItemFeatures {
  const category = batchString(row.category);
  return {
    itemId: str(row, 'item_id'),
    ...sharedTotals(row),
    revenue: fromMinor(num(row, 'revenue_minor')),
    unitsSold: num(row, 'units_sold'),
    popularity: num(row, 'popularity'),
    firstSeen: iso(num(row, 'first_ms')),
    lastSeen: iso(num(row, 'last_ms')),
    ...(category !== null ? { category } : {}),
  };
}
