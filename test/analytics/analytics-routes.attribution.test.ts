import { describe, expect, it } from 'vitest';
import { AnalyticsReader, type WindowRowQuery } from '../../src/analytics/analytics-reader';
import { analyticsRoutes, attributionRoute } from '../../src/analytics/analytics-routes';
import { toWindowRow, windowRowKey, type WindowRow } from '../../src/analytics/window-rows';
import { applyToWindow, emptyWindow, GRANULARITIES, mergeWindows, windowStart } from '../../src/analytics/windows';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { newRecommendationId, type RecommendationContext } from '../../src/domain/recommendation-id';

/** Window rows in memory, folded the way the consumer folds them (one shard), queried like the table. */
function memoryRows(events: UserEvent[]): WindowRowQuery {
  const byId = new Map<string, { row: WindowRow; events: UserEvent[] }>();
  for (const e of events) {
    for (const g of GRANULARITIES) {
      const key = windowRowKey(g, Date.parse(e.timestamp), 'shard-0');
      const id = `${key.pk}\u0000${key.sk}`;
      const entry = byId.get(id) ?? { row: toWindowRow(emptyWindow(g, key.startMs), key, 'shard-0', '0'), events: [] };
      entry.events.push(e);
      entry.row = toWindowRow(applyToWindow(emptyWindow(g, key.startMs), entry.events), key, 'shard-0', '1');
      byId.set(id, entry);
    }
  }
  return {
    async *rows(pk, fromSk, toSk) {
      for (const { row } of [...byId.values()].sort((a, b) => a.row.sk.localeCompare(b.row.sk))) {
        // A DynamoDB round trip: the reader sees plain data, as unmarshalled.
        if (row.pk === pk && row.sk >= fromSk && row.sk <= toSk) yield JSON.parse(JSON.stringify(row, (_k, v: unknown) => (v instanceof Uint8Array ? [...v] : v))) as WindowRow;
      }
    },
  };
}

const now = Date.UTC(2026, 10, 22, 12, 30, 15);
let n = 0;
function event(raw: Record<string, unknown>, atMs: number): UserEvent {
  const r = parseEvent({ eventId: `e${n++}`, userId: 'u1', itemId: 'i1', timestamp: new Date(atMs).toISOString(), ...raw }, { now });
  if (!r.ok) throw new Error(r.message);
  return r.event;
}
const control: RecommendationContext = { experimentId: 'xexp1', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' };
const challenger: RecommendationContext = { ...control, variant: 'challenger', modelVersion: 'v20261102T000000Z' };
const outside: RecommendationContext = { experimentId: null, variant: 'control', strategy: 'similar', modelVersion: 'v20261101T000000Z' };

function shop(): UserEvent[] {
  const c = newRecommendationId(control);
  const x = newRecommendationId(challenger);
  const o = newRecommendationId(outside);
  const t = now - 10 * 60_000;
  return [
    ...Array.from({ length: 100 }, (_, i) => event({ type: 'impression', recommendationId: c, position: i % 10 }, t + i)),
    ...Array.from({ length: 10 }, (_, i) => event({ type: 'click', recommendationId: c }, t + 200 + i)),
    ...Array.from({ length: 50 }, (_, i) => event({ type: 'impression', recommendationId: x }, t + 60_000 + i)),
    ...Array.from({ length: 10 }, (_, i) => event({ type: 'click', recommendationId: x }, t + 60_200 + i)),
    event({ type: 'purchase', recommendationId: x, price: '10.00' }, t + 60_300),
    ...Array.from({ length: 20 }, (_, i) => event({ type: 'impression', recommendationId: o }, t + 120_000 + i)),
    // Two days ago: outside a 24h window.
    event({ type: 'impression', recommendationId: c }, now - 2 * 86_400_000),
  ];
}

describe('GET /analytics/attribution', () => {
  const reader = new AnalyticsReader(memoryRows(shop()));

  it('answers per variant and per key with rates and 95 % intervals', async () => {
    const res = await attributionRoute({ window: '24h', experiment: 'xexp1' }, reader, now);
    expect(res.status).toBe(200);
    const body = res.body as {
      experimentId: string;
      variants: Record<string, { impressions: number; clicks: number; purchases: number; revenue: number; ctr: { value: number; low: number; high: number }; conversion: { value: number }; revenuePerImpression: { value: number; low: number; high: number } }>;
      keys: { experimentId: string; variant: string; strategy: string; modelVersion: string; impressions: number }[];
      implicit: unknown;
    };
    expect(body.experimentId).toBe('xexp1');
    expect(body.variants.control).toMatchObject({ impressions: 100, clicks: 10, purchases: 0, revenue: 0 });
    expect(body.variants.control!.ctr.value).toBe(0.1);
    expect(body.variants.control!.ctr.low).toBeCloseTo(0.05523, 4);
    expect(body.variants.control!.ctr.high).toBeCloseTo(0.17437, 4);
    expect(body.variants.challenger).toMatchObject({ impressions: 50, clicks: 10, purchases: 1, revenue: 10 });
    expect(body.variants.challenger!.conversion.value).toBe(0.02);
    expect(body.variants.challenger!.revenuePerImpression.value).toBe(0.2);
    expect(body.variants.challenger!.revenuePerImpression.high).toBeGreaterThan(0.2);
    expect(body.keys.map((k) => [k.variant, k.strategy, k.modelVersion, k.impressions])).toEqual([
      ['control', 'personalized', 'v20261101T000000Z', 100],
      ['challenger', 'personalized', 'v20261102T000000Z', 50],
    ]);
    expect(body.implicit).toBeNull();
  });

  it('sums every key per variant without an experiment (outside experiments counts as control)', async () => {
    const res = await attributionRoute({ window: '1h' }, reader, now);
    const body = res.body as { variants: Record<string, { impressions: number }>; keys: { experimentId: string | null }[] };
    expect(body.variants.control!.impressions).toBe(120);
    expect(body.variants.challenger!.impressions).toBe(50);
    expect(body.keys.map((k) => k.experimentId).sort()).toEqual([null, 'xexp1', 'xexp1'].sort());
  });

  it('reads the windows of the range asked for only (a 7d window sees the event of two days ago)', async () => {
    const week = (await attributionRoute({ window: '7d', experiment: 'xexp1' }, reader, now)).body as { variants: Record<string, { impressions: number }> };
    expect(week.variants.control!.impressions).toBe(101);
  });

  it('answers an unknown experiment with zeros, and a bad window or experiment with 400', async () => {
    const unknown = await attributionRoute({ experiment: 'xnobody' }, reader, now);
    expect(unknown.status).toBe(200);
    expect(unknown.body).toMatchObject({ variants: { control: { impressions: 0, ctr: { value: 0, low: 0, high: 0 } }, challenger: { impressions: 0 } }, keys: [] });
    expect(await attributionRoute({ window: '90d' }, reader, now)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PARAMETER', field: 'window' } } });
    expect(await attributionRoute({ window: 'soon' }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'window' } } });
    for (const experiment of ['__proto__', 'x'.repeat(300), 'XEXP', '']) {
      expect(await attributionRoute({ experiment }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'experiment' } } });
    }
  });

  it('is one of the analytics routes, and answers 404 where analytics is off', async () => {
    expect(Object.keys(analyticsRoutes(reader))).toContain('analyticsAttribution');
    expect(await analyticsRoutes(undefined).analyticsAttribution!({ query: {} })).toMatchObject({ status: 404, body: { error: { code: 'ANALYTICS_DISABLED' } } });
  });

  it('gives the experiment check per variant totals over [from, to) (the AttributionSource port)', async () => {
    const totals = await reader.experimentTotals('xexp1', now - 3_600_000, now);
    expect(totals.control).toMatchObject({ impressions: 100, clicks: 10 });
    expect(totals.challenger).toMatchObject({ impressions: 50, clicks: 10, purchases: 1, revenue: 10, revenueSquares: 100 });
  });
});

describe('window aggregates carry attribution', () => {
  it('merges shards and consecutive windows, and keeps attribution out of the interaction counts', () => {
    const t = windowStart(now, 'minute');
    const id = newRecommendationId(control);
    const a = applyToWindow(emptyWindow('minute', t), [event({ type: 'impression', recommendationId: id }, t), event({ type: 'click', recommendationId: id }, t + 1)]);
    const b = applyToWindow(emptyWindow('minute', t), [event({ type: 'impression', recommendationId: id }, t + 2)]);
    const merged = mergeWindows([a, b], 'minute', t);
    expect([...merged.attribution.values()][0]).toMatchObject({ impressions: 2, clicks: 1 });
    expect(merged.counts.click).toBe(1);
    expect(Object.values(merged.counts).reduce((s, x) => s + x, 0)).toBe(1);
  });
});
