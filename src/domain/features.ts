import { EVENT_STRENGTHS } from './event-strengths';
import type { InteractionEvent, InteractionType, UserEvent } from './events';
import { eventTimeMs, INTERACTION_TYPES, isInteraction } from './events';
import { addMoney, lineTotal } from './money';

/**
 * Real-time features, the speed layer: per-user and per-item aggregates kept current by the consumer.
 * Everything here is a pure function of the previous state and the new events, so a replay that
 * re-applies nothing leaves the state bit-for-bit unchanged.
 */

/** Counts per interaction type (impressions are not interactions: attribution counts them). */
export type EventCounts = Record<InteractionType, number>;

export interface RecentInteraction {
  itemId: string;
  type: InteractionType;
  /** ISO-8601 event time. */
  timestamp: string;
  rating?: number;
}

export interface UserFeatures {
  userId: string;
  counts: EventCounts;
  ratingCount: number;
  ratingSum: number;
  /** Sum of price × quantity over purchases, exact to the cent (summed in cents, see src/domain/money.ts). */
  spend: number;
  firstSeen: string;
  lastSeen: string;
  /** Latest interactions, newest first, bounded. The API joins these with the model's history. */
  recent: RecentInteraction[];
}

export interface ItemFeatures {
  itemId: string;
  counts: EventCounts;
  ratingCount: number;
  ratingSum: number;
  revenue: number;
  unitsSold: number;
  /** Intent-weighted interaction count (see POPULARITY_WEIGHTS). */
  popularity: number;
  firstSeen: string;
  lastSeen: string;
  category?: string;
}

/**
 * How much one interaction adds to an item's popularity: the implicit events' strengths (EVENT_STRENGTHS, the
 * scale training and serving use), and a rating of any value counts as a mid-scale 3, since a low rating is
 * still attention.
 */
export const POPULARITY_WEIGHTS: Readonly<EventCounts> = { ...EVENT_STRENGTHS, rating: 3 };

export const DEFAULT_RECENT_LIMIT = 50;

export function emptyCounts(): EventCounts {
  return { view: 0, click: 0, add_to_cart: 0, purchase: 0, rating: 0 };
}

/**
 * The interactions among the events, in the order they should be applied: by event time, ties kept in arrival
 * order. Impressions are left out: they are not interactions and move no feature.
 */
function chronological(events: readonly UserEvent[]): InteractionEvent[] {
  return events
    .filter(isInteraction)
    .map((event, index) => ({ event, index, t: eventTimeMs(event) }))
    .sort((a, b) => a.t - b.t || a.index - b.index)
    .map((e) => e.event);
}

const minIso = (a: string, b: string) => (a <= b ? a : b);
const maxIso = (a: string, b: string) => (a >= b ? a : b);

/**
 * Folds events (all of one user) into that user's features. Impressions are ignored (they are not interactions),
 * so events that hold no interaction leave `previous` as it is.
 */
export function applyUserEvents(
  previous: UserFeatures | undefined,
  events: readonly UserEvent[],
  recentLimit: number = DEFAULT_RECENT_LIMIT,
): UserFeatures {
  const ordered = chronological(events);
  if (ordered.length === 0) {
    if (!previous) throw new Error('applyUserEvents needs a previous state or at least one interaction (impressions are not interactions)');
    return previous;
  }
  const first = ordered[0]!;
  const state: UserFeatures = previous
    ? { ...previous, counts: { ...previous.counts }, recent: [...previous.recent] }
    : {
        userId: first.userId,
        counts: emptyCounts(),
        ratingCount: 0,
        ratingSum: 0,
        spend: 0,
        firstSeen: first.timestamp,
        lastSeen: first.timestamp,
        recent: [],
      };
  for (const e of ordered) {
    if (e.userId !== state.userId) throw new Error(`event ${e.eventId} belongs to user ${e.userId}, not ${state.userId}`);
    state.counts[e.type] += 1;
    if (e.type === 'rating') {
      state.ratingCount += 1;
      state.ratingSum += e.rating;
    }
    if (e.type === 'purchase') state.spend = addMoney(state.spend, lineTotal(e.price, e.quantity));
    state.firstSeen = minIso(state.firstSeen, e.timestamp);
    state.lastSeen = maxIso(state.lastSeen, e.timestamp);
    state.recent.push({
      itemId: e.itemId,
      type: e.type,
      timestamp: e.timestamp,
      ...(e.type === 'rating' ? { rating: e.rating } : {}),
    });
  }
  state.recent = newestFirst(state.recent).slice(0, recentLimit);
  return state;
}

/**
 * Folds events (all about one item) into that item's features. Impressions are ignored (they are not
 * interactions), so events that hold no interaction leave `previous` as it is.
 */
export function applyItemEvents(previous: ItemFeatures | undefined, events: readonly UserEvent[]): ItemFeatures {
  const ordered = chronological(events);
  if (ordered.length === 0) {
    if (!previous) throw new Error('applyItemEvents needs a previous state or at least one interaction (impressions are not interactions)');
    return previous;
  }
  const first = ordered[0]!;
  const state: ItemFeatures = previous
    ? { ...previous, counts: { ...previous.counts } }
    : {
        itemId: first.itemId,
        counts: emptyCounts(),
        ratingCount: 0,
        ratingSum: 0,
        revenue: 0,
        unitsSold: 0,
        popularity: 0,
        firstSeen: first.timestamp,
        lastSeen: first.timestamp,
      };
  for (const e of ordered) {
    if (e.itemId !== state.itemId) throw new Error(`event ${e.eventId} is about item ${e.itemId}, not ${state.itemId}`);
    state.counts[e.type] += 1;
    state.popularity += POPULARITY_WEIGHTS[e.type];
    if (e.type === 'rating') {
      state.ratingCount += 1;
      state.ratingSum += e.rating;
    }
    if (e.type === 'purchase') {
      state.revenue = addMoney(state.revenue, lineTotal(e.price, e.quantity));
      state.unitsSold += e.quantity;
    }
    if (e.category) state.category = e.category;
    state.firstSeen = minIso(state.firstSeen, e.timestamp);
    state.lastSeen = maxIso(state.lastSeen, e.timestamp);
  }
  return state;
}

/** Combines partial aggregates of one user (e.g. one per Kinesis shard) into the whole picture. */
export function mergeUserFeatures(parts: readonly UserFeatures[], recentLimit = DEFAULT_RECENT_LIMIT): UserFeatures | undefined {
  if (parts.length === 0) return undefined;
  return parts.slice(1).reduce<UserFeatures>(
    (acc, p) => ({
      userId: acc.userId,
      counts: addCounts(acc.counts, p.counts),
      ratingCount: acc.ratingCount + p.ratingCount,
      ratingSum: acc.ratingSum + p.ratingSum,
      spend: addMoney(acc.spend, p.spend),
      firstSeen: minIso(acc.firstSeen, p.firstSeen),
      lastSeen: maxIso(acc.lastSeen, p.lastSeen),
      recent: newestFirst([...acc.recent, ...p.recent]).slice(0, recentLimit),
    }),
    parts[0]!,
  );
}

/** Combines partial aggregates of one item (one per Kinesis shard) into the whole picture. */
export function mergeItemFeatures(parts: readonly ItemFeatures[]): ItemFeatures | undefined {
  if (parts.length === 0) return undefined;
  return parts.slice(1).reduce<ItemFeatures>(
    (acc, p) => ({
      itemId: acc.itemId,
      counts: addCounts(acc.counts, p.counts),
      ratingCount: acc.ratingCount + p.ratingCount,
      ratingSum: acc.ratingSum + p.ratingSum,
      revenue: addMoney(acc.revenue, p.revenue),
      unitsSold: acc.unitsSold + p.unitsSold,
      popularity: acc.popularity + p.popularity,
      firstSeen: minIso(acc.firstSeen, p.firstSeen),
      lastSeen: maxIso(acc.lastSeen, p.lastSeen),
      ...(p.lastSeen >= acc.lastSeen ? { category: p.category ?? acc.category } : { category: acc.category ?? p.category }),
    }),
    parts[0]!,
  );
}

export function averageRating(f: { ratingCount: number; ratingSum: number }): number | undefined {
  return f.ratingCount > 0 ? f.ratingSum / f.ratingCount : undefined;
}

function addCounts(a: EventCounts, b: EventCounts): EventCounts {
  const out = emptyCounts();
  for (const t of INTERACTION_TYPES) out[t] = a[t] + b[t];
  return out;
}

/** Newest first; ties broken by item id so the order never depends on arrival. */
/**
 * Newest first; equal times by itemId in code-unit order (not the locale's: the nightly SQL, src/batch/queries/features.ts,
 * orders the same way), the same item at the same time in the order the events were applied.
 */
function newestFirst(list: RecentInteraction[]): RecentInteraction[] {
  return [...list].sort((a, b) => (a.timestamp < b.timestamp ? 1 : a.timestamp > b.timestamp ? -1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
}
