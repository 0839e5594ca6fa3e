import type { InteractionType } from './events';

/** The event types that carry no rating of their own. */
export type ImplicitEventType = Exclude<InteractionType, 'rating'>;

/**
 * How strongly one implicit event says a user wants an item, on the 0.5–5 rating scale: a purchase is as good
 * as a 5-star rating, a view the weakest signal. One table for every place that turns events into
 * preferences — nightly training (src/retraining/interactions.ts), the fresh events the API joins at serving
 * time (src/serving/fresh-history.ts) and item popularity (src/domain/features.ts) — so the model is served on
 * the scale it was trained on. A rating counts as its own value.
 */
export const EVENT_STRENGTHS: Readonly<Record<ImplicitEventType, number>> = {
  view: 1,
  click: 2,
  add_to_cart: 3,
  purchase: 5,
};

/** The strength of an implicit event type, undefined for anything else (never an Object member such as `constructor`). */
export function implicitStrength(type: string): number | undefined {
  return Object.hasOwn(EVENT_STRENGTHS, type) ? EVENT_STRENGTHS[type as ImplicitEventType] : undefined;
}
