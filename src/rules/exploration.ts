import type { ItemUniverse, ItemView } from './eligibility';
import type { ExplorationSettings } from './rules-definition';

/**
 * New-item exploration: items in the catalogue with few or no interactions get a share of the slots for users
 * whose history is similar in content. Content is a bag of tokens per item — each category `c:<name>`, each string
 * attribute `a:<name>=<value>`, each true boolean attribute `a:<name>` (numbers are not tokens). The user's profile
 * is the sum of their history items' token vectors, unit-normalised; an item's vector is its tokens with equal
 * weight, unit-normalised; the score is the cosine of the two. Pure.
 */

/** The content tokens of one item (distinct). */
export function contentTokens(item: ItemView): string[] {
  const tokens = new Set<string>();
  for (const c of item.categories) tokens.add(`c:${c}`);
  for (const name of Object.keys(item.attributes)) {
    const v = item.attributes[name];
    if (typeof v === 'string') tokens.add(`a:${name}=${v}`);
    else if (v === true) tokens.add(`a:${name}`);
  }
  return [...tokens];
}

/** The unit-normalised content profile of the user's history items (unknown ids are skipped). */
export function contentProfile(historyItemIds: readonly string[], universe: ItemUniverse): Map<string, number> {
  const weights = new Map<string, number>();
  for (const id of historyItemIds) {
    const index = universe.indexOf(id);
    if (index === undefined) continue;
    for (const t of contentTokens(universe.view(index))) weights.set(t, (weights.get(t) ?? 0) + 1);
  }
  let norm = 0;
  for (const w of weights.values()) norm += w * w;
  if (norm === 0) return new Map();
  const scale = 1 / Math.sqrt(norm);
  for (const [t, w] of weights) weights.set(t, w * scale);
  return weights;
}

/**
 * The `count` candidates (universe indices) most similar to the profile: cosine similarity, only scores > 0, best
 * first, ties by index. Withdrawn items and repeated indices are skipped.
 */
export function exploreNewItems(profile: ReadonlyMap<string, number>, candidates: readonly number[], universe: ItemUniverse, count: number): { index: number; score: number }[] {
  if (!(count > 0) || profile.size === 0) return [];
  const scored: { index: number; score: number }[] = [];
  const seen = new Set<number>();
  for (const index of candidates) {
    if (!Number.isInteger(index) || index < 0 || index >= universe.size || seen.has(index)) continue;
    seen.add(index);
    const item = universe.view(index);
    if (item.withdrawn) continue;
    const tokens = contentTokens(item);
    if (tokens.length === 0) continue;
    let dot = 0;
    for (const t of tokens) dot += profile.get(t) ?? 0;
    const score = dot / Math.sqrt(tokens.length);
    if (score > 0) scored.push({ index, score });
  }
  scored.sort((a, b) => b.score - a.score || a.index - b.index);
  return scored.slice(0, Math.floor(count));
}

/** Exploration slots among k: round(k × share / 100), at most k (0 when share is 0). */
export function explorationSlots(k: number, share: number): number {
  const kk = Number.isFinite(k) ? Math.floor(k) : 0;
  if (kk <= 0 || !(share > 0)) return 0;
  return Math.min(kk, Math.round((kk * Math.min(share, 100)) / 100));
}

/**
 * The exploration candidates: eligible items (mask = 1) with at most `maxInteractions` interactions and, when
 * `newWithinDays` is set, created within that many days of now (an item without createdAt is then not new).
 */
export function newItemCandidates(universe: ItemUniverse, eligible: Uint8Array, interactionsOf: (itemId: string) => number, settings: Pick<ExplorationSettings, 'maxInteractions' | 'newWithinDays'>, nowMs: number): number[] {
  const since = settings.newWithinDays === undefined ? undefined : nowMs - settings.newWithinDays * 86_400_000;
  const out: number[] = [];
  const n = Math.min(universe.size, eligible.length);
  for (let i = 0; i < n; i++) {
    if (eligible[i] !== 1) continue;
    const item = universe.view(i);
    if (since !== undefined && !(typeof item.createdAtMs === 'number' && item.createdAtMs >= since)) continue;
    if (interactionsOf(item.itemId) <= settings.maxInteractions) out.push(i);
  }
  return out;
}
