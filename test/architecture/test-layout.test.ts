import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Tests mirror the code: from any source file its test is found without searching. The test of
 * `src/<folder>/<name>.ts` is `test/<folder>/<name>[.<aspect>…].test.ts`; of `lib/<name>.ts`,
 * `test/lib/<name>…`; of `lambdas/<name>/index.ts`, `test/lambdas/<name>…`; of
 * `statemachines/<name>.asl.json`, `test/statemachines/<name>…`. Suites that test the system as a whole live in
 * the folders below instead.
 */
const CROSS_CUTTING = ['architecture', 'deploy', 'deployed', 'e2e', 'support'];

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The source file a test file is named for, or undefined when its name names none (paths relative to the repository). */
export function subjectOf(testPath: string, exists: (path: string) => boolean): string | undefined {
  const m = /^test\/(.+\/)?([^/]+)$/.exec(testPath);
  if (!m) return undefined;
  const folder = (m[1] ?? '').replace(/\/$/, '');
  const base = m[2]!.split('.')[0]!;
  const candidates =
    folder === 'lib' ? [`lib/${base}.ts`]
    : folder === 'lambdas' ? [`lambdas/${base}/index.ts`, `lambdas/${base}.ts`]
    : folder.startsWith('lambdas/') ? [`${folder}/${base}.ts`]
    : folder === 'statemachines' ? [`statemachines/${base}.asl.json`]
    : [`src/${folder}/${base}.ts`];
  return candidates.find(exists);
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : []));
}

describe('test files mirror the code they test', () => {
  it('names, for every test outside the cross-cutting suites, a source file that exists', () => {
    const files = testFiles(join(ROOT, 'test'))
      .map((f) => relative(ROOT, f).split('\\').join('/'))
      .filter((f) => !CROSS_CUTTING.includes(f.split('/')[1]!));
    expect(files.length).toBeGreaterThan(40);
    const orphans = files.filter((f) => subjectOf(f, (p) => existsSync(join(ROOT, p))) === undefined);
    expect(orphans, 'name each test after the file it tests (test/<folder>/<name>[.<aspect>].test.ts)').toEqual([]);
  });

  it('maps each kind of source to its test folder, and refuses a name that matches no file', () => {
    const present = new Set(['src/serving/read-api.ts', 'lib/monitoring.ts', 'lambdas/consumer/index.ts', 'statemachines/nightly-retraining.asl.json', 'lambdas/retraining/train-model.ts']);
    const has = (p: string) => present.has(p);
    expect(subjectOf('test/serving/read-api.contract.test.ts', has)).toBe('src/serving/read-api.ts');
    expect(subjectOf('test/lib/monitoring.test.ts', has)).toBe('lib/monitoring.ts');
    expect(subjectOf('test/lambdas/consumer.faults.integration.test.ts', has)).toBe('lambdas/consumer/index.ts');
    expect(subjectOf('test/lambdas/retraining/train-model.test.ts', has)).toBe('lambdas/retraining/train-model.ts');
    expect(subjectOf('test/statemachines/nightly-retraining.asl.test.ts', has)).toBe('statemachines/nightly-retraining.asl.json');
    expect(subjectOf('test/api/routing.test.ts', has)).toBeUndefined();
    expect(subjectOf('test/serving/sketches.test.ts', has)).toBeUndefined();
  });
});
