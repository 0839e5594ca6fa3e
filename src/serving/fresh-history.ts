import { implicitStrength } from '../domain/event-strengths';
import { isInteractionType } from '../domain/events';
import type { RecentInteraction } from '../domain/features';
import type { Interaction } from '../recommender/index';

/**
 * The user's latest events (from the speed layer, newest first) as model interactions, one per item, each
 * implicit event as strong as in training (EVENT_STRENGTHS). The model's `minRating` decides which of these
 * enter the history; every fresh item counts as seen. Per item the strongest signal wins, so a view after a
 * purchase does not weaken it; a newer rating overrides older ratings of the same item.
 */
export function freshInteractions(userId: string, recent: readonly RecentInteraction[]): Interaction[] {
  const byItem = new Map<string, Interaction & { rated: boolean }>();
  for (const r of recent) {
    // Only interactions: an impression (the item was shown) never enters the history, not even as seen.
    if (!isInteractionType(r.type)) continue;
    const timestamp = Date.parse(r.timestamp);
    const rated = r.type === 'rating' && r.rating !== undefined;
    // The training scale (src/domain/event-strengths.ts); a stored type that is not one of ours is skipped.
    const weight = implicitStrength(r.type);
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
