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
  return new ContentIndex(universe, candidates).explore(profile, count);
}

/**
 * An inverted index of the candidates' content tokens (token → the candidates that carry it), so an exploration
 * visits only the candidates that share a token with the profile instead of scoring every candidate: the work per
 * request is the length of the profile tokens' posting lists, not the catalogue. Build it once per candidate set
 * (the serving layer caches it per universe). Scores are exactly those of the definition above: the sum of the
 * profile weights of the item's tokens over √(its token count).
 */
export class ContentIndex {
  /** Token → its id; token id → the positions of the candidates that carry it. */
  private readonly tokenIds = new Map<string, number>();
  private readonly postings: Int32Array[] = [];
  /** Universe index of each indexed candidate, by position. */
  private readonly indices: Int32Array;
  /** The token ids of candidate p, in the item's token order: tokens[offsets[p] .. offsets[p + 1]). */
  private readonly offsets: Int32Array;
  private readonly tokens: Int32Array;
  /** Scratch, reset after each call: the profile's weight by token id, and the candidates visited. */
  private readonly weights: Float64Array;
  private readonly touched: Int32Array;
  private readonly marked: Uint8Array;

  constructor(universe: ItemUniverse, candidates: readonly number[]) {
    const lists: number[][] = [];
    const indices: number[] = [];
    const offsets: number[] = [0];
    const flat: number[] = [];
    const seen = new Set<number>();
    for (const index of candidates) {
      if (!Number.isInteger(index) || index < 0 || index >= universe.size || seen.has(index)) continue;
      seen.add(index);
      const item = universe.view(index);
      if (item.withdrawn) continue;
      const tokens = contentTokens(item);
      if (tokens.length === 0) continue;
      const position = indices.length;
      indices.push(index);
      for (const t of tokens) {
        let id = this.tokenIds.get(t);
        if (id === undefined) {
          id = lists.length;
          this.tokenIds.set(t, id);
          lists.push([]);
        }
        lists[id]!.push(position);
        flat.push(id);
      }
      offsets.push(flat.length);
    }
    for (const list of lists) this.postings.push(Int32Array.from(list));
    this.indices = Int32Array.from(indices);
    this.offsets = Int32Array.from(offsets);
    this.tokens = Int32Array.from(flat);
    this.weights = new Float64Array(lists.length);
    this.touched = new Int32Array(indices.length);
    this.marked = new Uint8Array(indices.length);
  }

  /** How many candidates the index holds (withdrawn, token-less and repeated ones are left out). */
  get size(): number {
    return this.indices.length;
  }

  /**
   * The `count` indexed candidates most similar to the profile that `accept` lets through (e.g. still eligible,
   * not already shown): scores > 0, best first, ties by universe index.
   */
  explore(profile: ReadonlyMap<string, number>, count: number, accept: (index: number) => boolean = () => true): { index: number; score: number }[] {
    const want = Math.floor(count);
    if (!(want > 0) || profile.size === 0) return [];
    const { weights, touched, marked, offsets, tokens } = this;
    const used: number[] = [];
    let touchedCount = 0;
    for (const [token, weight] of profile) {
      const id = this.tokenIds.get(token);
      if (id === undefined) continue;
      weights[id] = weight;
      used.push(id);
      const list = this.postings[id]!;
      for (let i = 0; i < list.length; i++) {
        const p = list[i]!;
        if (marked[p] === 0) {
          marked[p] = 1;
          touched[touchedCount++] = p;
        }
      }
    }
    // Each visited candidate's score, summed in its own token order (so equal items score equally, whatever the
    // profile's order); the best `want` kept sorted (want is a few slots; most fail the first comparison).
    const best: { index: number; score: number }[] = [];
    for (let i = 0; i < touchedCount; i++) {
      const p = touched[i]!;
      marked[p] = 0;
      let dot = 0;
      for (let t = offsets[p]!; t < offsets[p + 1]!; t++) dot += weights[tokens[t]!]!;
      const score = dot / Math.sqrt(offsets[p + 1]! - offsets[p]!);
      if (!(score > 0)) continue;
      const index = this.indices[p]!;
      if (best.length === want) {
        const last = best[want - 1]!;
        if (score < last.score || (score === last.score && index > last.index)) continue;
      }
      if (!accept(index)) continue;
      let at = best.length;
      while (at > 0 && (best[at - 1]!.score < score || (best[at - 1]!.score === score && best[at - 1]!.index > index))) at--;
      best.splice(at, 0, { index, score });
      if (best.length > want) best.pop();
    }
    for (const id of used) weights[id] = 0;
    return best;
  }
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
