import { describe, expect, it } from 'vitest';
import { assignVariant, deploymentOf, ExperimentStateError, newExperimentId, promotedPointer, withExperiment, withoutExperiment } from '../../src/domain/experiment';
import { parseProductionPointer, pointerFor, type Experiment } from '../../src/domain/model-registry';
import { EXPERIMENT_ID_PATTERN } from '../../src/domain/recommendation-id';

const AT = new Date('2026-12-01T02:00:00Z');
const experiment = (over: Partial<Experiment> = {}): Experiment => ({
  id: 'xabc1',
  challenger: deploymentOf('v20261202T020000Z', AT),
  sharePercent: 10,
  startedAt: AT.toISOString(),
  startedBy: 'operator',
  decision: { metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72 },
  ...over,
});

describe('variant assignment', () => {
  it('gives each user one variant for the whole experiment, and the challenger its share of users', () => {
    for (const share of [1, 10, 50]) {
      const e = experiment({ sharePercent: share });
      const users = Array.from({ length: 20_000 }, (_, i) => `u${i}`);
      const challengers = users.filter((u) => assignVariant(e, u) === 'challenger').length;
      expect(challengers / users.length).toBeGreaterThan(share / 100 - 0.01);
      expect(challengers / users.length).toBeLessThan(share / 100 + 0.01);
      for (const u of users.slice(0, 500)) expect(assignVariant(e, u)).toBe(assignVariant({ id: e.id, sharePercent: share }, u));
    }
  });

  it('reshuffles users for a new experiment', () => {
    const users = Array.from({ length: 5000 }, (_, i) => `user-${i}`);
    const a = users.filter((u) => assignVariant(experiment({ id: 'xone', sharePercent: 50 }), u) === 'challenger');
    const b = new Set(users.filter((u) => assignVariant(experiment({ id: 'xtwo', sharePercent: 50 }), u) === 'challenger'));
    const overlap = a.filter((u) => b.has(u)).length / a.length;
    expect(overlap).toBeGreaterThan(0.4);
    expect(overlap).toBeLessThan(0.6);
  });

  it('makes experiment ids the recommendation ids accept', () => {
    expect(EXPERIMENT_ID_PATTERN.test(newExperimentId(AT))).toBe(true);
  });
});

describe('pointer transitions', () => {
  const production = pointerFor('v20261201T020000Z', undefined, { ndcg: 0.3 }, AT);

  it('starts, stops and promotes, keeping the pointer valid JSON for every reader', () => {
    const running = withExperiment(production, experiment());
    expect(parseProductionPointer(JSON.stringify(running)).experiment?.challenger.version).toBe('v20261202T020000Z');
    const stopped = withoutExperiment(running);
    expect(stopped.version).toBe(production.version);
    expect(parseProductionPointer(JSON.stringify(stopped)).experiment).toBeNull();
    const promoted = promotedPointer(running, AT);
    expect(promoted.version).toBe('v20261202T020000Z');
    expect(promoted.previous?.version).toBe('v20261201T020000Z');
    expect(promoted.experiment).toBeNull();
    // An old pointer without the field still parses.
    expect(parseProductionPointer(JSON.stringify(production)).experiment).toBeUndefined();
  });

  it('refuses a second experiment, a challenger that is production, and stopping or promoting nothing', () => {
    const running = withExperiment(production, experiment());
    expect(() => withExperiment(running, experiment({ id: 'xnext' }))).toThrow(ExperimentStateError);
    expect(() => withExperiment(production, experiment({ challenger: deploymentOf(production.version, AT) }))).toThrow(/already production/);
    expect(() => withoutExperiment(production)).toThrow(/no experiment/);
    expect(() => promotedPointer(production)).toThrow(/nothing to promote/);
    expect(() => parseProductionPointer(JSON.stringify({ ...running, experiment: { ...running.experiment, sharePercent: 80 } }))).toThrow(/sharePercent/);
  });
});
