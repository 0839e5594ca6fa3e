import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { AnalyticsReader } from '../../src/analytics/analytics-reader';
import { MAX_ATTRIBUTION_KEYS, OTHER_ATTRIBUTION_KEY, readAttribution } from '../../src/analytics/attribution';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { newRecommendationId, type RecommendationContext, type Variant } from '../../src/domain/recommendation-id';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

/**
 * Attribution end to end through the analytics consumer on the emulators: events with recommendation ids on
 * Kinesis → window rows in DynamoDB → the reader's per-variant totals, against totals counted here.
 */
let aws: TestAws;
let reader: AnalyticsReader;
/** Imported once metrics are switched on for this file (vitest.config disables them; the consumer reads it at load). */
let handler: (typeof import('../../lambdas/analytics-consumer/index'))['handler'];
const now = Date.now();
const minute = Math.floor(now / 60_000) * 60_000;
const contexts: Record<Variant, RecommendationContext> = {
  control: { experimentId: 'xexp1', variant: 'control', strategy: 'personalized', modelVersion: 'v20261101T000000Z' },
  challenger: { experimentId: 'xexp1', variant: 'challenger', strategy: 'personalized', modelVersion: 'v20261102T000000Z' },
};
const truth: Record<Variant, { impressions: number; clicks: number; addToCarts: number; purchases: number; revenue: number }> = {
  control: { impressions: 0, clicks: 0, addToCarts: 0, purchases: 0, revenue: 0 },
  challenger: { impressions: 0, clicks: 0, addToCarts: 0, purchases: 0, revenue: 0 },
};
const events: Record<string, unknown>[] = [];
let seq = 0;
for (let u = 0; u < 40; u++) {
  const variant: Variant = u % 2 === 0 ? 'control' : 'challenger';
  const userId = `u${u}`;
  const ts = (offsetMin: number) => new Date(minute - offsetMin * 60_000 + (u % 50) * 1000).toISOString();
  for (let answer = 0; answer < 3; answer++) {
    const recommendationId = newRecommendationId(contexts[variant]);
    for (let pos = 0; pos < 5; pos++) {
      events.push({ eventId: `imp-${seq++}`, type: 'impression', userId, itemId: `i${pos}`, position: pos, recommendationId, timestamp: ts(20 - answer) });
      truth[variant].impressions++;
    }
    if ((u + answer) % 3 === 0) {
      events.push({ eventId: `clk-${seq++}`, type: 'click', userId, itemId: 'i0', recommendationId, timestamp: ts(19 - answer) });
      truth[variant].clicks++;
    }
    if ((u + answer) % 5 === 0) {
      events.push({ eventId: `atc-${seq++}`, type: 'add_to_cart', userId, itemId: 'i0', recommendationId, price: '9.99', timestamp: ts(18 - answer) });
      events.push({ eventId: `buy-${seq++}`, type: 'purchase', userId, itemId: 'i0', recommendationId, price: '9.99', quantity: 3, timestamp: ts(18 - answer) });
      truth[variant].addToCarts++;
      truth[variant].purchases++;
      truth[variant].revenue = Math.round(truth[variant].revenue * 100 + 2997) / 100;
    }
  }
  // Not attributed: no id, a hostile id, a foreign id.
  events.push({ eventId: `view-${seq++}`, type: 'view', userId, itemId: 'i1', timestamp: ts(10) });
  events.push({ eventId: `hostile-${seq++}`, type: 'click', userId, itemId: 'i1', recommendationId: '__proto__', timestamp: ts(10) });
  events.push({ eventId: `foreign-${seq++}`, type: 'impression', userId, itemId: 'i1', recommendationId: 'r1.-.x.p.-.abcdefghij', timestamp: ts(10) });
}
// Refused by the event contract (an id of 10k characters): ignored by the consumer, never attributed.
events.push({ eventId: 'long-1', type: 'click', userId: 'u0', itemId: 'i1', recommendationId: 'r'.repeat(10_000), timestamp: new Date(minute - 5 * 60_000).toISOString() });

const windowQuery = { fromMs: minute - 60 * 60_000, toMs: minute + 60_000 };
const captured: string[] = [];

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

/** The EMF lines with a Variant dimension written since `from` (Powertools writes them to stdout). */
function variantMetricLines(from = 0): { Variant: string; [name: string]: unknown }[] {
  return captured
    .slice(from)
    .flatMap((chunk) => chunk.split('\n'))
    .filter((l) => l.includes('"_aws"') && l.includes('"Variant"'))
    .map((l) => JSON.parse(l) as { Variant: string });
}

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-attr-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  const consumer = await import('../../lambdas/analytics-consumer/index');
  handler = consumer.handler;
  consumer.resetAnalyticsConsumer();
  reader = dynamoAnalyticsReader(aws.ddb, aws.names.analyticsTable!);
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    captured.push(String(chunk));
    return (write as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
  });
  // Every event once, then a few again under the same eventId (a client retry): counted once.
  await aws.putRecords([...events, ...events.slice(0, 30)]);
  await drain();
}, 60_000);
afterAll(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await aws?.stop();
});

describe('attribution through the analytics consumer', () => {
  it('totals each variant of the experiment exactly (duplicate eventIds once; hostile, foreign and id-less events nowhere)', async () => {
    const totals = await reader.experimentTotals('xexp1', windowQuery.fromMs, windowQuery.toMs);
    for (const v of ['control', 'challenger'] as const) expect(totals[v]).toMatchObject(truth[v]);
    expect(totals.control.revenueSquares).toBeCloseTo(truth.control.purchases * 29.97 * 29.97, 6);
    const all = await reader.attribution(windowQuery, { nowMs: now });
    expect([...all.keys.keys()].every((k) => k.startsWith('xexp1|'))).toBe(true);
    expect(all.other.impressions).toBe(0);
  });

  it('computes no implicit attribution unless ATTRIBUTION_WINDOW_MINUTES is set: no impression state, no implicit totals', async () => {
    const rows = await scanRows();
    expect(rows.filter((r) => String(r.pk).startsWith('IMP#') || r.entity === 'impressions')).toEqual([]);
    expect(rows.filter((r) => r.implicit !== undefined)).toEqual([]);
    expect((await reader.attribution(windowQuery, { nowMs: now })).implicit.size).toBe(0);
  });

  it('answers an unknown experiment with zeros', async () => {
    const totals = await reader.experimentTotals('xnobody', windowQuery.fromMs, windowQuery.toMs);
    expect(totals.control.impressions + totals.challenger.impressions).toBe(0);
  });

  it('publishes Impressions, Clicks, Purchases and Revenue per variant, with { service, Variant } only', () => {
    const lines = variantMetricLines();
    const sum = (variant: string, name: string) => lines.filter((l) => l.Variant === variant).reduce((s, l) => s + (typeof l[name] === 'number' ? (l[name] as number) : 0), 0);
    for (const v of ['control', 'challenger'] as const) {
      expect(sum(v, 'Impressions')).toBe(truth[v].impressions);
      expect(sum(v, 'Clicks')).toBe(truth[v].clicks);
      expect(sum(v, 'Purchases')).toBe(truth[v].purchases);
      expect(sum(v, 'Revenue')).toBeCloseTo(truth[v].revenue, 6);
    }
    const dimensionSets = new Set(lines.map((l) => JSON.stringify((l._aws as { CloudWatchMetrics: { Dimensions: string[][] }[] }).CloudWatchMetrics[0]!.Dimensions)));
    expect([...dimensionSets]).toEqual([JSON.stringify([['service', 'Variant']])]);
  });

  it('never double counts a replayed stream (rows unchanged, no per-variant metric published again)', async () => {
    const before = await scanRows();
    const mark = captured.length;
    await drain(100);
    expect(await scanRows()).toEqual(before);
    expect(variantMetricLines(mark)).toEqual([]);
    const totals = await reader.experimentTotals('xexp1', windowQuery.fromMs, windowQuery.toMs);
    expect(totals.control).toMatchObject(truth.control);
  });

  it('credits a late event to its own window (by event time), not to the current one', async () => {
    const lateAt = now - 3 * 3_600_000;
    const recommendationId = newRecommendationId(contexts.challenger);
    await aws.putRecords([{ eventId: 'late-imp', type: 'impression', userId: 'u1', itemId: 'i9', recommendationId, timestamp: new Date(lateAt).toISOString() }]);
    await drain(5000);
    const late = await reader.experimentTotals('xexp1', lateAt - 60_000, lateAt + 60_000);
    expect(late.challenger.impressions).toBe(1);
    const recent = await reader.experimentTotals('xexp1', windowQuery.fromMs, windowQuery.toMs);
    expect(recent.challenger.impressions).toBe(truth.challenger.impressions);
  });

  it('keeps a window row to 64 keys, the rest under (other), and the stored row reads back', async () => {
    const at = minute - 40 * 60_000;
    const many = Array.from({ length: 70 }, (_, i) => ({
      eventId: `many-${i}`,
      type: 'impression',
      userId: 'u-many',
      itemId: 'i1',
      recommendationId: newRecommendationId({ ...contexts.control, experimentId: `xmany${i}` }),
      timestamp: new Date(at + i * 100).toISOString(),
    }));
    await aws.putRecords(many);
    await drain(5000);
    const rows = (await scanRows()).filter((r) => r.entity === 'window' && r.granularity === 'minute' && r.start === new Date(Math.floor(at / 60_000) * 60_000).toISOString());
    const withMany = rows.map((r) => readAttribution(r.attribution)).find((m) => [...m.keys()].some((k) => k.startsWith('xmany')))!;
    expect(withMany.size).toBe(MAX_ATTRIBUTION_KEYS + 1);
    const report = await reader.attribution({ fromMs: at, toMs: at + 60_000 }, { nowMs: now });
    expect([...report.keys.values()].reduce((s, t) => s + t.impressions, 0) + report.other.impressions).toBe(70);
    expect(withMany.has(OTHER_ATTRIBUTION_KEY)).toBe(true);
  });
});
