import { z } from 'zod';
import { EVENT_STRENGTHS, implicitStrength } from '../domain/event-strengths';
import type { Interaction, ItemMeta } from '../recommender/index';
import type { SilverInteraction } from './silver';
import { formatIssues } from '../domain/zod-issues';
import { isInteractionType } from '../domain/events';

export const INTERACTION_MAPPING_DOC = `one interaction per (user, item): rating = strongest signal (${Object.entries(EVENT_STRENGTHS)
  .map(([type, strength]) => `${type} ${strength}`)
  .join(', ')}, rating = its value); timestamp = first contact`;

/**
 * The rows that are interactions: what training, evaluation and the catalogue of seen items read. Impressions
 * (an item shown, not acted on) stay in Silver for attribution and are left out here, so a history with or
 * without them trains the same model.
 */
export function interactionRows<T extends Pick<SilverInteraction, 'event_type'>>(rows: readonly T[]): T[] {
  return rows.filter((r) => isInteractionType(r.event_type));
}

/**
 * Events → the recommender's interactions: one per (user, item) pair, whose rating is the strongest signal
 * the user ever gave that item and whose timestamp is the first contact, so a temporal hold-out asks the
 * model for items the user discovered later. Output order is deterministic (user, then item). Impressions
 * (and any type that is not an interaction) are left out: being shown an item says nothing of wanting it.
 */
export function toInteractions(rows: readonly SilverInteraction[]): Interaction[] {
  const pairs = new Map<string, Interaction>();
  for (const row of rows) {
    const strength = row.event_type === 'rating' ? (row.rating ?? 0) : implicitStrength(row.event_type);
    if (strength === undefined) continue;
    const key = `${row.user_id}\u0000${row.item_id}`;
    const pair = pairs.get(key);
    if (!pair) pairs.set(key, { userId: row.user_id, itemId: row.item_id, rating: strength, timestamp: row.event_time_ms });
    else {
      if (strength > pair.rating) pair.rating = strength;
      if (row.event_time_ms < pair.timestamp) pair.timestamp = row.event_time_ms;
    }
  }
  return [...pairs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** Item categories seen in events become the content signal's genres (latest category wins). */
export function itemCatalogue(rows: readonly SilverInteraction[]): ItemMeta[] {
  const latest = new Map<string, { at: number; category: string }>();
  for (const row of rows) {
    if (row.category === null || !isInteractionType(row.event_type)) continue;
    const seen = latest.get(row.item_id);
    if (!seen || row.event_time_ms >= seen.at) latest.set(row.item_id, { at: row.event_time_ms, category: row.category });
  }
  return [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([itemId, { category }]) => ({ itemId, genres: [category] }));
}

/** One entry of a lake catalogue (`catalog/items.json`, `catalog/snapshots/<runId>.json`). */
export const CatalogueEntrySchema = z.object({
  itemId: z.string().min(1),
  title: z.string().max(512).optional(),
  genres: z.array(z.string()).default([]),
  /** A withdrawn item: recorded in the snapshot, joined to nothing. */
  withdrawn: z.boolean().optional(),
});
export type CatalogueEntry = z.output<typeof CatalogueEntrySchema>;
export const CatalogueSchema = z.array(CatalogueEntrySchema);

/**
 * Joins the run's item catalogue (the snapshot SnapshotCatalog wrote, or `catalog/items.json`: titles and genres)
 * to the items seen in events. Every item the events mention gets its catalogue entry, whether or not its events
 * carried a category (a replayed ratings file has none); catalogue genres win when present, otherwise the events'
 * categories stay. Items the events never mention are left out: the model only ranks items it has seen.
 * Withdrawn entries give nothing: such an item keeps only what its events say (serving never recommends it).
 */
export function withCatalogue(fromEvents: readonly ItemMeta[], catalogueJson: unknown, seenItemIds: Iterable<string> = [], source = 'catalog/items.json'): ItemMeta[] {
  if (catalogueJson === undefined) return [...fromEvents];
  const parsed = CatalogueSchema.safeParse(catalogueJson);
  if (!parsed.success) throw new Error(`${source} is invalid: ${formatIssues(parsed.error.issues, { limit: 3 })}`);
  const catalogue = new Map(parsed.data.filter((i) => i.withdrawn !== true).map((i) => [i.itemId, i]));
  const eventMeta = new Map(fromEvents.map((i) => [i.itemId, i]));
  const ids = [...new Set([...eventMeta.keys(), ...seenItemIds])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: ItemMeta[] = [];
  for (const itemId of ids) {
    const c = catalogue.get(itemId);
    const e = eventMeta.get(itemId);
    if (c) out.push({ itemId, ...(c.title ? { title: c.title } : {}), genres: c.genres.length ? c.genres : (e?.genres ?? []) });
    else if (e) out.push(e);
  }
  return out;
}
