import { describe, expect, it } from 'vitest';
import { emptyAttributionTotals, type AttributionSource, type ExperimentTotals } from '../../src/analytics/attribution';
import { parseProductionPointer, pointerFor, type ProductionPointer } from '../../src/domain/model-registry';
import { checkExperiment, type CheckDeps } from '../../src/experiments/check';
import { startExperiment } from '../../src/experiments/operator';

const PROD = 'v20261201T020000Z';
const CHALLENGER = 'v20261202T020000Z-canary';
const STARTED = new Date('2026-12-03T00:00:00Z');
const at = (hours: number) => new Date(STARTED.getTime() + hours * 3_600_000);

const totals = (control: [number, number], challenger: [number, number]): ExperimentTotals => ({
  control: { ...emptyAttributionTotals(), impressions: control[0], clicks: control[1] },
  challenger: { ...emptyAttributionTotals(), impressions: challenger[0], clicks: challenger[1] },
});

/** An in-memory registry, experiment log and attribution (the AttributionSource port) that record their calls. */
function world(pointer: ProductionPointer | undefined) {
  const state = { text: pointer ? JSON.stringify(pointer) : (undefined as string | undefined) };
  const logs: { key: string; json: Record<string, unknown> }[] = [];
  const queries: [string, number, number][] = [];
  const notified: [string, string][] = [];
  let answer: ExperimentTotals = totals([0, 0], [0, 0]);
  let beforeAnswer: (() => void) | undefined;
  const attribution: AttributionSource = {
    experimentTotals: async (id, fromMs, toMs) => {
      queries.push([id, fromMs, toMs]);
      beforeAnswer?.();
      return answer;
    },
  };
  const deps: CheckDeps = {
    registry: {
      readPointer: async () => (state.text === undefined ? undefined : { text: state.text, pointer: parseProductionPointer(state.text) }),
      writePointer: async (p) => {
        state.text = JSON.stringify(p);
      },
      hasArtifact: async (v) => v === PROD || v === CHALLENGER,
    },
    log: async (key, json) => {
      logs.push({ key, json: JSON.parse(JSON.stringify(json)) as Record<string, unknown> });
    },
    attribution,
    notify: async (subject, message) => {
      notified.push([subject, message]);
    },
  };
  return {
    deps,
    logs,
    queries,
    notified,
    setTotals: (t: ExperimentTotals) => (answer = t),
    onQuery: (f: () => void) => (beforeAnswer = f),
    current: () => (state.text === undefined ? undefined : parseProductionPointer(state.text)),
    setText: (p: ProductionPointer) => (state.text = JSON.stringify(p)),
  };
}

async function running(settings = { sharePercent: 50, minImpressions: 1000 }) {
  const w = world(pointerFor(PROD, undefined, undefined, new Date('2026-12-01T02:00:00Z')));
  const { experiment } = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'canary', runId: 'run-1', settings }, STARTED);
  w.logs.length = 0;
  return { ...w, experiment };
}

describe('checkExperiment', () => {
  it('does nothing (and reads no attribution) without an experiment or without production', async () => {
    const w = world(pointerFor(PROD, undefined));
    expect(await checkExperiment(w.deps, at(1))).toMatchObject({ action: 'none', reason: 'no experiment is running', productionVersion: PROD, decision: null });
    expect(await checkExperiment(world(undefined).deps, at(1))).toMatchObject({ action: 'none', reason: 'nothing is in production', productionVersion: null });
    expect(w.queries).toEqual([]);
    expect(w.logs).toEqual([]);
  });

  it('continues on too little data, logging a decision with all the numbers and leaving the pointer as it was', async () => {
    const w = await running();
    w.setTotals(totals([5000, 100], [500, 400]));
    const before = JSON.stringify(w.current());
    const r = await checkExperiment(w.deps, at(2));
    expect(r).toMatchObject({ action: 'continue', experimentId: w.experiment.id, productionVersion: PROD, notification: null, actionLogKey: null });
    expect(JSON.stringify(w.current())).toBe(before);
    // The totals are read for this experiment, from its start to now.
    expect(w.queries).toEqual([[w.experiment.id, STARTED.getTime(), at(2).getTime()]]);
    expect(w.logs.map((l) => l.key)).toEqual([r.decisionLogKey]);
    expect(r.decisionLogKey).toMatch(new RegExp(`^reports/experiments/${w.experiment.id}/.*-decision\\.json$`));
    expect(w.logs[0]!.json).toMatchObject({
      kind: 'decision',
      controlVersion: PROD,
      challengerVersion: CHALLENGER,
      totals: { control: { impressions: 5000, clicks: 100 }, challenger: { impressions: 500, clicks: 400 } },
      decision: { action: 'continue', enoughData: false, minImpressions: 1000, control: { n: 5000, successes: 100 }, challenger: { n: 500, successes: 400 } },
    });
    expect(w.notified).toEqual([]);
  });

  it('promotes a significantly better challenger: production becomes the challenger, logs decision then promoted, notifies', async () => {
    const w = await running();
    w.setTotals(totals([5000, 200], [5000, 300]));
    const r = await checkExperiment(w.deps, at(3));
    expect(r).toMatchObject({ action: 'promote', productionVersion: CHALLENGER, decision: { significant: true } });
    expect(w.current()).toMatchObject({ version: CHALLENGER, previous: { version: PROD }, experiment: null });
    expect(w.logs.map((l) => l.key)).toEqual([r.decisionLogKey, r.actionLogKey]);
    expect(r.actionLogKey).toMatch(/-promoted\.json$/);
    expect(w.notified).toHaveLength(1);
    expect(w.notified[0]![0]).toBe(`Experiment ${w.experiment.id}: challenger promoted`);
    expect(w.notified[0]![1]).toContain('control 4.00% (200/5000), challenger 6.00% (300/5000)');
    expect(r.notification).toEqual({ subject: w.notified[0]![0], message: w.notified[0]![1] });
  });

  it('rolls back a significantly worse challenger: control serves everyone, a rolled-back log, notifies', async () => {
    const w = await running();
    w.setTotals(totals([5000, 300], [5000, 200]));
    const r = await checkExperiment(w.deps, at(3));
    expect(r).toMatchObject({ action: 'rollback', productionVersion: PROD });
    expect(w.current()).toMatchObject({ version: PROD, experiment: null });
    expect(r.actionLogKey).toMatch(/-rolled-back\.json$/);
    expect(w.notified[0]![0]).toBe(`Experiment ${w.experiment.id}: challenger rolled back`);
  });

  it('rolls back an inconclusive experiment past its maxDurationHours', async () => {
    const w = await running();
    w.setTotals(totals([2000, 100], [2000, 104]));
    expect((await checkExperiment(w.deps, at(71))).action).toBe('continue');
    expect(w.current()?.experiment?.id).toBe(w.experiment.id);
    const r = await checkExperiment(w.deps, at(72));
    expect(r).toMatchObject({ action: 'rollback', reason: expect.stringMatching(/^inconclusive/) });
    expect(w.current()?.experiment).toBeNull();
  });

  it('never acts on an experiment that changed meanwhile: one replaced during the check is left running', async () => {
    const w = await running();
    w.setTotals(totals([5000, 200], [5000, 300]));
    // While the totals are read, an operator stops the experiment and starts another one.
    const replacement = { ...w.current()!, experiment: { ...w.current()!.experiment!, id: 'xreplaced01' } };
    w.onQuery(() => w.setText(replacement));
    const r = await checkExperiment(w.deps, at(3));
    expect(r).toMatchObject({ action: 'none', reason: expect.stringMatching(/^decided promote but did not apply it: .*changed meanwhile/) });
    expect(w.current()).toMatchObject({ version: PROD, experiment: { id: 'xreplaced01' } });
    expect(w.notified).toEqual([]);
    // The decision is still logged, for the experiment it was about.
    expect(w.logs.map((l) => l.key)).toEqual([r.decisionLogKey]);
  });
});
