import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { newRecommendationId } from '../../src/domain/recommendation-id';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

/** GET /analytics/attribution over HTTP (the local API server on the emulators), fed through the analytics consumer. */
let aws: TestAws;
let api: RunningApiServer;
const now = Date.now();
const control = newRecommendationId({ experimentId: 'xexp7', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' });
const challenger = newRecommendationId({ experimentId: 'xexp7', variant: 'challenger', strategy: 'rank', modelVersion: 'v20261102T000000Z' });
const at = (i: number) => new Date(now - 10 * 60_000 + i * 10).toISOString();
const events = [
  ...Array.from({ length: 40 }, (_, i) => ({ eventId: `ic-${i}`, type: 'impression', userId: `u${i % 4}`, itemId: `i${i}`, position: i % 10, recommendationId: control, timestamp: at(i) })),
  ...Array.from({ length: 20 }, (_, i) => ({ eventId: `ix-${i}`, type: 'impression', userId: `v${i % 4}`, itemId: `i${i}`, recommendationId: challenger, timestamp: at(100 + i) })),
  ...Array.from({ length: 4 }, (_, i) => ({ eventId: `cc-${i}`, type: 'click', userId: `u${i}`, itemId: `i${i}`, recommendationId: control, timestamp: at(200 + i) })),
  { eventId: 'px-1', type: 'purchase', userId: 'v1', itemId: 'i1', price: '19.99', quantity: 2, recommendationId: challenger, timestamp: at(300) },
];

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-attr-api-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  resetAnalyticsConsumer();
  await aws.putRecords(events);
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) await analyticsHandler(batch, lambdaContext('analytics'));
  api = await startApiServer({ port: 0 });
}, 60_000);
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

const get = async (path: string) => {
  const res = await fetch(`${api.url}${path}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('GET /analytics/attribution', () => {
  it('answers per variant and per key for an experiment', async () => {
    const { status, body } = await get('/analytics/attribution?window=1h&experiment=xexp7');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      window: '1h',
      experimentId: 'xexp7',
      variants: {
        control: { impressions: 40, clicks: 4, purchases: 0, ctr: { value: 0.1 } },
        challenger: { impressions: 20, clicks: 0, purchases: 1, revenue: 39.98, conversion: { value: 0.05 }, revenuePerImpression: { value: expect.closeTo(1.999, 9) } },
      },
      implicit: null,
    });
    const keys = body.keys as { variant: string; strategy: string; modelVersion: string }[];
    expect(keys.map((k) => `${k.variant} ${k.strategy} ${k.modelVersion}`)).toEqual(['control personalized v20261101T000000Z', 'challenger rank v20261102T000000Z']);
  });

  it('answers an unknown experiment with zeros, not an error', async () => {
    const { status, body } = await get('/analytics/attribution?experiment=xnobody');
    expect(status).toBe(200);
    expect(body).toMatchObject({ window: '24h', variants: { control: { impressions: 0 }, challenger: { impressions: 0 } }, keys: [] });
  });

  it('refuses a bad window or experiment id with a 400 naming it', async () => {
    expect(await get('/analytics/attribution?window=forever')).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PARAMETER', field: 'window' } } });
    expect(await get('/analytics/attribution?window=32d')).toMatchObject({ status: 400, body: { error: { field: 'window' } } });
    expect(await get(`/analytics/attribution?experiment=${'x'.repeat(200)}`)).toMatchObject({ status: 400, body: { error: { field: 'experiment' } } });
    expect(await get('/analytics/attribution?experiment=__proto__')).toMatchObject({ status: 400, body: { error: { field: 'experiment' } } });
  });
});
