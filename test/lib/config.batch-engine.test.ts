import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { FARGATE_SIZES, readConfig } from '../../lib/config';

/** The batch engine and Fargate training settings (cdk context), validated at synth like every other key. */
const configWith = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

describe('batch engine and training path settings (cdk context)', () => {
  it('default to the automatic engine, 256 MiB, a 1 TiB scan limit and no Fargate training', () => {
    const c = configWith({});
    expect(c.retrainingEngine).toBe('auto');
    expect(c.athenaMinBronzeBytes).toBe(268_435_456);
    expect(c.athenaBytesScannedCutoffPerQuery).toBe(1_099_511_627_776);
    expect(c.fargateTraining).toEqual({ enabled: false, cpu: 4096, memoryMiB: 30_720, minInteractions: 20_000_000 });
  });

  it('take the values given on the command line (strings)', () => {
    const c = configWith({ retrainingEngine: 'lambda', athenaMinBronzeBytes: '0', fargateTrainingEnabled: 'true', fargateTrainingCpu: '8192', fargateTrainingMemoryMiB: '61440', fargateMinInteractions: '5000000' });
    expect(c.retrainingEngine).toBe('lambda');
    expect(c.athenaMinBronzeBytes).toBe(0);
    expect(c.fargateTraining).toEqual({ enabled: true, cpu: 8192, memoryMiB: 61_440, minInteractions: 5_000_000 });
    // Without a memory size, the largest one of the CPU (up to 30 GiB).
    expect(configWith({ fargateTrainingCpu: 1024 }).fargateTraining.memoryMiB).toBe(8192);
  });

  it('refuse values Athena or Fargate would refuse at deploy or run time, by name', () => {
    expect(() => configWith({ retrainingEngine: 'spark' })).toThrow('context retrainingEngine must be one of lambda, athena, auto (got spark)');
    expect(() => configWith({ athenaBytesScannedCutoffPerQuery: 1_000_000 })).toThrow(/athenaBytesScannedCutoffPerQuery must be a number from 10000000/);
    expect(() => configWith({ athenaMinBronzeBytes: -1 })).toThrow(/athenaMinBronzeBytes must be a number from 0/);
    expect(() => configWith({ fargateTrainingCpu: 3000 })).toThrow(`context fargateTrainingCpu must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (got 3000)`);
    expect(() => configWith({ fargateTrainingCpu: 4096, fargateTrainingMemoryMiB: 4096 })).toThrow(/fargateTrainingMemoryMiB must be a number from 8192 to 30720/);
    expect(() => configWith({ fargateTrainingCpu: 8192, fargateTrainingMemoryMiB: 20_000 })).toThrow('context fargateTrainingMemoryMiB must be a multiple of 4096 from 16384 to 61440 with fargateTrainingCpu=8192 (got 20000)');
    expect(() => configWith({ fargateMinInteractions: 0 })).toThrow(/fargateMinInteractions must be a number from 1/);
  });
});
