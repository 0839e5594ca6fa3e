import type { InteractionType, UserEventInput } from './events';
import { createRng } from '../recommender/rng';

/** Seeded PRNG (mulberry32, shared with the recommender): the same seed gives the same events everywhere. */
export const seededRandom = createRng;

/** Samples ranks 0..n-1 with probability ∝ 1/(rank+1)^s, as real popularity curves fall off. */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) cdf[i] = total += 1 / Math.pow(i + 1, s);
  return () => {
    const x = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

export interface EventStreamOptions {
  users: number;
  items: number;
  events: number;
  seed?: number;
  /** First event time (epoch ms); events are spread evenly up to `endMs`. */
  startMs?: number;
  endMs?: number;
  /** Share of each event type; defaults to a shop-like funnel. */
  mix?: Partial<Record<InteractionType, number>>;
  categories?: number;
}

const DEFAULT_MIX: Record<InteractionType, number> = { view: 0.55, click: 0.2, add_to_cart: 0.08, purchase: 0.04, rating: 0.13 };

/**
 * Generates valid events with a realistic key distribution: Zipf-distributed users and items (a few
 * very active users and very popular items), a view→purchase funnel, prices and ratings.
 */
export function* generateEvents(options: EventStreamOptions): Generator<UserEventInput> {
  const random = seededRandom(options.seed ?? 42);
  const pickUser = zipfSampler(options.users, 0.8, random);
  const pickItem = zipfSampler(options.items, 1.0, random);
  const mix = { ...DEFAULT_MIX, ...options.mix };
  const types = Object.keys(mix) as InteractionType[];
  const weights = types.map((t) => mix[t]);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const endMs = options.endMs ?? Date.now() - 60_000;
  const startMs = options.startMs ?? endMs - 7 * 24 * 3600 * 1000;
  const categories = options.categories ?? 12;
  for (let i = 0; i < options.events; i++) {
    let r = random() * totalWeight;
    let type: InteractionType = types[types.length - 1]!;
    for (let t = 0; t < types.length; t++) {
      r -= weights[t]!;
      if (r <= 0) {
        type = types[t]!;
        break;
      }
    }
    const item = pickItem();
    const base = {
      eventId: `evt-${options.seed ?? 42}-${i}`,
      userId: `u${pickUser() + 1}`,
      itemId: `i${item + 1}`,
      timestamp: new Date(Math.floor(startMs + ((endMs - startMs) * i) / Math.max(1, options.events))).toISOString(),
      category: `c${(item % categories) + 1}`,
    };
    const price = Math.round((5 + ((item * 7919) % 200)) * 100) / 100;
    switch (type) {
      case 'rating':
        yield { ...base, type, rating: 0.5 * Math.ceil(random() * 10) };
        break;
      case 'purchase':
        yield { ...base, type, price, quantity: 1 + Math.floor(random() * 3) };
        break;
      case 'add_to_cart':
        yield { ...base, type, price, quantity: 1 };
        break;
      default:
        yield { ...base, type };
    }
  }
}
