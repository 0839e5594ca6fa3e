import type { Variant } from '../domain/recommendation-id';

/**
 * Attribution of impressions, clicks, add-to-carts, purchases and revenue to what produced the recommendation
 * (model version, experiment variant, strategy). Pure. (Issue 16: the analytics windows fold these; the
 * attribution route and the experiment check read them.)
 */

/** Totals of one attribution key over a range of windows. Revenue in major units, exact to the cent. */
export interface AttributionTotals {
  impressions: number;
  clicks: number;
  addToCarts: number;
  purchases: number;
  revenue: number;
  /** Sum over purchases of (line total)², for the variance of revenue per impression. */
  revenueSquares: number;
}

/** Per variant totals of one experiment. */
export type ExperimentTotals = Record<Variant, AttributionTotals>;

export function emptyAttributionTotals(): AttributionTotals {
  return { impressions: 0, clicks: 0, addToCarts: 0, purchases: 0, revenue: 0, revenueSquares: 0 };
}
