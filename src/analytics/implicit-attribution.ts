import { eventTimeMs, type UserEvent } from '../domain/events';
import { compareSequenceNumbers } from '../domain/lake-layout';
import { parseRecommendationId } from '../domain/recommendation-id';
import type { RowKey, WatermarkedRow } from '../stream/ports';
import { attributionKey } from './attribution';

/**
 * Implicit attribution (optional, `ATTRIBUTION_WINDOW_MINUTES` > 0): a click, add-to-cart or purchase that carries
 * no `recommendationId` is credited to the key of the latest earlier impression of the same item by the same user
 * (an impression whose id parses), if that impression's event time lies within the window before the event's.
 * Pure. "Earlier" is the stream order: the Kinesis partition key is the user id, so a user's events reach one
 * shard in sequence order, and the consumer folds them one at a time into a bounded per-user state (the user's
 * recent impressions). The credit of an event is a function of the state left by the user's records before it,
 * nothing else: an impression that arrives after the click never credits it.
 *
 * Replay safety rests on the state row always being exactly the fold of a prefix of the user's records (see
 * analytics-batch.ts): it is written after the window rows, folding only the records below the shard's lowest
 * failed record, and a failed state write fails the records it carries. A retry then resumes the fold where the
 * stored state ends and computes every credit as the first attempt did, while a record at or below the state's
 * watermark (already folded) gets no credit: its window rows were all written, so it needs none.
 */

/** Impressions kept per user and shard (the latest in stream order); older ones lend no credit. */
export const MAX_RECENT_IMPRESSIONS = 100;
/** The longest window accepted (minutes): a week. */
export const MAX_ATTRIBUTION_WINDOW_MINUTES = 10_080;
/** State rows expire (TTL) this long after their last write, beyond the window: more than the 7 days a record can wait in the stream. */
export const IMPLICIT_STATE_TTL_SECONDS = 8 * 86_400;

/** One impression a user was shown, that can lend its key. */
export interface RecentImpression {
  itemId: string;
  /** Attribution key (attributionKey) of its recommendation id. */
  key: string;
  /** Event time, epoch ms. */
  timeMs: number;
}

/** A user's recent impressions on one shard, in stream order (oldest first), bounded. */
export interface ImpressionState {
  impressions: RecentImpression[];
  /** Latest event time of any impression folded (epoch ms; 0 when none): what age pruning measures from. */
  latestMs: number;
}

export function emptyImpressionState(): ImpressionState {
  return { impressions: [], latestMs: 0 };
}

/** The window in milliseconds for a setting in minutes (0 = off); throws on anything but a whole number in bounds. */
export function attributionWindowMs(minutes: number | undefined): number {
  const m = minutes ?? 0;
  if (!Number.isInteger(m) || m < 0 || m > MAX_ATTRIBUTION_WINDOW_MINUTES) {
    throw new Error(`the implicit attribution window must be a whole number of minutes from 0 (off) to ${MAX_ATTRIBUTION_WINDOW_MINUTES} (got ${String(minutes)})`);
  }
  return m * 60_000;
}

/** The key an impression lends (its recommendation id parses), or undefined. */
export function lentKey(event: UserEvent): string | undefined {
  if (event.type !== 'impression' || event.recommendationId === undefined) return undefined;
  const context = parseRecommendationId(event.recommendationId);
  return context ? attributionKey(context) : undefined;
}

/** Whether an event can be credited implicitly: a click, add-to-cart or purchase without a recommendation id. */
export function isImplicitCandidate(event: UserEvent): boolean {
  return (event.type === 'click' || event.type === 'add_to_cart' || event.type === 'purchase') && event.recommendationId === undefined;
}

/** The key an implicit candidate is credited to, from the state its user's earlier records left, or undefined. */
export function implicitKeyFor(state: ImpressionState, event: UserEvent, windowMs: number): string | undefined {
  if (windowMs <= 0 || !isImplicitCandidate(event)) return undefined;
  const t = eventTimeMs(event);
  for (let i = state.impressions.length - 1; i >= 0; i--) {
    const imp = state.impressions[i]!;
    if (imp.itemId === event.itemId && imp.timeMs <= t && imp.timeMs >= t - windowMs) return imp.key;
  }
  return undefined;
}

/**
 * The state after one more impression: appended (stream order), then impressions older than the window before the
 * latest impression time are dropped, then the oldest beyond `max`. A function of the state and the impression
 * only, so folding a user's records one by one gives the same state however they were cut into batches.
 */
export function withImpression(state: ImpressionState, impression: RecentImpression, windowMs: number, max = MAX_RECENT_IMPRESSIONS): ImpressionState {
  const latestMs = Math.max(state.latestMs, impression.timeMs);
  const kept = [...state.impressions, impression].filter((i) => i.timeMs >= latestMs - windowMs);
  return { impressions: kept.slice(Math.max(0, kept.length - max)), latestMs };
}

/** One record of a user to fold: its position, its event, and whether the ledger judged it a repeat. */
export interface ImplicitInput {
  sequenceNumber: string;
  value: UserEvent;
  duplicate?: boolean;
}

export interface ImplicitFold {
  state: ImpressionState;
  /** Sequence number → key, for the candidates credited. */
  credits: Map<string, string>;
  /** Whether the state changed (an impression was folded): only then is a state row written. */
  changed: boolean;
  /** The records folded (above `after`), in stream order. */
  folded: string[];
  /**
   * The sequence number of the last impression folded (the state row's watermark): only impressions change the
   * state, so the state is also the fold of every record up to the next impression, however batches were cut.
   */
  lastImpression?: string;
}

/**
 * Folds one user's records of one shard, in sequence order, into the state, crediting each candidate from the
 * state before it. Records at or below `after` (the stored state's watermark: folded before) are skipped and
 * credited nothing. Repeats (`duplicate`) neither lend nor receive credit.
 */
export function foldImplicit(state: ImpressionState, records: readonly ImplicitInput[], windowMs: number, after?: string, max = MAX_RECENT_IMPRESSIONS): ImplicitFold {
  const ordered = records
    .filter((r) => after === undefined || compareSequenceNumbers(r.sequenceNumber, after) > 0)
    .sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
  const credits = new Map<string, string>();
  let current = state;
  let changed = false;
  let lastImpression: string | undefined;
  for (const r of ordered) {
    if (r.duplicate) continue;
    const credit = implicitKeyFor(current, r.value, windowMs);
    if (credit !== undefined) credits.set(r.sequenceNumber, credit);
    const key = lentKey(r.value);
    if (key !== undefined) {
      current = withImpression(current, { itemId: r.value.itemId, key, timeMs: eventTimeMs(r.value) }, windowMs, max);
      changed = true;
      lastImpression = r.sequenceNumber;
    }
  }
  return { state: current, credits, changed, folded: ordered.map((r) => r.sequenceNumber), ...(lastImpression !== undefined ? { lastImpression } : {}) };
}

// ---------------------------------------------------------------------------------------------------------
// Storage: one row per user and shard in the analytics table

/**
 * `pk = IMP#<userId>`, `sk = <shardId>`: the user's recent impressions on that shard. Keys are stored once
 * (`keys`) and referred to by index, so a full row (100 impressions) stays a few KB.
 */
export interface ImpressionStateRow extends RowKey, WatermarkedRow {
  entity: 'impressions';
  shardId: string;
  latestMs: number;
  keys: string[];
  impressions: [itemId: string, keyIndex: number, timeMs: number][];
  expiresAt: number;
}

export const impressionStatePk = (userId: string) => `IMP#${userId}`;

export function impressionStateKey(userId: string, shardId: string): RowKey {
  return { pk: impressionStatePk(userId), sk: shardId };
}

export function toImpressionStateRow(state: ImpressionState, key: RowKey, shardId: string, watermark: string, nowSeconds: number, windowMs: number): ImpressionStateRow {
  const keys: string[] = [];
  const index = new Map<string, number>();
  const impressions = state.impressions.map((i): [string, number, number] => {
    let k = index.get(i.key);
    if (k === undefined) {
      k = keys.length;
      keys.push(i.key);
      index.set(i.key, k);
    }
    return [i.itemId, k, i.timeMs];
  });
  return {
    pk: key.pk,
    sk: key.sk,
    entity: 'impressions',
    shardId,
    wm: watermark,
    latestMs: state.latestMs,
    keys,
    impressions,
    expiresAt: nowSeconds + Math.ceil(windowMs / 1000) + IMPLICIT_STATE_TTL_SECONDS,
  };
}

/** The state of a stored row (as unmarshalled: plain data); malformed entries are skipped, anything else is an empty state. */
export function fromImpressionStateRow(row: unknown): ImpressionState {
  if (row === null || typeof row !== 'object') return emptyImpressionState();
  const r = row as Partial<Record<keyof ImpressionStateRow, unknown>>;
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN);
  const keys = Array.isArray(r.keys) ? r.keys : [];
  const impressions: RecentImpression[] = [];
  for (const entry of Array.isArray(r.impressions) ? (r.impressions as unknown[]) : []) {
    if (!Array.isArray(entry) || entry.length !== 3 || typeof entry[0] !== 'string') continue;
    const keyIndex = num(entry[1]);
    const timeMs = num(entry[2]);
    const key: unknown = Number.isInteger(keyIndex) && keyIndex >= 0 ? keys[keyIndex] : undefined;
    if (typeof key !== 'string' || !Number.isFinite(timeMs)) continue;
    impressions.push({ itemId: entry[0], key, timeMs });
  }
  const latestMs = num(r.latestMs);
  return { impressions, latestMs: Number.isFinite(latestMs) ? latestMs : 0 };
}
