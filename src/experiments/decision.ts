import type { AttributionTotals, ExperimentTotals } from '../analytics/attribution';
import type { Experiment, ExperimentMetric } from '../domain/model-registry';

/**
 * The decision of a running experiment (pure): from the attributed totals of both variants, promote the
 * challenger, roll it back, or keep collecting. README "Experiments and canary rollout" states the rule:
 *
 * - the metric is a proportion per impression: `ctr` = clicks / impressions, `conversion` = purchases / impressions;
 * - nothing is decided until BOTH variants have `minImpressions` impressions (never promote on too little data);
 * - then a two-sided two-proportion z-test (pooled variance) at level `alpha` per check: significant and the
 *   challenger better → promote; significant and worse → rollback;
 * - not significant (or still too little data) once `maxDurationHours` have passed since the start → rollback
 *   (inconclusive: production keeps serving);
 * - otherwise continue.
 */

export type DecisionAction = 'promote' | 'rollback' | 'continue';

export interface VariantRate {
  /** Impressions (the trials). */
  n: number;
  /** Clicks (ctr) or purchases (conversion). */
  successes: number;
  /** successes / n; 0 when there is no impression. */
  rate: number;
}

export interface ExperimentDecision {
  action: DecisionAction;
  reason: string;
  experimentId: string;
  challengerVersion: string;
  metric: ExperimentMetric;
  control: VariantRate;
  challenger: VariantRate;
  /** challenger.rate − control.rate. */
  difference: number;
  /** The z statistic (challenger − control over the pooled standard error); null while a variant has no impression. */
  z: number | null;
  /** Two-sided p-value of `z`; null with `z`. */
  pValue: number | null;
  alpha: number;
  minImpressions: number;
  /** Both variants reached minImpressions. */
  enoughData: boolean;
  /** pValue < alpha (only ever true with enough data). */
  significant: boolean;
  elapsedHours: number;
  maxDurationHours: number;
  decidedAt: string;
}

/** The trials and successes of one variant for a metric. */
export function variantRate(totals: AttributionTotals, metric: ExperimentMetric): VariantRate {
  const n = totals.impressions;
  const successes = metric === 'ctr' ? totals.clicks : totals.purchases;
  return { n, successes, rate: n > 0 ? successes / n : 0 };
}

export interface ZTest {
  z: number;
  pValue: number;
}

/**
 * Two-sided two-proportion z-test with the pooled proportion: z = (p₂ − p₁) / √(p̂(1 − p̂)(1/n₁ + 1/n₂)),
 * p̂ = (s₁ + s₂)/(n₁ + n₂). Undefined when either n is 0. Equal rates with no variance (p̂ 0 or 1) give z 0, p 1.
 */
export function twoProportionZTest(a: Pick<VariantRate, 'n' | 'successes'>, b: Pick<VariantRate, 'n' | 'successes'>): ZTest | undefined {
  if (!(a.n > 0 && b.n > 0)) return undefined;
  const pooled = (a.successes + b.successes) / (a.n + b.n);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.n + 1 / b.n));
  if (!(se > 0)) return { z: 0, pValue: 1 };
  const z = (b.successes / b.n - a.successes / a.n) / se;
  return { z, pValue: Math.min(1, erfc(Math.abs(z) / Math.SQRT2)) };
}

/**
 * The complementary error function to near double precision: for x < 3 as 1 − erf(x) from the positive-term
 * series erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1)); beyond, the continued fraction of erfc.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return 2 - erfc(-x);
  if (x < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200 && term > sum * 1e-17; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
  }
  if (x > 27) return 0;
  // erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the tail.
  let tail = 0;
  for (let k = 120; k >= 1; k--) tail = k / 2 / (x + tail);
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + tail);
}

const pct = (r: number) => `${(r * 100).toFixed(2)}%`;

/** Decides `experiment` from its totals at `nowMs` (see the rule above). */
export function decideExperiment(totals: ExperimentTotals, experiment: Experiment, nowMs: number): ExperimentDecision {
  const { metric, minImpressions, alpha, maxDurationHours } = experiment.decision;
  const startedMs = Date.parse(experiment.startedAt);
  if (!Number.isFinite(startedMs)) throw new Error(`experiment ${experiment.id}: startedAt ${JSON.stringify(experiment.startedAt)} is not a date`);
  if (!Number.isFinite(nowMs)) throw new Error(`experiment ${experiment.id}: the check's time is not a number`);
  const control = variantRate(totals.control, metric);
  const challenger = variantRate(totals.challenger, metric);
  const test = twoProportionZTest(control, challenger);
  const elapsedHours = Math.max(0, (nowMs - startedMs) / 3_600_000);
  const enoughData = control.n >= minImpressions && challenger.n >= minImpressions;
  const significant = enoughData && test !== undefined && test.pValue < alpha;
  const expired = elapsedHours >= maxDurationHours;
  const figures = `${metric} challenger ${pct(challenger.rate)} (${challenger.successes}/${challenger.n}) vs control ${pct(control.rate)} (${control.successes}/${control.n})`;
  const stats = test ? `z ${test.z.toFixed(3)}, p ${test.pValue.toPrecision(3)}, alpha ${alpha}` : `no z-test yet, alpha ${alpha}`;
  const hours = `${elapsedHours.toFixed(1)} of ${maxDurationHours} h`;

  let action: DecisionAction;
  let reason: string;
  if (!enoughData) {
    const short = `too little data: ${control.n} control and ${challenger.n} challenger impressions, ${minImpressions} needed in each`;
    action = expired ? 'rollback' : 'continue';
    reason = expired ? `inconclusive after ${hours}: ${short}; production keeps serving` : `${short} (${hours}); ${figures}`;
  } else if (significant && challenger.rate > control.rate) {
    action = 'promote';
    reason = `challenger is significantly better: ${figures}; ${stats}`;
  } else if (significant) {
    action = 'rollback';
    reason = `challenger is significantly worse: ${figures}; ${stats}`;
  } else if (expired) {
    action = 'rollback';
    reason = `inconclusive after ${hours}: ${figures}; ${stats}; production keeps serving`;
  } else {
    action = 'continue';
    reason = `no significant difference yet (${hours}): ${figures}; ${stats}`;
  }
  return {
    action,
    reason,
    experimentId: experiment.id,
    challengerVersion: experiment.challenger.version,
    metric,
    control,
    challenger,
    difference: challenger.rate - control.rate,
    z: test?.z ?? null,
    pValue: test?.pValue ?? null,
    alpha,
    minImpressions,
    enoughData,
    significant,
    elapsedHours,
    maxDurationHours,
    decidedAt: new Date(nowMs).toISOString(),
  };
}
