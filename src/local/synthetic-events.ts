import type { UserEventInput } from '../domain/events';
import { seededRandom } from '../domain/event-generator';
import { generateSyntheticDataset } from '../recommender/index';

export interface SyntheticEventOptions {
  /** Approximate number of events (the funnel makes the exact count vary by a few %). */
  events: number;
  users: number;
  items: number;
  seed?: number;
  /** Event times fall in [startMs, endMs]; default the last 7 days up to an hour ago. */
  startMs?: number;
  endMs?: number;
  /** Share of events sent twice with the same eventId (producer retries). Default 0. */
  duplicateShare?: number;
}

/** Events per taste interaction, on average: one view, then clicks, carts, purchases and ratings. */
const EVENTS_PER_INTERACTION = 2.05;

/**
 * Shop events with real taste structure, for tests and benchmarks of the nightly job: the recommender's
 * synthetic dataset (users with 2–3 taste communities, Zipf popularity, ratings) turned into a funnel
 * per (user, item) — a view, then a click, add to cart, purchase or rating more often the more the user
 * liked it. (`generateEvents` draws items independently of users, so no model can beat popularity on it.)
 */
export function* generateTasteEvents(options: SyntheticEventOptions): Generator<UserEventInput> {
  const endMs = options.endMs ?? Date.now() - 3_600_000;
  const startMs = options.startMs ?? endMs - 7 * 86_400_000;
  const seed = options.seed ?? 7;
  const pairs = Math.max(1, Math.round(options.events / EVENTS_PER_INTERACTION));
  const { interactions, items } = generateSyntheticDataset({
    users: options.users,
    items: options.items,
    events: Math.min(pairs, options.users * Math.max(1, Math.floor(options.items / 2))),
    seed,
    startMs,
    endMs,
  });
  const category = new Map(items.map((i) => [i.itemId, i.genres[0] ?? 'none']));
  const random = seededRandom(seed ^ 0x5eed);
  const duplicateShare = options.duplicateShare ?? 0;
  let n = 0;
  const stamp = (ms: number) => new Date(Math.min(ms, endMs)).toISOString();
  for (const it of [...interactions].sort((a, b) => a.timestamp - b.timestamp)) {
    const liking = (it.rating - 0.5) / 4.5;
    const base = { userId: it.userId, itemId: it.itemId, category: category.get(it.itemId) };
    const funnel: UserEventInput[] = [{ ...base, eventId: `te-${seed}-${n++}`, type: 'view', timestamp: stamp(it.timestamp) }];
    if (random() < 0.3 + 0.4 * liking) funnel.push({ ...base, eventId: `te-${seed}-${n++}`, type: 'click', timestamp: stamp(it.timestamp + 20_000) });
    if (random() < 0.1 + 0.2 * liking) funnel.push({ ...base, eventId: `te-${seed}-${n++}`, type: 'add_to_cart', quantity: 1, price: 10, timestamp: stamp(it.timestamp + 60_000) });
    if (random() < 0.05 + 0.1 * liking) funnel.push({ ...base, eventId: `te-${seed}-${n++}`, type: 'purchase', quantity: 1, price: 10, timestamp: stamp(it.timestamp + 120_000) });
    if (random() < 0.15) funnel.push({ ...base, eventId: `te-${seed}-${n++}`, type: 'rating', rating: it.rating, timestamp: stamp(it.timestamp + 180_000) });
    for (const e of funnel) {
      yield e;
      if (duplicateShare > 0 && random() < duplicateShare) yield e;
    }
  }
}
