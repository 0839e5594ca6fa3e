import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { EXPERIMENTS_PREFIX } from '../../src/domain/lake-layout';
import { newRecommendationId, type Variant } from '../../src/domain/recommendation-id';
import { decideExperiment } from '../../src/experiments/decision';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { serializeModel } from '../../src/recommender/index';
import { startTestAws, type TestAws } from '../support/aws-env';
import { cli } from '../support/cli';
import { lambdaContext } from '../support/lambda';
import { deploy, lakeOf, trainSmallModel, versionFor } from '../serving/support';

/** `npm run cli -- experiment …` against s3rver: the same pointer and log the admin routes change. */
let aws: TestAws;
const V1 = versionFor(1);
const V2 = versionFor(2, 'challenger');

beforeAll(async () => {
  // The analytics table exists; ANALYTICS_TABLE is set only where the status should read it.
  aws = await startTestAws({ analyticsTable: `test-exp-cli-${process.pid}` });
  delete process.env.ANALYTICS_TABLE;
  await deploy(aws, trainSmallModel(1), V1);
  await new S3ModelRegistry(lakeOf(aws)).writeArtifact(V2, serializeModel(trainSmallModel(2)));
});
afterAll(async () => {
  delete process.env.LAKE_BUCKET;
  delete process.env.ANALYTICS_TABLE;
  await aws?.stop();
});

const pointer = async () => (await new S3ModelRegistry(lakeOf(aws)).readPointer())!.pointer;

describe('cli experiment, against s3rver', () => {
  it('status with nothing running; start with settings; refuses a second start and bad settings with exit code 1', async () => {
    const bucket = aws.names.lakeBucket;
    const idle = await cli('experiment', 'status', '--bucket', bucket);
    expect(idle).toMatchObject({ code: 0, stderr: '' });
    expect(idle.stdout).toContain(`production: ${V1}`);
    expect(idle.stdout).toContain('experiment: none running');

    const bad = await cli('experiment', 'start', '--challenger', V2, '--share', '75', '--bucket', bucket);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: invalid experiment settings: sharePercent/);
    expect((await cli('experiment', 'start', '--challenger', V2, '--alpha', 'lots', '--bucket', bucket)).code).not.toBe(0);
    const unknown = await cli('experiment', 'start', '--challenger', versionFor(7, 'absent'), '--bucket', bucket);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown model version') });
    expect((await pointer()).experiment ?? null).toBeNull();

    const started = await cli('experiment', 'start', '--challenger', V2, '--share', '20', '--metric', 'conversion', '--min-impressions', '500', '--alpha', '0.05', '--max-hours', '24', '--bucket', bucket);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(new RegExp(`started experiment x[a-z0-9]+: ${V2} serves 20 % of users, ${V1} the rest`));
    expect((await pointer()).experiment).toMatchObject({ challenger: { version: V2 }, sharePercent: 20, startedBy: 'operator', decision: { metric: 'conversion', minImpressions: 500, alpha: 0.05, maxDurationHours: 24 } });

    const again = await cli('experiment', 'start', '--challenger', V2, '--bucket', bucket);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('already running') });

    process.env.LAKE_BUCKET = bucket;
    const status = await cli('experiment', 'status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ pointer: { version: V1 }, experiment: { sharePercent: 20 }, settings: { metric: 'conversion' }, attribution: null, wouldDecide: null });
    expect(JSON.parse(status.stdout).attributionUnavailable).toMatch(/^ANALYTICS_TABLE is not set/);
    const text = await cli('experiment', 'status');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain('attribution: unavailable (ANALYTICS_TABLE is not set');
  });

  it('status with ANALYTICS_TABLE: exact attribution per variant since the start and what the check would decide, deciding nothing', async () => {
    const running = (await pointer()).experiment!;
    // conversion, at least 500 impressions a variant, alpha 0.05: 6/600 control against 30/600 challenger is significant.
    const shown: Record<Variant, { impressions: number; purchases: number }> = { control: { impressions: 600, purchases: 6 }, challenger: { impressions: 600, purchases: 30 } };
    const at = new Date().toISOString();
    const events = (['control', 'challenger'] as const).flatMap((variant) => {
      const recommendationId = newRecommendationId({ experimentId: running.id, variant, strategy: 'personalized', modelVersion: variant === 'control' ? V1 : V2 });
      const { impressions, purchases } = shown[variant];
      return [
        ...Array.from({ length: impressions }, (_, i) => ({ eventId: `${variant}-imp-${i}`, type: 'impression', userId: `${variant}-u${i % 50}`, itemId: `i${i % 40}`, recommendationId, timestamp: at })),
        ...Array.from({ length: purchases }, (_, i) => ({ eventId: `${variant}-buy-${i}`, type: 'purchase', userId: `${variant}-u${i}`, itemId: `i${i}`, price: '10.00', quantity: 1, recommendationId, timestamp: at })),
      ];
    });
    process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
    resetAnalyticsConsumer();
    await aws.putRecords(events);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) await analyticsHandler(batch, lambdaContext('analytics'));

    const json = await cli('experiment', 'status', '--json');
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const status = JSON.parse(json.stdout);
    expect(status).toMatchObject({
      experiment: { id: running.id },
      attributionUnavailable: null,
      attribution: {
        experimentId: running.id,
        from: running.startedAt,
        variants: { control: { impressions: 600, purchases: 6, revenue: 60, conversion: { value: 0.01 } }, challenger: { impressions: 600, purchases: 30, revenue: 300, conversion: { value: 0.05 } } },
      },
      wouldDecide: { action: 'promote', enoughData: true, significant: true, metric: 'conversion', alpha: 0.05 },
    });
    const totals = { control: { impressions: 600, clicks: 0, addToCarts: 0, purchases: 6, revenue: 60, revenueSquares: 600 }, challenger: { impressions: 600, clicks: 0, addToCarts: 0, purchases: 30, revenue: 300, revenueSquares: 3000 } };
    const expected = decideExperiment(totals, running, Date.parse(status.wouldDecide.decidedAt));
    expect(status.wouldDecide.z).toBeCloseTo(expected.z!, 12);
    expect(status.wouldDecide.pValue).toBeCloseTo(expected.pValue!, 12);
    expect(status.wouldDecide.reason).toBe(expected.reason);

    const text = await cli('experiment', 'status');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toContain(`attribution from ${running.startedAt} to `);
    expect(text.stdout).toMatch(/control: +600 impressions, 0 clicks, ctr 0\.00 %.*, 6 purchases, conversion 1\.00 % \(95 % [\d.]+-[\d.]+ %\), revenue 60\.00/);
    expect(text.stdout).toMatch(/challenger: 600 impressions, 0 clicks, .*30 purchases, conversion 5\.00 %/);
    expect(text.stdout).toContain(`would decide now: promote (z ${expected.z!.toFixed(3)}, p ${expected.pValue!.toPrecision(3)}, alpha 0.05, enough data: yes): challenger is significantly better`);
    // A status decides nothing: the experiment still runs, nothing was logged.
    expect((await pointer()).experiment).toMatchObject({ id: running.id });
    expect((await lakeOf(aws).listKeys(`${EXPERIMENTS_PREFIX}${running.id}/`)).map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json']);

    // A table that cannot be read: the status still answers, attribution unavailable with the reason.
    const broken = await cli('experiment', 'status', '--analytics-table', 'no-such-analytics-table');
    expect(broken).toMatchObject({ code: 0, stderr: '' });
    expect(broken.stdout).toContain(`experiment ${running.id}`);
    expect(broken.stdout).toMatch(/attribution: unavailable \(the analytics read failed: .+\)/);
    delete process.env.ANALYTICS_TABLE;
  });

  it('stop, then start and promote; every action leaves one log object', async () => {
    const { experiment } = await pointer();
    expect((await cli('experiment', 'stop', '--experiment', 'xnotthisone')).code).toBe(1);
    const stopped = await cli('experiment', 'stop', '--reason', 'testing');
    expect(stopped).toMatchObject({ code: 0, stdout: expect.stringContaining(`stopped experiment ${experiment!.id}`) });
    expect((await pointer()).experiment).toBeNull();
    expect((await cli('experiment', 'stop')).code).toBe(1);

    expect((await cli('experiment', 'start', '--challenger', V2)).code).toBe(0);
    const second = (await pointer()).experiment!;
    const promoted = await cli('experiment', 'promote');
    expect(promoted).toMatchObject({ code: 0, stderr: '' });
    expect(promoted.stdout).toContain(`production is now ${V2}, previous ${V1}`);
    expect(await pointer()).toMatchObject({ version: V2, previous: { version: V1 }, experiment: null });

    const lake = lakeOf(aws);
    expect((await lake.listKeys(`${EXPERIMENTS_PREFIX}${experiment!.id}/`)).map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json', 'stopped.json']);
    expect((await lake.listKeys(`${EXPERIMENTS_PREFIX}${second.id}/`)).map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json', 'promoted.json']);
  });
});
