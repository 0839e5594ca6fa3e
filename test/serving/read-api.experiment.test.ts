import { describe, expect, it } from 'vitest';
import { assignVariant, deploymentOf } from '../../src/domain/experiment';
import { ArtifactUnusableError, pointerFor, type Experiment, type PointerRead, type ProductionPointer } from '../../src/domain/model-registry';
import { parseRecommendationId } from '../../src/domain/recommendation-id';
import { serializeModel, type HybridModel } from '../../src/recommender/index';
import type { ApiRequest } from '../../src/serving/http';
import { ModelStore, type ModelSource } from '../../src/serving/model-store';
import { ReadApi, RECOMMENDATION_ID_HEADER } from '../../src/serving/read-api';
import { trainSmallModel, versionFor } from './support';

/**
 * The read side with an experiment on the pointer, in process (no HTTP): which model answers which user, what
 * the answers say about it, and what happens when the challenger cannot be loaded or the experiment ends.
 */
const control = trainSmallModel(1);
const challengerModel = trainSmallModel(2);
const V1 = versionFor(1);
const V2 = versionFor(2, 'challenger');
const AT = new Date('2026-12-03T10:00:00Z');

const experiment = (over: Partial<Experiment> = {}): Experiment => ({
  id: 'xtest1',
  challenger: deploymentOf(V2, AT),
  sharePercent: 50,
  startedAt: AT.toISOString(),
  startedBy: 'operator',
  decision: { metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72 },
  ...over,
});

/** A registry in memory: one pointer, artifacts by version, and a switch that breaks one version's artifact. */
function source(models: Record<string, HybridModel>) {
  let pointer: ProductionPointer | undefined;
  let etag = 0;
  const reads: string[] = [];
  const broken = new Map<string, Error>();
  const src: ModelSource = {
    async readPointerIfChanged(seen?: string): Promise<PointerRead> {
      if (!pointer) return { status: 'missing' };
      if (seen === String(etag)) return { status: 'not-modified' };
      return { status: 'changed', text: JSON.stringify(pointer), etag: String(etag) };
    },
    async readArtifact(deployment) {
      const version = deployment.manifestKey.split('/')[1]!;
      reads.push(version);
      const failure = broken.get(version);
      if (failure) throw failure;
      const model = models[version];
      if (!model) throw new ArtifactUnusableError(`no artifact for ${version}`);
      return serializeModel(model);
    },
  };
  return {
    src,
    reads,
    broken,
    set(next: ProductionPointer) {
      pointer = next;
      etag++;
    },
  };
}

const production = pointerFor(V1, undefined, undefined, AT);
const withExp = (e: Experiment = experiment()): ProductionPointer => ({ ...production, experiment: e });
const users = Array.from({ length: 400 }, (_, i) => `shopper-${i}`);

function setup(pointer: ProductionPointer) {
  const registry = source({ [V1]: control, [V2]: challengerModel });
  registry.set(pointer);
  const store = new ModelStore(registry.src, { refreshSeconds: 3600 });
  const api = new ReadApi(store, { realtime: async () => undefined, exact: async () => undefined }, {
    freshEventsTimeoutMs: 100,
    trending: async (_windowMs, k) => control.popular(k).map((i) => ({ itemId: i.itemId, score: 1, now: 2, before: 1 })),
  });
  return { registry, store, api, routes: api.routes() };
}

const request = (path: string, over: Partial<ApiRequest> = {}): ApiRequest => ({ method: 'GET', path, params: {}, query: {}, headers: {}, body: undefined, requestId: 'r', ...over });
const body = (res: { body: string }) => JSON.parse(res.body) as Record<string, unknown> & { recommendationId: string };

describe('ModelStore with an experiment on the pointer', () => {
  it('loads the challenger too and gives each user one stable variant at the share', async () => {
    const { store } = setup(withExp());
    const picks = await Promise.all(users.map((u) => store.forUser(u)));
    const challengers = picks.filter((p) => p.variant === 'challenger');
    expect(challengers.length / users.length).toBeGreaterThan(0.4);
    expect(challengers.length / users.length).toBeLessThan(0.6);
    for (const [i, pick] of picks.entries()) {
      expect(pick.variant).toBe(assignVariant(experiment(), users[i]!));
      expect(pick.experimentId).toBe('xtest1');
      expect(pick.loaded?.version).toBe(pick.variant === 'challenger' ? V2 : V1);
      expect((await store.forUser(users[i]!)).variant).toBe(pick.variant);
    }
    expect((await store.get())?.version).toBe(V1);
    expect(await store.forUser(undefined)).toMatchObject({ variant: 'control', experimentId: null, loaded: { version: V1 } });
    expect(store.health()).toMatchObject({ status: 'ok', modelVersion: V1, experiment: { id: 'xtest1', sharePercent: 50, challengerVersion: V2, challengerLoaded: true } });
    expect(store.health().experiment).not.toHaveProperty('error');
  });

  it('respects a small share', async () => {
    const { store } = setup(withExp(experiment({ sharePercent: 5 })));
    const n = (await Promise.all(users.map((u) => store.forUser(u)))).filter((p) => p.variant === 'challenger').length;
    expect(n / users.length).toBeGreaterThan(0.01);
    expect(n / users.length).toBeLessThan(0.1);
  });

  it('a challenger that fails to load: every user gets the control, outside the experiment, and health says why', async () => {
    const { store, registry } = setup(withExp());
    registry.broken.set(V2, new ArtifactUnusableError('checksum mismatch'));
    for (const u of users.slice(0, 50)) expect(await store.forUser(u)).toMatchObject({ variant: 'control', experimentId: null, loaded: { version: V1 } });
    expect(store.health()).toMatchObject({ status: 'ok', modelVersion: V1, experiment: { id: 'xtest1', challengerLoaded: false, error: expect.stringContaining('checksum mismatch') } });
  });

  it('retries a challenger that failed for a transient reason at the next check', async () => {
    let now = 0;
    const registry = source({ [V1]: control, [V2]: challengerModel });
    registry.set(withExp());
    registry.broken.set(V2, new Error('socket hang up'));
    const store = new ModelStore(registry.src, { refreshSeconds: 30, now: () => now });
    await store.get();
    expect(store.health().experiment).toMatchObject({ challengerLoaded: false });
    registry.broken.delete(V2);
    now += 31_000;
    await store.get();
    expect(store.health().experiment).toMatchObject({ challengerLoaded: true });
  });

  it('after a stop every user gets the control on the next check; a promotion reuses the loaded challenger', async () => {
    const { store, registry } = setup(withExp());
    await store.get();
    registry.set({ ...production, experiment: null });
    await store.reload();
    expect(store.health().experiment).toBeNull();
    for (const u of users.slice(0, 50)) expect(await store.forUser(u)).toMatchObject({ variant: 'control', experimentId: null, loaded: { version: V1 } });

    registry.set(withExp());
    await store.reload();
    const readsBefore = registry.reads.length;
    registry.set({ ...pointerFor(V2, production, undefined, AT), experiment: null });
    await store.reload();
    expect((await store.get())?.version).toBe(V2);
    expect(registry.reads.length).toBe(readsBefore);
  });
});

describe('every list answer carries a recommendation id', () => {
  const challengerUser = users.find((u) => assignVariant(experiment(), u) === 'challenger')!;
  const controlUser = users.find((u) => assignVariant(experiment(), u) === 'control')!;
  const item = control.popular(1)[0]!.itemId;

  it('with no experiment: control, experimentId null, the production version, the route strategy', async () => {
    const { routes } = setup(production);
    const answers = {
      personalized: await routes.recommend!(request(`/recommend/${control.users()[0]}`, { params: { userId: control.users()[0]! } })),
      rank: await routes.rankItems!(request('/rank/u', { method: 'POST', params: { userId: controlUser }, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ itemIds: [item] }) })),
      similar: await routes.similarItems!(request(`/items/${item}/similar`, { params: { itemId: item } })),
      popular: await routes.popularItems!(request('/items/popular')),
      trending: await routes.trendingItems!(request('/items/trending')),
    };
    const seen = new Set<string>();
    for (const [strategy, res] of Object.entries(answers)) {
      expect(res.statusCode, strategy).toBe(200);
      const b = body(res);
      expect(b).toMatchObject({ modelVersion: V1, strategy, variant: 'control', experimentId: null });
      expect(parseRecommendationId(b.recommendationId)).toEqual({ experimentId: null, variant: 'control', strategy, modelVersion: V1 });
      seen.add(b.recommendationId);
    }
    expect(seen.size).toBe(5);
  });

  it("recommend and rank answer with the user's variant; item lists with ?userId='s, else the control", async () => {
    const { routes } = setup(withExp());
    const rec = body(await routes.recommend!(request('/recommend', { params: { userId: challengerUser } })));
    expect(rec).toMatchObject({ variant: 'challenger', experimentId: 'xtest1', modelVersion: V2 });
    expect(parseRecommendationId(rec.recommendationId)).toMatchObject({ variant: 'challenger', experimentId: 'xtest1', modelVersion: V2, strategy: rec.strategy });
    expect(body(await routes.recommend!(request('/recommend', { params: { userId: controlUser } })))).toMatchObject({ variant: 'control', experimentId: 'xtest1', modelVersion: V1 });
    const rank = await routes.rankItems!(request('/rank', { method: 'POST', params: { userId: challengerUser }, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ itemIds: [item] }) }));
    expect(body(rank)).toMatchObject({ strategy: 'rank', variant: 'challenger', modelVersion: V2 });

    const popular = await routes.popularItems!(request('/items/popular', { query: { userId: challengerUser } }));
    expect(body(popular)).toMatchObject({ strategy: 'popular', variant: 'challenger', experimentId: 'xtest1', modelVersion: V2 });
    expect(popular.headers?.['Cache-Control']).toBe('no-store');
    expect(body(await routes.popularItems!(request('/items/popular')))).toMatchObject({ variant: 'control', experimentId: null, modelVersion: V1 });
    expect(body(await routes.similarItems!(request('/s', { params: { itemId: item }, query: { userId: challengerUser } })))).toMatchObject({ strategy: 'similar', variant: 'challenger', modelVersion: V2 });
    expect(body(await routes.trendingItems!(request('/t', { query: { userId: challengerUser } })))).toMatchObject({ strategy: 'trending', variant: 'challenger', modelVersion: V2 });
    expect(body(await routes.trendingItems!(request('/t', { query: { userId: controlUser } })))).toMatchObject({ strategy: 'trending', variant: 'control', experimentId: 'xtest1', modelVersion: V1 });
  });

  it('text/plain answers carry the id in X-Recommendation-Id', async () => {
    const { routes } = setup(withExp());
    const res = await routes.recommend!(request('/recommend', { params: { userId: challengerUser }, headers: { accept: 'text/plain' } }));
    expect(res.headers?.['Content-Type']).toMatch(/^text\/plain/);
    expect(parseRecommendationId(res.headers?.[RECOMMENDATION_ID_HEADER])).toMatchObject({ variant: 'challenger', experimentId: 'xtest1', modelVersion: V2 });
  });

  it('refuses a bad ?userId= with a 400 naming it', async () => {
    const { routes } = setup(withExp());
    for (const bad of ['', 'a b', 'x'.repeat(200), '..'])
      await expect(routes.popularItems!(request('/items/popular', { query: { userId: bad } }))).rejects.toMatchObject({ status: 400, code: 'INVALID_ID', field: 'userId' });
  });
});
