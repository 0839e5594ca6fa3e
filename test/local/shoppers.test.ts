import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/domain/events';
import { newRecommendationId } from '../../src/domain/recommendation-id';
import { trainHybridModel } from '../../src/recommender/index';
import {
  clickProbability,
  createShopperWorld,
  DEFAULT_SHOPPER_BEHAVIOUR,
  generateHistory,
  historyInteractions,
  respond,
  runShoppers,
  shopperCatalog,
  simulateTraffic,
  type ShopperWorld,
} from '../../src/local/shoppers';
import { createRng } from '../../src/recommender/rng';

const world = createShopperWorld({ users: 300, items: 200, seed: 3 });
const NOW = Date.UTC(2026, 11, 1, 12);

describe('simulated shoppers: the world', () => {
  it('gives each user category weights that sum to 1, mostly focused on one or two categories', () => {
    expect(world.users).toHaveLength(300);
    expect(world.items).toHaveLength(200);
    for (const u of world.users) {
      expect(u.affinity).toHaveLength(world.categories.length);
      expect(u.affinity.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      expect(u.affinity.every((w) => w >= 0)).toBe(true);
      expect(u.maxAffinity).toBe(Math.max(...u.affinity));
    }
    // Concentration 0.3 over 8 categories: the favourite category holds most of the weight on average
    // (uniform tastes would give 1/8).
    const meanMax = world.users.reduce((a, u) => a + u.maxAffinity, 0) / world.users.length;
    expect(meanMax).toBeGreaterThan(0.45);
    expect(world.item('i1')?.category).toMatch(/^cat\d\d$/);
    expect(shopperCatalog(world).map((m) => m.genres)).toEqual(world.items.map((i) => [i.category]));
  });

  it('is deterministic for a seed and differs between seeds', () => {
    const again = createShopperWorld({ users: 300, items: 200, seed: 3 });
    expect(again.users.map((u) => u.affinity)).toEqual(world.users.map((u) => u.affinity));
    expect(again.items).toEqual(world.items);
    const other = createShopperWorld({ users: 300, items: 200, seed: 4 });
    expect(other.users.map((u) => u.affinity)).not.toEqual(world.users.map((u) => u.affinity));
  });

  it('refuses impossible settings with the setting named', () => {
    expect(() => createShopperWorld({ users: 0, items: 10 })).toThrow(/users must be a positive integer/);
    expect(() => createShopperWorld({ users: 1, items: 10, concentration: 0 })).toThrow(/concentration/);
    expect(() => generateHistory(world, { itemsPerUser: 0 })).toThrow(/itemsPerUser/);
  });
});

describe('simulated shoppers: respond', () => {
  const user = world.users[0]!;
  const favourite = user.affinity.indexOf(user.maxAffinity);
  const liked = world.items.filter((i) => i.categoryIndex === favourite).slice(0, 10);
  const least = user.affinity.indexOf(Math.min(...user.affinity));
  const disliked = world.items.filter((i) => i.categoryIndex === least).slice(0, 10);
  const recommendationId = newRecommendationId({ experimentId: null, variant: 'control', strategy: 'personalized', modelVersion: null });

  it('shows one impression per item with the answer id and position, and every event is valid', () => {
    const shown = { recommendationId, items: [...liked.slice(0, 3), { itemId: 'not-in-world' }].map((i) => ({ itemId: i.itemId })) };
    const events = respond(world, user, shown, { random: createRng(1), now: NOW, eventIdPrefix: 'v1' });
    const impressions = events.filter((e) => e.type === 'impression');
    expect(impressions.map((e) => [e.itemId, (e as { position?: number }).position])).toEqual(shown.items.map((i, p) => [i.itemId, p]));
    expect(events.every((e) => e.recommendationId === recommendationId)).toBe(true);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
    for (const e of events) expect(parseEvent(e, { now: NOW + 3_600_000 }).ok).toBe(true);
    // The unknown item is shown, never clicked.
    expect(events.filter((e) => e.itemId === 'not-in-world').map((e) => e.type)).toEqual(['impression']);
  });

  it('clicks with p = baseClick × (0.2 + affinity / maxAffinity): liked items far more often than disliked ones', () => {
    expect(clickProbability(world, user, liked[0]!.itemId)).toBeCloseTo(DEFAULT_SHOPPER_BEHAVIOUR.baseClick * 1.2, 12);
    const rate = (items: { itemId: string }[]) => {
      const random = createRng(5);
      let clicks = 0;
      let shown = 0;
      for (let r = 0; r < 2_000; r++) {
        const events = respond(world, user, { items }, { random, now: NOW, eventIdPrefix: `r${r}` });
        clicks += events.filter((e) => e.type === 'click').length;
        shown += items.length;
      }
      return clicks / shown;
    };
    const likedRate = rate(liked);
    const expected = liked.reduce((a, i) => a + clickProbability(world, user, i.itemId), 0) / liked.length;
    expect(Math.abs(likedRate - expected)).toBeLessThan(0.02);
    expect(likedRate).toBeGreaterThan(2.5 * rate(disliked));
    // Without a recommendationId in the answer, none is invented.
    const plain = respond(world, user, { items: liked }, { random: createRng(1), now: NOW, eventIdPrefix: 'p' });
    expect(plain.some((e) => 'recommendationId' in e)).toBe(false);
  });

  it('funnels: every purchase follows an add_to_cart of the same item, every cart a click, with the item price', () => {
    const random = createRng(9);
    for (let r = 0; r < 300; r++) {
      const events = respond(world, user, { items: liked }, { random, now: NOW, eventIdPrefix: `f${r}` });
      const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.itemId);
      for (const id of of('purchase')) expect(of('add_to_cart')).toContain(id);
      for (const id of of('add_to_cart')) expect(of('click')).toContain(id);
      for (const e of events) if (e.type === 'purchase') expect(e.price).toBe(world.item(String(e.itemId))!.price);
    }
  });

  it('is deterministic for the random source', () => {
    const a = respond(world, user, { recommendationId, items: liked }, { random: createRng(42), now: NOW, eventIdPrefix: 'd' });
    const b = respond(world, user, { recommendationId, items: liked }, { random: createRng(42), now: NOW, eventIdPrefix: 'd' });
    expect(a).toEqual(b);
  });
});

describe('simulated shoppers: history and the model', () => {
  const endMs = NOW - 3_600_000;
  const history = generateHistory(world, { itemsPerUser: 20, endMs, startMs: endMs - 7 * 86_400_000 });

  it('generates valid, time-ordered, deterministic history with no impressions and no recommendation ids', () => {
    expect(history.length).toBeGreaterThan(300 * 10);
    expect(history.some((e) => e.type === 'impression' || 'recommendationId' in e)).toBe(false);
    for (const e of history.slice(0, 500)) expect(parseEvent(e, { now: NOW }).ok).toBe(true);
    const times = history.map((e) => Date.parse(String(e.timestamp)));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    expect(generateHistory(world, { itemsPerUser: 20, endMs, startMs: endMs - 7 * 86_400_000 })).toEqual(history);
    // Drawn from the same tastes: a user's views lean to their favourite category.
    const share = world.users.slice(0, 50).map((u) => {
      const fav = world.categories[u.affinity.indexOf(u.maxAffinity)];
      const views = history.filter((e) => e.userId === u.userId && e.type === 'view');
      return views.filter((e) => e.category === fav).length / views.length;
    });
    expect(share.reduce((a, b) => a + b, 0) / share.length).toBeGreaterThan(0.3);
  });

  it('maps history to one interaction per (user, item), strongest signal first contact', () => {
    const interactions = historyInteractions(history);
    expect(new Set(interactions.map((i) => `${i.userId}|${i.itemId}`)).size).toBe(interactions.length);
    expect(new Set(history.map((e) => `${e.userId}|${e.itemId}`)).size).toBe(interactions.length);
    const purchased = history.find((e) => e.type === 'purchase')!;
    expect(interactions.find((i) => i.userId === purchased.userId && i.itemId === purchased.itemId)?.rating).toBe(5);
  });

  /** Top-k recommendations of `model` and of its popularity list, both excluding the user's history. */
  function showers(w: ShopperWorld, seed: number) {
    const h = generateHistory(w, { itemsPerUser: 20, endMs, startMs: endMs - 7 * 86_400_000 });
    const model = trainHybridModel(historyInteractions(h), { items: shopperCatalog(w) });
    const personal = (userId: string, k: number) => ({ items: model.recommend(userId, k).items });
    const popular = (userId: string, k: number) => ({ items: model.popular(k, { exclude: model.historyOf(userId) }) });
    return {
      personal: simulateTraffic(w, personal, { requests: 3_000, seed }),
      popular: simulateTraffic(w, popular, { requests: 3_000, seed }),
    };
  }

  it('on its own traffic, a model trained on the history earns a clearly higher CTR than popularity (seeded)', () => {
    const { personal, popular } = showers(world, 8);
    expect(personal.impressions).toBe(30_000);
    expect(popular.impressions).toBe(30_000);
    // Two-proportion z well beyond chance, and a large relative lift.
    const p = (personal.clicks + popular.clicks) / (personal.impressions + popular.impressions);
    const z = (personal.ctr - popular.ctr) / Math.sqrt(p * (1 - p) * (2 / 30_000));
    expect(z).toBeGreaterThan(10);
    expect(personal.ctr).toBeGreaterThan(1.5 * popular.ctr);
    expect(personal.purchases).toBeGreaterThan(popular.purchases);
    // Seeded: the same numbers again.
    expect(showers(world, 8)).toEqual({ personal, popular });
  });
});

describe('simulated shoppers: the driver', () => {
  it('asks the API for each visit, posts the events it answered with, and tallies by variant', async () => {
    const calls: { method: string; url: string; body?: { events: { type: string; recommendationId?: string; userId: string }[] } }[] = [];
    const fakeFetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const url = String(input);
      const method = init?.method ?? 'GET';
      calls.push({ method, url, body: init?.body ? JSON.parse(String(init.body)) : undefined });
      if (method === 'GET') {
        const userId = decodeURIComponent(/\/recommend\/([^?]+)/.exec(url)![1]!);
        const variant = userId.endsWith('1') ? 'challenger' : 'control';
        return new Response(JSON.stringify({ recommendationId: `rid-${userId}`, variant, items: world.items.slice(0, 5).map((i) => ({ itemId: i.itemId, score: 1 })) }), { status: 200 });
      }
      return new Response(JSON.stringify({ accepted: 1 }), { status: 200 });
    }) as typeof fetch;
    const stats = await runShoppers({ apiUrl: 'http://api.test/', world, ratePerSecond: 0, visits: 40, k: 5, fetch: fakeFetch, now: () => NOW, seed: 1 });
    expect(stats.visits).toBe(40);
    expect(stats.failures).toBe(0);
    expect(stats.impressions).toBe(200);
    const gets = calls.filter((c) => c.method === 'GET');
    const posts = calls.filter((c) => c.method === 'POST');
    expect(gets).toHaveLength(40);
    expect(gets.every((c) => c.url.startsWith('http://api.test/recommend/') && c.url.endsWith('?k=5'))).toBe(true);
    expect(posts.every((c) => c.url === 'http://api.test/events')).toBe(true);
    for (const post of posts) {
      const userId = post.body!.events[0]!.userId;
      expect(post.body!.events.every((e) => e.recommendationId === `rid-${userId}` && e.userId === userId)).toBe(true);
    }
    const byVariant = Object.values(stats.byVariant);
    expect(byVariant.reduce((a, t) => a + t.visits, 0)).toBe(40);
    expect(byVariant.reduce((a, t) => a + t.clicks, 0)).toBe(stats.clicks);
    // Deterministic for the seed.
    const again = await runShoppers({ apiUrl: 'http://api.test', world, ratePerSecond: 0, visits: 40, k: 5, fetch: fakeFetch, now: () => NOW, seed: 1, concurrency: 4 });
    expect({ ...again, byVariant: undefined }).toEqual({ ...stats, byVariant: undefined });
  });

  it('counts a failed visit and goes on', async () => {
    let n = 0;
    const flaky = (async () => (n++ % 2 === 0 ? new Response('{}', { status: 503 }) : new Response(JSON.stringify({ items: [] }), { status: 200 }))) as typeof fetch;
    const stats = await runShoppers({ apiUrl: 'http://api.test', world, ratePerSecond: 0, visits: 6, fetch: flaky });
    expect(stats.failures + stats.visits).toBe(6);
    expect(stats.failures).toBeGreaterThan(0);
    expect(stats.lastError).toMatch(/503/);
  });
});
