import type { HybridModel, Interaction } from '../recommender/index';
import { contentProfile, explorationSlots, exploreNewItems, newItemCandidates } from '../rules/exploration';
import { interleave, promotedSlots } from '../rules/promotions';
import type { ModelUniverse } from './item-universe';

/** One item of a composed answer: the model's score and why it is there. */
export interface ComposedItem {
  itemId: string;
  score: number;
  /** The history items that contributed most to the score ("because you viewed …"). */
  because?: string[];
  /** The promotion that placed it. */
  promoted?: string;
  /** `new`: a catalogue item with few or no interactions, shown to explore it (its score is content similarity). */
  reason?: 'new';
}

export interface ComposeInput {
  model: HybridModel;
  universe: ModelUniverse;
  userId: string;
  k: number;
  /** The user's fresh events as interactions (merged with the training history by the model). */
  history: Interaction[];
  /** Items never to return (everything the user touched since training). */
  exclude: readonly string[];
  /** Universe-length eligibility: the request's filter with the availability rule (FilterEngine.eligible). */
  eligible: Uint8Array;
  promotion?: { name: string; share: number; eligible: Uint8Array };
  exploration?: { share: number; maxInteractions: number; newWithinDays?: number; nowMs: number };
}

export interface Composed {
  strategy: 'personalized' | 'popular';
  items: ComposedItem[];
  /** Fewer than k eligible items exist for this request. */
  exhausted: boolean;
}

/**
 * Composes one recommendation list: the model's ranking restricted to the eligible items, promoted items (the
 * same model's ranking restricted to the promotion's filter) at their stable slots, and new items at the
 * exploration slots for users whose history is similar in content. Each item is picked once.
 */
export function composeRecommendations(input: ComposeInput): Composed {
  const { model, universe, userId, k, history, exclude } = input;
  const n = model.itemCount;
  const main = input.eligible.slice(0, n);

  let promoted: ComposedItem[] = [];
  if (input.promotion) {
    const slots = promotedSlots(k, input.promotion.share).length;
    const mask = input.promotion.eligible.subarray(0, n);
    const rec = model.recommend(userId, slots, { history, exclude, eligible: mask, explain: true });
    promoted = rec.items.map((i) => ({ ...i, promoted: input.promotion!.name }));
    for (const p of promoted) main[model.itemIndexOf(p.itemId)!] = 0;
  }

  const fresh: ComposedItem[] = [];
  if (input.exploration && input.exploration.share > 0) {
    const slots = Math.min(explorationSlots(k, input.exploration.share), k - promoted.length);
    const trained = model.historyOf(userId);
    const historyIds = [...new Set([...trained, ...history.map((h) => h.itemId)])];
    if (slots > 0 && historyIds.length > 0) {
      const taken = new Set([...exclude, ...historyIds, ...promoted.map((p) => p.itemId)]);
      const candidates = newItemCandidatesOf(universe, input.exploration).filter((j) => input.eligible[j] === 1 && !taken.has(universe.itemId(j)));
      const profile = contentProfile(historyIds, universe);
      for (const pick of exploreNewItems(profile, candidates, universe, slots)) {
        fresh.push({ itemId: universe.itemId(pick.index), score: pick.score, reason: 'new' });
        if (pick.index < n) main[pick.index] = 0;
      }
    }
  }

  const want = Math.max(0, k - promoted.length - fresh.length);
  const rec = model.recommend(userId, want, { history, exclude, eligible: main, explain: true });
  const personal: ComposedItem[] = rec.items.map((i) => ({ ...i }));
  // New items take evenly spread slots of the non-promoted part, after the best personal pick.
  const withNew = fresh.length === 0 ? personal : interleave(personal, fresh, personal.length + fresh.length, (100 * fresh.length) / (personal.length + fresh.length)).map((s) => s.item);
  const items = promoted.length === 0 ? withNew : interleave(withNew, promoted, k, input.promotion!.share).map((s) => s.item);
  return { strategy: rec.strategy, items: items.slice(0, k), exhausted: items.length < k };
}

/**
 * Indices of the universe's new items (the rules' `newItemCandidates`), among those the live catalogue lists:
 * only the catalogue can say an item is new (a model item with few interactions may simply be unpopular).
 * Items the model never saw have no interactions. Cached per universe and settings (and hour, for newWithinDays).
 */
function newItemCandidatesOf(universe: ModelUniverse, exploration: NonNullable<ComposeInput['exploration']>): number[] {
  const key = `${exploration.maxInteractions}|${exploration.newWithinDays ?? ''}|${Math.floor(exploration.nowMs / 3_600_000)}`;
  const cached = candidateCache.get(universe);
  if (cached?.key === key) return cached.indices;
  const modelItems = universe.modelItems;
  const interactionsOf = (itemId: string) => {
    const j = universe.indexOf(itemId);
    return j !== undefined && j < modelItems ? universe.model!.interactionCountAt(j) : 0;
  };
  const indices = newItemCandidates(universe, universe.listed, interactionsOf, exploration, exploration.nowMs);
  candidateCache.set(universe, { key, indices });
  return indices;
}

const candidateCache = new WeakMap<ModelUniverse, { key: string; indices: number[] }>();
