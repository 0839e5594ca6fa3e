import type { ModelMetadata } from './metadata';
import { TopK } from './top-k';
import type { ItemMeta, Recommendation, RecommendOptions, ScoredItem } from './types';

/**
 * Everything a trained model consists of, as flat typed arrays (this is exactly what the artifact
 * stores). Item and user ids are indexed 0..n-1; lists are in CSR form (ptr[i]..ptr[i+1]).
 */
export interface ModelState {
  metadata: ModelMetadata;
  itemIds: string[];
  userIds: string[];
  /** Training history per user: item indices. */
  userPtr: Int32Array;
  userItems: Int32Array;
  /** Top-K collaborative neighbours per item (outgoing weights, best first). */
  nbrPtr: Int32Array;
  nbrIdx: Int32Array;
  nbrW: Float32Array;
  /** Training interactions per item (popularity and how much the content signal counts). */
  itemCounts: Float32Array;
  genreNames: string[];
  /** Genre indices per item. */
  genrePtr: Int32Array;
  genreIdx: Int32Array;
  /** Titles per item ('' when unknown). */
  titles: string[];
}

/** Tie-breaker weight of popularity: orders items the signals cannot tell apart, never reorders others. */
const POPULARITY_TIE_BREAK = 1e-6;

/** How many history items a `because` list names at most. */
const MAX_BECAUSE = 3;

interface Scoring {
  cf: Float64Array;
  cfScale: number;
  profile: Float64Array | undefined;
  popNorm: Float64Array;
  contentFactor: Float64Array;
  genreNorm: Float64Array;
  genrePtr: Int32Array;
  genreIdx: Int32Array;
}

/**
 * One item's score for a history: normalised collaborative score, plus the content score for rarely seen
 * items, plus a popularity tie-break (the formula of `HybridModel.recommend`'s fused loop).
 */
function fusedScore(c: Scoring, j: number): number {
  let s = c.cf[j] * c.cfScale + POPULARITY_TIE_BREAK * c.popNorm[j];
  if (c.profile !== undefined) {
    const f = c.contentFactor[j];
    if (f !== 0) {
      let dot = 0;
      for (let p = c.genrePtr[j], end = c.genrePtr[j + 1]; p < end; p++) dot += c.profile[c.genreIdx[p]];
      s += f * dot * c.genreNorm[j];
    }
  }
  return s;
}

/**
 * A trained hybrid recommender: item-based collaborative neighbours, a genre-profile content score for
 * rarely seen items, and popularity for users it knows nothing about. Immutable; safe to share across
 * requests (one scratch buffer, so not across threads).
 *
 * @example
 * const model = trainHybridModel(interactions, { items });
 * model.recommend('42', 10).items; // [{ itemId: '50', score: 0.93 }, ...]
 */
export class HybridModel {
  readonly metadata: ModelMetadata;
  /** @internal flat arrays, read by the serializer. */
  readonly state: ModelState;

  private readonly itemIndex: Map<string, number>;
  private userIndexCache: Map<string, number> | undefined;
  private readonly popularOrder: Int32Array;
  private readonly popNorm: Float64Array;
  /** How much the content score counts per item: contentWeight / (1 + n / threshold). */
  private readonly contentFactor: Float64Array;
  /** 1/√(number of genres) per item, 0 for items without genres. */
  private readonly genreNorm: Float64Array;
  private readonly hasContent: boolean;
  private readonly scores: Float64Array;
  private readonly stamp: Int32Array;
  private generation = 0;
  /** Position + 1 of each item among the items being explained, 0 elsewhere (reset after each use). */
  private slotScratch: Int32Array | undefined;

  constructor(state: ModelState) {
    this.state = state;
    this.metadata = state.metadata;
    const n = state.itemIds.length;
    this.itemIndex = new Map();
    for (let i = 0; i < n; i++) this.itemIndex.set(state.itemIds[i], i);

    const counts = state.itemCounts;
    this.popularOrder = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => counts[b] - counts[a] || a - b);
    const maxCount = n > 0 ? Math.max(1, counts[this.popularOrder[0]]) : 1;
    this.popNorm = new Float64Array(n);
    for (let i = 0; i < n; i++) this.popNorm[i] = counts[i] / maxCount;

    const { contentWeight, contentColdThreshold } = state.metadata.config;
    this.genreNorm = new Float64Array(n);
    this.contentFactor = new Float64Array(n);
    let anyGenres = false;
    for (let i = 0; i < n; i++) {
      const g = state.genrePtr[i + 1] - state.genrePtr[i];
      if (g > 0) {
        anyGenres = true;
        this.genreNorm[i] = 1 / Math.sqrt(g);
        this.contentFactor[i] = contentWeight / (1 + counts[i] / contentColdThreshold);
      }
    }
    this.hasContent = anyGenres && contentWeight > 0;
    this.scores = new Float64Array(n);
    this.stamp = new Int32Array(n);
  }

  get itemCount(): number {
    return this.state.itemIds.length;
  }

  get userCount(): number {
    return this.state.userIds.length;
  }

  hasUser(userId: string): boolean {
    return this.userIndex().has(userId);
  }

  hasItem(itemId: string): boolean {
    return this.itemIndex.has(itemId);
  }

  /** The item's index in `items()` (and in an `eligible` mask), or undefined for an item the model does not know. */
  itemIndexOf(itemId: string): number | undefined {
    return this.itemIndex.get(itemId);
  }

  /**
   * How many training interactions the item had (distinct users with a rating of at least `minRating`); 0 for
   * an item the model does not know, which is exactly what a catalogue item added after training has had.
   */
  interactionCount(itemId: string): number {
    const i = this.itemIndex.get(itemId);
    return i === undefined ? 0 : this.state.itemCounts[i];
  }

  /** `interactionCount` by index into `items()`; throws a RangeError for an index outside 0..itemCount-1. */
  interactionCountAt(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.itemCount) {
      throw new RangeError(`index must be an integer from 0 to ${this.itemCount - 1}, got ${String(index)}`);
    }
    return this.state.itemCounts[index];
  }

  /** Item ids the model can recommend, in index order. */
  items(): readonly string[] {
    return this.state.itemIds;
  }

  /** User ids seen in training, in index order. */
  users(): readonly string[] {
    return this.state.userIds;
  }

  /** Item ids in this user's training history (empty for an unknown user). */
  historyOf(userId: string): string[] {
    const u = this.userIndex().get(userId);
    if (u === undefined) return [];
    const { userPtr, userItems, itemIds } = this.state;
    const out: string[] = [];
    for (let p = userPtr[u]; p < userPtr[u + 1]; p++) out.push(itemIds[userItems[p]]);
    return out;
  }

  itemMeta(itemId: string): ItemMeta | undefined {
    const i = this.itemIndex.get(itemId);
    if (i === undefined) return undefined;
    const { genrePtr, genreIdx, genreNames, titles } = this.state;
    const genres: string[] = [];
    for (let p = genrePtr[i]; p < genrePtr[i + 1]; p++) genres.push(genreNames[genreIdx[p]]);
    const meta: ItemMeta = { itemId, genres };
    if (titles[i]) meta.title = titles[i];
    return meta;
  }

  /**
   * Most interacted-with items, most popular first; score is the share of the top item's count. Items in
   * `exclude` or whose `eligible` mask entry is 0 are skipped, so k items come back whenever k remain.
   */
  popular(k: number, options: { exclude?: Iterable<string>; eligible?: Uint8Array } = {}): ScoredItem[] {
    const mask = this.checkMask(options.eligible);
    const gen = this.nextGeneration();
    if (options.exclude) this.markIds(options.exclude, gen);
    const out: ScoredItem[] = [];
    for (let r = 0; r < this.popularOrder.length && out.length < k; r++) {
      const i = this.popularOrder[r];
      if (this.stamp[i] === gen || (mask !== undefined && mask[i] === 0)) continue;
      out.push({ itemId: this.state.itemIds[i], score: this.popNorm[i] });
    }
    return out;
  }

  /**
   * Top-k items for a user. The history is the training history merged with `options.history` (fresh
   * events); a user with no usable history gets popular items (strategy 'popular').
   *
   * `options.eligible` (mask over `items()`, 0 = never return) is applied inside the one pass over every
   * item, so the answer holds k items whenever k eligible, unexcluded, unseen items exist; `exhausted` says
   * when fewer did. Scores do not depend on the mask.
   *
   * `options.explain` adds `because` to each personalised item: the (up to 3) history items whose collaborative
   * neighbour weight towards it is largest and positive, largest first (ties: earlier in the history); for an
   * item with no positive collaborative contribution (its score is content), the history items sharing the
   * most genres with it (at least one); no `because` when neither exists (an item filling the list on the
   * popularity tie-break). Costs O(history × neighbours + k) on top of the ranking, plus O(history × genres)
   * per content-only item.
   */
  recommend(userId: string, k: number, options: RecommendOptions = {}): Recommendation {
    const mask = this.checkMask(options.eligible);
    const second = options.alongside ? { mask: this.checkMask(options.alongside.eligible)!, k: Math.max(0, Math.floor(options.alongside.k)) } : undefined;
    const history = this.historyIndices(userId, options.history);
    const excludeSeen = options.excludeSeen ?? true;
    if (history.length === 0) {
      const exclude: string[] = options.exclude ? [...options.exclude] : [];
      if (excludeSeen && options.history) for (const e of options.history) exclude.push(e.itemId);
      const items = this.popular(k, { exclude, eligible: mask });
      const rec: Recommendation = { strategy: 'popular', items, exhausted: items.length < k };
      if (second) rec.alongside = this.popular(second.k, { exclude, eligible: second.mask });
      return rec;
    }
    const n = this.itemCount;
    const scores = this.scores;
    scores.fill(0);
    const { nbrPtr, nbrIdx, nbrW } = this.state;
    for (const i of history) {
      for (let p = nbrPtr[i], end = nbrPtr[i + 1]; p < end; p++) scores[nbrIdx[p]] += nbrW[p];
    }
    let maxAbs = 0;
    for (let j = 0; j < n; j++) {
      const a = Math.abs(scores[j]);
      if (a > maxAbs) maxAbs = a;
    }
    const cfScale = maxAbs > 0 ? 1 / maxAbs : 0;

    const gen = this.nextGeneration();
    if (excludeSeen) for (const i of history) this.stamp[i] = gen;
    if (options.exclude) this.markIds(options.exclude, gen);
    // One fused pass: normalised collaborative score + content score for rarely seen items + popularity tie-break.
    const profile = this.hasContent ? this.genreProfile(history) : undefined;
    const { genrePtr, genreIdx } = this.state;
    const { stamp, popNorm, contentFactor, genreNorm } = this;
    const top = new TopK(k);
    let threshold = top.threshold();
    const mask2 = second?.mask;
    const top2 = new TopK(second?.k ?? 0);
    let threshold2 = top2.threshold();
    for (let j = 0; j < n; j++) {
      if (stamp[j] === gen) continue;
      const first = mask === undefined || mask[j] !== 0;
      const also = mask2 !== undefined && mask2[j] !== 0;
      if (!first && !also) continue;
      let s = scores[j] * cfScale + POPULARITY_TIE_BREAK * popNorm[j];
      if (profile !== undefined) {
        const f = contentFactor[j];
        if (f !== 0) {
          let dot = 0;
          for (let p = genrePtr[j], end = genrePtr[j + 1]; p < end; p++) dot += profile[genreIdx[p]];
          s += f * dot * genreNorm[j];
        }
      }
      if (first && s > threshold) {
        top.push(s, j);
        threshold = top.threshold();
      }
      if (also && s > threshold2) {
        top2.push(s, j);
        threshold2 = top2.threshold();
      }
    }
    const rec: Recommendation = { strategy: 'personalized', items: this.drain(top, history, options.explain), exhausted: false };
    rec.exhausted = rec.items.length < k;
    if (second) rec.alongside = this.drain(top2, history, options.explain);
    return rec;
  }

  private drain(top: TopK, history: readonly number[], explain: boolean | undefined): ScoredItem[] {
    const { indices, scores: best } = top.drain();
    const items: ScoredItem[] = indices.map((j, r) => ({ itemId: this.state.itemIds[j], score: best[r] }));
    if (explain) this.explain(history, indices, items);
    return items;
  }

  /**
   * The given items ordered for a user, best first, each with the score `recommend` would give it (items the
   * user already has included: the caller chose the list). A user with no usable history gets the items in
   * popularity order (strategy 'popular'). Items the model does not know are left out of `items` and listed
   * in `unknown`, in the order given; known items whose `eligible` mask entry is 0 likewise in `excluded`.
   * `explain` adds `because` to personalised items as in `recommend`.
   */
  rankItems(
    userId: string,
    itemIds: readonly string[],
    options: Pick<RecommendOptions, 'history' | 'eligible' | 'explain'> = {},
  ): Recommendation & { unknown: string[]; excluded: string[] } {
    const mask = this.checkMask(options.eligible);
    const known: number[] = [];
    const unknown: string[] = [];
    const excluded: string[] = [];
    for (const id of itemIds) {
      const j = this.itemIndex.get(id);
      if (j === undefined) unknown.push(id);
      else if (mask !== undefined && mask[j] === 0) excluded.push(id);
      else known.push(j);
    }
    const history = this.historyIndices(userId, options.history);
    const strategy = history.length === 0 ? 'popular' : 'personalized';
    const c = strategy === 'popular' ? undefined : this.scoring(history);
    const score = (j: number) => (c ? fusedScore(c, j) : this.popNorm[j]);
    // recommend() keeps the same formula inline in its loop over every item: through a function call it is
    // ~1.7x slower there (npm run bench:model, p50 0.07 → 0.12 ms on ML-100K). rankItems scores a few hundred
    // items, so it takes the function; test/recommender/hybrid-model.test.ts holds the two to the same scores.
    const ranked = known
      .map((j, order) => ({ j, order, score: score(j) }))
      // Equal scores keep the order given, so a ranking is stable for the caller.
      .sort((a, b) => b.score - a.score || a.order - b.order);
    const items: ScoredItem[] = ranked.map(({ j, score: s }) => ({ itemId: this.state.itemIds[j], score: s }));
    if (options.explain && strategy === 'personalized') {
      this.explain(history, ranked.map((r) => r.j), items);
    }
    return { strategy, items, unknown, excluded };
  }

  /**
   * Sets `because` on `items[r]` (the item with index `targets[r]`): the history items with the largest
   * positive neighbour weight towards it, else those sharing the most genres with it. One walk over each
   * history item's neighbour list, looking targets up in a position index built (and cleared) here.
   */
  private explain(history: readonly number[], targets: readonly number[], items: ScoredItem[]): void {
    const m = targets.length;
    if (m === 0) return;
    const slot = (this.slotScratch ??= new Int32Array(this.itemCount));
    // A repeated target (rankItems does not refuse repeats) shares its first occurrence's row.
    for (let r = 0; r < m; r++) if (slot[targets[r]] === 0) slot[targets[r]] = r + 1;
    try {
      this.explainIndexed(history, targets, items, slot);
    } finally {
      for (let r = 0; r < m; r++) slot[targets[r]] = 0;
    }
  }

  /** `explain` once `slot` maps each target item to its row + 1. */
  private explainIndexed(history: readonly number[], targets: readonly number[], items: ScoredItem[], slot: Int32Array): void {
    const m = targets.length;
    const { nbrPtr, nbrIdx, nbrW, genrePtr, genreIdx, itemIds, genreNames } = this.state;
    const bestW = new Float64Array(m * MAX_BECAUSE);
    const bestH = new Int32Array(m * MAX_BECAUSE).fill(-1);
    for (let h = 0; h < history.length; h++) {
      const i = history[h];
      for (let p = nbrPtr[i], end = nbrPtr[i + 1]; p < end; p++) {
        const s = slot[nbrIdx[p]];
        if (s === 0) continue;
        const w = nbrW[p];
        if (!(w > 0)) continue;
        insertBest(bestW, bestH, (s - 1) * MAX_BECAUSE, w, h);
      }
    }
    let genreMark: Uint8Array | undefined;
    for (let r = 0; r < m; r++) {
      const j = targets[r];
      const row = (slot[j] - 1) * MAX_BECAUSE;
      if (bestH[row] < 0 && genrePtr[j + 1] > genrePtr[j]) {
        // Content-only score: rank history items by how many of this item's genres they share.
        genreMark ??= new Uint8Array(genreNames.length);
        for (let p = genrePtr[j]; p < genrePtr[j + 1]; p++) genreMark[genreIdx[p]] = 1;
        for (let h = 0; h < history.length; h++) {
          const i = history[h];
          if (i === j) continue;
          let shared = 0;
          for (let p = genrePtr[i]; p < genrePtr[i + 1]; p++) shared += genreMark[genreIdx[p]];
          if (shared > 0) insertBest(bestW, bestH, row, shared, h);
        }
        for (let p = genrePtr[j]; p < genrePtr[j + 1]; p++) genreMark[genreIdx[p]] = 0;
      }
      const because: string[] = [];
      for (let q = row; q < row + MAX_BECAUSE && bestH[q] >= 0; q++) because.push(itemIds[history[bestH[q]]]);
      if (because.length > 0) items[r].because = because;
    }
  }

  /**
   * What scoring items for a history needs: the collaborative scores accumulated once (in the shared buffer,
   * valid until the next call) with their normalisation, and the genre profile. `fusedScore` reads it.
   */
  private scoring(history: number[]): Scoring {
    const n = this.itemCount;
    const scores = this.scores;
    scores.fill(0);
    const { nbrPtr, nbrIdx, nbrW, genrePtr, genreIdx } = this.state;
    for (const i of history) {
      for (let p = nbrPtr[i], end = nbrPtr[i + 1]; p < end; p++) scores[nbrIdx[p]] += nbrW[p];
    }
    let maxAbs = 0;
    for (let j = 0; j < n; j++) {
      const a = Math.abs(scores[j]);
      if (a > maxAbs) maxAbs = a;
    }
    return {
      cf: scores,
      cfScale: maxAbs > 0 ? 1 / maxAbs : 0,
      profile: this.hasContent ? this.genreProfile(history) : undefined,
      popNorm: this.popNorm,
      contentFactor: this.contentFactor,
      genreNorm: this.genreNorm,
      genrePtr,
      genreIdx,
    };
  }

  /**
   * Items related to an item ("more like this"): its collaborative neighbours, blended with genre
   * similarity in proportion to how rarely the item has been seen. Unknown item: []. Only items with a
   * positive relatedness score are returned, so the list can be shorter than k — in particular with an
   * `eligible` mask (0 = never return), when fewer than k related items are eligible; otherwise every
   * related eligible item is considered, so k come back whenever k exist.
   */
  similar(itemId: string, k: number, options: { eligible?: Uint8Array } = {}): ScoredItem[] {
    const mask = this.checkMask(options.eligible);
    const i = this.itemIndex.get(itemId);
    if (i === undefined || k <= 0) return [];
    const n = this.itemCount;
    const { nbrPtr, nbrIdx, nbrW, genrePtr, genreIdx, itemCounts } = this.state;
    const { similarContentWeight, contentColdThreshold } = this.metadata.config;
    const scores = this.scores;
    scores.fill(0);
    let maxW = 0;
    for (let p = nbrPtr[i]; p < nbrPtr[i + 1]; p++) maxW = Math.max(maxW, nbrW[p]);
    const cold = this.genreNorm[i] > 0 ? similarContentWeight / (1 + itemCounts[i] / contentColdThreshold) : 0;
    if (maxW > 0) for (let p = nbrPtr[i]; p < nbrPtr[i + 1]; p++) scores[nbrIdx[p]] = (nbrW[p] / maxW) * (1 - cold);
    if (cold > 0) {
      const mine = this.scratchGenreVector(i);
      for (let j = 0; j < n; j++) {
        if (this.genreNorm[j] === 0 || (mask !== undefined && mask[j] === 0)) continue;
        let dot = 0;
        for (let p = genrePtr[j]; p < genrePtr[j + 1]; p++) dot += mine[genreIdx[p]];
        if (dot > 0) scores[j] += cold * dot * this.genreNorm[j] * this.genreNorm[i];
      }
    }
    const top = new TopK(k);
    for (let j = 0; j < n; j++) {
      if (j === i || (mask !== undefined && mask[j] === 0)) continue;
      const s = scores[j] + POPULARITY_TIE_BREAK * this.popNorm[j];
      if (scores[j] > 0 && s > top.threshold()) top.push(s, j);
    }
    const { indices, scores: best } = top.drain();
    return indices.map((j, r) => ({ itemId: this.state.itemIds[j], score: best[r] }));
  }

  /** The user's genre profile (unit length), or undefined when their history has no genres. */
  private genreProfile(history: number[]): Float64Array | undefined {
    const { genrePtr, genreIdx, genreNames } = this.state;
    const profile = new Float64Array(genreNames.length);
    for (const i of history) {
      const w = this.genreNorm[i];
      for (let p = genrePtr[i]; p < genrePtr[i + 1]; p++) profile[genreIdx[p]] += w;
    }
    let norm = 0;
    for (const v of profile) norm += v * v;
    if (norm === 0) return undefined;
    const inv = 1 / Math.sqrt(norm);
    for (let g = 0; g < profile.length; g++) profile[g] *= inv;
    return profile;
  }

  private scratchGenreVector(i: number): Float64Array {
    const { genrePtr, genreIdx, genreNames } = this.state;
    const v = new Float64Array(genreNames.length);
    for (let p = genrePtr[i]; p < genrePtr[i + 1]; p++) v[genreIdx[p]] = 1;
    return v;
  }

  private historyIndices(userId: string, fresh: RecommendOptions['history']): number[] {
    const u = this.userIndex().get(userId);
    const out: number[] = [];
    const gen = this.nextGeneration();
    if (u !== undefined) {
      const { userPtr, userItems } = this.state;
      for (let p = userPtr[u]; p < userPtr[u + 1]; p++) {
        const i = userItems[p];
        if (this.stamp[i] !== gen) {
          this.stamp[i] = gen;
          out.push(i);
        }
      }
    }
    if (fresh) {
      const minRating = this.metadata.config.minRating;
      for (const e of fresh) {
        if (e.rating < minRating) continue;
        const i = this.itemIndex.get(e.itemId);
        if (i !== undefined && this.stamp[i] !== gen) {
          this.stamp[i] = gen;
          out.push(i);
        }
      }
    }
    return out;
  }

  /** The mask if it fits this model; throws naming the field otherwise. */
  private checkMask(mask: Uint8Array | undefined): Uint8Array | undefined {
    if (mask === undefined) return undefined;
    if (!(mask instanceof Uint8Array)) throw new TypeError('eligible must be a Uint8Array index-aligned with model.items()');
    if (mask.length !== this.itemCount) {
      throw new RangeError(`eligible has length ${mask.length} but the model has ${this.itemCount} items (the mask is index-aligned with model.items())`);
    }
    return mask;
  }

  private markIds(ids: Iterable<string>, gen: number): void {
    for (const id of ids) {
      const i = this.itemIndex.get(id);
      if (i !== undefined) this.stamp[i] = gen;
    }
  }

  private nextGeneration(): number {
    if (this.generation >= 0x7ffffffe) {
      this.stamp.fill(0);
      this.generation = 0;
    }
    return ++this.generation;
  }

  private userIndex(): Map<string, number> {
    // Built on first use so a cold start that only serves popular items never pays for it.
    if (!this.userIndexCache) {
      const m = new Map<string, number>();
      const ids = this.state.userIds;
      for (let u = 0; u < ids.length; u++) m.set(ids[u], u);
      this.userIndexCache = m;
    }
    return this.userIndexCache;
  }
}

/**
 * Keeps the MAX_BECAUSE best (value, history position) pairs of one row, best first: a value enters only if
 * strictly larger than one kept, so equal values keep the earlier history item first.
 */
function insertBest(bestW: Float64Array, bestH: Int32Array, row: number, value: number, h: number): void {
  let q = row + MAX_BECAUSE - 1;
  if (bestH[q] >= 0 && !(value > bestW[q])) return;
  while (q > row && (bestH[q - 1] < 0 || value > bestW[q - 1])) {
    bestW[q] = bestW[q - 1];
    bestH[q] = bestH[q - 1];
    q--;
  }
  bestW[q] = value;
  bestH[q] = h;
}
