import { z } from 'zod';
import { fromMinor, MAX_LINE_TOTAL, MAX_LINE_TOTAL_MINOR, MAX_PRICE, parseMoneyMinor, toMinor } from './money';
import { formatIssues, issueFields } from './zod-issues';

export { MAX_LINE_TOTAL, MAX_PRICE, MONEY_SCALE } from './money';

/**
 * The event contract: what every entry point (POST /events, the Kinesis consumers, DLQ replay, the nightly
 * steps reading Bronze) accepts. Everything it accepts can be held exactly by every store (Bronze JSON lines,
 * Silver Parquet, DynamoDB features and analytics); everything else is refused with a message that names
 * the field and the bound. The README's "Event contract" section states the same bounds.
 */

/**
 * The interaction types: a user acting on an item, in increasing order of intent. They train the model and feed
 * the features, the analytics windows and the filters' `user …` conditions.
 */
export const INTERACTION_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'rating'] as const;
export type InteractionType = (typeof INTERACTION_TYPES)[number];
/**
 * Every event type the contract accepts: the interactions, and `impression` — an item the user was shown (one
 * event per item shown, usually carrying the answer's `recommendationId`). An impression is not an interaction:
 * it goes to Bronze and Silver like any event, is counted by attribution, and never trains the model or moves
 * a feature.
 */
export const EVENT_TYPES = [...INTERACTION_TYPES, 'impression'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** True for the interaction types (everything but `impression`). */
export function isInteractionType(type: string): type is InteractionType {
  return (INTERACTION_TYPES as readonly string[]).includes(type);
}

/** Largest `position` of an impression (its 0-based place in the list shown). */
export const MAX_IMPRESSION_POSITION = 999;

export const MIN_RATING = 0.5;
export const MAX_RATING = 5;
/** Ids travel in URL paths and partition keys: printable, no slashes or spaces, bounded. */
export const ID_PATTERN = /^[A-Za-z0-9._:@+=~-]{1,128}$/;
/** Largest quantity of one add_to_cart or purchase. */
export const MAX_QUANTITY = 10_000;
/** Largest `category`, in characters (UTF-16 code units); control characters are refused. */
export const MAX_CATEGORY_LENGTH = 128;
/** Largest raw payload, bytes of UTF-8; measured before JSON.parse (and on the JSON form of an object). */
export const MAX_EVENT_BYTES = 16 * 1024;
/** Deepest nesting of objects/arrays; the event object itself is level 1. */
export const MAX_EVENT_DEPTH = 8;
/** Most top-level fields of one event (known and unknown together). */
export const MAX_EVENT_FIELDS = 64;
/**
 * Top-level fields the pipeline writes itself (Bronze's stream metadata). They are not counted in the
 * event's size or field count (a Bronze line re-validated at night carries them), but are depth-checked.
 */
export const RESERVED_FIELDS: readonly string[] = ['_ingest'];
/** Epoch numbers below this are seconds, larger ones milliseconds (1e11 ms is 1973, before any floor). */
export const EPOCH_SECONDS_BELOW = 1e11;

/** Earliest accepted event time unless EVENT_TIME_FLOOR says otherwise (MovieLens 100k starts in 1997). */
export const DEFAULT_EVENT_TIME_FLOOR = '1990-01-01T00:00:00.000Z';
/** How far an event may be ahead of the time it is received unless EVENT_MAX_FUTURE_SKEW_SECONDS says otherwise. */
export const DEFAULT_MAX_FUTURE_SKEW_SECONDS = 15 * 60;
/** The default future skew in milliseconds. Prefer `defaultEventContract().maxFutureSkewMs` (it follows the environment). */
export const MAX_CLOCK_SKEW_MS = DEFAULT_MAX_FUTURE_SKEW_SECONDS * 1000;
/** Bounds of the configurable range (a floor at or after 1e11 ms keeps epoch seconds/ms unambiguous). */
export const MIN_EVENT_TIME_FLOOR_MS = EPOCH_SECONDS_BELOW;
export const MAX_FUTURE_SKEW_SECONDS_LIMIT = 7 * 86_400;

/** The configurable part of the contract: the accepted range of event time. */
export interface EventContract {
  /** Earliest accepted event time, epoch ms. */
  timeFloorMs: number;
  /** How far past `now` an event time may be, ms. */
  maxFutureSkewMs: number;
}

export interface ParseOptions {
  /** "Now" for the future-skew check, epoch ms (default Date.now()); e.g. a Bronze line's arrival time. */
  now?: number;
  /** The range of event time to accept (default: defaultEventContract(), from the environment). */
  contract?: EventContract;
}

const EnvSchema = z.object({
  EVENT_TIME_FLOOR: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return Date.parse(DEFAULT_EVENT_TIME_FLOOR);
      const t = parseEventTime(v.trim());
      if (!t.ok) {
        ctx.addIssue({ code: 'custom', message: `must be an ISO-8601 date-time with Z or an offset, e.g. ${DEFAULT_EVENT_TIME_FLOOR} (${t.message})` });
        return z.NEVER;
      }
      if (t.ms < MIN_EVENT_TIME_FLOOR_MS) {
        ctx.addIssue({ code: 'custom', message: `must not be before ${new Date(MIN_EVENT_TIME_FLOOR_MS).toISOString()} (epoch seconds and milliseconds would become ambiguous)` });
        return z.NEVER;
      }
      return t.ms;
    }),
  EVENT_MAX_FUTURE_SKEW_SECONDS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return DEFAULT_MAX_FUTURE_SKEW_SECONDS;
      const n = /^\d{1,7}$/.test(v.trim()) ? Number(v.trim()) : NaN;
      if (!Number.isInteger(n) || n > MAX_FUTURE_SKEW_SECONDS_LIMIT) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number of seconds from 0 to ${MAX_FUTURE_SKEW_SECONDS_LIMIT} (got ${JSON.stringify(v.slice(0, 40))})` });
        return z.NEVER;
      }
      return n;
    }),
});

/**
 * The accepted event-time range from the environment: `EVENT_TIME_FLOOR` (ISO-8601, default
 * 1990-01-01T00:00:00Z) and `EVENT_MAX_FUTURE_SKEW_SECONDS` (default 900). Throws on a malformed value,
 * naming the variable: call it at start-up to fail fast.
 */
export function eventContractFromEnv(env: Record<string, string | undefined> = process.env): EventContract {
  const parsed = EnvSchema.safeParse({ EVENT_TIME_FLOOR: env.EVENT_TIME_FLOOR, EVENT_MAX_FUTURE_SKEW_SECONDS: env.EVENT_MAX_FUTURE_SKEW_SECONDS });
  if (!parsed.success) {
    throw new Error(`invalid event contract configuration: ${formatIssues(parsed.error.issues)}`);
  }
  return { timeFloorMs: parsed.data.EVENT_TIME_FLOOR, maxFutureSkewMs: parsed.data.EVENT_MAX_FUTURE_SKEW_SECONDS * 1000 };
}

let defaultContract: EventContract | undefined;

/** The contract used when none is passed: read from process.env once, on first use. */
export function defaultEventContract(): EventContract {
  defaultContract ??= eventContractFromEnv(process.env);
  return defaultContract;
}

/** Forgets the cached default contract (tests that change the environment). */
export function resetDefaultEventContract(): void {
  defaultContract = undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Timestamps

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const TIMESTAMP_FORMS = 'an ISO-8601 date-time with Z or a ±HH:MM offset (e.g. 2026-02-01T10:00:00Z) or epoch seconds/milliseconds';

const isLeap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v) : String(v));

/**
 * Reads an event time: a strict ISO-8601 / RFC 3339 date-time with `Z` or a `±HH:MM` offset (real calendar
 * dates, hours 00-23, no leap second; fractions beyond milliseconds are truncated), or an epoch number
 * (below EPOCH_SECONDS_BELOW seconds, else milliseconds; rounded to the millisecond). No range check.
 */
export function parseEventTime(value: unknown): { ok: true; ms: number } | { ok: false; message: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return { ok: false, message: `must be ${TIMESTAMP_FORMS} (got ${String(value)})` };
    const ms = Math.abs(value) < EPOCH_SECONDS_BELOW ? Math.round(value * 1000) : Math.round(value);
    return { ok: true, ms: ms + 0 };
  }
  if (typeof value !== 'string') return { ok: false, message: `must be ${TIMESTAMP_FORMS}` };
  const m = value.length <= 40 ? RFC3339.exec(value) : null;
  if (!m) return { ok: false, message: `must be ${TIMESTAMP_FORMS} (got ${show(value)})` };
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const fraction = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const days = month === 2 && isLeap(year) ? 29 : DAYS[month - 1];
  if (days === undefined || day < 1 || day > days) return { ok: false, message: `is not a real calendar date (got ${show(value)})` };
  if (hour > 23 || minute > 59 || second > 59) return { ok: false, message: `is not a real time of day: hours 00-23, minutes and seconds 00-59 (got ${show(value)})` };
  let offsetMin = 0;
  if (m[8]) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return { ok: false, message: `has an impossible UTC offset (got ${show(value)})` };
    offsetMin = (m[8] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, fraction);
  return { ok: true, ms: d.getTime() - offsetMin * 60_000 };
}

/** Checks an event time against the accepted range; returns a refusal message, or undefined when inside. */
export function checkEventTimeRange(ms: number, contract: EventContract, now: number): string | undefined {
  if (!(ms >= contract.timeFloorMs)) {
    return `must not be before ${new Date(contract.timeFloorMs).toISOString()} (EVENT_TIME_FLOOR; got ${isoOrNumber(ms)})`;
  }
  const latest = now + contract.maxFutureSkewMs;
  if (!(ms <= latest)) {
    return `must be at most ${contract.maxFutureSkewMs / 1000} s after the time it is received (EVENT_MAX_FUTURE_SKEW_SECONDS; got ${isoOrNumber(ms)}, latest accepted ${isoOrNumber(latest)})`;
  }
  return undefined;
}

const isoOrNumber = (ms: number): string => (Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));

/** The range the schema's timestamp check uses during one parseEvent call (zod parses synchronously). */
let activeRange: { contract: EventContract; now: number } | undefined;

const timestamp = z.unknown().transform((value, ctx) => {
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is required' });
    return z.NEVER;
  }
  const t = parseEventTime(value);
  if (!t.ok) {
    ctx.addIssue({ code: 'custom', message: t.message });
    return z.NEVER;
  }
  const range = activeRange ?? { contract: defaultEventContract(), now: Date.now() };
  const refusal = checkEventTimeRange(t.ms, range.contract, range.now);
  if (refusal) {
    ctx.addIssue({ code: 'custom', message: refusal });
    return z.NEVER;
  }
  return new Date(t.ms).toISOString();
});

// ---------------------------------------------------------------------------------------------------------
// Fields

const id = () =>
  z
    .union([z.string(), z.number().int().nonnegative()], {
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string (or a non-negative safe integer)'),
    })
    .transform((v) => String(v))
    .refine((v) => ID_PATTERN.test(v), {
      message: 'must be 1-128 characters of letters, digits or . _ : @ + = ~ -',
    });

// eslint-disable-next-line no-control-regex
const CONTROL_OR_LONE_SURROGATE = /[\p{Cc}\p{Cs}]/u;

const category = z
  .string({ error: 'must be a string' })
  .min(1, { message: `must be 1-${MAX_CATEGORY_LENGTH} characters` })
  .max(MAX_CATEGORY_LENGTH, { message: `must be 1-${MAX_CATEGORY_LENGTH} characters (MAX_CATEGORY_LENGTH)` })
  .refine((v) => !CONTROL_OR_LONE_SURROGATE.test(v), { message: 'must not contain control characters or unpaired surrogates' });

const common = {
  eventId: id(),
  userId: id(),
  itemId: id(),
  timestamp,
  sessionId: id().optional(),
  /** Optional item category, used by analytics and the content signal when no catalogue is loaded. */
  category: category.optional(),
  /**
   * The `recommendationId` of the answer that showed the item (src/domain/recommendation-id.ts), on any event:
   * attribution credits the event to the model version, variant and strategy that answer came from. An id
   * that is not one the API issued is kept (Bronze, Silver) and attributed to nothing.
   */
  recommendationId: id().optional(),
};

/** A price in major units: a number or a decimal string, at most MONEY_SCALE decimals, 0..MAX_PRICE. */
const price = (requiredFor?: string) =>
  z.unknown().transform((value, ctx) => {
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: `is required for ${requiredFor} events` });
      return z.NEVER;
    }
    const r = parseMoneyMinor(value, MAX_PRICE);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return fromMinor(r.minor);
  });

const quantity = z
  .number({ error: 'must be a number' })
  .int({ message: 'must be a whole number' })
  .min(1, { message: 'must be at least 1' })
  .max(MAX_QUANTITY, { message: `must be at most ${MAX_QUANTITY}` });

function lineTotalWithinBound(e: { price?: unknown; quantity?: unknown }, ctx: z.RefinementCtx): void {
  if (typeof e.price !== 'number' || typeof e.quantity !== 'number' || !Number.isInteger(e.quantity)) return;
  if (toMinor(e.price) * e.quantity > MAX_LINE_TOTAL_MINOR) {
    ctx.addIssue({
      code: 'custom',
      path: ['price'],
      message: `× quantity must be at most ${MAX_LINE_TOTAL} (MAX_LINE_TOTAL; got ${e.price} × ${e.quantity})`,
    });
  }
}

export const RatingEventSchema = z.object({
  ...common,
  type: z.literal('rating'),
  rating: z
    .number({ error: (i) => (i.input === undefined ? 'is required for rating events' : 'must be a number') })
    .min(MIN_RATING, { message: `must be between ${MIN_RATING} and ${MAX_RATING}` })
    .max(MAX_RATING, { message: `must be between ${MIN_RATING} and ${MAX_RATING}` }),
});
export const ViewEventSchema = z.object({ ...common, type: z.literal('view') });
export const ImpressionEventSchema = z.object({
  ...common,
  type: z.literal('impression'),
  /** 0-based place of the item in the list shown (optional). */
  position: z
    .number({ error: 'must be a number' })
    .int({ message: 'must be a whole number' })
    .min(0, { message: `must be between 0 and ${MAX_IMPRESSION_POSITION}` })
    .max(MAX_IMPRESSION_POSITION, { message: `must be between 0 and ${MAX_IMPRESSION_POSITION}` })
    .optional(),
});
export const ClickEventSchema = z.object({ ...common, type: z.literal('click') });
export const AddToCartEventSchema = z
  .object({
    ...common,
    type: z.literal('add_to_cart'),
    price: price().optional(),
    quantity: quantity.default(1),
  })
  .superRefine(lineTotalWithinBound);
export const PurchaseEventSchema = z
  .object({
    ...common,
    type: z.literal('purchase'),
    price: price('purchase'),
    quantity: quantity.default(1),
  })
  .superRefine(lineTotalWithinBound);

/**
 * One user interaction, as every entry point (HTTP, Kinesis, files) accepts it. Prefer parseEvent: it also
 * enforces the size, depth and field-count bounds and never throws on hostile objects.
 */
export const EventSchema = z.discriminatedUnion(
  'type',
  [RatingEventSchema, ViewEventSchema, ClickEventSchema, AddToCartEventSchema, PurchaseEventSchema, ImpressionEventSchema],
  {
    error: (issue) => {
      const type = (issue.input as { type?: unknown } | undefined)?.type;
      return type === undefined
        ? `is required (one of ${EVENT_TYPES.join(', ')})`
        : `must be one of ${EVENT_TYPES.join(', ')} (got ${safeJson(type).slice(0, 40)})`;
    },
  },
);

export type UserEvent = z.output<typeof EventSchema>;
/** An event that is an interaction (not an impression). */
export type InteractionEvent = Exclude<UserEvent, { type: 'impression' }>;

/** True when the event is an interaction (what training, features, windows and filters count). */
export function isInteraction(event: UserEvent): event is InteractionEvent {
  return event.type !== 'impression';
}
export type UserEventInput = z.input<typeof EventSchema>;

export interface FieldError {
  /** Dotted path of the field at fault, or `(event)` for the event as a whole. */
  field: string;
  message: string;
}

export type ParseResult = { ok: true; event: UserEvent } | { ok: false; errors: FieldError[]; message: string };

/**
 * What parseEventPayload returns: a ParseResult whose success also carries `raw`, the JSON value parsed from
 * the payload (as the producer sent it, unknown fields included: what Bronze keeps), so a caller never parses
 * the payload a second time. Optional only for stand-ins of parseEventPayload (test doubles) that omit it.
 */
export type PayloadParseResult = { ok: true; event: UserEvent; raw: unknown } | { ok: false; errors: FieldError[]; message: string };

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}

function refuse(errors: FieldError[]): Extract<ParseResult, { ok: false }> {
  return { ok: false, errors, message: formatErrors(errors) };
}

// ---------------------------------------------------------------------------------------------------------
// Record bounds: one iterative pass over the value (no recursion, so any nesting is safe), reading each
// property once (getters run once, then the snapshot is what gets validated) and measuring its JSON size.

type Snapshot = { ok: true; value: Record<string, unknown> } | { ok: false; error: FieldError };

const TOO_LARGE = (bytes: string) => `event is larger than ${MAX_EVENT_BYTES} bytes of UTF-8 (MAX_EVENT_BYTES; got ${bytes})`;

function jsonTypeName(v: unknown): string {
  if (typeof v !== 'object' || v === null) return typeof v;
  return 'a non-plain object';
}

/**
 * Copies a JSON-like value into plain data, refusing non-JSON values and breaches of the size and depth
 * bounds. Reserved fields are walked (depth, JSON data, their own size budget) but left out of the copy.
 */
function snapshot(input: object): Snapshot {
  const fail = (field: string, message: string): Snapshot => ({ ok: false, error: { field, message } });
  const topKeys = Object.keys(input);
  let counted = 0;
  for (const k of topKeys) if (!RESERVED_FIELDS.includes(k)) counted++;
  if (counted > MAX_EVENT_FIELDS) return fail('(event)', `event has more than ${MAX_EVENT_FIELDS} fields (MAX_EVENT_FIELDS; got ${counted})`);

  const root: Record<string, unknown> = {};
  // A lower bound of the JSON size (each UTF-16 code unit is at least one byte), per budget: the event as sent,
  // and the pipeline's reserved fields. It stops the walk early; the event's exact size is measured at the end.
  const budget = { event: 2, reserved: 0 };
  type Frame = { src: object; dst: Record<string, unknown> | unknown[] | undefined; keys: string[]; next: number; emitted: number; depth: number; top: string; reserved: boolean; isArray: boolean };
  const stack: Frame[] = [{ src: input, dst: root, keys: topKeys, next: 0, emitted: 0, depth: 1, top: '', reserved: false, isArray: false }];

  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.keys.length) {
      stack.pop();
      continue;
    }
    const key = frame.keys[frame.next++]!;
    const top = frame.depth === 1 ? key : frame.top;
    const reserved = frame.depth === 1 ? RESERVED_FIELDS.includes(key) : frame.reserved;
    const field = top || '(event)';
    let value: unknown;
    try {
      value = (frame.src as Record<string, unknown>)[key];
    } catch (err) {
      return fail(field, `could not be read: ${describeThrown(err)}`);
    }
    if (value === undefined && !frame.isArray) continue; // JSON.stringify leaves it out

    let bytes = (frame.emitted++ > 0 ? 1 : 0) + (frame.isArray ? 0 : key.length + 3); // comma, "key":
    let copy: unknown;
    let child: Frame | undefined;
    switch (typeof value) {
      case 'string':
        bytes += value.length + 2;
        copy = value;
        break;
      case 'number':
        if (!Number.isFinite(value)) return fail(field, `must be JSON data: a finite number (got ${String(value)})`);
        bytes += 1;
        copy = value;
        break;
      case 'boolean':
        bytes += 4;
        copy = value;
        break;
      case 'undefined':
        bytes += 4; // an array hole or undefined element becomes null
        copy = null;
        break;
      case 'object': {
        if (value === null) {
          bytes += 4;
          copy = null;
          break;
        }
        const isArray = Array.isArray(value);
        if (!isArray) {
          const proto: unknown = Object.getPrototypeOf(value);
          if (proto !== Object.prototype && proto !== null) return fail(field, `must be JSON data (got ${jsonTypeName(value)})`);
        }
        if (frame.depth + 1 > MAX_EVENT_DEPTH) {
          return fail(field, `nests deeper than ${MAX_EVENT_DEPTH} levels (MAX_EVENT_DEPTH; the event object is level 1)`);
        }
        bytes += 2;
        const length = isArray ? (value as unknown[]).length : 0;
        if (length > MAX_EVENT_BYTES) return fail(reserved ? field : '(event)', TOO_LARGE(`more than ${MAX_EVENT_BYTES}`));
        const keys = isArray ? Array.from({ length }, (_, i) => String(i)) : Object.keys(value);
        if (keys.length > MAX_EVENT_BYTES) return fail(reserved ? field : '(event)', TOO_LARGE(`more than ${MAX_EVENT_BYTES}`));
        copy = reserved ? undefined : isArray ? [] : {};
        child = { src: value, dst: copy as Record<string, unknown> | undefined, keys, next: 0, emitted: 0, depth: frame.depth + 1, top, reserved, isArray };
        break;
      }
      default:
        return fail(field, `must be JSON data (got ${typeof value})`);
    }
    if (reserved) {
      budget.reserved += bytes;
      if (budget.reserved > MAX_EVENT_BYTES) return fail(field, `is larger than ${MAX_EVENT_BYTES} bytes of UTF-8 (MAX_EVENT_BYTES)`);
    } else {
      budget.event += bytes;
      if (budget.event > MAX_EVENT_BYTES) return fail('(event)', TOO_LARGE(`more than ${MAX_EVENT_BYTES}`));
      if (frame.isArray) (frame.dst as unknown[]).push(copy);
      else if (key === '__proto__') Object.defineProperty(frame.dst, key, { value: copy, enumerable: true, writable: true, configurable: true });
      else (frame.dst as Record<string, unknown>)[key] = copy;
    }
    if (child) stack.push(child);
  }
  // Plain data, at most MAX_EVENT_DEPTH deep: stringifying it is safe.
  const size = Buffer.byteLength(JSON.stringify(root), 'utf8');
  if (size > MAX_EVENT_BYTES) return fail('(event)', TOO_LARGE(String(size)));
  return { ok: true, value: root };
}

function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error) return String(err.message).slice(0, 200);
    return typeof err;
  } catch {
    return 'unreadable error';
  }
}

/**
 * Validates one event against the contract. Never throws, whatever the value (getters, proxies, `__proto__`
 * keys, cyclic or 100,000-deep nesting): a bad event yields readable errors naming each field at fault and
 * the bound it breaks. Unknown top-level fields are allowed within the record bounds and left out of the
 * parsed event (Bronze keeps the payload as sent).
 */
export function parseEvent(input: unknown, options: ParseOptions = {}): ParseResult {
  try {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return refuse([{ field: '(event)', message: 'event must be a JSON object' }]);
    }
    const snap = snapshot(input);
    if (!snap.ok) return refuse([snap.error]);
    const contract = options.contract ?? defaultEventContract();
    const now = typeof options.now === 'number' && Number.isFinite(options.now) ? options.now : Date.now();
    activeRange = { contract, now };
    let result: ReturnType<typeof EventSchema.safeParse>;
    try {
      result = EventSchema.safeParse(snap.value);
    } finally {
      activeRange = undefined;
    }
    if (result.success) return { ok: true, event: result.data };
    return refuse(issueFields(result.error.issues, { emptyPath: '(event)' }));
  } catch (err) {
    return refuse([{ field: '(event)', message: `event could not be read: ${describeThrown(err)}` }]);
  }
}

/**
 * Parses a raw payload (JSON text or bytes) into an event, and on success also returns the parsed JSON value
 * (`raw`). The size bound is checked on the bytes before JSON.parse; unparseable JSON is reported as an
 * error too. Never throws.
 */
export function parseEventPayload(payload: string | Uint8Array, options: ParseOptions = {}): PayloadParseResult {
  try {
    let text: string;
    if (typeof payload === 'string') {
      // Every UTF-16 code unit is at least one byte of UTF-8: a long string is too large without measuring.
      const bytes = payload.length > MAX_EVENT_BYTES ? undefined : Buffer.byteLength(payload, 'utf8');
      if (bytes === undefined || bytes > MAX_EVENT_BYTES) return refuse([{ field: '(event)', message: TOO_LARGE(bytes === undefined ? `more than ${MAX_EVENT_BYTES}` : String(bytes)) }]);
      text = payload;
    } else if (payload instanceof Uint8Array) {
      if (payload.byteLength > MAX_EVENT_BYTES) return refuse([{ field: '(event)', message: TOO_LARGE(String(payload.byteLength)) }]);
      text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8');
    } else {
      return refuse([{ field: '(event)', message: 'event payload must be JSON text or bytes' }]);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return refuse([{ field: '(event)', message: `not valid JSON: ${describeThrown(err)}` }]);
    }
    const result = parseEvent(json, options);
    return result.ok ? { ...result, raw: json } : result;
  } catch (err) {
    return refuse([{ field: '(event)', message: `event could not be read: ${describeThrown(err)}` }]);
  }
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.field === '(event)' ? e.message : `${e.field} ${e.message}`)).join('; ');
}

/** Epoch milliseconds of an event's (normalised) timestamp. */
export function eventTimeMs(event: Pick<UserEvent, 'timestamp'>): number {
  return Date.parse(event.timestamp);
}
