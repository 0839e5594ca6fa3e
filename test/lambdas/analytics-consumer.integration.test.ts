import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { handler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import type { AnalyticsReader } from '../../src/analytics/analytics-reader';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { HyperLogLog } from '../../src/analytics/hyperloglog';
import { generateEvents } from '../../src/domain/event-generator';
import { isInteraction, parseEvent, type UserEvent } from '../../src/domain/events';
import { POPULARITY_WEIGHTS } from '../../src/domain/features';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

let aws: TestAws;
let reader: AnalyticsReader;
const now = Date.now();
const input = [...generateEvents({ users: 400, items: 300, events: 3000, seed: 21, startMs: now - 50 * 60_000, endMs: now - 60_000 })];
const events: UserEvent[] = input.map((e) => {
  const r = parseEvent(e);
  if (!r.ok) throw new Error(r.message);
  return r.event;
});

async function scanRows(): Promise<Record<string, unknown>[]> {
  const out = await aws.ddb.send(new ScanCommand({ TableName: aws.names.analyticsTable }));
  return ((out.Items ?? []) as Record<string, unknown>[]).sort((a, b) => `${a.pk}${a.sk}`.localeCompare(`${b.pk}${b.sk}`));
}

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-analytics-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  resetAnalyticsConsumer();
  reader = dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!);
  await aws.putRecords([...input.slice(0, 1500), '{broken', ...input.slice(1500)]);
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 250)) {
    const res = await handler(batch, lambdaContext('analytics'));
    expect(res?.batchItemFailures).toEqual([]);
  }
});
afterAll(async () => {
  await aws?.stop();
});

describe('real-time analytics from the event stream', () => {
  it('totals the last hour exactly, and distinct users within the HyperLogLog error', async () => {
    const { summary, perMinute } = await reader.realtime(60 * 60_000, now);
    const count = (t: string) => events.filter((e) => e.type === t).length;
    expect(summary.views).toBe(count('view'));
    expect(summary.clicks).toBe(count('click'));
    expect(summary.addToCarts).toBe(count('add_to_cart'));
    expect(summary.purchases).toBe(count('purchase'));
    expect(summary.events).toBe(events.length);
    const revenue = events.reduce((s, e) => s + (e.type === 'purchase' ? e.price * e.quantity : 0), 0);
    expect(summary.revenue).toBeCloseTo(revenue, 2);
    expect(perMinute.reduce((s, p) => s + p.events, 0)).toBe(events.length);

    const users = new Set(events.map((e) => e.userId)).size;
    const buyers = new Set(events.filter((e) => e.type === 'purchase').map((e) => e.userId)).size;
    const se = new HyperLogLog().standardError;
    expect(Math.abs(summary.activeUsers - users) / users).toBeLessThan(3 * se);
    expect(summary.conversionRate).toBeCloseTo(buyers / users, 1);
  });

  it('answers a short window with only its minutes', async () => {
    const { summary } = await reader.realtime(5 * 60_000, now);
    const from = Math.floor(now / 60_000) * 60_000 + 60_000 - 5 * 60_000;
    expect(summary.events).toBe(events.filter((e) => Date.parse(e.timestamp) >= from).length);
  });

  it('ranks popular items and categories by intent-weighted interactions', async () => {
    const score = new Map<string, number>();
    for (const e of events.filter(isInteraction)) score.set(e.itemId, (score.get(e.itemId) ?? 0) + POPULARITY_WEIGHTS[e.type]);
    const trueTop = [...score.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
    const top = await reader.popularItems(60 * 60_000, { k: 5, nowMs: now });
    expect(top.map((t) => t.itemId)).toEqual(trueTop.map(([k]) => k));
    const category = top[0]!.category!;
    const inCategory = await reader.popularItems(60 * 60_000, { k: 5, nowMs: now, category });
    expect(inCategory.length).toBeGreaterThan(0);
    expect(inCategory.every((i) => i.category === category)).toBe(true);
  });

  it('rolls minutes up to hours and days with the same totals', async () => {
    const hours = await reader.trends('hour', now - 2 * 3_600_000, now + 3_600_000);
    const days = await reader.trends('day', now - 2 * 86_400_000, now + 1);
    expect(hours.reduce((s, h) => s + h.purchases, 0)).toBe(events.filter((e) => e.type === 'purchase').length);
    expect(days.reduce((s, d) => s + d.events, 0)).toBe(events.length);
    // Windows from the hour holding `from` up to the one holding `to`: four, as now is not on the hour.
    expect(hours.map((h) => h.start)).toEqual([-2, -1, 0, 1].map((d) => new Date((Math.floor(now / 3_600_000) + d) * 3_600_000).toISOString()));
  });

  it('never double counts a replayed batch, and counts a late event in its own window', async () => {
    const before = await scanRows();
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 100)) await handler(batch, lambdaContext('analytics'));
    expect(await scanRows()).toEqual(before);

    const lateAt = now - 3 * 3_600_000;
    await aws.putRecords([{ eventId: 'late-1', type: 'purchase', userId: 'u1', itemId: 'i1', price: 10, quantity: 1, timestamp: new Date(lateAt).toISOString() }]);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 5000)) await handler(batch, lambdaContext('analytics'));
    const [hour] = await reader.trends('hour', lateAt, lateAt + 1);
    expect(hour).toMatchObject({ purchases: 1, revenue: 10, activeUsers: 1 });
  });

  it('writes no row a window past its retention would have (a replayed history from years ago costs nothing)', async () => {
    const before = await scanRows();
    const monthAgo = now - 30 * 86_400_000;
    const yearsAgo = Date.parse('1997-12-01T12:00:00Z');
    await aws.putRecords([
      { eventId: 'old-1', type: 'view', userId: 'u7', itemId: 'i7', timestamp: new Date(monthAgo).toISOString() },
      { eventId: 'ancient-1', type: 'rating', userId: 'u7', itemId: 'i7', rating: 4, timestamp: new Date(yearsAgo).toISOString() },
    ]);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 5000)) await handler(batch, lambdaContext('analytics'));
    const added = (await scanRows()).filter((r) => r.entity === 'window' && !before.some((b) => b.pk === r.pk && b.sk === r.sk));
    // A month-old event still has its hour (90 days) and day (3 years) windows, not its minute (7 days).
    expect(added.map((r) => r.granularity).sort()).toEqual(['day', 'hour']);
    expect(added.every((r) => Number(r.expiresAt) > now / 1000)).toBe(true);
    const [day] = await reader.trends('day', monthAgo, monthAgo + 1);
    expect(day).toMatchObject({ views: 1 });
    const [ancient] = await reader.trends('day', yearsAgo, yearsAgo + 1);
    expect(ancient).toMatchObject({ events: 0, ratings: 0 });
  });
});
