import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_FUTURE_SKEW_SECONDS,
  defaultEventContract,
  eventContractFromEnv,
  MAX_CATEGORY_LENGTH,
  MAX_CLOCK_SKEW_MS,
  MAX_EVENT_BYTES,
  MAX_EVENT_DEPTH,
  MAX_EVENT_FIELDS,
  MAX_LINE_TOTAL,
  MAX_PRICE,
  MAX_QUANTITY,
  parseEvent,
  parseEventPayload,
  resetDefaultEventContract,
  type EventContract,
  type ParseResult,
  type UserEvent,
} from '../../src/domain/events';

const base = { eventId: 'e-1', userId: 'u-1', itemId: 'i-1', timestamp: '2026-11-01T10:00:00Z' };
const NOW = Date.parse('2026-11-01T12:00:00Z');
const at = { now: NOW };

function refusal(r: ParseResult): { field: string; message: string } {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  if (r.ok) throw new Error('accepted');
  expect(r.errors).toHaveLength(1);
  return { field: r.errors[0]!.field, message: r.message };
}

function accepted(r: ParseResult) {
  expect(r.ok, JSON.stringify(r)).toBe(true);
  if (!r.ok) throw new Error(r.message);
  return r.event as UserEvent & { price?: number; quantity?: number };
}

function nested(depth: number): unknown {
  let v: unknown = {};
  for (let i = 1; i < depth; i++) v = { a: v };
  return v;
}

describe('event schema', () => {
  it('accepts each event type with its own fields and normalises the timestamp', () => {
    const cases = [
      { ...base, type: 'rating', rating: 4.5 },
      { ...base, type: 'view' },
      { ...base, type: 'click' },
      { ...base, type: 'add_to_cart', price: 12.5 },
      { ...base, type: 'purchase', price: 9.99, quantity: 2 },
    ];
    for (const input of cases) {
      const r = parseEvent(input);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) expect(r.event.timestamp).toBe('2026-11-01T10:00:00.000Z');
    }
  });

  it('defaults quantity to 1 and turns numeric ids into strings', () => {
    const r = parseEvent({ ...base, userId: 196, itemId: 242, type: 'purchase', price: 3 });
    expect(r).toMatchObject({ ok: true, event: { userId: '196', itemId: '242', quantity: 1 } });
  });

  it('reads epoch seconds (MovieLens) and epoch milliseconds alike', () => {
    const s = parseEvent({ ...base, type: 'view', timestamp: 881250949 });
    const ms = parseEvent({ ...base, type: 'view', timestamp: 881250949000 });
    expect(s.ok && s.event.timestamp).toBe('1997-12-04T15:55:49.000Z');
    expect(ms.ok && ms.event.timestamp).toBe('1997-12-04T15:55:49.000Z');
    // A fraction of a second is kept to the millisecond.
    expect(accepted(parseEvent({ ...base, type: 'view', timestamp: 881250949.123 })).timestamp).toBe('1997-12-04T15:55:49.123Z');
  });

  it('names the field at fault for each problem', () => {
    const r = parseEvent({ ...base, type: 'rating', rating: 7, userId: '../etc/passwd' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.field).sort()).toEqual(['rating', 'userId']);
      expect(r.message).toContain('rating must be between 0.5 and 5');
    }
  });

  it('explains missing and unknown types', () => {
    const missing = parseEvent({ ...base });
    const unknown = parseEvent({ ...base, type: 'teleport' });
    expect(!missing.ok && missing.message).toMatch(/^type is required/);
    expect(!unknown.ok && unknown.message).toContain('type must be one of view, click, add_to_cart, purchase, rating, impression (got "teleport")');
  });

  it('requires the type-specific fields', () => {
    const noRating = parseEvent({ ...base, type: 'rating' });
    const noPrice = parseEvent({ ...base, type: 'purchase' });
    const zeroQty = parseEvent({ ...base, type: 'add_to_cart', quantity: 0 });
    expect(!noRating.ok && noRating.message).toBe('rating is required for rating events');
    expect(!noPrice.ok && noPrice.message).toBe('price is required for purchase events');
    expect(!zeroQty.ok && zeroQty.message).toBe('quantity must be at least 1');
  });

  it('refuses non-objects and invalid JSON without throwing', () => {
    expect(parseEvent([1, 2])).toMatchObject({ ok: false, message: 'event must be a JSON object' });
    expect(parseEvent(null)).toMatchObject({ ok: false, message: 'event must be a JSON object' });
    expect(parseEvent('{"type":"view"}')).toMatchObject({ ok: false, message: 'event must be a JSON object' });
    expect(parseEventPayload('null')).toMatchObject({ ok: false, message: 'event must be a JSON object' });
    expect(parseEventPayload('[{"type":"view"}]')).toMatchObject({ ok: false, message: 'event must be a JSON object' });
    const bad = parseEventPayload('{"eventId": ');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^not valid JSON/);
    expect(parseEventPayload(Buffer.from(JSON.stringify({ ...base, type: 'click' }))).ok).toBe(true);
  });
});

describe('money', () => {
  const purchase = (price: unknown, quantity?: unknown) => parseEvent({ ...base, type: 'purchase', price, ...(quantity === undefined ? {} : { quantity }) }, at);

  it('accepts numbers and decimal strings with up to two decimals, as exact numbers', () => {
    expect(accepted(purchase('12.34')).price).toBe(12.34);
    expect(accepted(purchase('12.3')).price).toBe(12.3);
    expect(accepted(purchase('0.01')).price).toBe(0.01);
    expect(accepted(purchase('7')).price).toBe(7);
    expect(accepted(purchase(0.1)).price).toBe(0.1);
    expect(accepted(purchase(MAX_PRICE)).price).toBe(MAX_PRICE);
    expect(accepted(purchase('999999999.99')).price).toBe(999_999_999.99);
    expect(Object.is(accepted(purchase(-0)).price, 0)).toBe(true);
  });

  it('refuses sub-cent digits instead of rounding them away', () => {
    for (const p of [0.004, '0.004', 12.345, '12.340', 1e-7, 0.000001]) {
      expect(refusal(purchase(p))).toEqual({ field: 'price', message: expect.stringMatching(/^price must have at most 2 decimal places \(MONEY_SCALE/) });
    }
  });

  it('refuses prices outside 0..MAX_PRICE and non-decimal forms, naming the bound', () => {
    expect(refusal(purchase(MAX_PRICE + 0.01)).message).toBe(`price must be between 0 and ${MAX_PRICE} (got ${MAX_PRICE + 0.01})`);
    expect(refusal(purchase('1000000000.01')).message).toContain(`price must be between 0 and ${MAX_PRICE}`);
    expect(refusal(purchase(-0.01)).message).toContain(`price must be between 0 and ${MAX_PRICE}`);
    expect(refusal(purchase('-1')).message).toContain(`price must be between 0 and ${MAX_PRICE}`);
    expect(refusal(purchase(2 ** 60)).message).toContain(`price must be between 0 and ${MAX_PRICE}`);
    for (const p of ['1e3', ' 1', '1.', '.5', '', '0x10', '12,34', '99999999999999999999999999']) {
      expect(refusal(purchase(p)).message, p).toMatch(/^price must (be a number or a decimal string|be between 0)/);
    }
    for (const p of [Number.NaN, Number.POSITIVE_INFINITY, true, {}, [], null]) {
      expect(refusal(purchase(p)).field, String(p)).toBe('price');
    }
  });

  it('refuses a line total above MAX_LINE_TOTAL, on the price', () => {
    expect(accepted(purchase(MAX_PRICE, 10)).price).toBe(MAX_PRICE);
    expect(accepted(purchase('1000000.00', MAX_QUANTITY)).quantity).toBe(MAX_QUANTITY);
    const over = refusal(purchase(MAX_PRICE, 11));
    expect(over).toEqual({ field: 'price', message: `price × quantity must be at most ${MAX_LINE_TOTAL} (MAX_LINE_TOTAL; got 1000000000 × 11)` });
    expect(refusal(parseEvent({ ...base, type: 'add_to_cart', price: '1000000.01', quantity: MAX_QUANTITY }, at)).field).toBe('price');
  });

  it('bounds quantity to whole numbers 1..MAX_QUANTITY', () => {
    expect(refusal(purchase(1, MAX_QUANTITY + 1)).message).toBe(`quantity must be at most ${MAX_QUANTITY}`);
    expect(refusal(purchase(1, 1.5)).message).toBe('quantity must be a whole number');
    expect(refusal(purchase(1, '2')).message).toBe('quantity must be a number');
  });
});

describe('timestamps', () => {
  const view = (timestamp: unknown, options = at) => parseEvent({ ...base, type: 'view', timestamp }, options);

  it('accepts RFC 3339 date-times with Z or an offset, normalised to UTC milliseconds', () => {
    expect(accepted(view('2026-02-01T10:00:00Z')).timestamp).toBe('2026-02-01T10:00:00.000Z');
    expect(accepted(view('2026-02-01T10:00:00.123+02:00')).timestamp).toBe('2026-02-01T08:00:00.123Z');
    expect(accepted(view('2026-02-01T10:00:00.1239-05:30')).timestamp).toBe('2026-02-01T15:30:00.123Z');
    expect(accepted(view('2024-02-29T23:59:59Z')).timestamp).toBe('2024-02-29T23:59:59.000Z');
  });

  it('refuses lenient, zone-less, date-only and impossible forms', () => {
    const format = /^timestamp must be an ISO-8601 date-time with Z or a ±HH:MM offset/;
    for (const t of ['1', '881250949', '2026-02-01', '2026-02-01T10:00:00', '2026-02-01 10:00:00Z', '2026-02-01T10:00Z', 'Sun, 01 Feb 2026 10:00:00 GMT', '2026-02-01T10:00:00+0200', 'yesterday-ish', 'x'.repeat(1000)]) {
      expect(refusal(view(t))).toEqual({ field: 'timestamp', message: expect.stringMatching(format) });
    }
    expect(refusal(view('2026-02-30T10:00:00Z')).message).toBe('timestamp is not a real calendar date (got "2026-02-30T10:00:00Z")');
    expect(refusal(view('2025-02-29T10:00:00Z')).message).toContain('is not a real calendar date');
    expect(refusal(view('2026-13-01T10:00:00Z')).message).toContain('is not a real calendar date');
    expect(refusal(view('2026-02-01T24:00:00Z')).message).toContain('is not a real time of day');
    expect(refusal(view('2026-06-30T23:59:60Z')).message).toContain('is not a real time of day');
    expect(refusal(view('2026-02-01T10:00:00+24:00')).message).toContain('impossible UTC offset');
    for (const t of [Number.NaN, true, null, {}, []]) expect(refusal(view(t)).field).toBe('timestamp');
  });

  it('refuses times before the floor or beyond the future skew, naming the bound and its variable', () => {
    const floor = Date.parse('1990-01-01T00:00:00Z');
    expect(accepted(view(floor)).timestamp).toBe('1990-01-01T00:00:00.000Z');
    expect(refusal(view(floor - 1)).message).toBe('timestamp must not be before 1990-01-01T00:00:00.000Z (EVENT_TIME_FLOOR; got 1989-12-31T23:59:59.999Z)');
    expect(refusal(view('1970-01-02T00:00:00Z')).message).toContain('before 1990');
    const latest = NOW + DEFAULT_MAX_FUTURE_SKEW_SECONDS * 1000;
    expect(accepted(view(new Date(latest).toISOString())).timestamp).toBe(new Date(latest).toISOString());
    const ahead = refusal(view(new Date(latest + 1000).toISOString()));
    expect(ahead.field).toBe('timestamp');
    expect(ahead.message).toContain(`must be at most ${DEFAULT_MAX_FUTURE_SKEW_SECONDS} s after the time it is received (EVENT_MAX_FUTURE_SKEW_SECONDS`);
    // Without `now`, the clock decides.
    expect(refusal(parseEvent({ ...base, type: 'view', timestamp: Date.now() + 3 * 86_400_000 })).field).toBe('timestamp');
  });

  it('re-validates against a given time and contract (the nightly job passes a Bronze line its arrival time)', () => {
    const event = { ...base, type: 'view', timestamp: '2026-11-01T12:10:00Z' };
    expect(parseEvent(event, { now: NOW }).ok).toBe(true);
    expect(parseEvent(event, { now: NOW - 3_600_000 }).ok).toBe(false);
    const strict: EventContract = { timeFloorMs: Date.parse('2026-01-01T00:00:00Z'), maxFutureSkewMs: 0 };
    expect(refusal(parseEvent(event, { now: NOW, contract: strict })).message).toContain('at most 0 s after');
    expect(refusal(parseEvent({ ...event, timestamp: '2025-12-31T23:59:59Z' }, { now: NOW, contract: strict })).message).toContain('must not be before 2026-01-01T00:00:00.000Z');
    expect(parseEventPayload(JSON.stringify(event), { now: NOW - 3_600_000 }).ok).toBe(false);
  });
});

describe('event contract from the environment', () => {
  afterEach(() => {
    delete process.env.EVENT_TIME_FLOOR;
    delete process.env.EVENT_MAX_FUTURE_SKEW_SECONDS;
    resetDefaultEventContract();
  });

  it('defaults to the 1990 floor and 15 minutes of skew', () => {
    expect(eventContractFromEnv({})).toEqual({ timeFloorMs: Date.parse('1990-01-01T00:00:00Z'), maxFutureSkewMs: 900_000 });
    expect(MAX_CLOCK_SKEW_MS).toBe(900_000);
  });

  it('reads EVENT_TIME_FLOOR and EVENT_MAX_FUTURE_SKEW_SECONDS, and refuses malformed values naming the variable', () => {
    expect(eventContractFromEnv({ EVENT_TIME_FLOOR: '2000-01-01T00:00:00+01:00', EVENT_MAX_FUTURE_SKEW_SECONDS: '60' })).toEqual({
      timeFloorMs: Date.parse('1999-12-31T23:00:00Z'),
      maxFutureSkewMs: 60_000,
    });
    expect(() => eventContractFromEnv({ EVENT_TIME_FLOOR: '2000-01-01' })).toThrow(/EVENT_TIME_FLOOR must be an ISO-8601 date-time/);
    expect(() => eventContractFromEnv({ EVENT_TIME_FLOOR: '1970-01-01T00:00:00Z' })).toThrow(/EVENT_TIME_FLOOR must not be before 1973/);
    expect(() => eventContractFromEnv({ EVENT_MAX_FUTURE_SKEW_SECONDS: '-5' })).toThrow(/EVENT_MAX_FUTURE_SKEW_SECONDS must be a whole number of seconds/);
    expect(() => eventContractFromEnv({ EVENT_MAX_FUTURE_SKEW_SECONDS: '1e3' })).toThrow(/EVENT_MAX_FUTURE_SKEW_SECONDS/);
  });

  it('is the default contract, read once', () => {
    process.env.EVENT_MAX_FUTURE_SKEW_SECONDS = '7200';
    resetDefaultEventContract();
    expect(defaultEventContract().maxFutureSkewMs).toBe(7_200_000);
    expect(parseEvent({ ...base, type: 'view', timestamp: Date.now() + 3_600_000 }).ok).toBe(true);
    process.env.EVENT_MAX_FUTURE_SKEW_SECONDS = '0';
    expect(parseEvent({ ...base, type: 'view', timestamp: Date.now() + 3_600_000 }).ok).toBe(true);
  });
});

describe('record bounds', () => {
  const view = { ...base, type: 'view' };

  it(`refuses a payload over ${MAX_EVENT_BYTES} bytes of UTF-8 before parsing it`, () => {
    const fill = (n: number) => {
      const text = JSON.stringify({ ...view, note: '' });
      return text.replace('"note":""', `"note":"${'é'.repeat(n)}"`);
    };
    const room = (MAX_EVENT_BYTES - Buffer.byteLength(fill(0))) / 2;
    const atLimit = fill(Math.floor(room));
    expect(Buffer.byteLength(atLimit)).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(parseEventPayload(atLimit, at).ok).toBe(true);
    const exactly = atLimit.replace('"note":"', `"note":"${'x'.repeat(MAX_EVENT_BYTES - Buffer.byteLength(atLimit))}`);
    expect(Buffer.byteLength(exactly)).toBe(MAX_EVENT_BYTES);
    expect(parseEventPayload(exactly, at).ok).toBe(true);
    const over = exactly.replace('"note":"', '"note":"x');
    expect(refusal(parseEventPayload(over, at))).toEqual({ field: '(event)', message: `event is larger than ${MAX_EVENT_BYTES} bytes of UTF-8 (MAX_EVENT_BYTES; got ${MAX_EVENT_BYTES + 1})` });
    expect(refusal(parseEventPayload(Buffer.from(over), at)).message).toContain('MAX_EVENT_BYTES');
    // Not valid JSON either: the size is checked first, so a 10 MB payload is never parsed.
    expect(refusal(parseEventPayload('{'.repeat(10_000_000))).message).toContain(`larger than ${MAX_EVENT_BYTES} bytes`);
    // The same bound holds for an already-parsed object (the HTTP API passes those).
    expect(refusal(parseEvent(JSON.parse(over), at)).message).toContain('MAX_EVENT_BYTES');
    expect(parseEvent(JSON.parse(exactly), at).ok).toBe(true);
  });

  it(`refuses nesting deeper than ${MAX_EVENT_DEPTH} levels, however deep, without a stack overflow`, () => {
    expect(parseEvent({ ...view, extra: nested(MAX_EVENT_DEPTH - 1) }, at).ok).toBe(true);
    expect(refusal(parseEvent({ ...view, extra: nested(MAX_EVENT_DEPTH) }, at))).toEqual({
      field: 'extra',
      message: `extra nests deeper than ${MAX_EVENT_DEPTH} levels (MAX_EVENT_DEPTH; the event object is level 1)`,
    });
    expect(refusal(parseEvent({ ...view, extra: nested(100_000) }, at)).message).toContain('MAX_EVENT_DEPTH');
    const deepText = JSON.stringify(view).replace('}', `,"extra":${'['.repeat(7000)}${']'.repeat(7000)}}`);
    expect(refusal(parseEventPayload(deepText, at)).message).toContain('extra nests deeper than 8 levels');
    const cyclic: Record<string, unknown> = { ...view };
    cyclic.self = cyclic;
    expect(refusal(parseEvent(cyclic, at)).field).toBe('self');
  });

  it(`keeps unknown fields out of the parsed event, allows up to ${MAX_EVENT_FIELDS} fields, refuses more`, () => {
    const extra = Object.fromEntries(Array.from({ length: MAX_EVENT_FIELDS - 5 }, (_, i) => [`x${i}`, i]));
    const ok = accepted(parseEvent({ ...view, ...extra, _ingest: { shardId: 's', sequenceNumber: '1' } }, at));
    expect(Object.keys(ok).sort()).toEqual(['eventId', 'itemId', 'timestamp', 'type', 'userId']);
    expect(refusal(parseEvent({ ...view, ...extra, one: 1 }, at))).toEqual({
      field: '(event)',
      message: `event has more than ${MAX_EVENT_FIELDS} fields (MAX_EVENT_FIELDS; got ${MAX_EVENT_FIELDS + 1})`,
    });
  });

  it('bounds category to 1-128 characters without control characters', () => {
    expect(accepted(parseEvent({ ...view, category: 'x'.repeat(MAX_CATEGORY_LENGTH) }, at)).category).toHaveLength(MAX_CATEGORY_LENGTH);
    expect(refusal(parseEvent({ ...view, category: 'x'.repeat(MAX_CATEGORY_LENGTH + 1) }, at)).message).toBe('category must be 1-128 characters (MAX_CATEGORY_LENGTH)');
    expect(refusal(parseEvent({ ...view, category: '' }, at)).message).toBe('category must be 1-128 characters');
    for (const c of ['a\u0000b', 'tab\there', 'line\nbreak', '\u007f', '\u009b', 'lone \ud800']) {
      expect(refusal(parseEvent({ ...view, category: c }, at)).message).toBe('category must not contain control characters or unpaired surrogates');
    }
    expect(refusal(parseEvent({ ...view, category: 5 }, at)).message).toBe('category must be a string');
  });

  it('keeps ids to ID_PATTERN and numeric ids to safe integers', () => {
    expect(refusal(parseEvent({ ...view, itemId: 'a b' }, at)).field).toBe('itemId');
    expect(refusal(parseEvent({ ...view, itemId: 'x'.repeat(129) }, at)).field).toBe('itemId');
    expect(refusal(parseEvent({ ...view, userId: 2 ** 60 }, at)).field).toBe('userId');
    expect(accepted(parseEvent({ ...view, userId: '12345678901234567890' }, at)).userId).toBe('12345678901234567890');
  });
});

describe('hostile values never throw', () => {
  const view = { ...base, type: 'view' };
  const cases: [string, () => unknown][] = [
    ['a throwing getter', () => ({ ...view, get category(): string { throw new Error('boom'); } })],
    ['a toString override', () => ({ ...view, category: { toString: () => 'c' } })],
    ['a valueOf override as price', () => ({ ...view, type: 'purchase', price: { valueOf: () => 5 } })],
    ['a throwing Proxy', () => new Proxy({}, { ownKeys: () => { throw new Error('trap'); } })],
    ['a Proxy that lies', () => new Proxy(view, { get: () => { throw new Error('trap'); } })],
    ['a BigInt', () => ({ ...view, extra: 10n })],
    ['a symbol', () => ({ ...view, extra: Symbol('s') })],
    ['a function', () => ({ ...view, extra: () => 1 })],
    ['a Date', () => ({ ...view, extra: new Date() })],
    ['a Map', () => ({ ...view, extra: new Map([[1, 2]]) })],
    ['NaN in an unknown field', () => ({ ...view, extra: Number.NaN })],
    ['an object with no prototype', () => Object.assign(Object.create(null), view, { type: 'teleport' })],
    ['a __proto__ key', () => JSON.parse(`{"__proto__":{"type":"view"},"eventId":"e","userId":"u","itemId":"i","timestamp":"2026-11-01T10:00:00Z"}`)],
    ['a huge string id', () => ({ ...view, userId: 'u'.repeat(5_000_000) })],
    ['a BigInt-like string price', () => ({ ...view, type: 'purchase', price: '123456789012345678901234567890' })],
    ['a huge sparse array', () => ({ ...view, extra: new Array(2 ** 31) })],
  ];
  it.each(cases)('%s is refused with a reason', (_, make) => {
    let r: ParseResult | undefined;
    expect(() => (r = parseEvent(make(), at))).not.toThrow();
    expect(r!.ok).toBe(false);
    if (!r!.ok) expect(r!.message.length).toBeGreaterThan(0);
  });

  it('reads each property once: a getter that changes its answer cannot slip past the checks', () => {
    let reads = 0;
    const tricky = { ...view, get type() { return reads++ === 0 ? 'view' : 'teleport'; } };
    expect(accepted(parseEvent(tricky, at)).type).toBe('view');
    expect(reads).toBe(1);
  });

  it('keeps a __proto__ field as an own field, never a prototype', () => {
    const r = parseEvent(JSON.parse(`{"__proto__":{"polluted":true},"eventId":"e","userId":"u","itemId":"i","type":"view","timestamp":"2026-11-01T10:00:00Z"}`), at);
    const event = accepted(r);
    expect((event as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
