import { describe, expect, it } from 'vitest';
import { loadRetrainingConfig, rolloutOf } from '../../src/config/retraining';

const env = (extra: Record<string, string>) => ({ LAKE_BUCKET: 'lake-bucket', ...extra });

describe('retraining configuration: rollout', () => {
  it('replaces production by default', () => {
    const c = loadRetrainingConfig(env({}));
    expect(c).toMatchObject({ ROLLOUT: 'replace', CANARY_SHARE_PERCENT: 10 });
    expect(rolloutOf(c)).toEqual({ mode: 'replace' });
  });

  it('canary: the share and the decision settings, unset ones left to the experiment defaults', () => {
    const c = loadRetrainingConfig(env({ ROLLOUT: 'canary', CANARY_SHARE_PERCENT: '20', EXPERIMENT_METRIC: 'conversion', EXPERIMENT_ALPHA: '0.005' }));
    expect(rolloutOf(c)).toEqual({ mode: 'canary', settings: { sharePercent: 20, metric: 'conversion', alpha: 0.005, minImpressions: undefined, maxDurationHours: undefined } });
  });

  it('names every bad rollout variable', () => {
    expect(() => loadRetrainingConfig(env({ ROLLOUT: 'blue-green' }))).toThrow(/ROLLOUT/);
    expect(() => loadRetrainingConfig(env({ CANARY_SHARE_PERCENT: '51' }))).toThrow(/CANARY_SHARE_PERCENT/);
    expect(() => loadRetrainingConfig(env({ CANARY_SHARE_PERCENT: '2.5' }))).toThrow(/CANARY_SHARE_PERCENT/);
    expect(() => loadRetrainingConfig(env({ EXPERIMENT_ALPHA: '0.5', EXPERIMENT_MIN_IMPRESSIONS: '0', EXPERIMENT_METRIC: 'revenue' }))).toThrow(/EXPERIMENT_METRIC.*EXPERIMENT_MIN_IMPRESSIONS.*EXPERIMENT_ALPHA|EXPERIMENT_ALPHA/);
  });
});
