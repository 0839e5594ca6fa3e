import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RETRAINING_FUNCTIONS, type RetrainingFunction } from '../../src/retraining/functions';
import type { StepHandler } from '../../src/retraining/lambda-step';
import { runRetrainingLocally } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { startTestAws, type TestAws } from '../support/aws-env';
import { fillLakeThroughConsumer } from './support';

let aws: TestAws;
let outDir: string;
beforeAll(async () => {
  aws = await startTestAws();
  outDir = await mkdtemp(join(tmpdir(), 'retraining-bundles-'));
});
afterAll(async () => {
  await aws?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

/** Bundles a handler as lib/node-function.ts has CDK do it for Lambda: one strict-mode ESM file for Node 22. */
async function bundle(file: string): Promise<StepHandler> {
  const outfile = join(outDir, `${file}.mjs`);
  await build({
    entryPoints: [join(process.cwd(), 'lambdas/retraining', `${file}.ts`)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: { js: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'silent',
  });
  return ((await import(pathToFileURL(outfile).href)) as { handler: StepHandler }).handler;
}

describe('the retraining handlers as Lambda bundles', () => {
  it('run the whole state machine from their esbuild bundles (strict-mode ESM, all dependencies inside)', async () => {
    const handlers = Object.fromEntries(
      await Promise.all((Object.entries(RETRAINING_FUNCTIONS) as [RetrainingFunction, string][]).map(async ([name, file]) => [name, await bundle(file)] as const)),
    ) as Record<RetrainingFunction, StepHandler>;
    await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 1500, users: 80, items: 60, seed: 5 })]);

    const run = await runRetrainingLocally({ date: new Date().toISOString().slice(0, 10) }, { handlers, retryIntervalMs: 1, executionName: 'bundled' });
    expect(run.error).toBeNull();
    expect(run.path).toContain('DeployModel');
    expect(run.path.at(-1)).toBe('Succeeded');
  });
});
