import { describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { readConfig } from '../../lib/config';

/** How long erasure keeps model versions that hold an erased user (cdk context), validated at synth like every other key. */
const configWith = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

describe('erasure model retention (cdk context erasureModelRetentionDays)', () => {
  it('defaults to 0 days (deleted at the next nightly run) and takes a number or a command-line string', () => {
    expect(configWith({}).erasureModelRetentionDays).toBe(0);
    expect(configWith({ erasureModelRetentionDays: 30 }).erasureModelRetentionDays).toBe(30);
    expect(configWith({ erasureModelRetentionDays: '3650' }).erasureModelRetentionDays).toBe(3650);
  });

  it('refuses, by name, what the EraseUsers function would refuse at its first run', () => {
    expect(() => configWith({ erasureModelRetentionDays: -1 })).toThrow(/erasureModelRetentionDays must be a number from 0 to 3650/);
    expect(() => configWith({ erasureModelRetentionDays: 3651 })).toThrow(/erasureModelRetentionDays must be a number from 0 to 3650/);
    expect(() => configWith({ erasureModelRetentionDays: '1.5' })).toThrow('context erasureModelRetentionDays must be a whole number from 0 to 3650 (got 1.5)');
    expect(() => configWith({ erasureModelRetentionDays: 'a week' })).toThrow(/erasureModelRetentionDays/);
  });
});
