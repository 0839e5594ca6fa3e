import { describe, expect, it } from 'vitest';
import { attributionKey } from '../../src/analytics/attribution';
import {
  attributionWindowMs,
  emptyImpressionState,
  foldImplicit,
  fromImpressionStateRow,
  impressionStateKey,
  MAX_RECENT_IMPRESSIONS,
  toImpressionStateRow,
  withImpression,
  type ImplicitInput,
} from '../../src/analytics/implicit-attribution';
import { parseEvent } from '../../src/domain/events';
import { newRecommendationId, type RecommendationContext } from '../../src/domain/recommendation-id';

const t0 = Date.parse('2026-11-01T10:00:00Z');
const MIN = 60_000;
const WINDOW = 30 * MIN;
const control: RecommendationContext = { experimentId: 'xexp1', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' };
const challenger: RecommendationContext = { ...control, variant: 'challenger', modelVersion: 'v20261102T000000Z' };
const C = attributionKey(control);
const X = attributionKey(challenger);

let n = 0;
let seq = 1000;
/** One record of user u1 (unless said), in stream order: sequence numbers grow with each call. */
function rec(raw: Record<string, unknown>, atMs: number): ImplicitInput {
  const r = parseEvent({ eventId: `e${n++}`, userId: 'u1', itemId: 'A', timestamp: new Date(atMs).toISOString(), ...raw }, { now: t0 + 365 * 86_400_000 });
  if (!r.ok) throw new Error(r.message);
  return { sequenceNumber: String(seq++), value: r.event };
}
const impression = (ctx: RecommendationContext | string, atMs: number, itemId = 'A') =>
  rec({ type: 'impression', itemId, recommendationId: typeof ctx === 'string' ? ctx : newRecommendationId(ctx) }, atMs);
const creditOf = (records: ImplicitInput[], r: ImplicitInput, windowMs = WINDOW) => foldImplicit(emptyImpressionState(), records, windowMs).credits.get(r.sequenceNumber);

describe('implicit attribution (known truth)', () => {
  it('credits a click, add-to-cart and purchase without an id to the earlier impression of the same item within the window', () => {
    const imp = impression(control, t0);
    const click = rec({ type: 'click' }, t0 + 5 * MIN);
    const cart = rec({ type: 'add_to_cart', price: '2.00' }, t0 + 10 * MIN);
    const buy = rec({ type: 'purchase', price: '2.00', quantity: 3 }, t0 + 30 * MIN);
    const fold = foldImplicit(emptyImpressionState(), [imp, click, cart, buy], WINDOW);
    expect([...fold.credits]).toEqual([
      [click.sequenceNumber, C],
      [cart.sequenceNumber, C],
      [buy.sequenceNumber, C],
    ]);
  });

  it('credits nothing outside the window, for another item, a view or a rating', () => {
    const imp = impression(control, t0);
    const late = rec({ type: 'click' }, t0 + 30 * MIN + 1000);
    const other = rec({ type: 'click', itemId: 'B' }, t0 + MIN);
    const view = rec({ type: 'view' }, t0 + MIN);
    const rating = rec({ type: 'rating', rating: 4 }, t0 + MIN);
    expect(foldImplicit(emptyImpressionState(), [imp, late, other, view, rating], WINDOW).credits.size).toBe(0);
  });

  it('never credits an event that carries its own id (explicit only), even one that does not parse', () => {
    const imp = impression(control, t0);
    const explicit = rec({ type: 'click', recommendationId: newRecommendationId(challenger) }, t0 + MIN);
    const foreign = rec({ type: 'click', recommendationId: 'shop-own-id' }, t0 + MIN);
    expect(foldImplicit(emptyImpressionState(), [imp, explicit, foreign], WINDOW).credits.size).toBe(0);
  });

  it('does not credit a click with an impression that comes after it in the stream, even stamped earlier', () => {
    const click = rec({ type: 'click' }, t0 + 5 * MIN);
    const imp = impression(control, t0);
    expect(creditOf([click, imp], click)).toBeUndefined();
    // The order is the stream's: handing the records in another order changes nothing.
    expect(creditOf([imp, click], click)).toBeUndefined();
  });

  it('credits the latest earlier impression of the item (by stream order) within the window', () => {
    const first = impression(control, t0);
    const second = impression(challenger, t0 + MIN);
    const click = rec({ type: 'click' }, t0 + 2 * MIN);
    expect(creditOf([first, second, click], click)).toBe(X);
    // A later impression stamped outside the window does not hide an earlier one inside it.
    const a = impression(control, t0 + 10 * MIN);
    const b = impression(challenger, t0 - 50 * MIN);
    const c = rec({ type: 'click' }, t0 + 11 * MIN);
    expect(creditOf([a, b, c], c)).toBe(C);
  });

  it('lends nothing from an impression whose id does not parse (hostile, foreign) or that has none', () => {
    const hostile = impression('__proto__', t0);
    const foreign = impression('r1.-.x.p.-.abcdefghij', t0);
    const bare = rec({ type: 'impression' }, t0);
    const click = rec({ type: 'click' }, t0 + MIN);
    const fold = foldImplicit(emptyImpressionState(), [hostile, foreign, bare, click], WINDOW);
    expect(fold.credits.size).toBe(0);
    expect(fold.changed).toBe(false);
  });

  it('neither lends nor credits repeats the ledger marked (duplicate)', () => {
    const dupImp = { ...impression(control, t0), duplicate: true };
    const click = rec({ type: 'click' }, t0 + MIN);
    expect(creditOf([dupImp, click], click)).toBeUndefined();
    const imp = impression(control, t0);
    const dupClick = { ...rec({ type: 'click' }, t0 + MIN), duplicate: true };
    expect(foldImplicit(emptyImpressionState(), [imp, dupClick], WINDOW).credits.size).toBe(0);
  });

  it('skips records at or below the stored watermark (folded before): no credit, no change', () => {
    const imp = impression(control, t0);
    const click = rec({ type: 'click' }, t0 + MIN);
    const first = foldImplicit(emptyImpressionState(), [imp], WINDOW);
    const again = foldImplicit(first.state, [imp, click], WINDOW, click.sequenceNumber);
    expect(again).toMatchObject({ changed: false, folded: [] });
    expect(again.credits.size).toBe(0);
  });

  it('gives the same credits and state however the records are cut into batches', () => {
    const records: ImplicitInput[] = [];
    for (let i = 0; i < 400; i++) {
      const at = t0 + i * 20_000;
      const item = `i${(i * 7) % 13}`;
      records.push(i % 3 === 0 ? impression(i % 2 ? control : challenger, at, item) : rec({ type: i % 5 === 0 ? 'purchase' : 'click', itemId: item, ...(i % 5 === 0 ? { price: '1.00', quantity: 1 } : {}) }, at));
    }
    const whole = foldImplicit(emptyImpressionState(), records, WINDOW);
    expect(whole.credits.size).toBeGreaterThan(50);
    for (const cut of [1, 37, 100, 250]) {
      let state = emptyImpressionState();
      const credits = new Map<string, string>();
      for (let i = 0; i < records.length; i += cut) {
        const part = foldImplicit(state, records.slice(i, i + cut), WINDOW);
        state = part.state;
        for (const [k, v] of part.credits) credits.set(k, v);
      }
      expect(credits).toEqual(whole.credits);
      expect(state).toEqual(whole.state);
    }
  });
});

describe('the impression state', () => {
  it('keeps at most MAX_RECENT_IMPRESSIONS, the latest in stream order, and drops those older than the window before the latest', () => {
    let s = emptyImpressionState();
    for (let i = 0; i < MAX_RECENT_IMPRESSIONS + 20; i++) s = withImpression(s, { itemId: `i${i}`, key: C, timeMs: t0 + i }, WINDOW);
    expect(s.impressions).toHaveLength(MAX_RECENT_IMPRESSIONS);
    expect(s.impressions[0]!.itemId).toBe('i20');
    s = withImpression(s, { itemId: 'late', key: X, timeMs: t0 + 31 * MIN }, WINDOW);
    expect(s.impressions.map((i) => i.itemId)).toEqual(['late']);
    expect(s.latestMs).toBe(t0 + 31 * MIN);
  });

  it('round-trips through its row (keys stored once), and reads a malformed row as what it can', () => {
    let s = emptyImpressionState();
    for (let i = 0; i < MAX_RECENT_IMPRESSIONS; i++) s = withImpression(s, { itemId: i % 2 ? '__proto__' : `item-${i}`, key: i % 3 ? C : X, timeMs: t0 + i * 1000 }, WINDOW);
    const key = impressionStateKey('u1', 'shardId-000000000000');
    const row = toImpressionStateRow(s, key, 'shardId-000000000000', '49000', 1_800_000_000, WINDOW);
    expect(row).toMatchObject({ pk: 'IMP#u1', sk: 'shardId-000000000000', entity: 'impressions', wm: '49000', keys: [X, C], expiresAt: 1_800_000_000 + 1800 + 8 * 86_400 });
    const stored = JSON.parse(JSON.stringify(row)) as unknown;
    expect(fromImpressionStateRow(stored)).toEqual(s);
    // A full row stays a few KB (measured as its JSON).
    expect(JSON.stringify(row).length).toBeLessThan(8_000);
    expect(fromImpressionStateRow({ keys: [C], impressions: [['a', 0, t0], ['b', 5, t0], 'x', ['c', 0, 'NaN'], [1, 0, t0]], latestMs: t0 })).toEqual({ impressions: [{ itemId: 'a', key: C, timeMs: t0 }], latestMs: t0 });
    expect(fromImpressionStateRow(undefined)).toEqual(emptyImpressionState());
  });

  it('validates the window setting', () => {
    expect(attributionWindowMs(undefined)).toBe(0);
    expect(attributionWindowMs(30)).toBe(30 * MIN);
    for (const bad of [-1, 1.5, 10_081, Number.NaN]) expect(() => attributionWindowMs(bad)).toThrow(/whole number of minutes from 0 \(off\) to 10080/);
  });
});
