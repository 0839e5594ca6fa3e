import { describe, expect, it } from 'vitest';
import { loadRetrainingConfig, trainerFor, trainerOf } from '../../src/config/retraining';

describe('retraining configuration: where a run trains (trainerFor)', () => {
  it('takes the Fargate task from the threshold on, the Lambda below it', () => {
    const on = { fargateEnabled: true, minInteractions: 20_000_000 };
    expect(trainerFor(on, 19_999_999)).toBe('lambda');
    expect(trainerFor(on, 20_000_000)).toBe('fargate');
    expect(trainerFor(on, 20_000_001)).toBe('fargate');
    expect(trainerFor({ fargateEnabled: true, minInteractions: 1 }, 0)).toBe('lambda');
  });

  it('never takes the task when it is not enabled (not deployed), whatever the size', () => {
    for (const pairs of [0, 20_000_000, Number.MAX_SAFE_INTEGER]) expect(trainerFor({ fargateEnabled: false, minInteractions: 1 }, pairs)).toBe('lambda');
  });

  it('reads FARGATE_TRAINING (default false) and FARGATE_MIN_INTERACTIONS (default 20,000,000) from the environment', () => {
    const base = { LAKE_BUCKET: 'lake-bucket' };
    expect(trainerOf(loadRetrainingConfig(base), 50_000_000)).toBe('lambda');
    const enabled = loadRetrainingConfig({ ...base, FARGATE_TRAINING: 'true' });
    expect(trainerOf(enabled, 19_999_999)).toBe('lambda');
    expect(trainerOf(enabled, 20_000_000)).toBe('fargate');
    expect(trainerOf(loadRetrainingConfig({ ...base, FARGATE_TRAINING: 'true', FARGATE_MIN_INTERACTIONS: '5' }), 5)).toBe('fargate');
  });
});
