import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromWindowRow, toWindowRow, type WindowRow } from '../../src/analytics/window-rows';
import { applyToWindow, emptyWindow, mergeWindows } from '../../src/analytics/windows';
import {
  DEFAULT_MAX_FUTURE_SKEW_SECONDS,
  MAX_EVENT_BYTES,
  MAX_EVENT_DEPTH,
  MAX_QUANTITY,
  parseEvent,
  parseEventPayload,
  type EventContract,
  type ParseResult,
  type UserEvent,
} from '../../src/domain/events';
import { applyItemEvents, applyUserEvents, mergeUserFeatures } from '../../src/domain/features';
import { fromMinor, MAX_LINE_TOTAL_MINOR, MAX_PRICE_MINOR, toMinor } from '../../src/domain/money';
import { toSilverInteraction, toUserEvent } from '../../src/retraining/silver';

/**
 * Property tests of the event contract: events generated inside every bound parse, and their money and time
 * survive exactly through Bronze (JSON lines re-validated at night), Silver, the features and the analytics
 * windows; events just outside each bound are refused with a message naming the field and the bound.
 */

const NOW = Date.parse('2026-12-01T12:00:00Z');
const CONTRACT: EventContract = { timeFloorMs: Date.parse('1990-01-01T00:00:00Z'), maxFutureSkewMs: DEFAULT_MAX_FUTURE_SKEW_SECONDS * 1000 };
const at = { now: NOW, contract: CONTRACT };
const LATEST = NOW + CONTRACT.maxFutureSkewMs;

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupSetter__'];

const idArb = fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES), fc.stringMatching(/^[A-Za-z0-9._:@+=~-]{1,128}$/));
const CONTROL = /[\p{Cc}\p{Cs}]/u;
const categoryArb = fc.oneof(
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((s) => s.length >= 1 && s.length <= 128 && !CONTROL.test(s)),
);

/** An amount of cents and one of the ways a producer may write it (number, "N", "N.d", "N.dd", trailing zeros). */
const moneyArb = (maxCents: number) =>
  fc.integer({ min: 0, max: maxCents }).chain((cents) => {
    const whole = Math.floor(cents / 100);
    const frac = cents % 100;
    const forms: (string | number)[] = [cents / 100, `${whole}.${String(frac).padStart(2, '0')}`];
    if (frac === 0) forms.push(`${whole}`, `${whole}.0`);
    else if (frac % 10 === 0) forms.push(`${whole}.${frac / 10}`);
    return fc.constantFrom(...forms).map((written) => ({ cents, written }));
  });

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A time in the accepted range and one of its accepted spellings: RFC 3339 with Z or an offset, epoch s or ms. */
const timeArb = (min = CONTRACT.timeFloorMs, max = LATEST) =>
  fc
    .record({
      ms: fc.integer({ min, max }),
      offsetMin: fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
      form: fc.constantFrom('z', 'offset', 'seconds', 'millis'),
      extraDigits: fc.stringMatching(/^\d{0,6}$/),
    })
    .map(({ ms, offsetMin, form, extraDigits }) => {
      if (form === 'seconds') return { ms, written: ms / 1000 as string | number };
      if (form === 'millis') return { ms, written: ms };
      const offset = form === 'z' ? 0 : offsetMin;
      const local = new Date(ms + offset * 60_000);
      const sign = offset < 0 ? '-' : '+';
      const zone = form === 'z' ? 'Z' : `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
      const fraction = `.${pad(local.getUTCMilliseconds(), 3)}${extraDigits}`;
      const written = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}${fraction}${zone}`;
      return { ms, written };
    });

interface Generated {
  raw: Record<string, unknown>;
  cents?: number;
  quantity?: number;
  ms: number;
}

const eventArb: fc.Arbitrary<Generated> = fc
  .record({
    type: fc.constantFrom('view', 'click', 'add_to_cart', 'purchase', 'rating'),
    eventId: idArb,
    userId: idArb,
    itemId: idArb,
    category: fc.option(categoryArb, { nil: undefined }),
    sessionId: fc.option(idArb, { nil: undefined }),
    time: timeArb(),
    money: moneyArb(MAX_PRICE_MINOR),
    quantitySeed: fc.integer({ min: 1, max: MAX_QUANTITY }),
    rating: fc.integer({ min: 1, max: 10 }).map((n) => n / 2),
    withPrice: fc.boolean(),
    extra: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
  })
  .map((g) => {
    // The largest quantity that keeps price × quantity within MAX_LINE_TOTAL.
    const maxQuantity = g.money.cents === 0 ? MAX_QUANTITY : Math.min(MAX_QUANTITY, Math.floor(MAX_LINE_TOTAL_MINOR / g.money.cents));
    const quantity = 1 + ((g.quantitySeed - 1) % maxQuantity);
    const raw: Record<string, unknown> = { eventId: g.eventId, userId: g.userId, itemId: g.itemId, type: g.type, timestamp: g.time.written };
    if (g.category !== undefined) raw.category = g.category;
    if (g.sessionId !== undefined) raw.sessionId = g.sessionId;
    if (g.extra !== undefined) raw.note = g.extra;
    const out: Generated = { raw, ms: g.time.ms };
    if (g.type === 'rating') raw.rating = g.rating;
    if (g.type === 'purchase' || (g.type === 'add_to_cart' && g.withPrice)) {
      raw.price = g.money.written;
      raw.quantity = quantity;
      out.cents = g.money.cents;
      out.quantity = quantity;
    }
    return out;
  });

function ok(r: ParseResult): UserEvent {
  if (!r.ok) throw new Error(`refused: ${r.message}`);
  return r.event;
}

function refusedWith(r: ParseResult, field: string, bound: string | RegExp): void {
  expect(r.ok).toBe(false);
  if (r.ok) return;
  const hit = r.errors.find((e) => e.field === field);
  expect(hit, `${field} in ${r.message}`).toBeDefined();
  if (typeof bound === 'string') expect(r.message).toContain(bound);
  else expect(r.message).toMatch(bound);
}

describe('inside the contract', () => {
  it('every event parses, with exact money and time, from JSON text and from objects', () => {
    fc.assert(
      fc.property(eventArb, (g) => {
        const fromObject = ok(parseEvent(g.raw, at));
        const fromText = ok(parseEventPayload(JSON.stringify(g.raw), at));
        expect(fromText).toEqual(fromObject);
        expect(fromObject.timestamp).toBe(new Date(g.ms).toISOString());
        expect(fromObject.userId).toBe(g.raw.userId);
        if (g.raw.category !== undefined) expect(fromObject.category).toBe(g.raw.category);
        if (g.cents !== undefined && (fromObject.type === 'purchase' || fromObject.type === 'add_to_cart')) {
          expect(fromObject.price).toBe(g.cents / 100);
          expect(toMinor(fromObject.price!)).toBe(g.cents);
          expect(fromObject.quantity).toBe(g.quantity);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a Bronze line (the payload plus _ingest) re-validates at night against its arrival time to the same event', () => {
    fc.assert(
      fc.property(eventArb, (g) => {
        const event = ok(parseEvent(g.raw, at));
        const line = JSON.stringify({ ...g.raw, _ingest: { shardId: 'shardId-000000000000', sequenceNumber: '49650000000000000000000000000000000000000000000000000001', arrivalTime: new Date(NOW).toISOString() } });
        expect(ok(parseEvent(JSON.parse(line), { now: NOW, contract: CONTRACT }))).toEqual(event);
        // Silver keeps it exactly too.
        const silver = toSilverInteraction({ event, arrivalMs: NOW, arrivalDt: '2026-12-01', shardId: 's', sequenceNumber: '1' });
        expect(toUserEvent(silver)).toEqual(event);
      }),
      { numRuns: 200 },
    );
  });

  it('sums of many prices equal the integer-cent sum in features and windows, in any order and across merges', () => {
    const purchases = fc.array(
      fc.record({ money: moneyArb(MAX_PRICE_MINOR), quantity: fc.integer({ min: 1, max: 10 }), category: fc.constantFrom(...PROTOTYPE_NAMES, 'shoes') }),
      { minLength: 1, maxLength: 40 },
    );
    fc.assert(
      fc.property(purchases, fc.integer({ min: 1, max: 39 }), (ps, cut) => {
        const start = Date.parse('2026-12-01T11:00:00Z');
        const events = ps.map((p, i) =>
          ok(parseEvent({ eventId: `e${i}`, userId: 'constructor', itemId: '__proto__', type: 'purchase', price: p.money.written, quantity: p.quantity, category: p.category, timestamp: new Date(start + i).toISOString() }, at)),
        );
        const cents = ps.reduce((sum, p) => sum + p.money.cents * p.quantity, 0);
        expect(applyUserEvents(undefined, events).spend).toBe(fromMinor(cents));
        expect(toMinor(applyItemEvents(undefined, events).revenue)).toBe(cents);
        const k = Math.min(cut, events.length);
        const parts = [events.slice(0, k), events.slice(k)].filter((p) => p.length > 0);
        expect(mergeUserFeatures(parts.map((p) => applyUserEvents(undefined, p)))!.spend).toBe(fromMinor(cents));
        const windows = parts.map((p) => applyToWindow(emptyWindow('hour', start), p));
        const merged = mergeWindows(windows, 'hour', start);
        expect(merged.revenue).toBe(fromMinor(cents));
        const row = toWindowRow(merged, { pk: 'H#x', sk: '11#s' }, 's', 'wm');
        const back = fromWindowRow(JSON.parse(JSON.stringify({ ...row, activeUsers: [...row.activeUsers], purchasers: [...row.purchasers] })) as WindowRow);
        expect(back.revenue).toBe(fromMinor(cents));
        // Categories named after Object.prototype members count like any other.
        const expected = new Map<string, number>();
        for (const p of ps) expected.set(p.category, (expected.get(p.category) ?? 0) + 5);
        expect(new Map(back.categories)).toEqual(expected);
      }),
      { numRuns: 200 },
    );
  });
});

describe('just outside each bound', () => {
  const base = { eventId: 'e', userId: 'u', itemId: 'i', type: 'purchase', timestamp: '2026-12-01T10:00:00Z', quantity: 1 };

  it('one decimal digit more than MONEY_SCALE is refused, never rounded', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: MAX_PRICE_MINOR - 1 }), fc.integer({ min: 1, max: 9 }), (cents, digit) => {
        const written = `${Math.floor(cents / 100)}.${pad(cents % 100)}${digit}`;
        refusedWith(parseEvent({ ...base, price: written }, at), 'price', 'price must have at most 2 decimal places (MONEY_SCALE');
        refusedWith(parseEvent({ ...base, price: Number(written) }, at), 'price', 'price must have at most 2 decimal places (MONEY_SCALE');
      }),
    );
  });

  it('a price over MAX_PRICE is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_PRICE_MINOR + 1, max: MAX_PRICE_MINOR * 1000 }), (cents) => {
        refusedWith(parseEvent({ ...base, price: cents / 100 }, at), 'price', 'price must be between 0 and 1000000000');
        refusedWith(parseEvent({ ...base, price: `${Math.floor(cents / 100)}.${pad(cents % 100)}` }, at), 'price', 'price must be between 0 and 1000000000');
      }),
    );
  });

  it('a line total over MAX_LINE_TOTAL is refused on the price', () => {
    const over = fc.integer({ min: 11, max: MAX_QUANTITY }).chain((quantity) =>
      fc.integer({ min: Math.floor(MAX_LINE_TOTAL_MINOR / quantity) + 1, max: MAX_PRICE_MINOR }).map((cents) => ({ quantity, cents })),
    );
    fc.assert(
      fc.property(over, ({ quantity, cents }) => {
        fc.pre(cents * quantity > MAX_LINE_TOTAL_MINOR);
        refusedWith(parseEvent({ ...base, price: cents / 100, quantity }, at), 'price', 'price × quantity must be at most 10000000000 (MAX_LINE_TOTAL');
      }),
    );
  });

  it('a time past the skew (by a second or more) or before the floor (by a millisecond or more) is refused', () => {
    fc.assert(
      fc.property(timeArb(LATEST + 1000, LATEST + 10 * 365 * 86_400_000), (t) => {
        refusedWith(parseEvent({ ...base, timestamp: t.written }, at), 'timestamp', 'EVENT_MAX_FUTURE_SKEW_SECONDS');
      }),
    );
    fc.assert(
      fc.property(timeArb(Date.parse('1973-03-04T00:00:00Z'), CONTRACT.timeFloorMs - 1), (t) => {
        refusedWith(parseEvent({ ...base, timestamp: t.written }, at), 'timestamp', 'must not be before 1990-01-01T00:00:00.000Z (EVENT_TIME_FLOOR');
      }),
    );
  });

  it('impossible calendar dates and zone-less times are refused', () => {
    const impossible = fc.record({ year: fc.integer({ min: 1990, max: 2026 }), month: fc.integer({ min: 1, max: 12 }), extra: fc.integer({ min: 1, max: 3 }) }).map(({ year, month, extra }) => {
      const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
      return { year, month, day: days + extra };
    });
    fc.assert(
      fc.property(impossible, ({ year, month, day }) => {
        fc.pre(day <= 99);
        refusedWith(parseEvent({ ...base, timestamp: `${year}-${pad(month)}-${pad(day)}T10:00:00Z` }, at), 'timestamp', 'is not a real calendar date');
      }),
    );
    fc.assert(
      fc.property(timeArb(CONTRACT.timeFloorMs, NOW), (t) => {
        const zoneless = new Date(t.ms).toISOString().replace('Z', '');
        refusedWith(parseEvent({ ...base, timestamp: zoneless }, at), 'timestamp', 'must be an ISO-8601 date-time with Z or a ±HH:MM offset');
        const dateOnly = zoneless.slice(0, 10);
        refusedWith(parseEvent({ ...base, timestamp: dateOnly }, at), 'timestamp', 'must be an ISO-8601 date-time with Z or a ±HH:MM offset');
      }),
    );
  });

  it('nesting deeper than MAX_EVENT_DEPTH (9 to 100,000 levels) is refused, from objects and from text', () => {
    const nest = (levels: number): unknown => {
      let v: unknown = [];
      for (let i = 2; i < levels; i++) v = i % 2 ? [v] : { k: v };
      return v;
    };
    fc.assert(
      fc.property(fc.oneof(fc.constant(MAX_EVENT_DEPTH + 1), fc.constant(100_000), fc.integer({ min: MAX_EVENT_DEPTH + 1, max: 2_000 })), (depth) => {
        // The event object is level 1, so a field holding `depth - 1` levels makes the event `depth` deep.
        const value = nest(depth);
        refusedWith(parseEvent({ ...base, price: 1, extra: value }, at), 'extra', `nests deeper than ${MAX_EVENT_DEPTH} levels (MAX_EVENT_DEPTH`);
        const text = `{"eventId":"e","userId":"u","itemId":"i","type":"view","timestamp":"2026-12-01T10:00:00Z","extra":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
        const r = parseEventPayload(text, at);
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.message).toMatch(/MAX_EVENT_DEPTH|MAX_EVENT_BYTES/);
      }),
      { numRuns: 30 },
    );
    // Exactly at the bound is fine.
    expect(parseEvent({ ...base, price: 1, extra: nest(MAX_EVENT_DEPTH) }, at).ok).toBe(true);
  });

  it('a payload over MAX_EVENT_BYTES (16 KiB + 1 and more) is refused before parsing', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40_000 }), fc.constantFrom('x', 'é', '€', '😀'), (excess, ch) => {
        const head = JSON.stringify({ ...base, price: 1, note: '' });
        const room = MAX_EVENT_BYTES - Buffer.byteLength(head);
        const unit = Buffer.byteLength(ch);
        const note = ch.repeat(Math.floor(room / unit)) + 'x'.repeat(room % unit);
        const exact = head.replace('"note":""', `"note":"${note}"`);
        expect(Buffer.byteLength(exact)).toBe(MAX_EVENT_BYTES);
        expect(parseEventPayload(exact, at).ok).toBe(true);
        const over = exact.replace('"note":"', `"note":"${'x'.repeat(excess)}`);
        refusedWith(parseEventPayload(over, at), '(event)', `event is larger than ${MAX_EVENT_BYTES} bytes of UTF-8 (MAX_EVENT_BYTES`);
        refusedWith(parseEventPayload(Buffer.from(over), at), '(event)', 'MAX_EVENT_BYTES');
        refusedWith(parseEvent(JSON.parse(over), at), '(event)', 'MAX_EVENT_BYTES');
      }),
      { numRuns: 50 },
    );
  });

  it('a category with a control character is refused', () => {
    const control = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f })).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), control, fc.string({ maxLength: 20 }), (a, c, b) => {
        refusedWith(parseEvent({ ...base, price: 1, category: `${a}${c}${b}` }, at), 'category', 'category must not contain control characters');
      }),
    );
  });

  it('nothing thrown, whatever the value', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true, withObjectString: true, withSparseArray: true }), (value) => {
        expect(() => parseEvent(value, at)).not.toThrow();
        expect(() => parseEvent({ ...base, price: value }, at)).not.toThrow();
        expect(() => parseEvent({ ...base, timestamp: value, category: value, extra: value }, at)).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });
});
