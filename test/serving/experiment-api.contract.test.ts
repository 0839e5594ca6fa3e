import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resetAdminApi } from '../../lambdas/admin-api/index';
import { handler as analyticsHandler, resetAnalyticsConsumer } from '../../lambdas/analytics-consumer/index';
import { attributionMetrics, emptyAttributionTotals, emptyExperimentTotals, type AttributionSource } from '../../src/analytics/attribution';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { assignVariant } from '../../src/domain/experiment';
import { EXPERIMENTS_PREFIX, modelKeys } from '../../src/domain/lake-layout';
import { parseRecommendationId } from '../../src/domain/recommendation-id';
import { decideExperiment } from '../../src/experiments/decision';
import { lakeExperimentLog } from '../../src/experiments/operator';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { serializeModel } from '../../src/recommender/index';
import { startTestAws, type TestAws } from '../support/aws-env';
import { callApi } from '../support/http';
import { lambdaContext } from '../support/lambda';
import { deploy, lakeOf, trainSmallModel, versionFor } from './support';

/**
 * Experiment control over HTTP through the local API Gateway adapter (the admin function) against s3rver, and
 * what the read function answers while an experiment runs, after a stop and after a promotion.
 */
let aws: TestAws;
let api: RunningApiServer;
const control = trainSmallModel(1);
const challenger = trainSmallModel(3);
const V1 = versionFor(1);
const V2 = versionFor(2, 'challenger');
const BROKEN = versionFor(3, 'broken');
const users = Array.from({ length: 120 }, (_, i) => `visitor-${i}`);

beforeAll(async () => {
  // With the analytics table: GET /admin/experiment reports the running experiment's attribution from it.
  aws = await startTestAws({ analyticsTable: `test-exp-api-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  resetAnalyticsConsumer();
  await deploy(aws, control, V1);
  const registry = new S3ModelRegistry(lakeOf(aws));
  await registry.writeArtifact(V2, serializeModel(challenger));
  const { manifest, payload } = serializeModel(challenger);
  const damaged = Uint8Array.from(payload);
  for (let i = 64; i < damaged.length; i += 97) damaged[i] ^= 0xff;
  await registry.writeArtifact(BROKEN, { manifest, payload: damaged });
  api = await startApiServer({ port: 0, env: { MODEL_REFRESH_SECONDS: '3600', CORS_ALLOW_ORIGIN: '*', FRESH_EVENTS_CACHE_MS: '0' } });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
  delete process.env.ANALYTICS_TABLE;
});

const admin = () => ({ 'X-Local-Admin-Token': api.adminToken });
const get = (path: string, headers: Record<string, string> = {}) => callApi(api.url, 'GET', path, { headers });
const post = (path: string, body: unknown, headers: Record<string, string> = admin()) =>
  callApi(api.url, 'POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
const reload = async () => expect((await post('/admin/reload', {})).status).toBe(200);
const recommendAll = () => Promise.all(users.map(async (u) => ({ user: u, ...(await get(`/recommend/${u}?k=3`)).json })));

describe('experiment control routes', () => {
  it('refuse a caller without the IAM identity', async () => {
    expect((await get('/admin/experiment')).status).toBe(403);
    expect((await post('/admin/experiment/start', { challengerVersion: V2 }, {})).status).toBe(403);
    expect((await get('/admin/experiment', { 'X-Local-Admin-Token': 'wrong' })).status).toBe(403);
  });

  it('GET /admin/experiment: the pointer, no experiment, the defaults, no attribution', async () => {
    const res = await get('/admin/experiment', admin());
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toMatchObject({ pointer: { version: V1 }, experiment: null, settings: null, defaults: { sharePercent: 10, metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72 } });
    expect(res.json).toMatchObject({ attribution: null, attributionUnavailable: 'no experiment is running', wouldDecide: null });
  });

  it('400 for a bad body, 404 for an unknown action, 409 for what the state refuses', async () => {
    const expectError = (res: { status: number; json: any }, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(res.json).toMatchObject({ error: { code, message: expect.any(String) } });
    };
    expectError(await post('/admin/experiment/launch', {}), 404, 'UNKNOWN_ACTION');
    expectError(await post('/admin/experiment/start', {}), 400, 'INVALID_BODY');
    expectError(await post('/admin/experiment/start', { challengerVersion: V2, sharePercent: 80 }), 400, 'INVALID_BODY');
    expectError(await post('/admin/experiment/start', { challengerVersion: V2, bogus: 1 }), 400, 'INVALID_BODY');
    expectError(await post('/admin/experiment/start', { challengerVersion: 'latest' }), 400, 'INVALID_BODY');
    expectError(await post('/admin/experiment/start', '{"challengerVersion":'), 400, 'MALFORMED_JSON');
    expectError(await post('/admin/experiment/start', { challengerVersion: V2 }, { ...admin(), 'Content-Type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectError(await post('/admin/experiment/start', { challengerVersion: versionFor(9, 'nothing') }), 409, 'EXPERIMENT_STATE');
    expectError(await post('/admin/experiment/start', { challengerVersion: V1 }), 409, 'EXPERIMENT_STATE');
    expectError(await post('/admin/experiment/stop', {}), 409, 'EXPERIMENT_STATE');
    expectError(await post('/admin/experiment/promote', {}), 400, 'INVALID_BODY');
    expectError(await post('/admin/experiment/promote', { experimentId: 'xnone' }), 409, 'EXPERIMENT_STATE');
    expect((await get('/admin/experiment', admin())).json.experiment).toBeNull();
  });
});

describe('an experiment through the API', () => {
  it('start → after reload each user gets one stable variant at the share, every answer says which', async () => {
    const started = await post('/admin/experiment/start', { challengerVersion: V2, sharePercent: 50, minImpressions: 200 });
    expect(started.status).toBe(200);
    const exp = started.json.experiment;
    expect(exp).toMatchObject({ challenger: { version: V2 }, sharePercent: 50, startedBy: 'operator', decision: { minImpressions: 200, metric: 'ctr' } });
    expect(started.json.logKey.startsWith(`${EXPERIMENTS_PREFIX}${exp.id}/`)).toBe(true);
    expect(await lakeOf(aws).getText(started.json.logKey)).toContain(V2);
    expect((await post('/admin/experiment/start', { challengerVersion: V2 })).status).toBe(409);
    expect((await get('/admin/experiment', admin())).json).toMatchObject({ experiment: { id: exp.id }, settings: { sharePercent: 50, minImpressions: 200 } });

    await reload();
    expect((await get('/health')).json).toMatchObject({ modelVersion: V1, experiment: { id: exp.id, sharePercent: 50, challengerVersion: V2, challengerLoaded: true } });
    const first = await recommendAll();
    const again = await recommendAll();
    for (const [i, a] of first.entries()) {
      const expected = assignVariant(exp, a.user);
      expect(a).toMatchObject({ variant: expected, experimentId: exp.id, modelVersion: expected === 'challenger' ? V2 : V1 });
      expect(parseRecommendationId(a.recommendationId)).toMatchObject({ variant: expected, experimentId: exp.id });
      expect(again[i]!.variant).toBe(a.variant);
      expect(again[i]!.recommendationId).not.toBe(a.recommendationId);
    }
    const share = first.filter((a) => a.variant === 'challenger').length / users.length;
    expect(share).toBeGreaterThan(0.3);
    expect(share).toBeLessThan(0.7);
    const text = await get(`/recommend/${first.find((a) => a.variant === 'challenger')!.user}`, { Accept: 'text/plain' });
    expect(parseRecommendationId(text.headers.get('x-recommendation-id'))).toMatchObject({ variant: 'challenger', modelVersion: V2 });
  });

  it('GET /admin/experiment: the attribution since the start, exact per variant, and what the check would decide now', async () => {
    const { experiment } = (await get('/admin/experiment', admin())).json;
    // Shoppers see every item of their answer (one impression each, with the answer's id); some click the first.
    const answers = await recommendAll();
    const events: Record<string, unknown>[] = [];
    const truth = emptyExperimentTotals();
    const at = new Date().toISOString();
    for (const [i, a] of answers.entries()) {
      const t = truth[a.variant as 'control' | 'challenger'];
      for (const [position, item] of (a.items as { itemId: string }[]).entries()) {
        events.push({ eventId: `imp-${i}-${position}`, type: 'impression', userId: a.user, itemId: item.itemId, position, recommendationId: a.recommendationId, timestamp: at });
        t.impressions += 1;
      }
      if (i % (a.variant === 'challenger' ? 2 : 5) === 0) {
        events.push({ eventId: `clk-${i}`, type: 'click', userId: a.user, itemId: a.items[0].itemId, recommendationId: a.recommendationId, timestamp: at });
        t.clicks += 1;
      }
    }
    expect(truth.control.impressions).toBeGreaterThan(0);
    expect(truth.challenger.impressions).toBeGreaterThan(0);
    await aws.putRecords(events);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500)) await analyticsHandler(batch, lambdaContext('analytics'));

    const res = await get('/admin/experiment', admin());
    expect(res.status).toBe(200);
    const body = res.json;
    expect(body).toMatchObject({ experiment: { id: experiment.id }, attributionUnavailable: null, attribution: { experimentId: experiment.id, from: experiment.startedAt } });
    expect(Date.parse(body.attribution.to)).toBeGreaterThan(Date.parse(at) - 1);
    expect(body.attribution.variants).toEqual({ control: attributionMetrics(truth.control), challenger: attributionMetrics(truth.challenger) });
    // What decideExperiment says on the same totals at the same time; 200 impressions a variant are needed, fewer were shown.
    const decided = decideExperiment(truth, experiment, Date.parse(body.wouldDecide.decidedAt));
    expect(body.wouldDecide).toEqual(JSON.parse(JSON.stringify(decided)));
    expect(body.wouldDecide).toMatchObject({ action: 'continue', enoughData: false, metric: 'ctr', minImpressions: 200, control: { n: truth.control.impressions, successes: truth.control.clicks } });
    expect(body.wouldDecide.reason).toMatch(/^too little data/);
    expect(typeof body.wouldDecide.z).toBe('number');
    expect(body.wouldDecide.pValue).toBeGreaterThan(0);
    // Only a status: nothing was decided or logged, the experiment still runs.
    expect((await lakeOf(aws).listKeys(`${EXPERIMENTS_PREFIX}${experiment.id}/`)).map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json']);
  });

  it('GET /admin/experiment still answers when the analytics read fails or takes more than 1 s: attribution null and the reason', async () => {
    const lake = lakeOf(aws);
    const withAttribution = (attribution: AttributionSource) => resetAdminApi({ registry: new S3ModelRegistry(lake), log: lakeExperimentLog(lake), attribution });
    try {
      withAttribution({ experimentTotals: () => Promise.reject(new Error('ProvisionedThroughputExceededException: slow down')) });
      const failed = await get('/admin/experiment', admin());
      expect(failed.status).toBe(200);
      expect(failed.json).toMatchObject({ pointer: { version: V1 }, experiment: { challenger: { version: V2 } }, attribution: null, wouldDecide: null });
      expect(failed.json.attributionUnavailable).toMatch(/analytics read failed: ProvisionedThroughputExceededException: slow down/);

      withAttribution({ experimentTotals: () => new Promise(() => {}) });
      const started = Date.now();
      const slow = await get('/admin/experiment', admin());
      const tookMs = Date.now() - started;
      expect(slow.status).toBe(200);
      expect(slow.json).toMatchObject({ experiment: { challenger: { version: V2 } }, attribution: null, wouldDecide: null, attributionUnavailable: 'the analytics read gave no answer within 1000 ms' });
      expect(tookMs).toBeGreaterThanOrEqual(990);
      expect(tookMs).toBeLessThan(5000);

      // Without an analytics table the status says so.
      resetAdminApi({ registry: new S3ModelRegistry(lake), log: lakeExperimentLog(lake) });
      const off = await get('/admin/experiment', admin());
      expect(off.json).toMatchObject({ experiment: { challenger: { version: V2 } }, attribution: null, wouldDecide: null, attributionUnavailable: expect.stringContaining('ANALYTICS_TABLE') });
      // A source that answers: the figures are those of its totals.
      const totals = { control: { ...emptyAttributionTotals(), impressions: 10, clicks: 1 }, challenger: { ...emptyAttributionTotals(), impressions: 10, clicks: 4 } };
      withAttribution({ experimentTotals: async () => totals });
      expect((await get('/admin/experiment', admin())).json.attribution.variants.challenger).toMatchObject({ impressions: 10, clicks: 4, ctr: { value: 0.4 } });
    } finally {
      resetAdminApi();
    }
  });

  it('stop → after reload every user gets the control, outside any experiment', async () => {
    const { experiment } = (await get('/admin/experiment', admin())).json;
    expect((await post('/admin/experiment/stop', { experimentId: 'xsomeotherone' })).status).toBe(409);
    const stopped = await post('/admin/experiment/stop', { experimentId: experiment.id, reason: 'enough' });
    expect(stopped.status).toBe(200);
    expect(stopped.json.logKey).toMatch(/-stopped\.json$/);
    expect(JSON.parse((await lakeOf(aws).getText(stopped.json.logKey))!)).toMatchObject({ kind: 'stopped', reason: 'enough', experimentId: experiment.id });
    await reload();
    for (const a of await recommendAll()) expect(a).toMatchObject({ variant: 'control', experimentId: null, modelVersion: V1 });
    expect((await get('/health')).json.experiment).toBeNull();
  });

  it('a challenger that fails to load: every user gets the control and health says why', async () => {
    expect((await post('/admin/experiment/start', { challengerVersion: BROKEN, sharePercent: 50 })).status).toBe(200);
    await reload();
    for (const a of await recommendAll()) expect(a).toMatchObject({ variant: 'control', experimentId: null, modelVersion: V1 });
    expect((await get('/health')).json).toMatchObject({ modelVersion: V1, experiment: { challengerVersion: BROKEN, challengerLoaded: false, error: expect.stringContaining(BROKEN) } });
    const { experiment } = (await get('/admin/experiment', admin())).json;
    expect((await post('/admin/experiment/stop', { experimentId: experiment.id })).status).toBe(200);
  });

  it('promote → the challenger is production for everyone, the control its previous', async () => {
    const started = (await post('/admin/experiment/start', { challengerVersion: V2, sharePercent: 10 })).json;
    await reload();
    const promoted = await post('/admin/experiment/promote', { experimentId: started.experiment.id });
    expect(promoted.status).toBe(200);
    expect(promoted.json.pointer).toMatchObject({ version: V2, previous: { version: V1 }, experiment: null });
    await reload();
    for (const a of (await recommendAll()).slice(0, 30)) expect(a).toMatchObject({ variant: 'control', experimentId: null, modelVersion: V2 });
    const keys = await lakeOf(aws).listKeys(`${EXPERIMENTS_PREFIX}${started.experiment.id}/`);
    expect(keys.map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json', 'promoted.json']);
    expect(modelKeys(V2).manifest).toBe(promoted.json.pointer.manifestKey);
  });
});
