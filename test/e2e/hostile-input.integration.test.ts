import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, KinesisStreamEvent } from 'aws-lambda';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { handler as consumer, resetConsumer } from '../../lambdas/consumer/index';
import { handler as analyticsConsumer, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { handler as eventsApi, resetEventsApi } from '../../lambdas/events-api/index';
import type { AnalyticsReader } from '../../src/analytics/analytics-reader';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { applyToWindow, emptyWindow, mergeWindows, summarize, windowStart, type WindowAggregate } from '../../src/analytics/windows';
import { S3Lake } from '../../src/adapters/s3-lake';
import { generateEvents } from '../../src/domain/event-generator';
import { eventTimeMs, parseEvent, type UserEvent } from '../../src/domain/events';
import { applyItemEvents, applyUserEvents, mergeItemFeatures, mergeUserFeatures, type ItemFeatures, type UserFeatures } from '../../src/domain/features';
import { ensureResources } from '../../src/adapters/local-resources';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { runRetrainingLocally } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deliverUntilDone, lambdaContext } from '../support/lambda';
import { scanTable } from '../support/snapshot';

/**
 * The hostile-input suite: a corpus of records a careless or hostile client sends, through every entry
 * point (POST /events, straight onto Kinesis, a dead-letter replay, and the nightly job reading Bronze).
 * For each: a clear refusal or a quarantine with its reason, every other record of the batch stored exactly
 * once, the speed-layer features and the analytics equal to a run without the bad records, and (nightly)
 * the next retraining succeeding.
 */

let aws: TestAws;
let reader: AnalyticsReader;
const now = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

/** A valid event's JSON text with one field replaced by raw JSON text (so `1e400` or deep nesting survive). */
const withRaw = (event: Record<string, unknown>, field: string, rawValue: string) => {
  const text = JSON.stringify({ ...event, [field]: '__RAW__' });
  return text.replace('"__RAW__"', rawValue);
};

const purchase = (id: string, extra: Record<string, unknown> = {}) => ({
  eventId: id,
  type: 'purchase',
  userId: 'hostile-u1',
  itemId: 'hostile-i1',
  price: 12.5,
  quantity: 1,
  timestamp: iso(now - 5 * 60_000),
  ...extra,
});

interface BadCase {
  name: string;
  /** The record's payload on the wire. */
  raw: string;
  /** What the refusal must name (the field and/or the bound). */
  reason: RegExp;
  /** Not JSON at all: POST /events refuses the whole request, so it is sent on Kinesis only. */
  kinesisOnly?: boolean;
}

/** Records outside the contract: each must be refused (HTTP 400 naming the field) or quarantined with the reason. */
const BAD: BadCase[] = [
  { name: 'price beyond 2^53', raw: JSON.stringify(purchase('bad-price-huge', { price: 2 ** 60 })), reason: /price/ },
  { name: 'price 1e300', raw: JSON.stringify(purchase('bad-price-1e300', { price: 1e300 })), reason: /price/ },
  { name: 'price Infinity (1e400 in JSON)', raw: withRaw(purchase('bad-price-inf'), 'price', '1e400'), reason: /price/ },
  { name: 'price × quantity beyond the line total', raw: JSON.stringify(purchase('bad-total', { price: 999_999_999, quantity: 10_000 })), reason: /price/ },
  { name: 'price below a cent', raw: JSON.stringify(purchase('bad-subcent', { price: 0.004 })), reason: /price/ },
  { name: 'negative price', raw: JSON.stringify(purchase('bad-negative', { price: -1 })), reason: /price/ },
  { name: 'timestamp "1"', raw: JSON.stringify(purchase('bad-ts-1', { timestamp: '1' })), reason: /timestamp/ },
  { name: 'timestamp on February 30', raw: JSON.stringify(purchase('bad-ts-feb30', { timestamp: '2026-02-30T10:00:00Z' })), reason: /timestamp/ },
  { name: 'timestamp without a zone', raw: JSON.stringify(purchase('bad-ts-nozone', { timestamp: iso(now - 60_000).slice(0, 19) })), reason: /timestamp/ },
  { name: 'timestamp two days ahead', raw: JSON.stringify(purchase('bad-ts-future', { timestamp: iso(now + 2 * 86_400_000) })), reason: /timestamp/ },
  { name: 'timestamp before the floor', raw: JSON.stringify(purchase('bad-ts-old', { timestamp: '1970-01-02T00:00:00Z' })), reason: /timestamp/ },
  { name: 'an extra field nested 5,000 levels deep', raw: withRaw(purchase('bad-deep'), 'extra', deep(5000)), reason: /dept|nest/i },
  { name: 'an extra field nested 200,000 levels deep', raw: withRaw(purchase('bad-deeper'), 'extra', deep(200_000)), reason: /dept|nest|size|bytes|large/i },
  { name: 'a 40 KB record', raw: JSON.stringify(purchase('bad-size', { note: 'x'.repeat(40_000) })), reason: /size|bytes|large|KiB/i },
  { name: 'a 500-character category', raw: JSON.stringify(purchase('bad-category-long', { category: 'c'.repeat(500) })), reason: /category/ },
  { name: 'a category with control characters', raw: JSON.stringify(purchase('bad-category-ctl', { category: 'shoes\u0000\u0007' })), reason: /category/ },
  { name: 'rating Infinity', raw: withRaw({ eventId: 'bad-rating', type: 'rating', userId: 'hostile-u1', itemId: 'hostile-i1', timestamp: iso(now - 60_000) }, 'rating', '1e400'), reason: /rating/ },
  { name: 'a user id with a space', raw: JSON.stringify(purchase('bad-user', { userId: 'bad user' })), reason: /userId/ },
  { name: 'an unknown type named after a prototype member', raw: JSON.stringify(purchase('bad-type', { type: 'constructor' })), reason: /type/ },
  { name: 'a JSON array', raw: '[1,2,3]', reason: /object/ },
  { name: 'JSON null', raw: 'null', reason: /object/ },
  { name: 'not JSON', raw: '{"eventId": "bad-json", ', reason: /JSON/, kinesisOnly: true },
];

/**
 * Valid events that look hostile: prototype-member names as categories and ids, a cent and a 10-digit total,
 * an offset timestamp. Each must be stored and counted exactly, like any other event.
 */
const TRICKY: Record<string, unknown>[] = [
  { eventId: 'ok-proto-1', type: 'view', userId: '__proto__', itemId: 'constructor', category: 'constructor', timestamp: iso(now - 9 * 60_000) },
  { eventId: 'ok-proto-2', type: 'click', userId: 'constructor', itemId: 'toString', category: 'toString', timestamp: iso(now - 8 * 60_000) },
  { eventId: 'ok-proto-3', type: 'add_to_cart', userId: 'hasOwnProperty', itemId: '__proto__', category: '__proto__', price: 3.3, quantity: 3, timestamp: iso(now - 7 * 60_000) },
  { eventId: 'ok-proto-4', type: 'purchase', userId: 'toString', itemId: 'valueOf', category: 'hasOwnProperty', price: 0.01, quantity: 1, timestamp: iso(now - 6 * 60_000) },
  { eventId: 'ok-cent', type: 'purchase', userId: 'hostile-u2', itemId: 'hostile-i2', category: 'valueOf', price: 0.01, quantity: 3, timestamp: iso(now - 5 * 60_000) },
  { eventId: 'ok-big-total', type: 'purchase', userId: 'hostile-u2', itemId: 'hostile-i3', price: 999_999_999.99, quantity: 10, timestamp: iso(now - 4 * 60_000) },
  { eventId: 'ok-offset', type: 'rating', userId: 'hostile-u3', itemId: 'hostile-i2', rating: 4.5, timestamp: iso(now - 3 * 60_000).replace('Z', '+00:00') },
];

/** The good events of a batch: generated traffic plus the tricky valid ones, all within the last hour. */
function goodRecords(seed: number): Record<string, unknown>[] {
  const generated = [...generateEvents({ users: 12, items: 20, events: 40, seed, startMs: now - 40 * 60_000, endMs: now - 10 * 60_000 })] as Record<string, unknown>[];
  return [...generated, ...TRICKY];
}

const parsed = (records: readonly Record<string, unknown>[]): UserEvent[] =>
  records.map((r) => {
    const p = parseEvent(r);
    if (!p.ok) throw new Error(`fixture ${JSON.stringify(r).slice(0, 80)} is invalid: ${p.message}`);
    return p.event;
  });

async function resetAll(): Promise<void> {
  const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
  const keys = await lake.listKeys('');
  for (let i = 0; i < keys.length; i += 1000) {
    await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.analyticsTable! }));
  await aws.kinesis.send(new DeleteStreamCommand({ StreamName: aws.names.eventsStream }));
  await ensureResources({ s3: aws.s3, ddb: aws.ddb, kinesis: aws.kinesis }, aws.names);
  resetConsumer();
  resetAnalyticsConsumer();
  resetEventsApi();
}

/** Both consumers over everything on the stream, as their event source mappings would deliver it. */
async function consumeStream(options: { replay?: boolean } = {}): Promise<{ failures: string[][] }> {
  const failures: string[][] = [];
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 25)) {
    const event = (options.replay ? { ...batch, replay: true } : batch) as KinesisStreamEvent;
    const c = await consumer(event, lambdaContext('consumer'));
    const a = await analyticsConsumer(event, lambdaContext('analytics'));
    failures.push((c?.batchItemFailures ?? []).map((f) => f.itemIdentifier), (a?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  }
  return { failures };
}

const scan = (table: string) => scanTable(aws, table);

/** The speed layer as the API reads it: every user's and item's shard rows merged. */
async function speedLayer(): Promise<{ users: Map<string, UserFeatures>; items: Map<string, ItemFeatures> }> {
  const rows = await scan(aws.names.featuresTable);
  const byPk = new Map<string, Record<string, unknown>[]>();
  for (const r of rows) {
    if (r.entity !== 'user' && r.entity !== 'item') continue;
    const list = byPk.get(String(r.pk)) ?? [];
    list.push(r);
    byPk.set(String(r.pk), list);
  }
  const users = new Map<string, UserFeatures>();
  const items = new Map<string, ItemFeatures>();
  for (const [, list] of byPk) {
    if (list[0]!.entity === 'user') {
      const f = mergeUserFeatures(list.map((r) => r.features as UserFeatures))!;
      users.set(f.userId, f);
    } else {
      const f = mergeItemFeatures(list.map((r) => r.features as ItemFeatures))!;
      items.set(f.itemId, f);
    }
  }
  return { users, items };
}

/** What the speed layer must hold for these events: the domain folds over them, first delivery of each eventId. */
function expectedSpeedLayer(events: readonly UserEvent[]): { users: Map<string, UserFeatures>; items: Map<string, ItemFeatures> } {
  const group = (key: (e: UserEvent) => string) => {
    const out = new Map<string, UserEvent[]>();
    for (const e of events) out.set(key(e), [...(out.get(key(e)) ?? []), e]);
    return out;
  };
  const users = new Map([...group((e) => e.userId)].map(([id, evs]) => [id, applyUserEvents(undefined, evs)] as const));
  const items = new Map([...group((e) => e.itemId)].map(([id, evs]) => [id, applyItemEvents(undefined, evs)] as const));
  return { users, items };
}

const HOUR = 60 * 60_000;
/** The last hour's analytics as /analytics/realtime reports them, and what they must be for these events. */
async function analytics(events: readonly UserEvent[]) {
  const actual = (await reader.realtime(HOUR, now)).summary;
  const toMs = windowStart(now, 'minute') + 60_000;
  const fromMs = toMs - HOUR;
  const byMinute = new Map<number, UserEvent[]>();
  for (const e of events) {
    const t = windowStart(eventTimeMs(e), 'minute');
    byMinute.set(t, [...(byMinute.get(t) ?? []), e]);
  }
  const windows: WindowAggregate[] = [...byMinute].map(([start, evs]) => applyToWindow(emptyWindow('minute', start), evs));
  const expected = summarize(mergeWindows(windows, 'minute', fromMs), toMs);
  return { actual, expected };
}

async function bronzeLines(prefix: string): Promise<Record<string, unknown>[]> {
  const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
  const out: Record<string, unknown>[] = [];
  for (const key of await lake.listKeys(prefix)) {
    for (const line of ((await lake.getText(key)) ?? '').split('\n')) if (line.trim()) out.push(JSON.parse(line) as Record<string, unknown>);
  }
  return out;
}

/** Everything a run with bad records must end equal to: the good events alone. */
async function expectStateOfGoodEventsOnly(good: readonly Record<string, unknown>[], sentGoodRecords: number): Promise<void> {
  const events = parsed(good);
  // Bronze: every good record delivered is there exactly once (repeats included: Silver drops those).
  const lines = await bronzeLines('bronze/events/');
  expect(lines).toHaveLength(sentGoodRecords);
  expect(new Set(lines.map((l) => l.eventId))).toEqual(new Set(events.map((e) => e.eventId)));

  const actual = await speedLayer();
  const expected = expectedSpeedLayer(events);
  expect([...actual.users.keys()].sort()).toEqual([...expected.users.keys()].sort());
  for (const [id, f] of expected.users) expect(actual.users.get(id), `user ${id}`).toEqual(f);
  for (const [id, f] of expected.items) expect(actual.items.get(id), `item ${id}`).toEqual(f);

  const a = await analytics(events);
  expect(a.actual.events).toBe(a.expected.events);
  expect(a.actual.purchases).toBe(a.expected.purchases);
  expect(a.actual.revenue).toBe(a.expected.revenue);
  expect(a.actual.unitsSold).toBe(a.expected.unitsSold);
  expect(a.actual.topCategories).toEqual(a.expected.topCategories);
  expect(a.actual.topItems).toEqual(a.expected.topItems);
  for (const c of a.actual.topCategories) expect(typeof c.score).toBe('number');
}

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-hostile-analytics-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  reader = dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!);
}, 60_000);
afterAll(async () => {
  await aws?.stop();
});
beforeEach(resetAll);

/** A batch in which the bad record sits between good neighbours. */
const around = (good: readonly Record<string, unknown>[], bad: string[]): (string | Record<string, unknown>)[] => {
  const half = Math.floor(good.length / 2);
  return [...good.slice(0, half), ...bad, ...good.slice(half)];
};

describe('hostile records sent straight to Kinesis', () => {
  it.each(BAD.map((c, i) => [c.name, c, i] as const))('%s: quarantined with its reason, neighbours stored once, features and analytics unharmed', async (_name, c, i) => {
    const good = goodRecords(100 + i);
    await aws.putRecords(around(good, [c.raw]));
    const { failures } = await consumeStream();
    expect(failures.flat()).toEqual([]);
    const quarantined = await bronzeLines('bronze/_quarantine/');
    expect(quarantined).toHaveLength(1);
    expect(String(quarantined[0]!.reason)).toMatch(c.reason);
    await expectStateOfGoodEventsOnly(good, good.length);
  });
});

describe('hostile records posted to POST /events', () => {
  const post = async (body: string): Promise<APIGatewayProxyResult> =>
    (await eventsApi(
      {
        httpMethod: 'POST',
        path: '/events',
        resource: '/events',
        headers: { 'content-type': 'application/json' },
        queryStringParameters: null,
        pathParameters: null,
        body,
        isBase64Encoded: false,
        requestContext: { requestId: 'hostile' },
      } as unknown as APIGatewayProxyEvent,
      lambdaContext('events-api'),
    )) as APIGatewayProxyResult;

  it.each(BAD.filter((c) => !c.kinesisOnly).map((c) => [c.name, c] as const))('%s: refused with a 400 naming the field; the rest of the request lands once', async (_name, c) => {
    const good = goodRecords(7);
    const records = around(good, [c.raw]);
    const body = `[${records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(',')}]`;
    const res = await post(body);
    expect(res.statusCode).toBe(207);
    const out = JSON.parse(res.body) as { accepted: number; rejected: number; results: { index: number; status: number; error?: { field?: string; message: string } }[] };
    expect(out.accepted).toBe(good.length);
    expect(out.rejected).toBe(1);
    const refused = out.results.filter((r) => r.status === 400);
    expect(refused).toHaveLength(1);
    expect(`${refused[0]!.error?.field ?? ''} ${refused[0]!.error?.message ?? ''}`).toMatch(c.reason);
    const { failures } = await consumeStream();
    expect(failures.flat()).toEqual([]);
    expect(await bronzeLines('bronze/_quarantine/')).toHaveLength(0);
    await expectStateOfGoodEventsOnly(good, good.length);
  });

  it('refuses a body that is not JSON as a whole, with a clear error, and puts nothing on the stream', async () => {
    const res = await post('[{"eventId": "x", ');
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { message: expect.stringMatching(/JSON/) } });
    const { failures } = await consumeStream();
    expect(failures.flat()).toEqual([]);
    expect(await bronzeLines('bronze/')).toHaveLength(0);
  });
});

describe('repeated eventIds', () => {
  it('a purchase posted 200 times, and a later record reusing its eventId with other content, count once everywhere', async () => {
    const good = goodRecords(11);
    const original = purchase('repeat-me', { price: 250, quantity: 2, category: 'repeats' });
    // Objects go on the stream partitioned by userId, as POST /events sends them: every repeat reaches the same shard.
    const repeats = Array.from({ length: 200 }, () => ({ ...original }));
    const impostor = purchase('repeat-me', { userId: 'hostile-u1', itemId: 'hostile-i9', price: 99_999, quantity: 7 });
    await aws.putRecords([...good.slice(0, 20), original, ...good.slice(20, 30), ...repeats, impostor, ...good.slice(30)]);
    const { failures } = await consumeStream();
    expect(failures.flat()).toEqual([]);
    // Bronze keeps every delivery (the nightly job deduplicates); the speed layer and analytics count one.
    await expectStateOfGoodEventsOnly([...good, original], good.length + 1 + repeats.length + 1);
  });
});

describe('hostile records in a dead-letter replay', () => {
  it('the whole corpus replayed through both consumers fails no record, quarantines each bad one and ends equal to the good events alone', async () => {
    const good = goodRecords(5);
    const original = purchase('replayed-repeat', { price: 19.99 });
    await aws.putRecords([...around(good, BAD.map((c) => c.raw)), original, { ...original }, { ...original }]);
    const { failures } = await consumeStream({ replay: true });
    expect(failures.flat()).toEqual([]);
    const quarantined = await bronzeLines('bronze/_quarantine/');
    expect(quarantined).toHaveLength(BAD.length);
    for (const q of quarantined) expect(String(q.reason).length).toBeGreaterThan(0);
    await expectStateOfGoodEventsOnly([...good, original], good.length + 3);
  });
});

describe('hostile lines in Bronze, read by the nightly job', () => {
  it('the next retraining succeeds and deploys, setting the bad lines aside with their reasons, even with thousands of client repeats', async () => {
    const taste = [...generateTasteEvents({ events: 2000, users: 100, items: 80, seed: 3 })] as Record<string, unknown>[];
    const repeated = purchase('flooded', { userId: 'u1', itemId: 'i1', price: 5, timestamp: iso(now - 2 * HOUR) });
    await aws.putRecords([...taste, ...BAD.map((c) => c.raw), ...Array.from({ length: 3000 }, () => ({ ...repeated }))]);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) {
      const attempts = await deliverUntilDone(consumer, batch);
      expect(attempts.at(-1)).toEqual([]);
    }
    // Lines the consumer would never have written, as a bug, an older contract or a hand-made upload leaves them.
    const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
    const dt = iso(now).slice(0, 10);
    const ingest = (seq: number) => ({ _ingest: { shardId: 'shardId-000000000099', sequenceNumber: String(seq), arrivalTime: iso(now - 60_000) } });
    const poison = [
      { ...purchase('poison-huge', { userId: 'u2', price: 1e300 }), ...ingest(1) },
      { ...purchase('poison-total', { userId: 'u3', price: 2 ** 53, quantity: 10 }), ...ingest(2) },
      { ...purchase('poison-proto', { userId: 'u4', category: '__proto__' }), ...ingest(3) },
    ];
    const body = poison.map((p) => JSON.stringify(p)).join('\n') + '\n' + withRaw({ ...purchase('poison-deep', { userId: 'u5' }), ...ingest(4) }, 'extra', deep(3000)) + '\n';
    await lake.putObject(`bronze/events/dt=${dt}/shard=shardId-000000000099/00000000000000000000000000000000000000000000000001.jsonl`, body, 'application/x-ndjson');

    const run = await runRetrainingLocally({ date: dt }, { retryIntervalMs: 1, executionName: 'hostile-nightly' });
    expect(run.error).toBeNull();
    expect(run.path).toContain('DeployModel');
    expect(run.path).toContain('Succeeded');
    const report = JSON.stringify(run.output);
    // The client's repeats are reported, not held against the run.
    expect(report).toMatch(/3[,.]?0\d\d|repeat/i);
  }, 240_000);
});
