import { describe, expect, it } from 'vitest';
import type { NightlyRetraining } from '../../lib/nightly-retraining';
import { synthStack } from '../support/synth';

/** The erasure settings the nightly EraseUsers step is deployed with (README "User erasure"). */
describe('nightly retraining: erasure model retention', () => {
  it('gives the EraseUsers function, and no other function, the configured model retention', () => {
    const { template, stack } = synthStack({ erasureModelRetentionDays: '30' });
    const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
    const functions = template.findResources('AWS::Lambda::Function') as Record<string, { Properties: { Environment?: { Variables?: Record<string, unknown> } } }>;
    const withRetention = Object.entries(functions).filter(([, f]) => f.Properties.Environment?.Variables?.ERASURE_MODEL_RETENTION_DAYS !== undefined);
    expect(withRetention.map(([id]) => id)).toEqual([stack.getLogicalId(retraining.functions.EraseUsers.node.defaultChild as never)]);
    expect(withRetention[0]![1].Properties.Environment!.Variables!.ERASURE_MODEL_RETENTION_DAYS).toBe('30');
  });
});
