import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deploy, rawRequest, trainSmallModel, versionFor } from '../serving/support';

/**
 * Ids, query names, query values and header names that are names of Object.prototype members must behave
 * like any other: a lookup keyed by user data in a plain object (`obj[id]`, `id in obj`) finds a function
 * and answers it, or crashes. Every read route must answer such an id as it answers an unknown id.
 */
const NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupSetter__'];

let aws: TestAws;
let api: RunningApiServer;
const model = trainSmallModel(1);
const v1 = versionFor(1);

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-proto-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  await deploy(aws, model, v1);
  api = await startApiServer({ port: 0, env: { MODEL_REFRESH_SECONDS: '3600', FRESH_EVENTS_CACHE_MS: '0' } });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

/** Raw requests: header names and paths exactly as given. */
const get = (path: string, headers: [string, string][] = []) => rawRequest(api.url, { path, headers });

/** Never a 5xx, never an Object member's source or a stringified function in the answer. */
function expectClean(res: { status: number; text: string }, where: string) {
  expect(res.status, `${where}: ${res.text.slice(0, 200)}`).toBeLessThan(500);
  expect(res.text, where).not.toMatch(/\[native code\]|function\s*\w*\s*\(|\[object Object\]/);
}

describe.each(NAMES)('the id %s', (name) => {
  const id = encodeURIComponent(name);

  it('GET /recommend/{id} answers like an unknown user (popular fallback)', async () => {
    const [res, unknown] = await Promise.all([get(`/recommend/${id}?k=5`), get('/recommend/never-seen-xyz?k=5')]);
    expectClean(res, 'recommend');
    expect(res.status).toBe(200);
    // Each answer has its own recommendation id; everything else is the unknown user's answer.
    expect(res.json).toEqual({ ...unknown.json, userId: name, recommendationId: expect.stringMatching(/^r1\.-\.c\.p(op)?\./) });
    expect(res.json.recommendationId).not.toBe(unknown.json.recommendationId);
    expect(res.json.strategy).toBe('popular');
    const asText = await get(`/recommend/${id}?k=5`, [['Accept', 'text/plain']]);
    expect(asText.text).toBe(unknown.json.items.map((i: { itemId: string }) => i.itemId).join(','));
  });

  it('GET /items/{id}/similar answers 404 ITEM_NOT_FOUND like an unknown item', async () => {
    const res = await get(`/items/${id}/similar`);
    expectClean(res, 'similar');
    expect(res.status).toBe(404);
    expect(res.json.error).toMatchObject({ code: 'ITEM_NOT_FOUND', field: 'itemId' });
  });

  it('GET /users/{id}/features answers 404 USER_NOT_FOUND like an unknown user', async () => {
    const res = await get(`/users/${id}/features`);
    expectClean(res, 'features');
    expect(res.status).toBe(404);
    expect(res.json.error).toMatchObject({ code: 'USER_NOT_FOUND', field: 'userId' });
  });

  it('as a query name or value, and as a header name, changes nothing on every read route', async () => {
    const paths = [
      `/recommend/u1?${id}=1`,
      `/recommend/u1?k=3&${id}=x&${id}=y`,
      `/items/popular?${id}=1`,
      `/items/popular?k=${id}`,
      `/items/${encodeURIComponent(model.popular(1)[0]!.itemId)}/similar?${id}=1`,
      `/health?${id}=1`,
      `/analytics/realtime?${id}=1`,
      `/analytics/realtime?window=${id}`,
      `/analytics/trends?${id}=1`,
      `/analytics/trends?granularity=${id}`,
      `/analytics/items/popular?category=${id}`,
      `/analytics/items/popular?${id}=1&k=3`,
      `/nope?${id}=1`,
    ];
    for (const path of paths) {
      const res = await get(path, [[name, 'x'], ['Accept', 'application/json']]);
      expectClean(res, path);
      // Only the parameter values that are not valid for the route are refused, with a 400 naming them.
      if ([`k=${id}`, `window=${id}`, `granularity=${id}`].some((p) => path.includes(p))) expect(res.status, path).toBe(400);
      else if (path.startsWith('/nope')) expect(res.status).toBe(404);
      else expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBe(200);
    }
    const popular = await get(`/analytics/items/popular?category=${id}`);
    expect(popular.json).toMatchObject({ category: name, items: [] });
  });
});

describe('users named like Object members, once they have events', () => {
  it('get their own features and personalised recommendations, as any other user', async () => {
    const { handler: consumer } = await import('../../lambdas/consumer/index');
    const { readStreamAsLambdaEvents } = await import('../../src/local/kinesis-reader');
    const { lambdaContext } = await import('../support/lambda');
    const liked = model.popular(3).map((i) => i.itemId);
    const users = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    const events = users.flatMap((userId, u) =>
      liked.map((itemId, i) => ({ eventId: `proto-${u}-${i}`, type: 'rating', userId, itemId, rating: 5, timestamp: new Date(Date.now() - 60_000 + i).toISOString() })),
    );
    await aws.putRecords(events);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 100)) {
      expect((await consumer(batch, lambdaContext('consumer')))?.batchItemFailures ?? []).toEqual([]);
    }
    for (const userId of users) {
      const features = await get(`/users/${encodeURIComponent(userId)}/features`);
      expectClean(features, `features of ${userId}`);
      expect(features.status, features.text.slice(0, 300)).toBe(200);
      expect(features.json).toMatchObject({ userId, realtime: { userId, ratingCount: liked.length } });
      const recs = await get(`/recommend/${encodeURIComponent(userId)}?k=5`);
      expectClean(recs, `recommend for ${userId}`);
      expect(recs.json).toMatchObject({ userId, strategy: 'personalized', modelVersion: v1 });
      expect(recs.json.items.map((i: { itemId: string }) => i.itemId)).not.toContain(liked[0]);
    }
  });
});

describe('categories named like Object members, in the analytics routes', () => {
  it('are counted and answered as any other category, with numeric scores', async () => {
    const { handler: analytics, resetAnalyticsConsumer } = await import('../../lambdas/analytics-consumer/index');
    const { readStreamAsLambdaEvents } = await import('../../src/local/kinesis-reader');
    const { lambdaContext } = await import('../support/lambda');
    resetAnalyticsConsumer();
    const categories = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'books'];
    const at = new Date(Date.now() - 60_000).toISOString();
    await aws.putRecords(categories.map((category, i) => ({ eventId: `cat-${i}`, type: 'purchase', userId: `buyer${i}`, itemId: `cat-item-${i}`, price: 10, quantity: 1, category, timestamp: at })));
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) {
      expect((await analytics(batch, lambdaContext('analytics')))?.batchItemFailures ?? []).toEqual([]);
    }
    const realtime = await get('/analytics/realtime?window=15m');
    expectClean(realtime, 'realtime');
    expect(realtime.status).toBe(200);
    const top = new Map((realtime.json.topCategories as { category: string; score: unknown }[]).map((c) => [c.category, c.score]));
    // Same events, same score as the ordinary category `books`.
    expect(top.get('books')).toEqual(expect.any(Number));
    for (const category of categories) expect(top.get(category), category).toBe(top.get('books'));
    for (const [i, category] of categories.entries()) {
      const popular = await get(`/analytics/items/popular?window=1h&category=${encodeURIComponent(category)}`);
      expectClean(popular, `popular in ${category}`);
      expect(popular.json.items, category).toEqual([{ itemId: `cat-item-${i}`, score: expect.any(Number), category }]);
    }
  });
});
