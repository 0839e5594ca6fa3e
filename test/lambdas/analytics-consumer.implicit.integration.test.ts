import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AnalyticsReader } from '../../src/analytics/analytics-reader';
import { attributionRoute } from '../../src/analytics/analytics-routes';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { newRecommendationId, type RecommendationContext, type Variant } from '../../src/domain/recommendation-id';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

/**
 * Implicit attribution end to end (ATTRIBUTION_WINDOW_MINUTES=30): events on Kinesis (partition key = user) → the
 * real analytics consumer → window rows and per-user impression state in DynamoDB → the attribution route.
 */
let aws: TestAws;
let reader: AnalyticsReader;
let handler: (typeof import('../../lambdas/analytics-consumer/index'))['handler'];
const now = Date.now();
const minute = Math.floor(now / 60_000) * 60_000;
const contexts: Record<Variant, RecommendationContext> = {
  control: { experimentId: 'ximp1', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' },
  challenger: { experimentId: 'ximp1', variant: 'challenger', strategy: 'personalized', modelVersion: 'v20261102T000000Z' },
};
const truth: Record<Variant, { explicitImpressions: number; explicitClicks: number; implicitClicks: number; implicitPurchases: number; implicitRevenue: number }> = {
  control: { explicitImpressions: 0, explicitClicks: 0, implicitClicks: 0, implicitPurchases: 0, implicitRevenue: 0 },
  challenger: { explicitImpressions: 0, explicitClicks: 0, implicitClicks: 0, implicitPurchases: 0, implicitRevenue: 0 },
};
const events: Record<string, unknown>[] = [];
let seq = 0;
const USERS = 20;
for (let u = 0; u < USERS; u++) {
  const variant: Variant = u % 2 === 0 ? 'control' : 'challenger';
  const userId = `iu${u}`;
  const at = (offsetMin: number) => new Date(minute - 50 * 60_000 + offsetMin * 60_000 + u * 1000).toISOString();
  // A click whose impression comes after it in the stream: not credited.
  events.push({ eventId: `pre-${seq++}`, type: 'click', userId, itemId: 'i3', timestamp: at(1) });
  const recommendationId = newRecommendationId(contexts[variant]);
  for (let pos = 0; pos < 4; pos++) {
    events.push({ eventId: `imp-${seq++}`, type: 'impression', userId, itemId: `i${pos}`, position: pos, recommendationId, timestamp: at(0) });
    truth[variant].explicitImpressions++;
  }
  // Credited: id-less, same item, within 30 minutes.
  events.push({ eventId: `clk-${seq++}`, type: 'click', userId, itemId: 'i0', timestamp: at(2) });
  truth[variant].implicitClicks++;
  if (u % 4 === 0) {
    events.push({ eventId: `buy-${seq++}`, type: 'purchase', userId, itemId: 'i1', price: '4.50', quantity: 2, timestamp: at(10) });
    truth[variant].implicitPurchases++;
    truth[variant].implicitRevenue = Math.round(truth[variant].implicitRevenue * 100 + 900) / 100;
  }
  // Explicit: its own id; counted as explicit only.
  events.push({ eventId: `own-${seq++}`, type: 'click', userId, itemId: 'i1', recommendationId, timestamp: at(3) });
  truth[variant].explicitClicks++;
  // Not credited: 45 minutes after the impression, and an item never shown.
  events.push({ eventId: `late-${seq++}`, type: 'click', userId, itemId: 'i2', timestamp: at(45) });
  events.push({ eventId: `never-${seq++}`, type: 'click', userId, itemId: 'i9', timestamp: at(4) });
}

async function drain(limit = 250): Promise<void> {
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, limit)) {
    const res = await handler(batch, lambdaContext('analytics'));
    expect(res?.batchItemFailures).toEqual([]);
  }
}

async function scanRows(): Promise<Record<string, unknown>[]> {
  const out = await aws.ddb.send(new ScanCommand({ TableName: aws.names.analyticsTable }));
  return ((out.Items ?? []) as Record<string, unknown>[]).sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
}

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-implicit-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  vi.stubEnv('ATTRIBUTION_WINDOW_MINUTES', '30');
  const consumer = await import('../../lambdas/analytics-consumer/index');
  handler = consumer.handler;
  consumer.resetAnalyticsConsumer();
  reader = dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!);
  // Every event once, then the first 40 again under the same eventIds (a client retry): counted and credited once.
  await aws.putRecords([...events, ...events.slice(0, 40)]);
  await drain(37);
}, 60_000);
afterAll(async () => {
  vi.unstubAllEnvs();
  await aws?.stop();
});

describe('implicit attribution through the analytics consumer', () => {
  it('credits id-less events to the impression before them, per variant, apart from the explicit totals', async () => {
    const res = await attributionRoute({ window: '3h', experiment: 'ximp1' }, reader, now);
    expect(res.status).toBe(200);
    const body = res.body as {
      variants: Record<Variant, { impressions: number; clicks: number; purchases: number }>;
      implicit: { variants: Record<Variant, { clicks: number; addToCarts: number; purchases: number; revenue: number }> };
    };
    for (const v of ['control', 'challenger'] as const) {
      expect(body.variants[v]).toMatchObject({ impressions: truth[v].explicitImpressions, clicks: truth[v].explicitClicks, purchases: 0 });
      expect(body.implicit.variants[v]).toEqual({ clicks: truth[v].implicitClicks, addToCarts: 0, purchases: truth[v].implicitPurchases, revenue: truth[v].implicitRevenue });
    }
    // The experiment check sees the explicit totals only.
    const totals = await reader.experimentTotals('ximp1', minute - 3 * 3_600_000, minute + 60_000);
    expect(totals.control).toMatchObject({ impressions: truth.control.explicitImpressions, clicks: truth.control.explicitClicks, purchases: 0 });
  });

  it('keeps one impression state row per user (and shard)', async () => {
    const states = (await scanRows()).filter((r) => String(r.pk).startsWith('IMP#'));
    expect(states).toHaveLength(USERS);
    expect(states.every((r) => r.entity === 'impressions' && Array.isArray(r.impressions) && (r.impressions as unknown[]).length === 4)).toBe(true);
  });

  it('changes nothing when the stream is replayed from the start (other batch sizes too)', async () => {
    const before = await scanRows();
    await drain(100);
    await drain(7);
    expect(await scanRows()).toEqual(before);
  });
});
