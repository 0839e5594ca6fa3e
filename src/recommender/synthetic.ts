import { createRng } from './rng';
import type { Interaction, ItemMeta } from './types';

export interface SyntheticOptions {
  users: number;
  items: number;
  /** Exact number of interactions; each (user, item) pair occurs at most once. */
  events: number;
  /** Default 7. */
  seed?: number;
  /** Number of genres. Default 18. */
  genres?: number;
  /** Time range of the events (epoch ms). Default 2020-01-01 .. 2024-01-01. */
  startMs?: number;
  endMs?: number;
}

/** Share of a user's events drawn from their taste communities; the rest follow global popularity. */
const TASTE_SHARE = 0.8;
/** Zipf exponent of item popularity. */
const ZIPF_EXPONENT = 0.9;

/**
 * Generates interactions with the structure real data has, so a good model measurably beats popularity:
 * items belong to latent communities (each tied to a primary genre, plus sometimes a second genre), item
 * popularity is Zipf-distributed, each user likes 2–3 communities, user activity is log-normal, ratings
 * are higher inside the user's tastes with item quality and noise, and each user is active in a window
 * of time. Deterministic for a given seed. O(events · log items) time.
 *
 * @example
 * const { interactions, items } = generateSyntheticDataset({ users: 500, items: 300, events: 20_000, seed: 1 });
 */
export function generateSyntheticDataset(options: SyntheticOptions): { interactions: Interaction[]; items: ItemMeta[] } {
  const { users: U, items: I, events: E } = options;
  const G = options.genres ?? 18;
  const startMs = options.startMs ?? Date.UTC(2020, 0, 1);
  const endMs = options.endMs ?? Date.UTC(2024, 0, 1);
  for (const [name, v] of [['users', U], ['items', I], ['genres', G]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer (got ${v})`);
  }
  if (!Number.isInteger(E) || E < 0) throw new Error(`events must be a non-negative integer (got ${E})`);
  const maxPerUser = Math.max(1, Math.floor(I / 2));
  if (E > U * maxPerUser) throw new Error(`${E} events cannot fit: at most ${U * maxPerUser} for ${U} users × ${I} items (half the catalogue per user)`);
  if (!(endMs > startMs)) throw new Error('endMs must be after startMs');

  const rng = createRng(options.seed ?? 7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const genreNames = Array.from({ length: G }, (_, g) => `genre${String(g + 1).padStart(2, '0')}`);

  // Items: community, genres, Zipf popularity over a random rank order, latent quality.
  const C = Math.max(G, Math.min(Math.round(Math.sqrt(I) / 2), 4 * G));
  const community = new Int32Array(I);
  const quality = new Float64Array(I);
  const items: ItemMeta[] = [];
  const itemIds: string[] = [];
  for (let i = 0; i < I; i++) {
    community[i] = Math.floor(rng() * C);
    quality[i] = 0.5 * normal();
    const primary = community[i] % G;
    const genres = [genreNames[primary]];
    if (rng() < 0.4) {
      const second = Math.floor(rng() * G);
      if (second !== primary) genres.push(genreNames[second]);
    }
    itemIds.push(`i${i + 1}`);
    items.push({ itemId: itemIds[i], title: `Item ${i + 1}`, genres });
  }
  const rank = Int32Array.from({ length: I }, (_, i) => i);
  for (let i = I - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = rank[i];
    rank[i] = rank[j];
    rank[j] = t;
  }
  const popularity = new Float64Array(I);
  for (let r = 0; r < I; r++) popularity[rank[r]] = 1 / Math.pow(r + 1, ZIPF_EXPONENT);
  const globalSampler = cumulative(Int32Array.from({ length: I }, (_, i) => i), popularity);
  const members: number[][] = Array.from({ length: C }, () => []);
  for (let i = 0; i < I; i++) members[community[i]].push(i);
  const communitySamplers = members.map((m) => (m.length ? cumulative(Int32Array.from(m), popularity) : undefined));

  // User activity: log-normal shares of the events, at least one each while events allow, capped.
  const counts = allocate(E, U, maxPerUser, rng, normal);
  const interactions: Interaction[] = new Array(E);
  let e = 0;
  const seen = new Set<number>();
  const tastes = new Int32Array(3);
  const span = endMs - startMs;
  for (let u = 0; u < U; u++) {
    const userId = `u${u + 1}`;
    const n = counts[u];
    if (n === 0) continue;
    const tasteCount = 2 + (rng() < 0.5 ? 1 : 0);
    for (let t = 0; t < tasteCount; t++) tastes[t] = Math.floor(rng() * C);
    const windowStart = startMs + rng() * span * 0.8;
    const windowLength = (endMs - windowStart) * (0.1 + 0.9 * rng());
    const times = Array.from({ length: n }, () => Math.floor(windowStart + rng() * windowLength)).sort((a, b) => a - b);
    seen.clear();
    for (let c = 0; c < n; c++) {
      let item = -1;
      for (let attempt = 0; attempt < 20 && item < 0; attempt++) {
        let candidate: number;
        const sampler = rng() < TASTE_SHARE ? communitySamplers[tastes[Math.floor(rng() * tasteCount)]] : undefined;
        candidate = sampler ? draw(sampler, rng()) : draw(globalSampler, rng());
        if (!seen.has(candidate)) item = candidate;
      }
      while (item < 0) {
        const candidate = Math.floor(rng() * I);
        if (!seen.has(candidate)) item = candidate;
      }
      seen.add(item);
      let liked = false;
      for (let t = 0; t < tasteCount; t++) if (tastes[t] === community[item]) liked = true;
      const raw = 2.6 + (liked ? 1.4 : 0) + quality[item] + 0.8 * normal();
      const rating = Math.min(5, Math.max(1, Math.round(raw)));
      interactions[e++] = { userId, itemId: itemIds[item], rating, timestamp: times[c] };
    }
  }
  return { interactions, items };
}

interface Sampler {
  ids: Int32Array;
  cum: Float64Array;
}

function cumulative(ids: Int32Array, weights: Float64Array): Sampler {
  const cum = new Float64Array(ids.length);
  let total = 0;
  for (let k = 0; k < ids.length; k++) cum[k] = total += weights[ids[k]];
  return { ids, cum };
}

function draw(s: Sampler, r: number): number {
  const target = r * s.cum[s.cum.length - 1];
  let lo = 0;
  let hi = s.cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.cum[mid] > target) hi = mid;
    else lo = mid + 1;
  }
  return s.ids[lo];
}

/** Splits total into per-user counts with log-normal shares, each within [min(1, …), cap], summing exactly. */
function allocate(total: number, users: number, cap: number, rng: () => number, normal: () => number): Int32Array {
  const counts = new Int32Array(users);
  if (total === 0) return counts;
  const base = total >= users ? 1 : 0;
  const weights = new Float64Array(users);
  let sum = 0;
  for (let u = 0; u < users; u++) sum += weights[u] = Math.exp(1.0 * normal());
  let assigned = 0;
  const spread = total - base * users;
  for (let u = 0; u < users; u++) {
    counts[u] = Math.min(cap, base + Math.floor((spread * weights[u]) / sum));
    assigned += counts[u];
  }
  // Hand out the remainder one at a time, to random users with room.
  let guard = 0;
  while (assigned < total) {
    const u = Math.floor(rng() * users);
    if (counts[u] < cap) {
      counts[u]++;
      assigned++;
    } else if (++guard > 100 * users) {
      for (let v = 0; v < users && assigned < total; v++) {
        const add = Math.min(cap - counts[v], total - assigned);
        counts[v] += add;
        assigned += add;
      }
    }
  }
  return counts;
}
