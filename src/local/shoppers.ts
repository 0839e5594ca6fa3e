import type { UserEventInput } from '../domain/events';
import { implicitStrength } from '../domain/event-strengths';
import { createRng } from '../recommender/rng';
import type { Interaction, ItemMeta } from '../recommender/index';

/**
 * Simulated shoppers with known tastes, for the experiment demo (`npm start -- --shoppers N`) and the
 * end-to-end test of an A/B experiment: the truth is known, so "the better model earns more clicks" can be
 * checked instead of assumed.
 *
 * - A world: items, each in one category with a Zipf popularity and a price; users, each with a preference
 *   weight per category drawn from a seeded Dirichlet (concentration < 1: most users like one or two
 *   categories a lot).
 * - `respond(world, user, shown)`: what a shopper does with a list the API answered: one impression per item
 *   shown (with the answer's recommendationId and the 0-based position), a click with probability
 *   `baseClick × (0.2 + affinity / maxAffinity)` (affinity: the user's weight for the item's category), an
 *   add_to_cart given a click with `cartGivenClick × affinity / maxAffinity`, a purchase given a cart with
 *   `purchaseGivenCart`. Clicks, carts and purchases carry the recommendationId (explicit attribution).
 * - `generateHistory(world)`: the past the model trains on, from the same tastes (browsing ∝ popularity ×
 *   click propensity, then the same funnel), so a model that learns the tastes earns a higher CTR than
 *   popularity on this traffic.
 *
 * Everything is deterministic for a seed (the pure core takes its random source as an argument). The driver
 * (`runShoppers`) calls the API over HTTP: GET /recommend/{userId}, then POST /events with the answer.
 */

export interface ShopperWorldOptions {
  users: number;
  items: number;
  /** Number of categories. Default 8. */
  categories?: number;
  /** Dirichlet concentration of each user's category weights; smaller = more focused tastes. Default 0.3. */
  concentration?: number;
  /** Zipf exponent of item popularity. Default 0.5 (popular items matter, tastes matter more). */
  zipf?: number;
  /** Default 11. */
  seed?: number;
  /** Prefix of the user ids (`<prefix><n>`, n from 1). Default 'u', the generator's ids. */
  userPrefix?: string;
  /** Prefix of the item ids. Default 'i'. */
  itemPrefix?: string;
}

export interface ShopperItem {
  itemId: string;
  category: string;
  /** Index into `world.categories`. */
  categoryIndex: number;
  /** Relative popularity (Zipf weight, the most popular item is 1). */
  popularity: number;
  /** Price in major units, two decimals. */
  price: number;
}

export interface Shopper {
  userId: string;
  /** Preference weight per category (index-aligned with `world.categories`), summing to 1. */
  affinity: readonly number[];
  /** The largest entry of `affinity`. */
  maxAffinity: number;
}

export interface ShopperWorld {
  seed: number;
  categories: readonly string[];
  items: readonly ShopperItem[];
  users: readonly Shopper[];
  item(itemId: string): ShopperItem | undefined;
  user(userId: string): Shopper | undefined;
}

/** The funnel's probabilities (see `respond`). */
export interface ShopperBehaviour {
  /** Click probability scale: p(click) = baseClick × (0.2 + affinity / maxAffinity). Default 0.3. */
  baseClick: number;
  /** p(add_to_cart | click) = cartGivenClick × affinity / maxAffinity. Default 0.4. */
  cartGivenClick: number;
  /** p(purchase | add_to_cart). Default 0.5. */
  purchaseGivenCart: number;
}

export const DEFAULT_SHOPPER_BEHAVIOUR: Readonly<ShopperBehaviour> = { baseClick: 0.3, cartGivenClick: 0.4, purchaseGivenCart: 0.5 };

/** Affinity floor of the click probability: an item outside every taste is still clicked now and then. */
const CLICK_FLOOR = 0.2;
/** Affinity floor of browsing in the history: shoppers mostly browse what they like, now and then anything popular. */
const BROWSE_FLOOR = 0.05;

const positiveInt = (name: string, v: number) => {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer (got ${v})`);
};

/**
 * Builds a world of users and items. Deterministic for `seed`; O(users × categories + items).
 *
 * @example
 * const world = createShopperWorld({ users: 300, items: 200, seed: 3 });
 * world.user('u1')!.affinity; // [0.71, 0.02, …] one weight per category
 */
export function createShopperWorld(options: ShopperWorldOptions): ShopperWorld {
  const U = options.users;
  const I = options.items;
  const C = options.categories ?? 8;
  positiveInt('users', U);
  positiveInt('items', I);
  positiveInt('categories', C);
  const alpha = options.concentration ?? 0.3;
  if (!(alpha > 0 && alpha <= 100)) throw new Error(`concentration must be in (0, 100] (got ${alpha})`);
  const zipf = options.zipf ?? 0.5;
  if (!(zipf >= 0 && zipf <= 3)) throw new Error(`zipf must be in [0, 3] (got ${zipf})`);
  const seed = options.seed ?? 11;
  const rng = createRng(seed);
  const categories = Array.from({ length: C }, (_, c) => `cat${String(c + 1).padStart(2, '0')}`);

  // Popularity: Zipf over a random rank order, so popularity and category are independent.
  const rank = Array.from({ length: I }, (_, i) => i);
  for (let i = I - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  const popularity = new Array<number>(I);
  for (let r = 0; r < I; r++) popularity[rank[r]!] = 1 / Math.pow(r + 1, zipf);
  const itemPrefix = options.itemPrefix ?? 'i';
  const items: ShopperItem[] = Array.from({ length: I }, (_, i) => {
    const categoryIndex = Math.floor(rng() * C);
    return {
      itemId: `${itemPrefix}${i + 1}`,
      category: categories[categoryIndex]!,
      categoryIndex,
      popularity: popularity[i]!,
      price: Math.round((5 + rng() * 95) * 100) / 100,
    };
  });

  const userPrefix = options.userPrefix ?? 'u';
  const users: Shopper[] = Array.from({ length: U }, (_, u) => {
    const raw = Array.from({ length: C }, () => gamma(alpha, rng));
    let sum = raw.reduce((a, b) => a + b, 0);
    if (!(sum > 0)) {
      raw[Math.floor(rng() * C)] = 1;
      sum = 1;
    }
    const affinity = raw.map((w) => w / sum);
    return { userId: `${userPrefix}${u + 1}`, affinity, maxAffinity: Math.max(...affinity) };
  });

  const itemIndex = new Map(items.map((it) => [it.itemId, it]));
  const userIndex = new Map(users.map((s) => [s.userId, s]));
  return {
    seed,
    categories,
    items,
    users,
    item: (itemId) => itemIndex.get(itemId),
    user: (userId) => userIndex.get(userId),
  };
}

/** The world's items as catalogue metadata (the category as the only genre), for the catalogue and training. */
export function shopperCatalog(world: ShopperWorld): ItemMeta[] {
  return world.items.map((it) => ({ itemId: it.itemId, title: `${it.category} item ${it.itemId}`, genres: [it.category] }));
}

/** The user's true weight for the item's category, relative to their favourite one (0..1); 0 for unknown items. */
export function relativeAffinity(world: ShopperWorld, user: Shopper, itemId: string): number {
  const item = world.item(itemId);
  if (!item || !(user.maxAffinity > 0)) return 0;
  return (user.affinity[item.categoryIndex] ?? 0) / user.maxAffinity;
}

/** p(click) for this user shown this item: `baseClick × (0.2 + affinity / maxAffinity)`, at most 1. */
export function clickProbability(world: ShopperWorld, user: Shopper, itemId: string, behaviour: ShopperBehaviour = DEFAULT_SHOPPER_BEHAVIOUR): number {
  return Math.min(1, behaviour.baseClick * (CLICK_FLOOR + relativeAffinity(world, user, itemId)));
}

/** What the API answered: its recommendationId (absent from an API that issues none) and the items, in order. */
export interface ShownList {
  recommendationId?: string;
  items: readonly { itemId: string }[];
}

export interface RespondOptions {
  random: () => number;
  /** Event time of the impressions (epoch ms); the click follows 2 s later, the cart 10 s, the purchase 20 s. */
  now: number;
  /** Event ids are `<prefix>-<n>`; must be unique per call (e.g. the request number). */
  eventIdPrefix: string;
  behaviour?: ShopperBehaviour;
}

/**
 * A shopper's reaction to one list: one impression per item shown (position = its index), then for each item
 * independently a click, an add_to_cart and a purchase with the probabilities of `ShopperBehaviour`. Items the
 * world does not know get an impression and are never clicked. Deterministic for the random source.
 */
export function respond(world: ShopperWorld, user: Shopper, shown: ShownList, options: RespondOptions): UserEventInput[] {
  const behaviour = options.behaviour ?? DEFAULT_SHOPPER_BEHAVIOUR;
  const { random, now, eventIdPrefix } = options;
  const rid = shown.recommendationId !== undefined ? { recommendationId: shown.recommendationId } : {};
  const out: UserEventInput[] = [];
  const after: UserEventInput[] = [];
  let n = 0;
  const at = (ms: number) => new Date(now + ms).toISOString();
  shown.items.forEach(({ itemId }, position) => {
    const item = world.item(itemId);
    const base = { userId: user.userId, itemId, ...(item ? { category: item.category } : {}), ...rid };
    out.push({ ...base, eventId: `${eventIdPrefix}-${n++}`, type: 'impression', position: Math.min(position, 999), timestamp: at(0) });
    if (!item) return;
    if (!(random() < clickProbability(world, user, itemId, behaviour))) return;
    after.push({ ...base, eventId: `${eventIdPrefix}-${n++}`, type: 'click', timestamp: at(2_000) });
    if (!(random() < behaviour.cartGivenClick * relativeAffinity(world, user, itemId))) return;
    after.push({ ...base, eventId: `${eventIdPrefix}-${n++}`, type: 'add_to_cart', quantity: 1, price: item.price, timestamp: at(10_000) });
    if (!(random() < behaviour.purchaseGivenCart)) return;
    after.push({ ...base, eventId: `${eventIdPrefix}-${n++}`, type: 'purchase', quantity: 1, price: item.price, timestamp: at(20_000) });
  });
  return [...out, ...after];
}

export interface HistoryOptions {
  /** Items each user browsed, on average (each user gets 1 + a geometric-ish share around it). Default 20. */
  itemsPerUser?: number;
  /** Default: the world's seed + 1. */
  seed?: number;
  /** History times fall in [startMs, endMs]. Default the 7 days up to an hour ago. */
  startMs?: number;
  endMs?: number;
  behaviour?: ShopperBehaviour;
  /** Event id prefix. Default 'sh'. */
  eventIdPrefix?: string;
}

/**
 * The past the model learns from, from the same tastes as `respond`: each user browses distinct items drawn
 * ∝ popularity × click propensity (a view each), then clicks, carts and purchases with the same funnel.
 * No impressions, no recommendationIds. Sorted by time; deterministic for the seed.
 */
export function generateHistory(world: ShopperWorld, options: HistoryOptions = {}): UserEventInput[] {
  const behaviour = options.behaviour ?? DEFAULT_SHOPPER_BEHAVIOUR;
  const perUser = options.itemsPerUser ?? 20;
  if (!(perUser >= 1)) throw new Error(`itemsPerUser must be at least 1 (got ${perUser})`);
  const endMs = options.endMs ?? Date.now() - 3_600_000;
  const startMs = options.startMs ?? endMs - 7 * 86_400_000;
  if (!(endMs > startMs)) throw new Error('endMs must be after startMs');
  const rng = createRng(options.seed ?? world.seed + 1);
  const prefix = options.eventIdPrefix ?? 'sh';
  const I = world.items.length;
  const cap = Math.max(1, Math.floor(I / 2));
  const events: UserEventInput[] = [];
  let n = 0;
  const weights = new Float64Array(I);
  for (const user of world.users) {
    let total = 0;
    for (let i = 0; i < I; i++) {
      const item = world.items[i]!;
      total += weights[i] = item.popularity * (BROWSE_FLOOR + (user.affinity[item.categoryIndex] ?? 0) / user.maxAffinity);
    }
    const count = Math.min(cap, Math.max(1, Math.round(perUser * (0.5 + rng()))));
    const seen = new Set<number>();
    for (let attempt = 0; seen.size < count && attempt < count * 30; attempt++) {
      let target = rng() * total;
      let i = 0;
      while (i < I - 1 && (target -= weights[i]!) > 0) i++;
      if (seen.has(i)) continue;
      seen.add(i);
      const item = world.items[i]!;
      const t = Math.floor(startMs + rng() * (endMs - startMs - 120_000));
      const base = { userId: user.userId, itemId: item.itemId, category: item.category };
      const stamp = (ms: number) => new Date(Math.min(endMs, t + ms)).toISOString();
      events.push({ ...base, eventId: `${prefix}-${world.seed}-${n++}`, type: 'view', timestamp: stamp(0) });
      if (!(rng() < clickProbability(world, user, item.itemId, behaviour))) continue;
      events.push({ ...base, eventId: `${prefix}-${world.seed}-${n++}`, type: 'click', timestamp: stamp(20_000) });
      if (!(rng() < behaviour.cartGivenClick * relativeAffinity(world, user, item.itemId))) continue;
      events.push({ ...base, eventId: `${prefix}-${world.seed}-${n++}`, type: 'add_to_cart', quantity: 1, price: item.price, timestamp: stamp(60_000) });
      if (!(rng() < behaviour.purchaseGivenCart)) continue;
      events.push({ ...base, eventId: `${prefix}-${world.seed}-${n++}`, type: 'purchase', quantity: 1, price: item.price, timestamp: stamp(120_000) });
    }
  }
  return events.sort((a, b) => (String(a.timestamp) < String(b.timestamp) ? -1 : String(a.timestamp) > String(b.timestamp) ? 1 : 0));
}

/**
 * Events → the recommender's interactions the way the nightly job maps them (one per (user, item), the
 * strongest signal by EVENT_STRENGTHS, the first contact's time); impressions and unknown types are skipped.
 * For tests and benchmarks that train in memory without the lake.
 */
export function historyInteractions(events: readonly UserEventInput[]): Interaction[] {
  const pairs = new Map<string, Interaction>();
  for (const e of events) {
    const strength = e.type === 'rating' ? e.rating : implicitStrength(e.type);
    if (strength === undefined) continue;
    const userId = String(e.userId);
    const itemId = String(e.itemId);
    const ms = typeof e.timestamp === 'number' ? e.timestamp : Date.parse(String(e.timestamp));
    const key = `${userId}\u0000${itemId}`;
    const pair = pairs.get(key);
    if (!pair) pairs.set(key, { userId, itemId, rating: strength, timestamp: ms });
    else {
      if (strength > pair.rating) pair.rating = strength;
      if (ms < pair.timestamp) pair.timestamp = ms;
    }
  }
  return [...pairs.values()];
}

/** A recommender as the simulation sees it: the items it would show a user. */
export type ShowItems = (userId: string, k: number) => ShownList;

export interface SimulatedTraffic {
  requests: number;
  impressions: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
  /** clicks / impressions (0 without impressions). */
  ctr: number;
}

/**
 * Runs `requests` simulated visits in memory (a user drawn uniformly, the list `show` gives, `respond`) and
 * totals what happened: the offline twin of `runShoppers`, for comparing recommenders on known truth.
 */
export function simulateTraffic(world: ShopperWorld, show: ShowItems, options: { requests: number; k?: number; seed?: number; behaviour?: ShopperBehaviour }): SimulatedTraffic {
  const rng = createRng(options.seed ?? world.seed + 2);
  const k = options.k ?? 10;
  const totals: SimulatedTraffic = { requests: 0, impressions: 0, clicks: 0, addToCarts: 0, purchases: 0, ctr: 0 };
  for (let r = 0; r < options.requests; r++) {
    const user = world.users[Math.floor(rng() * world.users.length)]!;
    const events = respond(world, user, show(user.userId, k), { random: rng, now: 0, eventIdPrefix: `sim-${r}`, behaviour: options.behaviour });
    totals.requests++;
    tally(totals, events);
  }
  totals.ctr = totals.impressions > 0 ? totals.clicks / totals.impressions : 0;
  return totals;
}

function tally(t: { impressions: number; clicks: number; addToCarts: number; purchases: number }, events: readonly UserEventInput[]): void {
  for (const e of events) {
    if (e.type === 'impression') t.impressions++;
    else if (e.type === 'click') t.clicks++;
    else if (e.type === 'add_to_cart') t.addToCarts++;
    else if (e.type === 'purchase') t.purchases++;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Driver: the API over HTTP.

export interface ShopperDriverOptions {
  /** Base URL of the API (e.g. http://127.0.0.1:3000). */
  apiUrl: string;
  world: ShopperWorld;
  /** Visits (GET /recommend + POST /events) per second at most; 0 = as fast as the API answers. */
  ratePerSecond: number;
  /** Stop after this many visits (default: until `signal` aborts). */
  visits?: number;
  /** Items asked for per visit. Default 10. */
  k?: number;
  /** Visits in flight at once. Default 1. */
  concurrency?: number;
  /** Default: the world's seed + 3. */
  seed?: number;
  behaviour?: ShopperBehaviour;
  /** Only these users visit (default: every user of the world). */
  userIds?: readonly string[];
  signal?: AbortSignal;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** "Now" for event times (default Date.now). */
  now?: () => number;
  /** Called after every visit. */
  onVisit?: (stats: ShopperStats) => void;
}

export interface VariantTally {
  visits: number;
  impressions: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
}

export interface ShopperStats extends VariantTally {
  /** Visits whose GET /recommend or POST /events failed (the first error is kept in `lastError`). */
  failures: number;
  lastError?: string;
  /** What the shoppers did, by the variant the API said answered (`variant` of the answer, else 'control'). */
  byVariant: Record<string, VariantTally>;
}

const emptyTally = (): VariantTally => ({ visits: 0, impressions: 0, clicks: 0, addToCarts: 0, purchases: 0 });

/**
 * Simulated shoppers against a running API: each visit draws a user, asks `GET /recommend/{userId}?k=`, turns
 * the answer into events with `respond` (impressions carrying the answer's recommendationId) and posts them
 * (`POST /events`). Resolves with the totals when `visits` are done or `signal` aborts; a failed visit is
 * counted and the next goes on.
 */
export async function runShoppers(options: ShopperDriverOptions): Promise<ShopperStats> {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const k = options.k ?? 10;
  const seed = options.seed ?? options.world.seed + 3;
  const pool = (options.userIds ?? options.world.users.map((u) => u.userId)).map((id) => options.world.user(id)).filter((u): u is Shopper => u !== undefined);
  if (pool.length === 0) throw new Error('no simulated shopper to run: the user list names nobody in the world');
  const stats: ShopperStats = { ...emptyTally(), failures: 0, byVariant: {} };
  const base = options.apiUrl.replace(/\/+$/, '');
  const started = performance.now();
  let next = 0;
  const limit = options.visits ?? Infinity;
  const runId = now().toString(36);

  const visit = async (n: number) => {
    // Each visit's draws come from its own stream: the same visits whatever the concurrency or timing.
    const random = createRng(seed * 7919 + n);
    const user = pool[Math.floor(random() * pool.length)]!;
    try {
      const res = await doFetch(`${base}/recommend/${encodeURIComponent(user.userId)}?k=${k}`, { headers: { Accept: 'application/json' }, signal: options.signal });
      const body = (await res.json().catch(() => undefined)) as { recommendationId?: unknown; variant?: unknown; items?: unknown } | undefined;
      if (!res.ok || !body || !Array.isArray(body.items)) throw new Error(`GET /recommend/${user.userId}: ${res.status}`);
      const items = (body.items as unknown[]).flatMap((it) => (it && typeof (it as { itemId?: unknown }).itemId === 'string' ? [{ itemId: (it as { itemId: string }).itemId }] : []));
      const shown: ShownList = { items, ...(typeof body.recommendationId === 'string' ? { recommendationId: body.recommendationId } : {}) };
      const events = respond(options.world, user, shown, { random, now: now(), eventIdPrefix: `shop-${runId}-${n}`, behaviour: options.behaviour });
      if (events.length > 0) {
        const post = await doFetch(`${base}/events`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify({ events }), signal: options.signal });
        if (!post.ok) throw new Error(`POST /events: ${post.status} ${(await post.text().catch(() => '')).slice(0, 200)}`);
      }
      const variant = typeof body.variant === 'string' ? body.variant : 'control';
      const tallyOf = (stats.byVariant[variant] ??= emptyTally());
      for (const t of [stats, tallyOf]) {
        t.visits++;
        tally(t, events);
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      stats.failures++;
      stats.lastError = err instanceof Error ? err.message : String(err);
    }
    options.onVisit?.(stats);
  };

  const worker = async () => {
    while (next < limit && !options.signal?.aborted) {
      const n = next++;
      if (options.ratePerSecond > 0) {
        const due = (n / options.ratePerSecond) * 1000 - (performance.now() - started);
        if (due > 0) await sleep(due, options.signal);
        if (options.signal?.aborted) break;
      }
      await visit(n);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, worker));
  return stats;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Marsaglia–Tsang gamma(shape, 1) sample; shape < 1 via the boost gamma(a) = gamma(a + 1) · U^(1/a). */
function gamma(shape: number, rng: () => number): number {
  if (shape < 1) return gamma(shape + 1, rng) * Math.pow(1 - rng(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}
