import { expect, inject, vi } from 'vitest';
import { installAwsCallRecorder, suiteName } from './aws-calls';

/**
 * Setup file of `npm test`: every middy handler a `lambdas/…` module builds runs its invocations inside
 * `invocationScope`, and every AWS SDK call is recorded with the handler that made it (test/support/aws-calls.ts).
 * `npm run test:iam` then checks each call against the role `cdk synth` gives that function.
 */
vi.mock('@middy/core', async (importOriginal) => {
  const { handlerFileOnStack, invocationScope } = await import('./aws-calls');
  const original = (await importOriginal<typeof import('@middy/core')>()).default;
  type Base = (event: unknown, context: unknown, opts: unknown) => unknown;
  const scoped = (base?: unknown, ...rest: unknown[]) => {
    const file = handlerFileOnStack(new Error().stack);
    const fn = typeof base === 'function' && file ? ((event: unknown, context: unknown, opts: unknown) => invocationScope.run(file, () => (base as Base)(event, context, opts))) : base;
    return (original as (...args: unknown[]) => unknown)(fn, ...rest);
  };
  return { default: scoped };
});

const dir = inject('awsCallsDir');
if (dir && process.env.AWS_CALLS_RECORD !== 'off') installAwsCallRecorder(dir, () => suiteName(expect.getState().testPath));
