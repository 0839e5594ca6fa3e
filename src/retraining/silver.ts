import type { EventType, UserEvent } from '../domain/events';
import type { ItemFeatures, UserFeatures } from '../domain/features';
import type { BronzeRecord } from './bronze';
import type { ParquetColumns, ParquetValue } from './parquet';

/**
 * One deduplicated event, as stored in `silver/interactions/` (impressions included: they are kept for
 * attribution; training and the features leave them out). `recommendation_id` and `position` were added with
 * impressions: a file written before has neither column, and its rows read back without the fields.
 */
export interface SilverInteraction {
  event_id: string;
  event_type: EventType;
  user_id: string;
  item_id: string;
  event_time_ms: number;
  rating: number | null;
  price: number | null;
  quantity: number | null;
  category: string | null;
  session_id: string | null;
  arrival_time_ms: number;
  shard_id: string;
  sequence_number: string;
  /** The event's `recommendationId`; absent (or null) when it had none. */
  recommendation_id?: string | null;
  /** An impression's `position`; absent (or null) otherwise. */
  position?: number | null;
}

export const INTERACTION_COLUMNS: ParquetColumns = {
  event_id: { type: 'UTF8' },
  event_type: { type: 'UTF8' },
  user_id: { type: 'UTF8' },
  item_id: { type: 'UTF8' },
  event_time_ms: { type: 'INT64' },
  rating: { type: 'DOUBLE', optional: true },
  price: { type: 'DOUBLE', optional: true },
  quantity: { type: 'INT32', optional: true },
  category: { type: 'UTF8', optional: true },
  session_id: { type: 'UTF8', optional: true },
  arrival_time_ms: { type: 'INT64' },
  shard_id: { type: 'UTF8' },
  sequence_number: { type: 'UTF8' },
  recommendation_id: { type: 'UTF8', optional: true },
  position: { type: 'INT32', optional: true },
};

export const USER_FEATURE_COLUMNS: ParquetColumns = {
  user_id: { type: 'UTF8' },
  views: { type: 'INT64' },
  clicks: { type: 'INT64' },
  add_to_carts: { type: 'INT64' },
  purchases: { type: 'INT64' },
  ratings: { type: 'INT64' },
  rating_sum: { type: 'DOUBLE' },
  rating_avg: { type: 'DOUBLE', optional: true },
  spend: { type: 'DOUBLE' },
  first_seen_ms: { type: 'INT64' },
  last_seen_ms: { type: 'INT64' },
};

export const ITEM_FEATURE_COLUMNS: ParquetColumns = {
  item_id: { type: 'UTF8' },
  views: { type: 'INT64' },
  clicks: { type: 'INT64' },
  add_to_carts: { type: 'INT64' },
  purchases: { type: 'INT64' },
  ratings: { type: 'INT64' },
  rating_sum: { type: 'DOUBLE' },
  rating_avg: { type: 'DOUBLE', optional: true },
  revenue: { type: 'DOUBLE' },
  units_sold: { type: 'INT64' },
  popularity: { type: 'DOUBLE' },
  category: { type: 'UTF8', optional: true },
  first_seen_ms: { type: 'INT64' },
  last_seen_ms: { type: 'INT64' },
};

export function toSilverInteraction(r: BronzeRecord): SilverInteraction {
  const e = r.event;
  return {
    event_id: e.eventId,
    event_type: e.type,
    user_id: e.userId,
    item_id: e.itemId,
    event_time_ms: Date.parse(e.timestamp),
    rating: e.type === 'rating' ? e.rating : null,
    price: e.type === 'purchase' || e.type === 'add_to_cart' ? (e.price ?? null) : null,
    quantity: e.type === 'purchase' || e.type === 'add_to_cart' ? e.quantity : null,
    category: e.category ?? null,
    session_id: e.sessionId ?? null,
    arrival_time_ms: r.arrivalMs,
    shard_id: r.shardId,
    sequence_number: r.sequenceNumber,
    // Only when present, so a row without them is exactly what it was before the columns existed.
    ...(e.recommendationId !== undefined ? { recommendation_id: e.recommendationId } : {}),
    ...(e.type === 'impression' && e.position !== undefined ? { position: e.position } : {}),
  };
}

/** Parquet writers want optional columns absent rather than null. */
export function toParquetRow(row: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null && v !== undefined));
}

const num = (v: ParquetValue | undefined): number => (typeof v === 'bigint' ? Number(v) : Number(v));
const numOrNull = (v: ParquetValue | undefined): number | null => (v === null || v === undefined ? null : num(v));
const strOrNull = (v: ParquetValue | undefined): string | null => (v === null || v === undefined ? null : String(v));

export function fromParquetInteraction(row: Record<string, ParquetValue>): SilverInteraction {
  return {
    event_id: String(row.event_id),
    event_type: String(row.event_type) as EventType,
    user_id: String(row.user_id),
    item_id: String(row.item_id),
    event_time_ms: num(row.event_time_ms),
    rating: numOrNull(row.rating),
    price: numOrNull(row.price),
    quantity: numOrNull(row.quantity),
    category: strOrNull(row.category),
    session_id: strOrNull(row.session_id),
    arrival_time_ms: num(row.arrival_time_ms),
    shard_id: String(row.shard_id),
    sequence_number: String(row.sequence_number),
    // Files written before these columns existed have neither: the row reads back without them.
    ...(row.recommendation_id !== null && row.recommendation_id !== undefined ? { recommendation_id: String(row.recommendation_id) } : {}),
    ...(row.position !== null && row.position !== undefined ? { position: num(row.position) } : {}),
  };
}

/** The event a Silver row came from, for the feature folds of src/domain/features.ts. */
export function toUserEvent(s: SilverInteraction): UserEvent {
  const base = {
    eventId: s.event_id,
    userId: s.user_id,
    itemId: s.item_id,
    timestamp: new Date(s.event_time_ms).toISOString(),
    ...(s.category !== null ? { category: s.category } : {}),
    ...(s.session_id !== null ? { sessionId: s.session_id } : {}),
    ...(s.recommendation_id !== null && s.recommendation_id !== undefined ? { recommendationId: s.recommendation_id } : {}),
  };
  switch (s.event_type) {
    case 'rating':
      return { ...base, type: 'rating', rating: s.rating ?? 0 };
    case 'purchase':
      return { ...base, type: 'purchase', price: s.price ?? 0, quantity: s.quantity ?? 1 };
    case 'add_to_cart':
      return { ...base, type: 'add_to_cart', quantity: s.quantity ?? 1, ...(s.price !== null ? { price: s.price } : {}) };
    case 'impression':
      return { ...base, type: 'impression', ...(s.position !== null && s.position !== undefined ? { position: s.position } : {}) };
    default:
      return { ...base, type: s.event_type };
  }
}

/** Deterministic order inside a Silver file: event time, then eventId. */
export function compareInteractions(a: SilverInteraction, b: SilverInteraction): number {
  return a.event_time_ms - b.event_time_ms || (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : 0);
}

export function userFeatureRow(f: UserFeatures): Record<string, unknown> {
  return toParquetRow({
    user_id: f.userId,
    views: f.counts.view,
    clicks: f.counts.click,
    add_to_carts: f.counts.add_to_cart,
    purchases: f.counts.purchase,
    ratings: f.ratingCount,
    rating_sum: f.ratingSum,
    rating_avg: f.ratingCount > 0 ? f.ratingSum / f.ratingCount : null,
    spend: f.spend,
    first_seen_ms: Date.parse(f.firstSeen),
    last_seen_ms: Date.parse(f.lastSeen),
  });
}

export function itemFeatureRow(f: ItemFeatures): Record<string, unknown> {
  return toParquetRow({
    item_id: f.itemId,
    views: f.counts.view,
    clicks: f.counts.click,
    add_to_carts: f.counts.add_to_cart,
    purchases: f.counts.purchase,
    ratings: f.ratingCount,
    rating_sum: f.ratingSum,
    rating_avg: f.ratingCount > 0 ? f.ratingSum / f.ratingCount : null,
    revenue: f.revenue,
    units_sold: f.unitsSold,
    popularity: f.popularity,
    category: f.category ?? null,
    first_seen_ms: Date.parse(f.firstSeen),
    last_seen_ms: Date.parse(f.lastSeen),
  });
}
