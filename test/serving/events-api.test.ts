import { describe, expect, it } from 'vitest';
import type { EventPublisher, OutgoingRecord, PublishResult } from '../../src/serving/event-publisher';
import { EventsApi } from '../../src/serving/events-api';
import type { ApiRequest } from '../../src/serving/http';

/** A publisher that refuses the records whose partition key is listed (as a throttled shard would). */
class RecordingPublisher implements EventPublisher {
  readonly sent: OutgoingRecord[] = [];
  constructor(private readonly refuse: (r: OutgoingRecord) => boolean = () => false) {}
  async publish(records: readonly OutgoingRecord[]): Promise<PublishResult[]> {
    return records.map((r, i) => {
      if (this.refuse(r)) return { ok: false, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'Rate exceeded for shard' };
      this.sent.push(r);
      return { ok: true, shardId: 'shardId-000000000000', sequenceNumber: String(1000 + i) };
    });
  }
}

const request = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }): ApiRequest => ({
  method: 'POST',
  path: '/events',
  params: {},
  query: {},
  headers,
  body,
  requestId: 'r1',
});
const event = (i: number, extra: Record<string, unknown> = {}) => ({
  eventId: `e${i}`,
  type: 'rating',
  userId: `u${i % 3}`,
  itemId: `i${i}`,
  rating: 4,
  timestamp: '2026-01-01T00:00:00Z',
  ...extra,
});

describe('POST /events (validation and per-event results)', () => {
  it('accepts a single event, an array and { events: [...] }, partitioned by userId', async () => {
    for (const body of [event(1), [event(1), event(2)], { events: [event(1), event(2)] }]) {
      const publisher = new RecordingPublisher();
      const res = await new EventsApi(publisher).post(request(JSON.stringify(body)));
      expect(res.statusCode).toBe(202);
      const out = JSON.parse(res.body) as { accepted: number; results: { status: number; eventId: string }[] };
      expect(out.accepted).toBe(publisher.sent.length);
      expect(publisher.sent.map((r) => r.partitionKey)).toEqual(out.results.map((r) => `u${Number(r.eventId.slice(1)) % 3}`));
      // What goes on the stream is the validated, normalised event.
      expect(JSON.parse(Buffer.from(publisher.sent[0]!.data).toString())).toMatchObject({ eventId: 'e1', timestamp: '2026-01-01T00:00:00.000Z' });
    }
  });

  it('a lone invalid event is a 400 naming the field', async () => {
    const res = await new EventsApi(new RecordingPublisher()).post(request(JSON.stringify(event(1, { rating: 9 }))));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'INVALID_EVENT', field: 'rating', message: expect.stringContaining('rating must be between 0.5 and 5') } });
  });

  it('a mixed batch puts the valid events and answers 207 with each event outcome', async () => {
    const publisher = new RecordingPublisher();
    const body = [event(1), event(2, { userId: 'bad user' }), event(3), { type: 'view' }];
    const res = await new EventsApi(publisher).post(request(JSON.stringify(body)));
    expect(res.statusCode).toBe(207);
    const out = JSON.parse(res.body) as { accepted: number; rejected: number; results: { index: number; status: number; error?: { field: string } }[] };
    expect(out).toMatchObject({ accepted: 2, rejected: 2, failed: 0 });
    expect(out.results.map((r) => r.status)).toEqual([202, 400, 202, 400]);
    expect(out.results[1]!.error!.field).toBe('events[1].userId');
    expect(out.results[3]!.error!.field).toMatch(/^events\[3\]\./);
    expect(publisher.sent.map((r) => JSON.parse(Buffer.from(r.data).toString()).eventId)).toEqual(['e1', 'e3']);
  });

  it('reports records the stream refused as 503 per event, and 503 overall when nothing got through', async () => {
    const partial = await new EventsApi(new RecordingPublisher((r) => r.partitionKey === 'u1')).post(request(JSON.stringify([event(1), event(2)])));
    expect(partial.statusCode).toBe(207);
    expect((JSON.parse(partial.body) as { results: { status: number }[] }).results.map((r) => r.status)).toEqual([503, 202]);
    const none = await new EventsApi(new RecordingPublisher(() => true)).post(request(JSON.stringify([event(1)])));
    expect(none.statusCode).toBe(503);
    expect(none.headers).toMatchObject({ 'Retry-After': '1' });
  });

  it('refuses malformed JSON, empty and oversized batches, and non-JSON bodies', async () => {
    const api = new EventsApi(new RecordingPublisher());
    await expect(api.post(request('{"eventId": '))).rejects.toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    await expect(api.post(request(''))).rejects.toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    await expect(api.post(request('[]'))).rejects.toMatchObject({ status: 400, code: 'NO_EVENTS' });
    await expect(api.post(request('42'))).rejects.toMatchObject({ status: 400, code: 'INVALID_BODY' });
    await expect(api.post(request('{"events": 3}'))).rejects.toMatchObject({ status: 400, field: 'events' });
    const many = JSON.stringify(Array.from({ length: 501 }, (_, i) => event(i)));
    await expect(api.post(request(many))).rejects.toMatchObject({ status: 413, code: 'TOO_MANY_EVENTS' });
    await expect(api.post(request(JSON.stringify({ events: [], pad: 'x'.repeat(1_100_000) })))).rejects.toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    await expect(api.post(request(JSON.stringify(event(1)), { 'content-type': 'text/csv' }))).rejects.toMatchObject({ status: 415 });
  });
});
