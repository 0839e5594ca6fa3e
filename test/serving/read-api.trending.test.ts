import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { POPULARITY_WEIGHTS } from '../../src/domain/features';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

let aws: TestAws;
let api: RunningApiServer;
const now = Date.now();
const minute = 60_000;
// The 1h window ends with the current minute; the window before it is the hour before.
const currentWindow = now - 20 * minute;
const previousWindow = now - 90 * minute;

let seq = 0;
const views = (itemId: string, count: number, at: number) =>
  Array.from({ length: count }, (_, i) => ({ eventId: `tr-${seq++}`, userId: `u${i % 7}`, itemId, type: 'view', timestamp: new Date(at + i * 1000).toISOString() }));

// Known truth (weighted interactions = views × the view weight):
//   rising: 1 → 20 views; steady: 10 → 10; newcomer: 0 → 5; falling: 12 → 2.
const events = [
  ...views('rising', 1, previousWindow), ...views('rising', 20, currentWindow),
  ...views('steady', 10, previousWindow), ...views('steady', 10, currentWindow),
  ...views('newcomer', 5, currentWindow),
  ...views('falling', 12, previousWindow), ...views('falling', 2, currentWindow),
];

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-trend-${process.pid}`, catalogTable: `test-trend-cat-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  resetAnalyticsConsumer();
  await aws.putRecords(events);
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) await analyticsHandler(batch, lambdaContext('analytics'));
  const rules = { filters: { 'in-category': 'category = $category' } };
  api = await startApiServer({ port: 0, env: { CATALOG_TABLE: aws.names.catalogTable!, CATALOG_REFRESH_MS: '100', RULES_JSON: JSON.stringify(rules) } });
  const items = [
    { itemId: 'rising', categories: ['toys'] },
    { itemId: 'newcomer', categories: ['books'] },
    { itemId: 'steady', categories: ['toys'] },
    { itemId: 'falling', categories: ['books'] },
  ];
  const put = await fetch(`${api.url}/items`, { method: 'PUT', body: JSON.stringify({ items }), headers: { 'Content-Type': 'application/json', 'X-Local-Admin-Token': api.adminToken } });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
  delete process.env.ANALYTICS_TABLE;
});

const get = async (path: string) => {
  const res = await fetch(`${api.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('GET /items/trending', () => {
  it('ranks items by growth against the previous window, not by count: steady and falling items do not trend', async () => {
    const res = await get('/items/trending?window=1h&k=10');
    expect(res.status).toBe(200);
    const w = POPULARITY_WEIGHTS.view;
    const items = res.body.items as { itemId: string; score: number; now: number; before: number }[];
    expect(items.map((i) => i.itemId)).toEqual(['rising', 'newcomer']);
    expect(items[0]).toMatchObject({ now: 20 * w, before: 1 * w });
    expect(items[0]!.score).toBeCloseTo((19 * w) / Math.sqrt(w + 1), 4);
    expect(items[1]).toMatchObject({ now: 5 * w, before: 0 });
    expect(res.body.window).toBe('1h');
  });

  it('honours k and a window that puts both bursts in the same window', async () => {
    expect(((await get('/items/trending?window=1h&k=1')).body.items as unknown[]).length).toBe(1);
    // Over 3h the previous window (hours 3-6 ago) is empty: every item with views grows, the busiest first.
    const wide = (await get('/items/trending?window=3h')).body.items as { itemId: string }[];
    expect(wide.map((i) => i.itemId)).toEqual(['rising', 'steady', 'falling', 'newcomer']);
  });

  it('honours a filter, and leaves out items the catalogue withdrew or marked unavailable', async () => {
    expect((await get('/items/trending?window=1h&filter=in-category&category=books')).body).toMatchObject({ filter: 'in-category', items: [{ itemId: 'newcomer' }] });
    expect(((await get('/items/trending?window=1h&filter=in-category&category=toys')).body.items as { itemId: string }[]).map((i) => i.itemId)).toEqual(['rising']);
    expect(await get('/items/trending?filter=in-category')).toMatchObject({ status: 400, body: { error: { code: 'MISSING_PARAMETER', field: 'category' } } });
    const del = await fetch(`${api.url}/items/rising`, { method: 'DELETE', headers: { 'X-Local-Admin-Token': api.adminToken } });
    expect(del.status).toBe(200);
    await new Promise((r) => setTimeout(r, 150));
    expect(((await get('/items/trending?window=1h')).body.items as { itemId: string }[]).map((i) => i.itemId)).toEqual(['newcomer']);
  });

  it('is the answer for users without history when COLD_START_STRATEGY=trending, topped up with popular items', async () => {
    const trendingFirst = await startApiServer({ port: 0, env: { COLD_START_STRATEGY: 'trending' } });
    try {
      const res = await fetch(`${trendingFirst.url}/recommend/nobody-yet?k=3`);
      const body = (await res.json()) as { strategy: string; items: { itemId: string }[] };
      expect(body.strategy).toBe('trending');
      expect(body.items.map((i) => i.itemId)).toEqual(['newcomer', 'steady', 'falling']);
    } finally {
      await trendingFirst.stop();
    }
  });

  it('refuses windows outside 5m..15d and bad k with a 400 naming the parameter', async () => {
    for (const bad of ['1m', '4m', '16d', '7w', '', 'constructor', '1h;drop']) {
      expect(await get(`/items/trending?window=${encodeURIComponent(bad)}`)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PARAMETER', field: 'window' } } });
    }
    expect(await get('/items/trending?k=0')).toMatchObject({ status: 400, body: { error: { field: 'k' } } });
  });
});
