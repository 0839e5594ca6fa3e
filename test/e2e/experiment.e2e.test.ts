import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { S3Lake } from '../../src/adapters/s3-lake';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import type { AnalyticsReader } from '../../src/analytics/analytics-reader';
import type { ExperimentTotals } from '../../src/analytics/attribution';
import { checkExperiment } from '../../src/experiments/check';
import { startExperiment, stopExperiment, type ExperimentOperatorDeps } from '../../src/experiments/operator';
import { newModelVersion } from '../../src/domain/model-registry';
import { LocalPipeline } from '../../src/local/pipeline';
import { publishModel } from '../../src/local/publish-model';
import { DEFAULT_SHOPPER_BEHAVIOUR, generateHistory, historyInteractions, runShoppers, type ShopperStats, type ShopperWorld } from '../../src/local/shoppers';
import { serializeModel, trainHybridModel, type HybridModel, type Interaction } from '../../src/recommender/index';
import { clearPipelineEnvironment } from '../support/clean-env';

/**
 * An A/B experiment end to end on `npm start`'s pipeline, with simulated shoppers whose tastes are known
 * (src/local/shoppers.ts): the nightly run trains production on the shoppers' history; a challenger that ignores
 * history (popularity only) serves half the users; the shoppers act on what they are shown; the analytics consumer
 * attributes impressions and clicks to the variant through the answers' recommendationIds; the hourly check
 * (package D) decides. Known truth: the model that learned the tastes earns the higher CTR.
 */

const data = { users: 200, items: 120, events: 3_600, seed: 5 };
/** The pipeline's own rule (pipeline.ts): about `events` events, ~1.2 per browsed item. */
const itemsPerUser = Math.round(data.events / data.users / 1.2);
/** Settings of every experiment here: half the users, a decision on CTR once each variant has 600 impressions. */
const settings = { sharePercent: 50, metric: 'ctr' as const, minImpressions: 600, alpha: 0.01, maxDurationHours: 72 };

/**
 * Shoppers a little keener to click than the default (0.3): the same tastes, a larger CTR gap for the same
 * traffic, so the decisions stay well clear of alpha (measured: |z| ≈ 4 at 0.3 with ~1500 impressions a variant).
 */
const behaviour = { ...DEFAULT_SHOPPER_BEHAVIOUR, baseClick: 0.5 };

let dir: string;
let pipeline: LocalPipeline;
let world: ShopperWorld;
let registry: S3ModelRegistry;
let lake: S3Lake;
let reader: AnalyticsReader;
let operator: ExperimentOperatorDeps;
/** The version the nightly run deployed: trained on the shoppers' history. */
let trainedVersion: string;
/** A popularity-only artifact: its recommendations ignore every user's history. */
let popularVersion: string;
const saved = { ...process.env };

/**
 * A model whose recommendations ignore history: trained on the same interactions, each one given its own user,
 * so no item co-occurs with another (no collaborative signal) and no genres (no content signal); what is left
 * is the popularity order, minus the user's seen items.
 */
function popularityOnly(interactions: readonly Interaction[]): HybridModel {
  return trainHybridModel(interactions.map((it, n) => ({ ...it, userId: `pop${n}` })));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'recsys-experiment-'));
  clearPipelineEnvironment();
  pipeline = new LocalPipeline({
    dataDir: dir, fresh: true, port: 0, host: '127.0.0.1', ...data, rate: 0, liveRate: 0, retrainEveryMinutes: 0, analytics: true,
    // The world only: this test drives the shoppers itself.
    shoppers: { visitsPerSecond: 0 },
    log: () => undefined,
  });
  await pipeline.start();
  world = pipeline.shopperWorld!;
  lake = new S3Lake(createS3Client(), process.env.LAKE_BUCKET!);
  registry = new S3ModelRegistry(lake);
  reader = dynamoAnalyticsReader(createDynamoDocumentClient(), process.env.ANALYTICS_TABLE!);
  operator = { registry, log: (key, json) => lake.putObject(key, JSON.stringify(json), 'application/json') };
  trainedVersion = (await registry.readPointer())!.pointer.version;

  popularVersion = newModelVersion(new Date(), 'popular');
  const { manifest, payload } = serializeModel(popularityOnly(historyInteractions(generateHistory(world, { itemsPerUser }))));
  await registry.writeArtifact(popularVersion, { manifest: { ...manifest, metadata: { ...manifest.metadata, modelVersion: popularVersion } }, payload });
}, 120_000);

afterAll(async () => {
  await pipeline?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
  process.env = saved;
});

// A failed case must not leave its experiment running for the next one.
afterEach(async () => {
  const running = (await registry?.readPointer())?.pointer.experiment;
  if (running) {
    await stopExperiment(operator, running.id);
    await reload();
  }
});

const admin = () => ({ 'X-Local-Admin-Token': pipeline.adminToken!, 'Content-Type': 'application/json', Accept: 'application/json' });

/** The read instance follows the pointer now (POST /admin/reload), as the ReloadApi step makes it. */
async function reload(): Promise<void> {
  const res = await fetch(`${pipeline.apiUrl}/admin/reload`, { method: 'POST', headers: admin(), body: '{}' });
  expect(res.status).toBe(200);
}

async function start(challengerVersion: string): Promise<string> {
  const { experiment } = await startExperiment(operator, { challengerVersion, startedBy: 'operator', settings });
  await reload();
  return experiment.id;
}

/** `visits` shopper visits through the API (20 items each); resolves once the analytics consumer attributed every impression. */
async function shop(experimentId: string, visits: number, seed: number): Promise<{ stats: ShopperStats; totals: ExperimentTotals }> {
  const t0 = Date.now();
  const stats = await runShoppers({ apiUrl: pipeline.apiUrl, world, ratePerSecond: 0, visits, k: 20, concurrency: 8, seed, behaviour });
  expect(stats.failures, stats.lastError).toBe(0);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const totals = await reader.experimentTotals(experimentId, Date.now() - 3_600_000, Date.now() + 120_000);
    const attributed = totals.control.impressions + totals.challenger.impressions;
    if (attributed >= stats.impressions) {
      if (process.env.E2E_TIMING) console.log(`${visits} visits + attribution: ${Date.now() - t0} ms`);
      return { stats, totals };
    }
    if (Date.now() > deadline) {
      throw new Error(`the analytics consumer attributed ${attributed} of the ${stats.impressions} impressions the shoppers posted for ${experimentId} within 30 s (GET /analytics/attribution shows the same)`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The hourly check, run now (a little later than the last event: the shoppers' purchases are stamped +20 s). */
async function check() {
  const result = await checkExperiment({ registry, attribution: reader, log: operator.log, notify: async () => undefined }, new Date(Date.now() + 60_000));
  if (process.env.E2E_TIMING) console.log(`check: ${result.action} (${result.reason})`);
  return result;
}

/** Debian's chromium (CI installs it, see .ci/run); CHROMIUM_PATH points elsewhere. */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** In headless Chromium: the page's experiment panel names the running experiment and has a row per variant. */
async function expectPagePanel(experimentId: string): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${pipeline.apiUrl}/`);
    await page.waitForFunction(`document.getElementById('xState')?.textContent?.includes(${JSON.stringify(experimentId)})`);
    await page.waitForSelector('#xVariants tr[data-variant="challenger"]');
    expect(await page.$$eval('#xVariants tbody tr', (rows) => rows.map((r) => r.getAttribute('data-variant')))).toEqual(['control', 'challenger']);
  } finally {
    await browser.close();
  }
}

const ctr = (t: ExperimentTotals['control']) => t.clicks / Math.max(1, t.impressions);

describe('an A/B experiment with simulated shoppers, end to end', () => {
  it('decides nothing on too little traffic, then rolls back a popularity-only challenger', async () => {
    const id = await start(popularVersion);

    const few = await shop(id, 10, 1);
    expect(few.totals.control.impressions + few.totals.challenger.impressions).toBe(few.stats.impressions);
    const early = await check();
    expect(early.action).toBe('continue');
    expect((await registry.readPointer())!.pointer.experiment?.id).toBe(id);

    const { totals } = await shop(id, 150, 2);
    expect(totals.control.impressions).toBeGreaterThanOrEqual(settings.minImpressions);
    expect(totals.challenger.impressions).toBeGreaterThanOrEqual(settings.minImpressions);
    // Known truth: the shoppers click what matches their tastes; the trained model shows it more often.
    expect(ctr(totals.control)).toBeGreaterThan(ctr(totals.challenger));

    const decision = await check();
    expect(decision.action).toBe('rollback');
    const pointer = (await registry.readPointer())!.pointer;
    expect(pointer.version).toBe(trainedVersion);
    expect(pointer.experiment ?? null).toBeNull();
  }, 60_000);

  it('promotes a better challenger over a worse production model', async () => {
    await publishModel(lake, popularityOnly(historyInteractions(generateHistory(world, { itemsPerUser }))), { version: newModelVersion(new Date(), 'popular2') });
    const id = await start(trainedVersion);
    const { totals } = await shop(id, 150, 3);
    expect(ctr(totals.challenger)).toBeGreaterThan(ctr(totals.control));

    const decision = await check();
    expect(decision.action).toBe('promote');
    const pointer = (await registry.readPointer())!.pointer;
    expect(pointer.version).toBe(trainedVersion);
    expect(pointer.experiment ?? null).toBeNull();
  }, 60_000);

  it('serves control on every answer as soon as a stopped experiment is reloaded', async () => {
    const id = await start(popularVersion);
    const users = world.users.slice(0, 40).map((u) => u.userId);
    const answer = async (path: string) => (await (await fetch(`${pipeline.apiUrl}${path}`)).json()) as { variant: string; experimentId: string | null; modelVersion: string; recommendationId: string };
    const during = await Promise.all(users.map((u) => answer(`/recommend/${u}?k=5`)));
    expect(new Set(during.map((a) => a.variant))).toEqual(new Set(['control', 'challenger']));
    expect(during.every((a) => a.experimentId === id)).toBe(true);
    // The admin route reports the running experiment (through the local admin token).
    const status = await fetch(`${pipeline.apiUrl}/admin/experiment`, { headers: admin() });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { experiment: { id: string } | null }).experiment?.id).toBe(id);
    // The page asks the local server, which holds the admin token, and never needs it itself.
    const local = await fetch(`${pipeline.apiUrl}/local/experiment`);
    expect(local.status).toBe(200);
    expect(((await local.json()) as { experiment: { id: string } | null }).experiment?.id).toBe(id);
    expect(await (await fetch(`${pipeline.apiUrl}/local/shoppers`)).json()).toMatchObject({ enabled: true, users: data.users });
    const page = await (await fetch(`${pipeline.apiUrl}/`)).text();
    for (const id of ['xState', 'xVariants', 'shoppers']) expect(page).toContain(`id="${id}"`);
    if (existsSync(chromiumPath)) await expectPagePanel(id);

    await stopExperiment(operator, id);
    await reload();
    const after = await Promise.all([
      ...users.map((u) => answer(`/recommend/${u}?k=5`)),
      ...users.slice(0, 10).map((u) => answer(`/items/popular?k=5&userId=${u}`)),
    ]);
    for (const a of after) {
      expect(a).toMatchObject({ variant: 'control', experimentId: null, modelVersion: trainedVersion });
      expect(typeof a.recommendationId).toBe('string');
    }
  }, 30_000);
});
