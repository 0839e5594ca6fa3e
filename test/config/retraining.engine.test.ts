import { describe, expect, it } from 'vitest';
import { engineFor, loadRetrainingConfig } from '../../src/config/retraining';

const env = (extra: Record<string, string>) => ({ LAKE_BUCKET: 'lake-bucket', ...extra });
const MiB = 1024 * 1024;

describe('retraining configuration: the batch engine', () => {
  it('chooses by window size by default: Lambda up to 256 MiB of Bronze, Athena above', () => {
    const c = loadRetrainingConfig(env({}));
    expect(c).toMatchObject({ RETRAINING_ENGINE: 'auto', ATHENA_MIN_BRONZE_BYTES: 256 * MiB, FARGATE_TRAINING: false, FARGATE_MIN_INTERACTIONS: 20_000_000 });
    expect(engineFor(c, 0).engine).toBe('lambda');
    expect(engineFor(c, 256 * MiB)).toEqual({ engine: 'lambda', reason: 'window Bronze 256.0 MiB <= ATHENA_MIN_BRONZE_BYTES 256.0 MiB' });
    expect(engineFor(c, 256 * MiB + 1).engine).toBe('athena');
  });

  it('follows a fixed choice whatever the size, and says why', () => {
    expect(engineFor(loadRetrainingConfig(env({ RETRAINING_ENGINE: 'athena' })), 10)).toEqual({ engine: 'athena', reason: 'RETRAINING_ENGINE=athena' });
    expect(engineFor(loadRetrainingConfig(env({ RETRAINING_ENGINE: 'lambda' })), 10 * 1024 * MiB).engine).toBe('lambda');
    expect(engineFor(loadRetrainingConfig(env({ ATHENA_MIN_BRONZE_BYTES: '0' })), 1).engine).toBe('athena');
  });

  it('names every bad engine variable', () => {
    expect(() => loadRetrainingConfig(env({ RETRAINING_ENGINE: 'spark' }))).toThrow(/RETRAINING_ENGINE/);
    expect(() => loadRetrainingConfig(env({ ATHENA_MIN_BRONZE_BYTES: '-1' }))).toThrow(/ATHENA_MIN_BRONZE_BYTES/);
    expect(() => loadRetrainingConfig(env({ FARGATE_MIN_INTERACTIONS: '0' }))).toThrow(/FARGATE_MIN_INTERACTIONS/);
    expect(() => loadRetrainingConfig(env({ FARGATE_TRAINING: 'maybe' }))).toThrow(/FARGATE_TRAINING/);
  });
});
