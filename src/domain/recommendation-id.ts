import { ID_PATTERN } from './events';
import { MODEL_VERSION_PATTERN } from './lake-layout';

/**
 * Recommendation IDs: every list the API answers carries one, and events that follow from it (impressions,
 * clicks, purchases) send it back, so attribution can credit them to what produced the list. Clients treat it as
 * opaque; the analytics consumer reads it without a lookup table, because it carries what attribution needs:
 *
 *     r1.<experiment>.<variant>.<strategy>.<modelVersion>.<nonce>
 *
 * - `experiment`: the experiment id (`x` + 1-24 of [a-z0-9]) or `-` when none runs;
 * - `variant`: `c` (control: the production model) or `x` (challenger);
 * - `strategy`: a code of ATTRIBUTED_STRATEGIES;
 * - `modelVersion`: the model that ranked the list (MODEL_VERSION_PATTERN), or `-` before the first model;
 * - `nonce`: 10 characters of [a-z0-9] that make each id unique.
 *
 * An id fits the event contract's ID_PATTERN (at most 128 characters). Anything that does not parse is "not a
 * recommendation id": it stays in the event (Bronze, Silver) and is attributed to nothing.
 */

export type Variant = 'control' | 'challenger';
export const VARIANTS: readonly Variant[] = ['control', 'challenger'];

/** The strategies an answer can have, by route: what attribution reports them as. */
export const ATTRIBUTED_STRATEGIES = {
  personalized: 'p',
  popular: 'pop',
  trending: 't',
  similar: 's',
  rank: 'r',
} as const;
export type AttributedStrategy = keyof typeof ATTRIBUTED_STRATEGIES;

/** What a recommendation id says. */
export interface RecommendationContext {
  /** Null when no experiment was running. */
  experimentId: string | null;
  variant: Variant;
  strategy: AttributedStrategy;
  /** Null before the first model (the answer came from the live popular items). */
  modelVersion: string | null;
}

export const EXPERIMENT_ID_PATTERN = /^x[a-z0-9]{1,24}$/;
const NONCE_PATTERN = /^[a-z0-9]{10}$/;
const VARIANT_CODES: Record<Variant, string> = { control: 'c', challenger: 'x' };
const STRATEGY_BY_CODE = new Map<string, AttributedStrategy>(Object.entries(ATTRIBUTED_STRATEGIES).map(([name, code]) => [code, name as AttributedStrategy]));
const VARIANT_BY_CODE = new Map<string, Variant>(Object.entries(VARIANT_CODES).map(([name, code]) => [code, name as Variant]));

/** 10 random characters of [a-z0-9] (Math.random is enough: uniqueness, not secrecy). */
function nonce(random: () => number): string {
  let out = '';
  for (let i = 0; i < 10; i++) out += '0123456789abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 36)];
  return out;
}

/** A new recommendation id for an answer. Throws on a context no id can carry (a bug, not a request error). */
export function newRecommendationId(context: RecommendationContext, random: () => number = Math.random): string {
  if (context.experimentId !== null && !EXPERIMENT_ID_PATTERN.test(context.experimentId)) throw new Error(`not an experiment id: ${context.experimentId}`);
  if (context.modelVersion !== null && !MODEL_VERSION_PATTERN.test(context.modelVersion)) throw new Error(`not a model version: ${context.modelVersion}`);
  const strategy = Object.hasOwn(ATTRIBUTED_STRATEGIES, context.strategy) ? ATTRIBUTED_STRATEGIES[context.strategy] : undefined;
  if (!strategy) throw new Error(`not an attributed strategy: ${String(context.strategy)}`);
  const id = ['r1', context.experimentId ?? '-', VARIANT_CODES[context.variant], strategy, context.modelVersion ?? '-', nonce(random)].join('.');
  if (!ID_PATTERN.test(id)) throw new Error(`recommendation id ${id} does not fit the event contract`);
  return id;
}

/** What the id says, or undefined when it is not a recommendation id this API issues. Never throws. */
export function parseRecommendationId(id: unknown): RecommendationContext | undefined {
  if (typeof id !== 'string' || id.length > 128) return undefined;
  const parts = id.split('.');
  if (parts.length !== 6 || parts[0] !== 'r1') return undefined;
  const [, experiment, variantCode, strategyCode, version, tail] = parts as [string, string, string, string, string, string];
  const variant = VARIANT_BY_CODE.get(variantCode);
  const strategy = STRATEGY_BY_CODE.get(strategyCode);
  if (!variant || !strategy || !NONCE_PATTERN.test(tail)) return undefined;
  if (experiment !== '-' && !EXPERIMENT_ID_PATTERN.test(experiment)) return undefined;
  if (version !== '-' && !MODEL_VERSION_PATTERN.test(version)) return undefined;
  // Without an experiment there is only the production model.
  if (experiment === '-' && variant !== 'control') return undefined;
  return { experimentId: experiment === '-' ? null : experiment, variant, strategy, modelVersion: version === '-' ? null : version };
}
