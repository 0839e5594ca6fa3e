import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request as httpRequest } from 'node:http';
import { handler as consumer } from '../../lambdas/consumer/index';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';
import { callApi } from '../support/http';
import { deploy, deployCorrupt, trainSmallModel, versionFor } from './support';
import { parseRecommendationId } from '../../src/domain/recommendation-id';

/**
 * Every route through the local server (HTTP → API Gateway proxy event → the Lambda handlers) against
 * s3rver, dynalite and kinesalite: what a client of the deployed API sees.
 */
let aws: TestAws;
let api: RunningApiServer;
const model = trainSmallModel(1);
const v1 = versionFor(1);
const knownUser = model.users()[0]!;
const knownItem = model.popular(1)[0]!.itemId;

beforeAll(async () => {
  aws = await startTestAws();
  await deploy(aws, model, v1);
  // A long refresh interval: only the first request and POST /admin/reload read the pointer here. No
  // fresh-events micro-cache: the freshness test asks again right after the consumer ran (its TTL has its own test).
  api = await startApiServer({ port: 0, env: { MODEL_REFRESH_SECONDS: '3600', CORS_ALLOW_ORIGIN: '*', FRESH_EVENTS_CACHE_MS: '0' } });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

const call = (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => callApi(api.url, method, path, init);
/** A GET with the path sent byte for byte (fetch would resolve `..` and `%2E%2E` before sending). */
function rawGet(path: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${api.url}/`, { path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}
const get = (path: string, headers?: Record<string, string>) => call('GET', path, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
/** The local stand-in for a SigV4 signature on the IAM routes (see src/local/api-server.ts). */
const asAdmin = () => ({ 'X-Local-Admin-Token': api.adminToken });

const rating = (userId: string, itemId: string, value: number, n: number) => ({
  eventId: `evt-${userId}-${itemId}-${n}`,
  type: 'rating',
  userId,
  itemId,
  rating: value,
  timestamp: new Date(Date.now() - 60_000 + n).toISOString(),
});

/** Plays the Kinesis event source mapping: everything on the stream goes through the consumer Lambda. */
async function consumeStream(): Promise<void> {
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 100)) {
    const res = await consumer(batch, lambdaContext('consumer'));
    expect(res?.batchItemFailures ?? []).toEqual([]);
  }
}

/** The attribution fields of an answer with no experiment running. */
const noExperiment = (strategy: string, modelVersion: string | null) => ({
  recommendationId: expect.stringMatching(/^r1\.-\.c\./),
  modelVersion,
  strategy,
  variant: 'control',
  experimentId: null,
});

function expectError(res: { status: number; json: any }, status: number, code: string, field?: string) {
  expect(res.status).toBe(status);
  expect(res.json).toMatchObject({ error: { code, message: expect.any(String), ...(field ? { field } : {}) } });
}

describe('GET /recommend/{userId}', () => {
  it('answers a known user with personalised, titled items from the production model', async () => {
    const res = await get(`/recommend/${knownUser}?k=5`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.json).toMatchObject({ userId: knownUser, modelVersion: v1, strategy: 'personalized' });
    expect(res.json.items).toHaveLength(5);
    const seen = new Set(model.historyOf(knownUser));
    // Each item says which of the user's history items it is there because of.
    for (const item of res.json.items) {
      expect(item).toEqual({ itemId: expect.any(String), score: expect.any(Number), title: expect.any(String), because: expect.any(Array) });
      expect(item.because.length).toBeGreaterThan(0);
      for (const reason of item.because) expect(seen.has(reason)).toBe(true);
    }
    expect(res.json.items.some((i: { itemId: string }) => seen.has(i.itemId))).toBe(false);
  });

  it('defaults to k=10 and answers an unknown (cold) user with popular items', async () => {
    const res = await get('/recommend/never-seen-before');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ userId: 'never-seen-before', modelVersion: v1, strategy: 'popular' });
    expect(res.json.items.map((i: { itemId: string }) => i.itemId)).toEqual(model.popular(10).map((i) => i.itemId));
  });

  it('with Accept: text/plain, answers the comma-separated item ids', async () => {
    const [asJson, asText] = await Promise.all([get(`/recommend/${knownUser}?k=4`), get(`/recommend/${knownUser}?k=4`, { Accept: 'text/plain' })]);
    expect(asText.status).toBe(200);
    expect(asText.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(asText.text).toBe(asJson.json.items.map((i: { itemId: string }) => i.itemId).join(','));
  });

  it('rejects a bad k or id with a 400 naming the parameter', async () => {
    expectError(await get(`/recommend/${knownUser}?k=abc`), 400, 'INVALID_PARAMETER', 'k');
    expectError(await get(`/recommend/${knownUser}?k=101`), 400, 'INVALID_PARAMETER', 'k');
    expectError(await get(`/recommend/${knownUser}?k=0`), 400, 'INVALID_PARAMETER', 'k');
    expectError(await get(`/recommend/${knownUser}?k=2.5`), 400, 'INVALID_PARAMETER', 'k');
    expectError(await get('/recommend/..%2F..%2Fadmin'), 400, 'INVALID_ID', 'userId');
    expectError(await rawGet('/recommend/%2E%2E'), 400, 'INVALID_ID', 'userId');
    expectError(await rawGet('/recommend/..'), 400, 'INVALID_ID', 'userId');
    expectError(await rawGet('/items/../similar'), 400, 'INVALID_ID', 'itemId');
    expectError(await get('/recommend/a%00b'), 400, 'INVALID_ID', 'userId');
    expectError(await get(`/recommend/${'x'.repeat(200)}`), 400, 'INVALID_ID', 'userId');
  });
});

describe('POST /rank/{userId}', () => {
  it("orders a given list for the user with the model's scores, unknown items kept last and marked", async () => {
    const top = model.recommend(knownUser, 12, { excludeSeen: false }).items.map((i) => i.itemId);
    const res = await post(`/rank/${knownUser}`, { itemIds: ['no-such-item', ...[...top].reverse()] });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toMatchObject({ userId: knownUser, modelVersion: v1, strategy: 'rank', ranking: 'personalized', variant: 'control', experimentId: null });
    expect(parseRecommendationId(res.json.recommendationId)).toEqual({ experimentId: null, variant: 'control', strategy: 'rank', modelVersion: v1 });
    expect(res.json.items.map((i: { itemId: string }) => i.itemId)).toEqual([...top, 'no-such-item']);
    expect(res.json.items.at(-1)).toEqual({ itemId: 'no-such-item', score: null, unknown: true });
    const scores = res.json.items.slice(0, -1).map((i: { score: number }) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
  });

  it('ranks by popularity for a user with no history', async () => {
    const popular = model.popular(5).map((i) => i.itemId);
    const res = await post('/rank/brand-new-user', { itemIds: [...popular].reverse() });
    expect(res.json).toMatchObject({ strategy: 'rank', ranking: 'popular' });
    expect(res.json.items.map((i: { itemId: string }) => i.itemId)).toEqual(popular);
  });

  it('refuses an empty, repeated, oversized, malformed or non-JSON list with a 4xx naming the field', async () => {
    expectError(await post(`/rank/${knownUser}`, { itemIds: [] }), 400, 'INVALID_PARAMETER', 'itemIds');
    expectError(await post(`/rank/${knownUser}`, { itemIds: ['a', 'b', 'a'] }), 400, 'DUPLICATE_ITEM', 'itemIds[2]');
    expectError(await post(`/rank/${knownUser}`, { itemIds: Array.from({ length: 501 }, (_, i) => `i${i}`) }), 413, 'TOO_MANY_ITEMS', 'itemIds');
    expectError(await post(`/rank/${knownUser}`, { itemIds: ['ok', 7] }), 400, 'INVALID_ID', 'itemIds[1]');
    expectError(await post(`/rank/${knownUser}`, { itemIds: ['a b'] }), 400, 'INVALID_ID', 'itemIds[0]');
    expectError(await post(`/rank/${knownUser}`, { items: ['a'] }), 400, 'INVALID_BODY', 'itemIds');
    expectError(await post(`/rank/${knownUser}`, ['a']), 400, 'INVALID_BODY', 'itemIds');
    expectError(await post(`/rank/${knownUser}`, '{"itemIds": ['), 400, 'MALFORMED_JSON');
    expectError(await post(`/rank/${knownUser}`, { itemIds: ['a'] }, { 'Content-Type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post(`/rank/${knownUser}`, JSON.stringify({ itemIds: ['a'], pad: 'x'.repeat(140_000) })), 413, 'PAYLOAD_TOO_LARGE');
    expectError(await post('/rank/a%00b', { itemIds: ['a'] }), 400, 'INVALID_ID', 'userId');
    expect((await get(`/rank/${knownUser}`)).status).toBe(405);
  });
});

describe('item routes', () => {
  it('GET /items/{itemId}/similar answers related items, 404 for an unknown item', async () => {
    const res = await get(`/items/${knownItem}/similar?k=3`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ itemId: knownItem, modelVersion: v1 });
    expect(res.json.items.length).toBeGreaterThan(0);
    expect(res.json.items.length).toBeLessThanOrEqual(3);
    expect(res.json.items.map((i: { itemId: string }) => i.itemId)).not.toContain(knownItem);
    expectError(await get('/items/no-such-item/similar'), 404, 'ITEM_NOT_FOUND', 'itemId');
    expectError(await get(`/items/${knownItem}/similar?k=1000`), 400, 'INVALID_PARAMETER', 'k');
  });

  it('GET /items/popular answers the most popular items', async () => {
    const res = await get('/items/popular?k=3');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      ...noExperiment('popular', v1),
      items: model.popular(3).map((i) => ({ itemId: i.itemId, score: expect.any(Number), title: expect.any(String) })),
    });
    expectError(await get('/items/popular?k=-3'), 400, 'INVALID_PARAMETER', 'k');
  });
});

describe('errors every route shares', () => {
  it('unknown paths are 404, wrong methods 405 with Allow, all as { error: { code, message } }', async () => {
    expectError(await get('/nope'), 404, 'NOT_FOUND');
    expectError(await get('/recommend'), 404, 'NOT_FOUND');
    const wrong = await call('DELETE', `/recommend/${knownUser}`);
    expectError(wrong, 405, 'METHOD_NOT_ALLOWED');
    expect(wrong.headers.get('allow')).toBe('GET');
    expectError(await get('/events'), 405, 'METHOD_NOT_ALLOWED');
    expectError(await get('/admin/reload'), 405, 'METHOD_NOT_ALLOWED');
  });

  it('refuses the IAM-only reload route when it arrives through the public catch-all', async () => {
    const { handler } = await import('../../lambdas/api/index');
    const viaProxy = await handler(
      { httpMethod: 'POST', path: '/admin/reload/', resource: '/{proxy+}', pathParameters: { proxy: 'admin/reload/' }, headers: {}, queryStringParameters: null, body: null, isBase64Encoded: false, requestContext: { requestId: 'r' } } as never,
      lambdaContext('read'),
    );
    expect(viaProxy.statusCode).toBe(403);
    expect(JSON.parse(viaProxy.body)).toMatchObject({ error: { code: 'FORBIDDEN' } });
  });

  it('lets a local runner serve its own routes next to the API (npm start status page)', async () => {
    const extra = await startApiServer({
      port: 0,
      localRoutes: async (req, res, url) => {
        if (url.pathname !== '/local/ping') return false;
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('pong');
        return true;
      },
    });
    try {
      expect(await (await fetch(`${extra.url}/local/ping`)).text()).toBe('pong');
      expect((await fetch(`${extra.url}/health`)).status).toBe(200);
    } finally {
      await extra.stop();
    }
  });

  it('answers CORS preflights', async () => {
    const res = await call('OPTIONS', `/recommend/${knownUser}`, { headers: { Origin: 'https://shop.example', 'Access-Control-Request-Method': 'GET' } });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('GET');
  });
});

describe('POST /events → Kinesis → consumer → GET /recommend (freshness)', () => {
  it('accepts valid events, answers per-event results, and a 400 naming the field for an invalid one', async () => {
    const ok = await post('/events', [rating('poster', knownItem, 4, 1), { ...rating('poster', knownItem, 3, 2), type: 'view', rating: undefined }]);
    expect(ok.status).toBe(202);
    expect(ok.json).toMatchObject({ accepted: 2, rejected: 0, failed: 0 });
    expect(ok.json.results[0]).toMatchObject({ index: 0, status: 202, eventId: 'evt-poster-' + knownItem + '-1', shardId: expect.stringMatching(/^shardId-/), sequenceNumber: expect.any(String) });

    const bad = await post('/events', { ...rating('poster', knownItem, 4, 3), rating: 7 });
    expectError(bad, 400, 'INVALID_EVENT', 'rating');
    expect(bad.json.error.message).toContain('rating must be between 0.5 and 5');

    const mixed = await post('/events', [rating('poster', knownItem, 4, 4), { ...rating('poster', knownItem, 4, 5), timestamp: 'yesterday' }]);
    expect(mixed.status).toBe(207);
    expect(mixed.json.results.map((r: { status: number }) => r.status)).toEqual([202, 400]);
    expect(mixed.json.results[1].error.field).toBe('events[1].timestamp');
  });

  it('refuses malformed JSON, empty bodies and oversized batches without losing anything', async () => {
    expectError(await post('/events', '{"eventId": "x", '), 400, 'MALFORMED_JSON');
    expectError(await post('/events', '[]'), 400, 'NO_EVENTS');
    const tooMany = Array.from({ length: 501 }, (_, i) => rating('bulk', knownItem, 4, 1000 + i));
    expectError(await post('/events', tooMany), 413, 'TOO_MANY_EVENTS');
    expectError(await call('POST', '/events', { body: JSON.stringify(rating('x', knownItem, 4, 1)), headers: { 'Content-Type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const full = Array.from({ length: 500 }, (_, i) => rating(`bulk${i % 7}`, knownItem, 4, 2000 + i));
    const res = await post('/events', full);
    expect(res.status).toBe(202);
    expect(res.json.accepted).toBe(500);
  });

  it('a rating posted a moment ago changes the next recommendation, for a cold user and for a known one', async () => {
    const coldBefore = await get('/recommend/newcomer?k=5');
    expect(coldBefore.json.strategy).toBe('popular');
    const knownBefore = await get(`/recommend/${knownUser}?k=5`);
    const topPick = knownBefore.json.items[0].itemId as string;
    const likedItem = model.similar(knownItem, 1)[0]?.itemId ?? knownItem;

    const res = await post('/events', [rating('newcomer', likedItem, 5, 1), rating(knownUser, topPick, 5, 1)]);
    expect(res.status).toBe(202);
    // Nothing changes before the consumer has run: the API reads what the consumer wrote.
    expect((await get('/recommend/newcomer?k=5')).json.strategy).toBe('popular');

    await consumeStream();

    const coldAfter = await get('/recommend/newcomer?k=5');
    expect(coldAfter.json).toMatchObject({ strategy: 'personalized', modelVersion: v1 });
    expect(coldAfter.json.items.map((i: { itemId: string }) => i.itemId)).not.toContain(likedItem);
    expect(coldAfter.json.items).not.toEqual(coldBefore.json.items);

    const knownAfter = await get(`/recommend/${knownUser}?k=5`);
    expect(knownAfter.json.strategy).toBe('personalized');
    expect(knownAfter.json.items.map((i: { itemId: string }) => i.itemId)).not.toContain(topPick);
  });

  it('GET /users/{userId}/features shows the real-time features, the nightly row when present, 404 for nobody', async () => {
    await post('/events', [rating('featured', knownItem, 4.5, 1)]);
    await consumeStream();
    const rt = await get('/users/featured/features');
    expect(rt.status).toBe(200);
    expect(rt.json).toMatchObject({ userId: 'featured', realtime: { userId: 'featured', ratingCount: 1, recent: [{ itemId: knownItem, type: 'rating', rating: 4.5 }] }, exact: null });

    const asOf = '2026-01-01T02:00:00.000Z';
    await aws.ddb.send(
      new BatchWriteCommand({
        RequestItems: { [aws.names.featuresTable]: [{ PutRequest: { Item: { pk: 'U#featured', sk: 'EXACT', entity: 'user', asOf, features: { ratingCount: 7, meanRating: 4.1 } } } }] },
      }),
    );
    const both = await get('/users/featured/features');
    expect(both.json.exact).toEqual({ features: { ratingCount: 7, meanRating: 4.1 }, asOf });
    expect(both.json.realtime.ratingCount).toBe(1);

    expectError(await get('/users/nobody-at-all/features'), 404, 'USER_NOT_FOUND', 'userId');
    expectError(await get('/users/a%20b/features'), 400, 'INVALID_ID', 'userId');
  });
});

describe('model lifecycle through the API', () => {
  it('GET /health reports the served version, when it was loaded and the staleness bound', async () => {
    const res = await get('/health');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'ok', modelVersion: v1, refreshSeconds: 3600, stalenessBoundSeconds: 3600, loadedAt: expect.any(String), deployedAt: expect.any(String), lastCheckedAt: expect.any(String) });
  });

  it('POST /admin/reload serves a new production version at once; a corrupt one falls back and health says why', async () => {
    const v2 = versionFor(2);
    await deploy(aws, trainSmallModel(2), v2);
    // The refresh bound (an hour here) has not passed: still v1 until someone asks for a reload.
    expect((await get(`/recommend/${knownUser}`)).json.modelVersion).toBe(v1);
    expectError(await post('/admin/reload', ''), 403, 'FORBIDDEN');
    expect((await get(`/recommend/${knownUser}`)).json.modelVersion).toBe(v1);
    const reload = await post('/admin/reload', '', asAdmin());
    expect(reload.status).toBe(200);
    expect(reload.json).toMatchObject({ reloaded: true, previousVersion: v1, health: { status: 'ok', modelVersion: v2 } });
    expect((await get(`/recommend/${knownUser}`)).json.modelVersion).toBe(v2);

    await deployCorrupt(aws, trainSmallModel(3), versionFor(3));
    const bad = await post('/admin/reload', '', asAdmin());
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ reloaded: false, health: { status: 'degraded', modelVersion: v2 } });
    expect(bad.json.health.error).toMatch(/checksum/);
    const stillServing = await get(`/recommend/${knownUser}?k=3`);
    expect(stillServing.status).toBe(200);
    expect(stillServing.json).toMatchObject({ modelVersion: v2, strategy: 'personalized' });
    expect((await get('/health')).json).toMatchObject({ status: 'degraded', modelVersion: v2, error: expect.stringContaining('still serving') });
  });

  it('a cold start with no usable model answers 200 with no items and modelVersion null, never a 5xx', async () => {
    const { resetReadApi } = await import('../../lambdas/api/index');
    const bucket = process.env.LAKE_BUCKET;
    process.env.LAKE_BUCKET = 'bucket-without-models';
    await aws.s3.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: 'bucket-without-models' }));
    resetReadApi();
    try {
      const responses = await Promise.all(Array.from({ length: 20 }, () => get(`/recommend/${knownUser}`)));
      for (const r of responses) {
        expect(r.json).toEqual({ userId: knownUser, ...noExperiment('popular', null), items: [], fewerThanK: { requested: 10, returned: 0, reason: expect.stringContaining('no model') } });
      }
      expect((await get('/items/popular')).json).toEqual({ ...noExperiment('popular', null), items: [] });
      expect((await get(`/items/${knownItem}/similar`)).json).toEqual({ itemId: knownItem, ...noExperiment('similar', null), items: [] });
      const health = await get('/health');
      expect(health.status).toBe(200);
      expect(health.json).toMatchObject({ status: 'degraded', modelVersion: null, error: expect.stringContaining('does not exist') });
    } finally {
      process.env.LAKE_BUCKET = bucket;
      resetReadApi();
    }
  });
});
