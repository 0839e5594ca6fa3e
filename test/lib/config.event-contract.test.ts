import { describe, expect, it } from 'vitest';
import { synthStack } from '../support/synth';

type Fn = { Properties: { Environment?: { Variables?: Record<string, unknown> }; Handler?: string }; Metadata?: Record<string, unknown> };

/** Every pipeline function of the stack (they all set POWERTOOLS_SERVICE_NAME), by service name. */
function pipelineFunctions(template: ReturnType<typeof synthStack>['template']): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const fn of Object.values(template.findResources('AWS::Lambda::Function')) as Fn[]) {
    const vars = fn.Properties.Environment?.Variables ?? {};
    if (typeof vars.POWERTOOLS_SERVICE_NAME === 'string') out.set(vars.POWERTOOLS_SERVICE_NAME, vars);
  }
  return out;
}

describe('event contract settings (cdk context)', () => {
  it('reach every function that validates events, the same values everywhere', () => {
    const { template } = synthStack({ eventTimeFloor: '2015-01-01T00:00:00Z', eventMaxFutureSkewSeconds: 120, eventLedgerHorizonMinutes: 180 });
    const fns = pipelineFunctions(template);
    expect(fns.size).toBeGreaterThan(5);
    for (const [name, vars] of fns) {
      expect(vars, name).toMatchObject({ EVENT_TIME_FLOOR: '2015-01-01T00:00:00Z', EVENT_MAX_FUTURE_SKEW_SECONDS: '120', EVENT_LEDGER_HORIZON_MINUTES: '180' });
    }
  });

  it('leave the code defaults in place when not set', () => {
    for (const vars of pipelineFunctions(synthStack().template).values()) {
      expect(Object.keys(vars).filter((k) => k.startsWith('EVENT_'))).toEqual([]);
    }
  });

  it('refuse values outside their bounds, by name', () => {
    expect(() => synthStack({ eventTimeFloor: '2015-01-01' })).toThrow(/eventTimeFloor must be an ISO-8601 instant/);
    expect(() => synthStack({ eventMaxFutureSkewSeconds: -1 })).toThrow(/eventMaxFutureSkewSeconds must be a number from 0 to 604800/);
    expect(() => synthStack({ eventLedgerHorizonMinutes: 30 })).toThrow(/eventLedgerHorizonMinutes must be a number from 60 to 10080/);
  });
});
