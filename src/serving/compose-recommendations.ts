import type { HybridModel, Interaction } from '../recommender/index';
import { ContentIndex, contentProfile, explorationSlots, newItemCandidates } from '../rules/exploration';
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
  const main = input.eligible.subarray(0, n);
  // One scoring pass answers both lists: the top k of the eligible items (enough: at most the promoted and new
  // picks are removed from it, and exactly k minus those are needed) and the promotion's top slots.
  const promotionSlots = input.promotion ? promotedSlots(k, input.promotion.share).length : 0;
  const rec = model.recommend(userId, k, {
    history,
    exclude,
    eligible: main,
    explain: true,
    ...(input.promotion ? { alongside: { eligible: input.promotion.eligible.subarray(0, n), k: promotionSlots } } : {}),
  });
  const promoted: ComposedItem[] = (rec.alongside ?? []).map((i) => ({ ...i, promoted: input.promotion!.name }));
  const taken = new Set(promoted.map((p) => p.itemId));

  const fresh: ComposedItem[] = [];
  if (input.exploration && input.exploration.share > 0) {
    const slots = Math.min(explorationSlots(k, input.exploration.share), k - promoted.length);
    const trained = model.historyOf(userId);
    const historyIds = [...new Set([...trained, ...history.map((h) => h.itemId)])];
    if (slots > 0 && historyIds.length > 0) {
      const shown = new Set([...exclude, ...historyIds, ...taken]);
      const profile = contentProfile(historyIds, universe);
      const accept = (j: number) => input.eligible[j] === 1 && !shown.has(universe.itemId(j));
      for (const pick of newItemIndexOf(universe, input.exploration).explore(profile, slots, accept)) {
        const itemId = universe.itemId(pick.index);
        fresh.push({ itemId, score: pick.score, reason: 'new' });
        taken.add(itemId);
      }
    }
  }

  const want = Math.max(0, k - promoted.length - fresh.length);
  const personal: ComposedItem[] = rec.items.filter((i) => !taken.has(i.itemId)).slice(0, want).map((i) => ({ ...i }));
  // New items take evenly spread slots of the non-promoted part, after the best personal pick.
  const withNew = fresh.length === 0 ? personal : interleave(personal, fresh, personal.length + fresh.length, (100 * fresh.length) / (personal.length + fresh.length)).map((s) => s.item);
  const items = promoted.length === 0 ? withNew : interleave(withNew, promoted, k, input.promotion!.share).map((s) => s.item);
  return { strategy: rec.strategy, items: items.slice(0, k), exhausted: items.length < k };
}

/**
 * The content index of the universe's new items (the rules' `newItemCandidates`), among those the live catalogue
 * lists: only the catalogue can say an item is new (a model item with few interactions may simply be unpopular).
 * Items the model never saw have no interactions. Cached per universe and settings (and hour, for newWithinDays),
 * so a request pays only for the candidates that share content with the user's history.
 */
function newItemIndexOf(universe: ModelUniverse, exploration: NonNullable<ComposeInput['exploration']>): ContentIndex {
  const key = `${exploration.maxInteractions}|${exploration.newWithinDays ?? ''}|${Math.floor(exploration.nowMs / 3_600_000)}`;
  const cached = candidateCache.get(universe);
  if (cached?.key === key) return cached.index;
  const modelItems = universe.modelItems;
  const interactionsOf = (itemId: string) => {
    const j = universe.indexOf(itemId);
    return j !== undefined && j < modelItems ? universe.model!.interactionCountAt(j) : 0;
  };
  const index = new ContentIndex(universe, newItemCandidates(universe, universe.listed, interactionsOf, exploration, exploration.nowMs));
  candidateCache.set(universe, { key, index });
  return index;
}

const candidateCache = new WeakMap<ModelUniverse, { key: string; index: ContentIndex }>();
