import type { Interaction, Recommendation, RecommendOptions, Recommender } from './types';

/**
 * The baseline every model must beat: items ranked by how many users interacted with them, minus the
 * ones the user has already seen.
 */
export function popularityModel(train: Interaction[]): Recommender {
  const counts = new Map<string, number>();
  const seenByUser = new Map<string, Set<string>>();
  for (const e of train) {
    let seen = seenByUser.get(e.userId);
    if (!seen) seenByUser.set(e.userId, (seen = new Set()));
    if (seen.has(e.itemId)) continue;
    seen.add(e.itemId);
    counts.set(e.itemId, (counts.get(e.itemId) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const top = ranked.length > 0 ? ranked[0][1] : 1;
  return {
    recommend(userId: string, k: number, options: RecommendOptions = {}): Recommendation {
      const skip = new Set<string>(options.exclude ?? []);
      if (options.excludeSeen ?? true) {
        for (const id of seenByUser.get(userId) ?? []) skip.add(id);
        for (const e of options.history ?? []) skip.add(e.itemId);
      }
      const items = [];
      for (const [itemId, count] of ranked) {
        if (items.length >= k) break;
        if (!skip.has(itemId)) items.push({ itemId, score: count / top });
      }
      return { strategy: 'popular', items };
    },
  };
}
