import { parseEvent, type FieldError } from '../domain/events';
import { MAX_RECORDS_PER_PUT, type EventPublisher } from './event-publisher';
import { errorBody, HttpError, json, readJsonBody, type ApiRequest, type ApiResponse } from './http';

/** Largest request body accepted (bytes). 500 typical events are ~100 KB; PutRecords itself takes 5 MiB. */
export const MAX_EVENTS_BODY_BYTES = 1024 * 1024;
export const MAX_EVENTS_PER_REQUEST = MAX_RECORDS_PER_PUT;

export type EventResult =
  | { index: number; status: 202; eventId: string; shardId: string; sequenceNumber: string }
  | { index: number; status: 400; eventId?: string; error: { code: 'INVALID_EVENT'; message: string; field: string; errors: FieldError[] } }
  | { index: number; status: 503; eventId: string; error: { code: 'STREAM_REFUSED'; message: string } };

/**
 * `POST /events`: one event, an array of 1-500, or `{ "events": [...] }`. Each event is validated with the
 * shared schema; valid ones go onto Kinesis (partition key userId) even when others in the request are
 * invalid, and the answer lists every event's outcome in request order:
 * 202 all accepted, 400 none valid (naming the first field at fault), 207 a mix, 503 the stream refused all.
 */
export class EventsApi {
  /** @param onOutcome called once per answered request with its counts (the handler's metrics). */
  constructor(
    private readonly publisher: EventPublisher,
    private readonly onOutcome?: (counts: { accepted: number; rejected: number; failed: number }) => void,
  ) {}

  async post(request: ApiRequest): Promise<ApiResponse> {
    const parsed = readJsonBody(request, {
      what: 'events',
      maxBytes: MAX_EVENTS_BODY_BYTES,
      sendHint: 'send an event, an array of events or { "events": [...] }',
      tooLargeHint: `send at most ${MAX_EVENTS_PER_REQUEST} events per request`,
    });
    const { events, single } = unwrap(parsed);
    if (events.length === 0) throw new HttpError(400, 'NO_EVENTS', 'send at least one event', 'events');
    if (events.length > MAX_EVENTS_PER_REQUEST) {
      throw new HttpError(413, 'TOO_MANY_EVENTS', `at most ${MAX_EVENTS_PER_REQUEST} events per request (got ${events.length})`, 'events');
    }

    const results: (EventResult | undefined)[] = new Array(events.length);
    const outgoing: { index: number; eventId: string; userId: string; data: Uint8Array }[] = [];
    events.forEach((input, index) => {
      const check = parseEvent(input);
      if (check.ok) {
        outgoing.push({ index, eventId: check.event.eventId, userId: check.event.userId, data: Buffer.from(JSON.stringify(check.event)) });
        return;
      }
      // Fields of a batch are named by position, e.g. `events[3].rating`; a lone event's simply `rating`.
      const where = single ? '' : `events[${index}]`;
      const first = check.errors[0]!;
      const field = first.field === '(event)' ? where || '(event)' : where ? `${where}.${first.field}` : first.field;
      const eventId = typeof (input as { eventId?: unknown })?.eventId === 'string' ? (input as { eventId: string }).eventId : undefined;
      results[index] = {
        index,
        status: 400,
        ...(eventId ? { eventId } : {}),
        error: { code: 'INVALID_EVENT', message: `${where ? where + ': ' : ''}${check.message}`, field, errors: check.errors },
      };
    });

    if (outgoing.length > 0) {
      const published = await this.publisher.publish(outgoing.map((o) => ({ partitionKey: o.userId, data: o.data })));
      outgoing.forEach((o, j) => {
        const r = published[j]!;
        results[o.index] = r.ok
          ? { index: o.index, status: 202, eventId: o.eventId, shardId: r.shardId, sequenceNumber: r.sequenceNumber }
          : { index: o.index, status: 503, eventId: o.eventId, error: { code: 'STREAM_REFUSED', message: `${r.errorCode}: ${r.errorMessage}` } };
      });
    }

    const all = results as EventResult[];
    const accepted = all.filter((r) => r.status === 202).length;
    const rejected = all.filter((r) => r.status === 400).length;
    const failed = all.filter((r) => r.status === 503).length;
    const summary = { accepted, rejected, failed, results: all };
    this.onOutcome?.({ accepted, rejected, failed });
    if (accepted === all.length) return json(202, summary);
    if (rejected === all.length) {
      const first = all[0] as Extract<EventResult, { status: 400 }>;
      return json(400, { ...errorBody('INVALID_EVENT', first.error.message, first.error.field), ...summary });
    }
    if (failed === all.length) return json(503, { ...errorBody('STREAM_UNAVAILABLE', 'the event stream refused every event; retry later'), ...summary }, { 'Retry-After': '1' });
    return json(207, summary);
  }
}

/** Accepts a bare event, an array, or `{ events: [...] }`. */
function unwrap(body: unknown): { events: unknown[]; single: boolean } {
  if (Array.isArray(body)) return { events: body, single: false };
  if (typeof body === 'object' && body !== null && Object.hasOwn(body, 'events') && !Object.hasOwn(body, 'type')) {
    const events = (body as { events: unknown }).events;
    if (!Array.isArray(events)) throw new HttpError(400, 'INVALID_BODY', 'events must be an array of events', 'events');
    return { events, single: false };
  }
  if (typeof body === 'object' && body !== null) return { events: [body], single: true };
  throw new HttpError(400, 'INVALID_BODY', 'send an event object, an array of events or { "events": [...] }', '(body)');
}
