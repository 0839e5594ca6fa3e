import { describe, expect, it } from 'vitest';
import { ingestAnalyticsBatch, type AnalyticsOptions, type AnalyticsTableRow } from '../../src/analytics/analytics-batch';
import { AnalyticsReader, type WindowRowQuery } from '../../src/analytics/analytics-reader';
import { attributionRoute } from '../../src/analytics/analytics-routes';
import { attributionKey, readAttribution, type AttributionMap } from '../../src/analytics/attribution';
import type { WindowRow } from '../../src/analytics/window-rows';
import { seededRandom } from '../../src/domain/event-generator';
import { compareSequenceNumbers, lowestSequenceNumber } from '../../src/domain/lake-layout';
import { newRecommendationId, type RecommendationContext } from '../../src/domain/recommendation-id';
import { rowId, type RowKey, type RowStore, type RowWriteResult } from '../../src/stream/ports';
import type { StreamRecord } from '../../src/stream/stream-record';

/**
 * Implicit attribution through the analytics batch, against an in-memory table that can refuse writes: known
 * truth, and replay safety (whole-stream replays, redelivered batches, and retries after any pattern of failed
 * row writes, resumed from the lowest failed record as Lambda does, end with the rows of a clean run).
 */

const MIN = 60_000;
const t0 = Date.parse('2026-11-01T10:59:00Z');
const NOW = t0 + 3 * 3_600_000;
const SHARD = 'shardId-000000000000';
const control: RecommendationContext = { experimentId: 'xexp1', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' };
const challenger: RecommendationContext = { ...control, variant: 'challenger', modelVersion: 'v20261102T000000Z' };
const C = attributionKey(control);
const X = attributionKey(challenger);
const ON: AnalyticsOptions = { attributionWindowMinutes: 30 };

class MemoryTable implements RowStore<AnalyticsTableRow> {
  readonly rows = new Map<string, AnalyticsTableRow>();
  readonly reads: RowKey[] = [];
  /** Which writes fail (a transient error after retries). */
  fail: (row: AnalyticsTableRow) => boolean = () => false;

  async getRows(keys: readonly RowKey[]) {
    this.reads.push(...keys);
    const out = new Map<string, AnalyticsTableRow>();
    for (const k of keys) {
      const r = this.rows.get(rowId(k));
      if (r) out.set(rowId(k), structuredClone(r));
    }
    return out;
  }
  async queryRows(pk: string, fromSk: string, toSk: string) {
    return [...this.rows.values()].filter((r) => r.pk === pk && r.sk >= fromSk && r.sk <= toSk).sort((a, b) => a.sk.localeCompare(b.sk)).map((r) => structuredClone(r));
  }
  async putRows(rows: readonly AnalyticsTableRow[]): Promise<RowWriteResult> {
    const failed = new Set<string>();
    for (const r of rows) {
      if (this.fail(r)) failed.add(rowId(r));
      else this.rows.set(rowId(r), structuredClone(r));
    }
    return { failed };
  }
  async putRowsIfUnchanged(items: readonly { row: AnalyticsTableRow; expectedWm: string | undefined }[]) {
    const failed = new Set<string>();
    const conflicts = new Set<string>();
    for (const { row, expectedWm } of items) {
      if (this.rows.get(rowId(row))?.wm !== expectedWm) conflicts.add(rowId(row));
      else if (this.fail(row)) failed.add(rowId(row));
      else this.rows.set(rowId(row), structuredClone(row));
    }
    return { failed, conflicts };
  }
  /** The window rows, read as the table reads them. */
  query(): WindowRowQuery {
    const rows = this.rows;
    return {
      async *rows(pk, fromSk, toSk) {
        for (const r of [...rows.values()].sort((a, b) => a.sk.localeCompare(b.sk))) if (r.entity === 'window' && r.pk === pk && r.sk >= fromSk && r.sk <= toSk) yield structuredClone(r);
      },
    };
  }
}

/** A stream of one shard: each event a record, sequence numbers in order, arrivals after every event time. */
function stream(events: Record<string, unknown>[]): StreamRecord[] {
  return events.map((e, i) => ({
    shardId: SHARD,
    sequenceNumber: `49${String(1000 + i).padStart(20, '0')}`,
    arrivalMs: NOW - 10 * MIN + i * 10,
    data: Buffer.from(JSON.stringify(e)),
  }));
}

let n = 0;
const ev = (raw: Record<string, unknown>, atMs: number, userId = 'u1') => ({ eventId: `e${n++}`, userId, itemId: 'A', timestamp: new Date(atMs).toISOString(), ...raw });
const imp = (ctx: RecommendationContext | string, atMs: number, itemId = 'A', userId = 'u1') =>
  ev({ type: 'impression', itemId, recommendationId: typeof ctx === 'string' ? ctx : newRecommendationId(ctx) }, atMs, userId);

/**
 * Delivers a batch as Lambda's event source mapping does with ReportBatchItemFailures: after a partial failure
 * the batch is retried from its lowest failed record. `failing(attempt, row)` decides which writes fail.
 */
async function deliver(table: MemoryTable, records: StreamRecord[], options: AnalyticsOptions, failing: (attempt: number, row: AnalyticsTableRow) => boolean = () => false): Promise<number> {
  let pending = records;
  for (let attempt = 0; ; attempt++) {
    if (attempt > 100) throw new Error('the batch never succeeded');
    table.fail = (row) => failing(attempt, row);
    const out = await ingestAnalyticsBatch(pending, table, () => NOW, options);
    table.fail = () => false;
    if (out.failures.size === 0) return attempt + 1;
    const low = lowestSequenceNumber([...out.failures.keys()]);
    pending = pending.filter((r) => compareSequenceNumbers(r.sequenceNumber, low) >= 0);
  }
}

async function consume(table: MemoryTable, records: StreamRecord[], options: AnalyticsOptions, batchSize = 1000, failing?: (attempt: number, row: AnalyticsTableRow) => boolean): Promise<void> {
  for (let i = 0; i < records.length; i += batchSize) await deliver(table, records.slice(i, i + batchSize), options, failing);
}

const sorted = (m: AttributionMap) => [...m].sort((a, b) => a[0].localeCompare(b[0]));

/** What a run leaves, without the ledger (whose rows depend on how batches were cut) and the state rows' TTL. */
function snapshot(table: MemoryTable) {
  return [...table.rows.entries()]
    .filter(([, r]) => r.entity !== 'ledger')
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([id, r]) => {
      if (r.entity === 'window') return { id, wm: r.wm, counts: r.counts, revenue: r.revenue, attribution: sorted(readAttribution(r.attribution)), implicit: sorted(readAttribution(r.implicit)) };
      const { expiresAt: _ttl, ...rest } = r;
      return { id, ...rest };
    });
}

const implicitOf = (table: MemoryTable, granularity: WindowRow['granularity']) => {
  const out = new Map<string, { clicks: number; addToCarts: number; purchases: number; revenue: number }>();
  for (const r of table.rows.values()) {
    if (r.entity !== 'window' || r.granularity !== granularity) continue;
    for (const [k, t] of readAttribution(r.implicit)) {
      const o = out.get(k) ?? { clicks: 0, addToCarts: 0, purchases: 0, revenue: 0 };
      out.set(k, { clicks: o.clicks + t.clicks, addToCarts: o.addToCarts + t.addToCarts, purchases: o.purchases + t.purchases, revenue: Math.round((o.revenue + t.revenue) * 100) / 100 });
    }
  }
  return out;
};

/** The known-truth stream (window 30 minutes). */
function shop(): Record<string, unknown>[] {
  const clickA = ev({ type: 'click' }, t0 + 5 * MIN); // credited to C
  return [
    imp(control, t0), // lends C for A
    clickA,
    ev({ type: 'click', recommendationId: newRecommendationId(challenger) }, t0 + 5 * MIN), // explicit only (X)
    imp(challenger, t0 + 10 * MIN, 'B'),
    ev({ type: 'click', itemId: 'B' }, t0 + 50 * MIN), // 40 minutes after B's impression: outside the window
    ev({ type: 'click', itemId: 'K' }, t0 + 11 * MIN), // its impression comes after it in the stream
    imp(control, t0 + 10 * MIN, 'K'),
    ev({ type: 'purchase', price: '10.00', quantity: 2 }, t0 + 20 * MIN), // credited to C: 20.00
    imp(challenger, t0 + 21 * MIN), // now the latest of A
    ev({ type: 'add_to_cart', price: '10.00' }, t0 + 22 * MIN), // credited to X
    ev({ type: 'click' }, t0 + 6 * MIN, 'u2'), // another user: never saw A
    imp('__proto__', t0 + MIN, 'D'), // a hostile id lends nothing
    ev({ type: 'click', itemId: 'D' }, t0 + 2 * MIN),
    { ...clickA }, // the same eventId again: a duplicate, counted and credited once
  ];
}

const truth = {
  [C]: { clicks: 1, addToCarts: 0, purchases: 1, revenue: 20 },
  [X]: { clicks: 0, addToCarts: 1, purchases: 0, revenue: 0 },
};

describe('implicit attribution in the analytics batch (known truth)', () => {
  it('credits id-less clicks, add-to-carts and purchases to the latest earlier impression within the window, in separate totals', async () => {
    const table = new MemoryTable();
    await consume(table, stream(shop()), ON);
    for (const g of ['minute', 'hour', 'day'] as const) expect(Object.fromEntries(implicitOf(table, g)), g).toEqual(truth);
    const report = await new AnalyticsReader(table.query()).attribution({ fromMs: t0 - 60 * MIN, toMs: t0 + 120 * MIN }, { nowMs: NOW });
    expect(report.implicit.get(C)).toMatchObject({ ...truth[C], impressions: 0, revenueSquares: 400 });
    // Explicit numbers are exactly those of a run without implicit attribution.
    expect(report.keys.get(C)).toMatchObject({ impressions: 2, clicks: 0, addToCarts: 0, purchases: 0 });
    expect(report.keys.get(X)).toMatchObject({ impressions: 2, clicks: 1, addToCarts: 0, purchases: 0 });
    const off = new MemoryTable();
    await consume(off, stream(shop()), {});
    const explicitOnly = (t: MemoryTable) => snapshot(t).flatMap((r) => ('counts' in r ? [{ id: r.id, counts: r.counts, revenue: r.revenue, attribution: r.attribution }] : []));
    expect(explicitOnly(table)).toEqual(explicitOnly(off));
  });

  it('answers the implicit totals per variant and key on the route (null when off)', async () => {
    const table = new MemoryTable();
    await consume(table, stream(shop()), ON);
    const res = await attributionRoute({ window: '24h', experiment: 'xexp1' }, new AnalyticsReader(table.query()), NOW);
    const body = res.body as { variants: Record<string, { clicks: number }>; implicit: { variants: Record<string, unknown>; keys: { variant: string; modelVersion: string; clicks: number; purchases: number; revenue: number }[] } };
    expect(body.variants.control!.clicks).toBe(0);
    expect(body.variants.challenger!.clicks).toBe(1);
    expect(body.implicit.variants).toEqual({ control: truth[C], challenger: truth[X] });
    expect(body.implicit.keys.map((k) => [k.variant, k.modelVersion, k.clicks, k.purchases, k.revenue])).toEqual([
      ['control', control.modelVersion, 1, 1, 20],
      ['challenger', challenger.modelVersion, 0, 0, 0],
    ]);
    const none = await attributionRoute({ window: '24h', experiment: 'xother' }, new AnalyticsReader(table.query()), NOW);
    expect((none.body as { implicit: unknown }).implicit).toBeNull();
    const off = new MemoryTable();
    await consume(off, stream(shop()), {});
    expect(((await attributionRoute({ window: '24h' }, new AnalyticsReader(off.query()), NOW)).body as { implicit: unknown }).implicit).toBeNull();
  });

  it('is off by default: no impression state is read or written, no implicit totals', async () => {
    const table = new MemoryTable();
    await consume(table, stream(shop()), {});
    await consume(table, stream(shop()), { attributionWindowMinutes: 0 });
    expect([...table.rows.values()].filter((r) => r.entity === 'impressions')).toEqual([]);
    expect(table.reads.filter((k) => k.pk.startsWith('IMP#'))).toEqual([]);
    expect([...table.rows.values()].some((r) => r.entity === 'window' && r.implicit !== undefined)).toBe(false);
  });

  it('keeps one bounded state row per user and shard, written only for users with an impression that lends a key', async () => {
    const table = new MemoryTable();
    const events = [...Array.from({ length: 150 }, (_, i) => imp(control, t0 + i * 1000, `i${i}`)), ev({ type: 'view' }, t0, 'u3'), ev({ type: 'click' }, t0, 'u4')];
    await consume(table, stream(events), ON);
    const states = [...table.rows.values()].filter((r) => r.entity === 'impressions');
    expect(states.map((r) => [r.pk, r.sk, r.impressions.length])).toEqual([['IMP#u1', SHARD, 100]]);
  });
});

describe('implicit attribution is replay-safe', () => {
  it('changes nothing when the whole stream is replayed, or one batch redelivered (also as a dead-letter replay)', async () => {
    const records = stream(shop());
    const table = new MemoryTable();
    await consume(table, records, ON, 4);
    const before = structuredClone([...table.rows.entries()]);
    await consume(table, records, ON, 4);
    await consume(table, records, ON, 1000);
    await deliver(table, records.slice(4, 8), ON);
    await deliver(table, records.slice(4, 8), { ...ON, replay: true });
    expect([...table.rows.entries()]).toEqual(before);
    expect(Object.fromEntries(implicitOf(table, 'hour'))).toEqual(truth);
  });

  it('gives the same rows however the stream is cut into batches', async () => {
    const clean = new MemoryTable();
    await consume(clean, stream(shop()), ON);
    for (const size of [1, 3, 7]) {
      const table = new MemoryTable();
      await consume(table, stream(shop()), ON, size);
      expect(snapshot(table), `batches of ${size}`).toEqual(snapshot(clean));
    }
  });

  it('credits a retried click as the first attempt did, even when later impressions pushed its impression out of the state', async () => {
    // The click's hour (10:00) row fails once; the 100 impressions after it (11:00) evict A's impression from the
    // state: a state written with the whole batch would make the retry credit nothing to the hour and day rows.
    const events = [imp(control, t0), ev({ type: 'click' }, t0 + 30_000), ...Array.from({ length: 100 }, (_, i) => imp(challenger, t0 + 2 * MIN + i, `o${i}`))];
    const clean = new MemoryTable();
    await consume(clean, stream(events), ON, 1);
    const table = new MemoryTable();
    await consume(table, stream(events.slice(0, 1)), ON);
    let attempts = 0;
    attempts = await deliver(table, stream(events).slice(1), ON, (attempt, row) => attempt === 0 && row.entity === 'window' && row.granularity === 'hour' && row.start === '2026-11-01T10:00:00.000Z');
    expect(attempts).toBe(2);
    expect(snapshot(table)).toEqual(snapshot(clean));
    for (const g of ['minute', 'hour', 'day'] as const) expect(implicitOf(table, g).get(C), g).toMatchObject({ clicks: 1 });
  });

  it('fails the records of a state row it cannot write, and the retry ends where a clean run does', async () => {
    const clean = new MemoryTable();
    await consume(clean, stream(shop()), ON);
    const table = new MemoryTable();
    const attempts = await deliver(table, stream(shop()), ON, (attempt, row) => attempt < 2 && row.entity === 'impressions');
    expect(attempts).toBe(3);
    expect(snapshot(table)).toEqual(snapshot(clean));
  });

  it('ends with the rows of a clean run after any pattern of failed writes (seeded)', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const random = seededRandom(seed);
      const events: Record<string, unknown>[] = [];
      for (let i = 0; i < 600; i++) {
        const user = `u${Math.floor(random() * 4)}`;
        const item = `i${Math.floor(random() * 6)}`;
        const at = t0 + Math.floor(random() * 90 * MIN);
        const r = random();
        if (r < 0.4) events.push(imp(random() < 0.5 ? control : challenger, at, item, user));
        else if (r < 0.6) events.push(ev({ type: 'click', itemId: item }, at, user));
        else if (r < 0.7) events.push(ev({ type: 'purchase', itemId: item, price: '1.25', quantity: 1 + Math.floor(random() * 3) }, at, user));
        else if (r < 0.8) events.push(ev({ type: 'add_to_cart', itemId: item, price: '1.25' }, at, user));
        else if (r < 0.9) events.push(ev({ type: 'view', itemId: item }, at, user));
        else events.push({ ...events[Math.floor(random() * Math.max(1, events.length))]! }); // a repeated eventId
      }
      const records = stream(events);
      const clean = new MemoryTable();
      await consume(clean, records, ON, 60);
      const credited = [...implicitOf(clean, 'day').values()].reduce((s, t) => s + t.clicks + t.addToCarts + t.purchases, 0);
      expect(credited, `seed ${seed}`).toBeGreaterThan(20);
      const table = new MemoryTable();
      const faults = seededRandom(seed * 1000);
      await consume(table, records, ON, 60, (attempt) => attempt < 3 && faults() < 0.15);
      expect(snapshot(table), `seed ${seed}`).toEqual(snapshot(clean));
      expect(implicitOf(table, 'minute'), `seed ${seed}`).toEqual(implicitOf(table, 'day'));
    }
  });
});
