import type { EventType } from '../domain/events';
import type { RecentInteraction } from '../domain/features';
import type { Interaction } from '../recommender/index';

/**
 * How strongly a fresh implicit event counts as a preference, on the rating scale (0.5-5) the model was
 * trained on: a purchase is as good as a 5-star rating, a view a weak 2. A rating counts as its own value.
 * The model's `minRating` decides which of these enter the history; every fresh item counts as seen.
 */
export const FRESH_EVENT_WEIGHTS: Readonly<Record<Exclude<EventType, 'rating'>, number>> = {
  purchase: 5,
  add_to_cart: 4,
  click: 3,
  view: 2,
};

/**
 * The user's latest events (from the speed layer, newest first) as model interactions, one per item:
 * the strongest signal wins, so a view after a purchase does not weaken it; a newer rating overrides older
 * ratings of the same item.
 */
export function freshInteractions(userId: string, recent: readonly RecentInteraction[]): Interaction[] {
  const byItem = new Map<string, Interaction & { rated: boolean }>();
  for (const r of recent) {
    const timestamp = Date.parse(r.timestamp);
    const rated = r.type === 'rating' && r.rating !== undefined;
    // Own keys only: a stored type that is not one of ours (e.g. `constructor`) is skipped, never an Object member.
    const weight = Object.hasOwn(FRESH_EVENT_WEIGHTS, r.type) ? FRESH_EVENT_WEIGHTS[r.type as Exclude<EventType, 'rating'>] : undefined;
    const rating = rated ? r.rating! : weight;
    if (typeof rating !== 'number' || !Number.isFinite(rating)) continue;
    const seen = byItem.get(r.itemId);
    if (!seen) {
      byItem.set(r.itemId, { userId, itemId: r.itemId, rating, timestamp, rated });
      continue;
    }
    // Newest first: an explicit rating already recorded is the user's latest word on the item.
    if (seen.rated) continue;
    if (rated || rating > seen.rating) byItem.set(r.itemId, { ...seen, rating, rated });
  }
  return [...byItem.values()].map(({ rated: _rated, ...interaction }) => interaction);
}
