import type { UserEventInput } from '../domain/events';
import type { Interaction, ItemMeta } from '../recommender/index';

/** The users and items of a replayed ratings file, and a way to move generated events onto them. */
export interface ReplayUniverse {
  /** The file's users, most active first. */
  users: string[];
  /** The file's items, most rated first. */
  items: string[];
  /**
   * The generator's `u<k>`/`i<k>` ids (k = its Zipf rank, from 1) become the file's k-th most active user
   * and k-th most popular item, so live events keep the generator's skew and land on the file's own ids;
   * the category is the item's first genre from the metadata, or none.
   */
  remap(event: UserEventInput): UserEventInput;
}

export function replayUniverse(interactions: readonly Interaction[], metadata: readonly ItemMeta[] = []): ReplayUniverse {
  if (interactions.length === 0) throw new Error('the ratings file has no interactions to replay');
  const users = byCount(interactions.map((i) => i.userId));
  const items = byCount(interactions.map((i) => i.itemId));
  const genres = new Map<string, string>();
  for (const item of metadata) if (item.genres[0]) genres.set(item.itemId, item.genres[0]);
  const rank = (id: string | number) => Math.max(0, (parseInt(String(id).replace(/^\D+/, ''), 10) || 1) - 1);
  return {
    users,
    items,
    remap(event) {
      const itemId = items[rank(event.itemId) % items.length]!;
      const { category: _generated, ...rest } = event;
      const category = genres.get(itemId);
      return { ...rest, userId: users[rank(event.userId) % users.length]!, itemId, ...(category ? { category } : {}) } as UserEventInput;
    },
  };
}

function byCount(ids: readonly string[]): string[] {
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([id]) => id);
}
