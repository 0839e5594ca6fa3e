import { describe, expect, it } from 'vitest';
import { ExperimentStateError } from '../../src/domain/experiment';
import { EXPERIMENTS_PREFIX } from '../../src/domain/lake-layout';
import { parseProductionPointer, pointerFor, type ProductionPointer } from '../../src/domain/model-registry';
import {
  DEFAULT_EXPERIMENT_SETTINGS,
  ExperimentRequestError,
  experimentSettings,
  experimentStatus,
  promoteExperiment,
  startExperiment,
  stopExperiment,
  type ExperimentOperatorDeps,
} from '../../src/experiments/operator';

const PROD = 'v20261201T020000Z';
const CHALLENGER = 'v20261202T020000Z-better';
const AT = new Date('2026-12-03T10:00:00Z');

function world(pointer: ProductionPointer | undefined, artifacts: string[] = [PROD, CHALLENGER]) {
  const state = { text: pointer ? JSON.stringify(pointer) : undefined as string | undefined, writes: 0 };
  const logs: { key: string; json: unknown }[] = [];
  const deps: ExperimentOperatorDeps = {
    registry: {
      readPointer: async () => (state.text === undefined ? undefined : { text: state.text, pointer: parseProductionPointer(state.text) }),
      writePointer: async (p) => {
        state.text = JSON.stringify(p);
        state.writes++;
      },
      hasArtifact: async (version) => artifacts.includes(version),
    },
    log: async (key, json) => {
      logs.push({ key, json: JSON.parse(JSON.stringify(json)) });
    },
  };
  const current = () => (state.text === undefined ? undefined : parseProductionPointer(state.text));
  return { deps, logs, state, current };
}

const production = () => pointerFor(PROD, undefined, { 'ndcg@10': 0.3 }, new Date('2026-12-01T02:00:00Z'));

describe('experiment settings', () => {
  it('fills the defaults and names every bad field', () => {
    expect(experimentSettings()).toEqual({ sharePercent: 10, metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72 });
    expect(experimentSettings({ sharePercent: 50, metric: 'conversion', alpha: undefined })).toMatchObject({ sharePercent: 50, metric: 'conversion', alpha: 0.01 });
    expect(() => experimentSettings({ sharePercent: 51 })).toThrow(/sharePercent/);
    expect(() => experimentSettings({ sharePercent: 0 })).toThrow(ExperimentRequestError);
    expect(() => experimentSettings({ sharePercent: 2.5 })).toThrow(/whole number/);
    expect(() => experimentSettings({ minImpressions: 0, alpha: 0.7 })).toThrow(/minImpressions.*alpha|alpha.*minImpressions/);
    expect(() => experimentSettings({ maxDurationHours: -1 })).toThrow(/maxDurationHours/);
    expect(() => experimentSettings({ metric: 'revenue' as 'ctr' })).toThrow(/metric/);
    expect(() => experimentSettings({ bogus: 1 } as never)).toThrow(/bogus|Unrecognized/i);
  });
});

describe('startExperiment', () => {
  it('puts the challenger on the pointer with the settings and writes one started log object', async () => {
    const w = world(production());
    const result = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator', settings: { sharePercent: 25 } }, AT);
    const pointer = w.current()!;
    expect(pointer.version).toBe(PROD);
    expect(pointer.experiment).toEqual(result.experiment);
    expect(result.experiment).toMatchObject({ challenger: { version: CHALLENGER }, sharePercent: 25, startedAt: AT.toISOString(), startedBy: 'operator', decision: { metric: 'ctr', minImpressions: 1000, alpha: 0.01, maxDurationHours: 72 } });
    expect(w.logs).toHaveLength(1);
    expect(w.logs[0]!.key).toBe(result.logKey);
    expect(result.logKey.startsWith(`${EXPERIMENTS_PREFIX}${result.experiment.id}/`)).toBe(true);
    expect(result.logKey).toMatch(/-started\.json$/);
    expect(w.logs[0]!.json).toMatchObject({ kind: 'started', experimentId: result.experiment.id, controlVersion: PROD, challengerVersion: CHALLENGER, settings: { sharePercent: 25 } });
  });

  it('records a canary start with its run id', async () => {
    const w = world(production());
    const { experiment } = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'canary', runId: 'run-7' }, AT);
    expect(experiment).toMatchObject({ startedBy: 'canary', runId: 'run-7', sharePercent: DEFAULT_EXPERIMENT_SETTINGS.sharePercent });
  });

  it('refuses nothing in production, a running experiment, the production version and an unknown version, writing nothing', async () => {
    const none = world(undefined);
    await expect(startExperiment(none.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT)).rejects.toThrow(/nothing is in production/);

    const w = world(production());
    await expect(startExperiment(w.deps, { challengerVersion: PROD, startedBy: 'operator' }, AT)).rejects.toThrow(/already production/);
    await expect(startExperiment(w.deps, { challengerVersion: 'v20261130T020000Z', startedBy: 'operator' }, AT)).rejects.toThrow(ExperimentStateError);
    await expect(startExperiment(w.deps, { challengerVersion: 'v20261130T020000Z', startedBy: 'operator' }, AT)).rejects.toThrow(/unknown model version/);
    await expect(startExperiment(w.deps, { challengerVersion: '../etc', startedBy: 'operator' }, AT)).rejects.toThrow(ExperimentRequestError);
    await expect(startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator', settings: { sharePercent: 90 } }, AT)).rejects.toThrow(ExperimentRequestError);
    expect(w.state.writes).toBe(0);
    expect(w.logs).toHaveLength(0);

    await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT);
    await expect(startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT)).rejects.toThrow(/already running/);
    expect(w.state.writes).toBe(1);
  });
});

describe('status, promote and stop', () => {
  it('reports the pointer, the experiment and its settings', async () => {
    const w = world(production());
    expect(await experimentStatus(w.deps)).toMatchObject({ experiment: null, settings: null, defaults: DEFAULT_EXPERIMENT_SETTINGS, pointer: { version: PROD } });
    await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator', settings: { alpha: 0.05, sharePercent: 50 } }, AT);
    const status = await experimentStatus(w.deps);
    expect(status.settings).toEqual({ sharePercent: 50, metric: 'ctr', minImpressions: 1000, alpha: 0.05, maxDurationHours: 72 });
    expect((await experimentStatus(world(undefined).deps)).pointer).toBeNull();
  });

  it('promotes the challenger: it becomes production and the control previous', async () => {
    const w = world(production());
    const { experiment } = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT);
    const later = new Date(AT.getTime() + 3_600_000);
    const result = await promoteExperiment(w.deps, experiment.id, later, 'significant');
    const pointer = w.current()!;
    expect(pointer.version).toBe(CHALLENGER);
    expect(pointer.previous?.version).toBe(PROD);
    expect(pointer.experiment).toBeNull();
    expect(result.logKey).toMatch(/-promoted\.json$/);
    expect(w.logs.at(-1)!.json).toMatchObject({ kind: 'promoted', experimentId: experiment.id, reason: 'significant', challengerVersion: CHALLENGER });
  });

  it('stops: production serves everyone again, as stopped or rolled-back', async () => {
    const w = world(production());
    const first = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT);
    const stopped = await stopExperiment(w.deps, undefined, AT, 'operator said so');
    expect(w.current()).toMatchObject({ version: PROD, experiment: null });
    expect(stopped.logKey).toMatch(/-stopped\.json$/);
    expect(stopped.experiment.id).toBe(first.experiment.id);

    const second = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'canary' }, AT);
    const rolled = await stopExperiment(w.deps, second.experiment.id, AT, 'worse', 'rolled-back');
    expect(rolled.logKey).toMatch(/-rolled-back\.json$/);
    expect(w.logs.map((l) => (l.json as { kind: string }).kind)).toEqual(['started', 'stopped', 'started', 'rolled-back']);
  });

  it('never acts on an experiment that changed meanwhile, nor on none', async () => {
    const w = world(production());
    await expect(stopExperiment(w.deps)).rejects.toThrow(/no experiment is running/);
    await expect(promoteExperiment(w.deps, 'xabc')).rejects.toThrow(/no experiment is running/);
    const { experiment } = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT);
    const writes = w.state.writes;
    await expect(promoteExperiment(w.deps, 'xother')).rejects.toThrow(/changed meanwhile/);
    await expect(stopExperiment(w.deps, 'xother')).rejects.toThrow(ExperimentStateError);
    expect(w.state.writes).toBe(writes);
    expect(w.current()!.experiment?.id).toBe(experiment.id);
  });

  it('refuses to promote a challenger whose artifact is gone', async () => {
    const artifacts = [PROD, CHALLENGER];
    const w = world(production(), artifacts);
    const { experiment } = await startExperiment(w.deps, { challengerVersion: CHALLENGER, startedBy: 'operator' }, AT);
    artifacts.pop();
    await expect(promoteExperiment(w.deps, experiment.id)).rejects.toThrow(/no stored artifact/);
    expect(w.current()!.version).toBe(PROD);
  });
});
