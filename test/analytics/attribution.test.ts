import { describe, expect, it } from 'vitest';
import {
  attributionKey,
  attributionMetrics,
  attributionToPairs,
  creditEvents,
  experimentTotalsOf,
  MAX_ATTRIBUTION_KEYS,
  mergeAttribution,
  OTHER_ATTRIBUTION_KEY,
  parseAttributionKey,
  readAttribution,
  revenuePerImpression,
  variantMetricValues,
  variantTotalsOf,
  wilsonInterval,
} from '../../src/analytics/attribution';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { unstorableReason } from '../../src/ingest/storable';
import { newRecommendationId, type RecommendationContext } from '../../src/domain/recommendation-id';

const at = Date.parse('2026-11-01T10:00:00Z');
let n = 0;
function event(raw: Record<string, unknown>): UserEvent {
  const r = parseEvent({ eventId: `e${n++}`, userId: 'u1', itemId: 'i1', timestamp: new Date(at).toISOString(), ...raw }, { now: at + 60_000 });
  if (!r.ok) throw new Error(r.message);
  return r.event;
}
const control: RecommendationContext = { experimentId: 'xexp1', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' };
const challenger: RecommendationContext = { ...control, variant: 'challenger', modelVersion: 'v20261102T000000Z' };
const noExperiment: RecommendationContext = { experimentId: null, variant: 'control', strategy: 'popular', modelVersion: null };
const id = (c: RecommendationContext) => newRecommendationId(c);

describe('explicit attribution (known truth)', () => {
  it('credits impressions, clicks, add-to-carts and purchases (exact revenue and its squares) to the key of the id', () => {
    const c = id(control);
    const x = id(challenger);
    const events = [
      ...Array.from({ length: 7 }, () => event({ type: 'impression', recommendationId: c, position: 0 })),
      ...Array.from({ length: 5 }, () => event({ type: 'impression', recommendationId: x })),
      event({ type: 'click', recommendationId: c }),
      event({ type: 'click', recommendationId: x }),
      event({ type: 'click', recommendationId: x }),
      event({ type: 'add_to_cart', recommendationId: c, price: '3.10' }),
      event({ type: 'purchase', recommendationId: c, price: '0.10', quantity: 3 }),
      event({ type: 'purchase', recommendationId: c, price: '0.20', quantity: 1 }),
      event({ type: 'view', recommendationId: c }),
      event({ type: 'rating', recommendationId: c, rating: 4 }),
      event({ type: 'click' }),
    ];
    const map = creditEvents(new Map(), events);
    expect([...map.keys()].sort()).toEqual([attributionKey(challenger), attributionKey(control)].sort());
    expect(map.get(attributionKey(control))).toEqual({ impressions: 7, clicks: 1, addToCarts: 1, purchases: 2, revenue: 0.5, revenueSquares: 0.3 * 0.3 + 0.2 * 0.2 });
    expect(map.get(attributionKey(challenger))).toMatchObject({ impressions: 5, clicks: 2, addToCarts: 0, purchases: 0, revenue: 0 });
    const totals = experimentTotalsOf(map, 'xexp1');
    expect(totals.control.impressions).toBe(7);
    expect(totals.challenger.clicks).toBe(2);
    expect(experimentTotalsOf(map, 'xother').control.impressions).toBe(0);
  });

  it('adds revenue exactly in cents over many purchases', () => {
    const c = id(control);
    const map = creditEvents(new Map(), Array.from({ length: 1000 }, () => event({ type: 'purchase', recommendationId: c, price: '0.10' })));
    expect(map.get(attributionKey(control))!.revenue).toBe(100);
  });

  it('keeps a row storable whatever the purchase (revenueSquares saturates below 2^53)', () => {
    const c = id(control);
    const map = creditEvents(new Map(), [event({ type: 'purchase', recommendationId: c, price: '1000000000', quantity: 10 }), event({ type: 'purchase', recommendationId: c, price: '1000000000', quantity: 10 })]);
    const totals = map.get(attributionKey(control))!;
    expect(totals).toMatchObject({ purchases: 2, revenue: 20_000_000_000, revenueSquares: Number.MAX_SAFE_INTEGER });
    expect(unstorableReason({ attribution: attributionToPairs(map) })).toBeUndefined();
  });

  it('attributes hostile and foreign ids to nothing', () => {
    const hostile = ['__proto__', 'constructor', 'r1.-.x.p.-.abcdefghij', 'r1.xexp1.c.p.v20261101T000000Z.short', 'r1.xexp1.c.zz.-.abcdefghij', 'client-own-id'];
    const events = hostile.map((recommendationId) => event({ type: 'impression', recommendationId }));
    // 10k characters never pass the event contract; attribution is safe on its own too.
    events.push({ ...event({ type: 'click' }), recommendationId: `r1.${'x'.repeat(10_000)}` });
    events.push({ ...event({ type: 'click' }), recommendationId: '__proto__' });
    const map = creditEvents(new Map(), events);
    expect(map.size).toBe(0);
    expect(Object.getPrototypeOf(map)).toBe(Map.prototype);
  });

  it('keeps a row to 64 keys and sums the rest under (other)', () => {
    const contexts = Array.from({ length: 70 }, (_, i): RecommendationContext => ({ ...control, experimentId: `xe${i}` }));
    const map = creditEvents(new Map(), contexts.map((c) => event({ type: 'impression', recommendationId: id(c) })));
    expect(map.size).toBe(MAX_ATTRIBUTION_KEYS + 1);
    expect(map.get(OTHER_ATTRIBUTION_KEY)!.impressions).toBe(70 - MAX_ATTRIBUTION_KEYS);
    // A key already in the row keeps counting under its own name.
    const again = creditEvents(map, [event({ type: 'click', recommendationId: id(contexts[0]!) })]);
    expect(again.get(attributionKey(contexts[0]!))!.clicks).toBe(1);
    expect(again.get(OTHER_ATTRIBUTION_KEY)!.clicks).toBe(0);
    // Reads merge rows without a bound.
    expect(mergeAttribution([map, map]).get(OTHER_ATTRIBUTION_KEY)!.impressions).toBe(2 * (70 - MAX_ATTRIBUTION_KEYS));
  });

  it('round-trips keys and stored pairs, and reads rows without attribution (or malformed) as empty', () => {
    for (const c of [control, challenger, noExperiment]) expect(parseAttributionKey(attributionKey(c))).toEqual(c);
    expect(parseAttributionKey(OTHER_ATTRIBUTION_KEY)).toBeUndefined();
    expect(parseAttributionKey('-|__proto__|personalized|-')).toBeUndefined();
    const map = creditEvents(new Map(), [event({ type: 'purchase', recommendationId: id(control), price: '12.34', quantity: 2 })]);
    const stored = JSON.parse(JSON.stringify(attributionToPairs(map))) as unknown;
    expect(readAttribution(stored)).toEqual(map);
    expect(readAttribution(undefined).size).toBe(0);
    expect(readAttribution({ __proto__: [1, 2, 3, 4, 5, 6] }).size).toBe(0);
    expect(readAttribution([['k', [1, 2]], ['k2', ['a', 0, 0, 0, 0, 0]], 7]).size).toBe(0);
  });

  it('sums variants over every key (no experiment counts as control) and gives per-variant metric values', () => {
    const map = creditEvents(new Map(), [
      event({ type: 'impression', recommendationId: id(noExperiment) }),
      event({ type: 'impression', recommendationId: id(control) }),
      event({ type: 'purchase', recommendationId: id(challenger), price: '2.50' }),
    ]);
    const v = variantTotalsOf(map);
    expect(v.control.impressions).toBe(2);
    expect(v.challenger).toMatchObject({ purchases: 1, revenue: 2.5 });
    expect(variantMetricValues(v)).toEqual([
      { variant: 'control', name: 'Impressions', value: 2 },
      { variant: 'control', name: 'Clicks', value: 0 },
      { variant: 'control', name: 'Purchases', value: 0 },
      { variant: 'control', name: 'Revenue', value: 0 },
      { variant: 'challenger', name: 'Impressions', value: 0 },
      { variant: 'challenger', name: 'Clicks', value: 0 },
      { variant: 'challenger', name: 'Purchases', value: 1 },
      { variant: 'challenger', name: 'Revenue', value: 2.5 },
    ]);
  });
});

describe('rates with 95 % intervals', () => {
  it('gives the Wilson score interval (10 of 100: 0.0552 to 0.1744)', () => {
    const w = wilsonInterval(10, 100);
    expect(w.value).toBe(0.1);
    expect(w.low).toBeCloseTo(0.05523, 4);
    expect(w.high).toBeCloseTo(0.17437, 4);
    expect(wilsonInterval(0, 0)).toEqual({ value: 0, low: 0, high: 0 });
    const none = wilsonInterval(0, 50);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.0714, 3);
  });

  it('gives revenue per impression a normal interval from revenueSquares', () => {
    // 4 impressions, one purchase of 10: samples 10, 0, 0, 0 → mean 2.5, sample variance 25, se 2.5.
    const r = revenuePerImpression({ impressions: 4, clicks: 1, addToCarts: 0, purchases: 1, revenue: 10, revenueSquares: 100 });
    expect(r.value).toBe(2.5);
    expect(r.high).toBeCloseTo(2.5 + 1.959964 * 2.5, 5);
    expect(r.low).toBe(0);
    const m = attributionMetrics({ impressions: 100, clicks: 10, addToCarts: 3, purchases: 2, revenue: 20, revenueSquares: 200 });
    expect(m.ctr.value).toBe(0.1);
    expect(m.conversion.value).toBe(0.02);
    expect(m.revenuePerImpression.value).toBe(0.2);
  });
});
