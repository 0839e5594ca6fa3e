import type { EventCounts } from '../domain/features';
import type { RowKey, WatermarkedRow } from '../stream/ports';
import { attributionToPairs, readAttribution, type AttributionPairs } from './attribution';
import { HyperLogLog } from './hyperloglog';
import { SpaceSaving, type HeavyHitter } from './space-saving';
import { spanMs, windowStart, type Granularity, type WindowAggregate } from './windows';

/**
 * Analytics table layout. One row per window and shard; a partition holds one coarser period so a range
 * is read with a few Queries: minutes under `M#<YYYY-MM-DDTHH>` (sk `<mm>#<shard>`), hours under
 * `H#<YYYY-MM-DD>` (sk `<HH>#<shard>`), days under `D#<YYYY-MM>` (sk `<DD>#<shard>`).
 */
export interface WindowRow extends RowKey, WatermarkedRow {
  entity: 'window';
  granularity: Granularity;
  start: string;
  shardId: string;
  counts: EventCounts;
  revenue: number;
  unitsSold: number;
  hllPrecision: number;
  activeUsers: Uint8Array;
  purchasers: Uint8Array;
  items: { capacity: number; total: number; entries: HeavyHitter[] };
  /**
   * Weighted interactions per category as [category, weight] pairs. Not a map attribute: the SDK's
   * unmarshaller builds plain objects by assignment, so a category named `__proto__` would be lost (and
   * `constructor` read as a function). Rows written before this change hold an object; fromWindowRow reads both.
   */
  categories: CategoryPairs | Record<string, number>;
  /**
   * Attribution totals per key (see attribution.ts) as pairs, absent when the window has none (and in rows
   * written before attribution existed).
   */
  attribution?: AttributionPairs;
  /** Implicit attribution totals per key (see implicit-attribution.ts) as pairs, absent when the window has none. */
  implicit?: AttributionPairs;
  expiresAt: number;
}

export type CategoryPairs = [category: string, weight: number][];

/** How long windows are kept (TTL): minutes a week, hours 90 days, days three years. */
export const RETENTION_SECONDS: Record<Granularity, number> = { minute: 7 * 86_400, hour: 90 * 86_400, day: 3 * 365 * 86_400 };

export function partitionOf(granularity: Granularity, startMs: number): { pk: string; slot: string } {
  const iso = new Date(startMs).toISOString();
  switch (granularity) {
    case 'minute':
      return { pk: `M#${iso.slice(0, 13)}`, slot: iso.slice(14, 16) };
    case 'hour':
      return { pk: `H#${iso.slice(0, 10)}`, slot: iso.slice(11, 13) };
    case 'day':
      return { pk: `D#${iso.slice(0, 7)}`, slot: iso.slice(8, 10) };
  }
}

export function windowRowKey(granularity: Granularity, epochMs: number, shardId: string): RowKey & { granularity: Granularity; startMs: number } {
  const startMs = windowStart(epochMs, granularity);
  const { pk, slot } = partitionOf(granularity, startMs);
  return { pk, sk: `${slot}#${shardId}`, granularity, startMs };
}

/** When a window's row expires (its end plus its granularity's retention), epoch seconds. */
export function windowExpiresAt(granularity: Granularity, startMs: number): number {
  return Math.floor((startMs + spanMs(granularity)) / 1000) + RETENTION_SECONDS[granularity];
}

export function toWindowRow(w: WindowAggregate, key: RowKey, shardId: string, watermark: string): WindowRow {
  const startMs = Date.parse(w.start);
  return {
    pk: key.pk,
    sk: key.sk,
    entity: 'window',
    granularity: w.granularity,
    start: w.start,
    shardId,
    wm: watermark,
    counts: w.counts,
    revenue: w.revenue,
    unitsSold: w.unitsSold,
    hllPrecision: w.activeUsers.precision,
    activeUsers: w.activeUsers.registers,
    purchasers: w.purchasers.registers,
    items: w.items.toJSON(),
    categories: [...w.categories].map(([c, n]): [string, number] => [c, n]),
    ...(w.attribution.size > 0 ? { attribution: attributionToPairs(w.attribution) } : {}),
    ...(w.implicit.size > 0 ? { implicit: attributionToPairs(w.implicit) } : {}),
    expiresAt: windowExpiresAt(w.granularity, startMs),
  };
}

export function fromWindowRow(row: WindowRow): WindowAggregate {
  return {
    granularity: row.granularity,
    start: row.start,
    counts: { ...row.counts },
    revenue: row.revenue,
    unitsSold: row.unitsSold,
    activeUsers: new HyperLogLog(row.hllPrecision, Uint8Array.from(row.activeUsers)),
    purchasers: new HyperLogLog(row.hllPrecision, Uint8Array.from(row.purchasers)),
    items: SpaceSaving.fromJSON(row.items),
    categories: readCategories(row.categories),
    attribution: readAttribution(row.attribution),
    implicit: readAttribution(row.implicit),
  };
}

/** Categories of a row, new form (pairs) or old (an object: only its own enumerable keys, inherited names never). */
export function readCategories(raw: unknown): Map<string, number> {
  const out = new Map<string, number>();
  const add = (c: unknown, n: unknown) => {
    const weight = typeof n === 'number' ? n : typeof n === 'string' ? Number(n) : NaN;
    if (typeof c === 'string' && Number.isFinite(weight)) out.set(c, (out.get(c) ?? 0) + weight);
  };
  if (Array.isArray(raw)) {
    for (const pair of raw) if (Array.isArray(pair) && pair.length === 2) add(pair[0], pair[1]);
  } else if (raw !== null && typeof raw === 'object') {
    for (const c of Object.keys(raw)) add(c, Object.getOwnPropertyDescriptor(raw, c)?.value);
  }
  return out;
}
