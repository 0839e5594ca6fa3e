import { z } from 'zod';

/** The interaction types the pipeline understands, in increasing order of intent. */
export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase', 'rating'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const MIN_RATING = 0.5;
export const MAX_RATING = 5;
/** Ids travel in URL paths and partition keys: printable, no slashes or spaces, bounded. */
export const ID_PATTERN = /^[A-Za-z0-9._:@+=~-]{1,128}$/;
/** Events older than this are certainly a unit mistake (e.g. epoch seconds sent as milliseconds). */
const EARLIEST_TIMESTAMP_MS = Date.UTC(1990, 0, 1);
/** Producer clocks may run ahead; anything further in the future is rejected. */
export const MAX_CLOCK_SKEW_MS = 24 * 60 * 60 * 1000;

const id = () =>
  z
    .union([z.string(), z.number().int().nonnegative()], {
      error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
    })
    .transform((v) => String(v))
    .refine((v) => ID_PATTERN.test(v), {
      message: 'must be 1-128 characters of letters, digits or . _ : @ + = ~ -',
    });

/**
 * Accepts ISO-8601 strings or epoch numbers; numbers below 1e11 are taken as seconds (as MovieLens
 * and many producers send them), larger ones as milliseconds. Normalised to an ISO-8601 UTC string.
 */
const timestamp = z
  .union([z.string(), z.number()], {
    error: (issue) =>
      issue.input === undefined ? 'is required' : 'must be an ISO-8601 string or epoch number',
  })
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? (Math.abs(value) < 1e11 ? value * 1000 : value) : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: `"${String(value)}" is not a valid date` });
      return z.NEVER;
    }
    if (ms < EARLIEST_TIMESTAMP_MS) {
      ctx.addIssue({ code: 'custom', message: `${String(value)} is before 1990-01-01` });
      return z.NEVER;
    }
    if (ms > Date.now() + MAX_CLOCK_SKEW_MS) {
      ctx.addIssue({ code: 'custom', message: `${String(value)} is more than a day in the future` });
      return z.NEVER;
    }
    return new Date(ms).toISOString();
  });

const common = {
  eventId: id(),
  userId: id(),
  itemId: id(),
  timestamp,
  sessionId: id().optional(),
  /** Optional item category, used by analytics and the content signal when no catalogue is loaded. */
  category: z.string().min(1).max(128).optional(),
};

const money = z.number({ error: 'must be a number' }).finite().nonnegative({ message: 'must be >= 0' });
const quantity = z
  .number({ error: 'must be a number' })
  .int({ message: 'must be a whole number' })
  .min(1, { message: 'must be at least 1' })
  .max(10_000, { message: 'must be at most 10000' });

export const RatingEventSchema = z.object({
  ...common,
  type: z.literal('rating'),
  rating: z
    .number({ error: (i) => (i.input === undefined ? 'is required for rating events' : 'must be a number') })
    .min(MIN_RATING, { message: `must be between ${MIN_RATING} and ${MAX_RATING}` })
    .max(MAX_RATING, { message: `must be between ${MIN_RATING} and ${MAX_RATING}` }),
});
export const ViewEventSchema = z.object({ ...common, type: z.literal('view') });
export const ClickEventSchema = z.object({ ...common, type: z.literal('click') });
export const AddToCartEventSchema = z.object({
  ...common,
  type: z.literal('add_to_cart'),
  price: money.optional(),
  quantity: quantity.default(1),
});
export const PurchaseEventSchema = z.object({
  ...common,
  type: z.literal('purchase'),
  price: z
    .number({ error: (i) => (i.input === undefined ? 'is required for purchase events' : 'must be a number') })
    .finite()
    .nonnegative({ message: 'must be >= 0' }),
  quantity: quantity.default(1),
});

/** One user interaction, as every entry point (HTTP, Kinesis, files) accepts it. */
export const EventSchema = z.discriminatedUnion(
  'type',
  [RatingEventSchema, ViewEventSchema, ClickEventSchema, AddToCartEventSchema, PurchaseEventSchema],
  {
    error: (issue) => {
      const type = (issue.input as { type?: unknown } | undefined)?.type;
      return type === undefined
        ? `is required (one of ${EVENT_TYPES.join(', ')})`
        : `must be one of ${EVENT_TYPES.join(', ')} (got ${JSON.stringify(type).slice(0, 40)})`;
    },
  },
);

export type UserEvent = z.output<typeof EventSchema>;
export type UserEventInput = z.input<typeof EventSchema>;

export interface FieldError {
  /** Dotted path of the field at fault, or `(event)` for the event as a whole. */
  field: string;
  message: string;
}

export type ParseResult = { ok: true; event: UserEvent } | { ok: false; errors: FieldError[]; message: string };

/** Validates one event. Never throws: a bad event yields readable errors naming each field at fault. */
export function parseEvent(input: unknown): ParseResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    const errors = [{ field: '(event)', message: 'event must be a JSON object' }];
    return { ok: false, errors, message: formatErrors(errors) };
  }
  const result = EventSchema.safeParse(input);
  if (result.success) return { ok: true, event: result.data };
  const errors = result.error.issues.map((issue) => ({
    field: issue.path.length ? issue.path.join('.') : '(event)',
    message: issue.message,
  }));
  return { ok: false, errors, message: formatErrors(errors) };
}

/** Parses a raw payload (JSON text or bytes) into an event, reporting unparseable JSON as an error too. */
export function parseEventPayload(payload: string | Uint8Array): ParseResult {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const errors = [{ field: '(event)', message: `not valid JSON: ${(err as Error).message}` }];
    return { ok: false, errors, message: formatErrors(errors) };
  }
  return parseEvent(json);
}

export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.field === '(event)' ? e.message : `${e.field} ${e.message}`)).join('; ');
}

/** Epoch milliseconds of an event's (normalised) timestamp. */
export function eventTimeMs(event: Pick<UserEvent, 'timestamp'>): number {
  return Date.parse(event.timestamp);
}
