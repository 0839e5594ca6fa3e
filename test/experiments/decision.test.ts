import { describe, expect, it } from 'vitest';
import { emptyAttributionTotals, type AttributionTotals, type ExperimentTotals } from '../../src/analytics/attribution';
import type { Experiment } from '../../src/domain/model-registry';
import { deploymentOf } from '../../src/domain/experiment';
import { decideExperiment, erfc, twoProportionZTest } from '../../src/experiments/decision';

const START = Date.parse('2026-12-01T00:00:00Z');
const hours = (h: number) => START + h * 3_600_000;

function experiment(decision: Partial<Experiment['decision']> = {}): Experiment {
  return {
    id: 'xabc123',
    challenger: deploymentOf('v20261201T020000Z', new Date(START)),
    sharePercent: 50,
    startedAt: new Date(START).toISOString(),
    startedBy: 'canary',
    decision: { metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72, ...decision },
  };
}
const t = (impressions: number, clicks: number, purchases = 0): AttributionTotals => ({ ...emptyAttributionTotals(), impressions, clicks, purchases });
const totals = (control: AttributionTotals, challenger: AttributionTotals): ExperimentTotals => ({ control, challenger });

describe('erfc', () => {
  it('matches the complementary error function to near double precision (reference: Python math.erfc)', () => {
    const reference: [number, number][] = [
      [0.1, 0.8875370839817152],
      [1, 0.15729920705028513],
      [2.5, 0.0004069520174449589],
      [3, 2.2090496998585438e-5],
      [3.5, 7.430983723414128e-7],
      [5, 1.5374597944280351e-12],
      [8, 1.1224297172982928e-29],
    ];
    for (const [x, want] of reference) expect(Math.abs(erfc(x) - want) / want, `erfc(${x})`).toBeLessThan(1e-9);
    expect(erfc(0)).toBe(1);
    expect(erfc(-1)).toBeCloseTo(2 - 0.15729920705028513, 14);
  });
});

describe('twoProportionZTest (pooled, two-sided)', () => {
  it('gives the exact z and p of fixed cases (reference computed independently with Python math.erfc)', () => {
    const a = twoProportionZTest({ n: 1000, successes: 100 }, { n: 1000, successes: 130 })!;
    expect(a.z).toBeCloseTo(2.102740605622114, 10);
    expect(a.pValue).toBeCloseTo(0.03548845046647473, 10);
    const b = twoProportionZTest({ n: 5000, successes: 250 }, { n: 5000, successes: 200 })!;
    expect(b.z).toBeCloseTo(-2.4119153509747395, 10);
    expect(b.pValue).toBeCloseTo(0.01586896535516697, 10);
  });
  it('is undefined without impressions and says "no difference" when nothing varies', () => {
    expect(twoProportionZTest({ n: 0, successes: 0 }, { n: 10, successes: 1 })).toBeUndefined();
    expect(twoProportionZTest({ n: 10, successes: 0 }, { n: 10, successes: 0 })).toEqual({ z: 0, pValue: 1 });
  });
});

describe('decideExperiment', () => {
  it('never decides on too little data, even with a huge effect: continue', () => {
    // 999 challenger impressions with 50 % CTR against 5 %: the effect is enormous, but one variant is short.
    const d = decideExperiment(totals(t(5000, 250), t(999, 500)), experiment(), hours(10));
    expect(d).toMatchObject({ action: 'continue', enoughData: false, significant: false, minImpressions: 1000 });
    expect(d.pValue!).toBeLessThan(1e-100);
    expect(d.reason).toMatch(/too little data: 5000 control and 999 challenger impressions, 1000 needed in each/);
  });

  it('promotes a significantly better challenger', () => {
    const d = decideExperiment(totals(t(5000, 200), t(5000, 300)), experiment(), hours(5));
    expect(d).toMatchObject({ action: 'promote', enoughData: true, significant: true, metric: 'ctr', control: { n: 5000, successes: 200, rate: 0.04 }, challenger: { n: 5000, successes: 300, rate: 0.06 } });
    expect(d.z!).toBeGreaterThan(0);
    expect(d.pValue!).toBeLessThan(0.01);
    expect(d.reason).toMatch(/^challenger is significantly better/);
  });

  it('rolls back a significantly worse challenger', () => {
    const d = decideExperiment(totals(t(5000, 300), t(5000, 200)), experiment(), hours(5));
    expect(d).toMatchObject({ action: 'rollback', significant: true });
    expect(d.z!).toBeLessThan(0);
    expect(d.reason).toMatch(/^challenger is significantly worse/);
  });

  it('keeps going while not significant, and rolls back as inconclusive past maxDurationHours', () => {
    const even = totals(t(2000, 100), t(2000, 104));
    const before = decideExperiment(even, experiment(), hours(71.9));
    expect(before).toMatchObject({ action: 'continue', significant: false });
    expect(before.pValue!).toBeCloseTo(0.773742702766114, 10);
    const after = decideExperiment(even, experiment(), hours(72));
    expect(after).toMatchObject({ action: 'rollback', significant: false, elapsedHours: 72 });
    expect(after.reason).toMatch(/^inconclusive after 72\.0 of 72 h/);
    // Too little data by the deadline is inconclusive too: production keeps serving.
    expect(decideExperiment(totals(t(10, 1), t(10, 9)), experiment(), hours(80)).action).toBe('rollback');
  });

  it('tests at alpha per check: p = 0.035 promotes at alpha 0.05 but not at 0.01', () => {
    const case1 = totals(t(1000, 100), t(1000, 130));
    expect(decideExperiment(case1, experiment({ alpha: 0.05 }), hours(1))).toMatchObject({ action: 'promote', z: expect.closeTo(2.102740605622114, 10) });
    expect(decideExperiment(case1, experiment({ alpha: 0.01 }), hours(1)).action).toBe('continue');
  });

  it('decides conversion on purchases per impression, not clicks', () => {
    const d = decideExperiment(totals(t(5000, 500, 250), t(5000, 100, 200)), experiment({ metric: 'conversion', alpha: 0.05 }), hours(1));
    expect(d).toMatchObject({ metric: 'conversion', control: { successes: 250 }, challenger: { successes: 200 }, action: 'rollback', z: expect.closeTo(-2.4119153509747395, 10) });
  });

  it('refuses an experiment whose start is not a date', () => {
    expect(() => decideExperiment(totals(t(1, 0), t(1, 0)), { ...experiment(), startedAt: 'yesterday' }, hours(1))).toThrow(/startedAt "yesterday" is not a date/);
  });
});
