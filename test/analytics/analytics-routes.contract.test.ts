import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { handler as consumer, resetConsumer } from '../../lambdas/consumer/index';
import { generateEvents } from '../../src/domain/event-generator';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

let aws: TestAws;
let api: RunningApiServer;
const now = Date.now();
const events = [...generateEvents({ users: 80, items: 60, events: 600, seed: 5, startMs: now - 30 * 60_000, endMs: now - 5_000 })];

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-an-api-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  resetAnalyticsConsumer();
  await aws.putRecords(events);
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) await analyticsHandler(batch, lambdaContext('analytics'));
  api = await startApiServer({ port: 0 });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

const get = async (path: string) => {
  const res = await fetch(`${api.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('GET /analytics/*', () => {
  it('answers the last hour of shop metrics with a per-minute series', async () => {
    const { status, body } = await get('/analytics/realtime?window=1h');
    expect(status).toBe(200);
    expect(body.events).toBe(events.length);
    expect(body.purchases).toBe(events.filter((e) => e.type === 'purchase').length);
    expect((body.perMinute as unknown[]).length).toBe(60);
    expect(body.conversionRate).toBeGreaterThan(0);
  });

  it('answers trends per hour and popular items by category', async () => {
    const trends = await get(`/analytics/trends?from=${new Date(now - 2 * 3_600_000).toISOString()}&granularity=hour`);
    expect(trends.status).toBe(200);
    expect((trends.body.points as { events: number }[]).reduce((s, p) => s + p.events, 0)).toBe(events.length);
    const popular = await get('/analytics/items/popular?window=1h&k=3');
    const items = popular.body.items as { itemId: string; category: string }[];
    expect(items).toHaveLength(3);
    const inCategory = await get(`/analytics/items/popular?window=1h&category=${items[0]!.category}`);
    expect((inCategory.body.items as { category: string }[]).every((i) => i.category === items[0]!.category)).toBe(true);
  });

  it('refuses bad parameters with a 400 naming them', async () => {
    expect(await get('/analytics/realtime?window=forever')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PARAMETER', field: 'window' } } });
    expect(await get('/analytics/trends?granularity=century')).toMatchObject({ status: 400, body: { error: { field: 'granularity' } } });
    expect(await get('/analytics/items/popular?k=0')).toMatchObject({ status: 400, body: { error: { field: 'k' } } });
  });
});

describe('before the first model is deployed', () => {
  it("answers /recommend and /items/popular with the shop's live popular items, not an empty list", async () => {
    const live = ((await get('/analytics/items/popular?window=1d&k=5')).body.items as { itemId: string }[]).map((i) => i.itemId);
    expect(live).toHaveLength(5);
    const popular = await get('/items/popular?k=5');
    expect(popular).toMatchObject({ status: 200, body: { modelVersion: null } });
    expect((popular.body.items as { itemId: string }[]).map((i) => i.itemId)).toEqual(live);
    const rec = await get('/recommend/someone-new?k=5');
    expect(rec).toMatchObject({ status: 200, body: { userId: 'someone-new', modelVersion: null, strategy: 'popular' } });
    expect((rec.body.items as { itemId: string }[]).map((i) => i.itemId)).toEqual(live);
  });

  it("leaves out what the user already touched (their fresh events)", async () => {
    // The ingestion consumer keeps each user's fresh events in the feature table.
    resetConsumer();
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) await consumer(batch, lambdaContext('consumer'));
    const user = events[0]!.userId;
    const live = ((await get('/analytics/items/popular?window=1d&k=60')).body.items as { itemId: string }[]).map((i) => i.itemId);
    const touched = new Set(events.filter((e) => e.userId === user).map((e) => e.itemId));
    const rec = await get(`/recommend/${user}?k=5`);
    const items = (rec.body.items as { itemId: string }[]).map((i) => i.itemId);
    expect(items).toEqual(live.filter((id) => !touched.has(id)).slice(0, 5));
  });
});

