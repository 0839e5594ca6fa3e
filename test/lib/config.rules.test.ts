import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MAX_RULES_JSON_CHARS, readConfig, readRulesFile } from '../../lib/config';
import { PROJECT_ROOT } from '../../lib/node-function';
import type { RecommendApi } from '../../lib/recommend-api';
import { RecsysStack } from '../../lib/recsys-stack';
import { compileRules, RulesError } from '../../src/rules/rules-definition';
import { CDK_JSON_CONTEXT, synthStack } from '../support/synth';

/**
 * The rules definition (context `rulesFile`, default rules.json at the project root) is validated at synth:
 * `cdk synth` fails on a broken filter with the definition's own error, so a deploy never ships one.
 */
const dir = mkdtempSync(join(tmpdir(), 'rules-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (content: unknown): string => {
  const path = join(dir, `rules-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
};
const readVariables = (template: Template, stack: RecsysStack): Record<string, unknown> => {
  const fn = (stack.node.findChild('Serving') as RecommendApi).readFunction;
  return (template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
};
/** The error synthesising with `rulesFile` throws (fails the test if it does not throw). */
const synthError = (rulesFile: string): Error => {
  try {
    synthStack({ rulesFile });
  } catch (err) {
    return err as Error;
  }
  throw new Error(`synth with rulesFile ${rulesFile} did not fail`);
};
/** A node whose context sets only `rulesFile` (or nothing). */
const nodeWith = (rulesFile?: string) => new App({ context: rulesFile === undefined ? {} : { rulesFile } }).node;

const VALID = {
  attributes: { brand: 'string' },
  filters: { 'under-price': 'price <= $maxPrice', 'brand-in': { expression: 'brand IN $brands', description: 'a brand page' } },
  promotions: { cheap: { filter: 'under-price', share: 20 } },
};

describe('rulesFile: the rules definition validated at synth', () => {
  it('a broken filter fails the synthesis with the definition’s own error, naming the file and pointing into the expression', () => {
    const broken = { ...VALID, filters: { ...VALID.filters, cheap: 'price <= <= $maxPrice' } };
    const path = file(broken);
    let expected: RulesError | undefined;
    try {
      compileRules(broken, path);
    } catch (err) {
      expected = err as RulesError;
    }
    expect(expected).toBeInstanceOf(RulesError);
    const err = synthError(path);
    expect(err.message).toContain(`context rulesFile: ${path}`);
    // Every problem compileRules found, with its path into the definition and the caret under the column.
    expect(err.message).toContain(expected!.message);
    expect(err.message).toContain('filters.cheap');
    expect(err.message).toMatch(/price <= <= \$maxPrice\n\s*\^/);
  });

  it('lists every problem of the definition at once (a filter, a promotion of an unknown filter, a bad share)', () => {
    const path = file({ filters: { bad: 'categry ==' }, promotions: { x: { filter: 'nope', share: 150 } } });
    const err = synthError(path);
    expect(err.message).toMatch(/filters\.bad/);
    expect(err.message).toMatch(/promotions\.x/);
    expect(err.message).toMatch(/share/);
  });

  it('refuses hostile names (a __proto__ filter) with a clear message, not a crash', () => {
    const path = file('{"filters": {"__proto__": "price <= 3"}}');
    const err = synthError(path);
    expect(err.message).toContain(`context rulesFile: ${path}`);
    expect(err.message).toContain('__proto__');
  });

  it('a file that is not JSON fails with the line and column of the mistake', () => {
    const path = file('{\n  "filters": {\n    "cheap": "price <= 3",\n  }\n}\n');
    const err = synthError(path);
    expect(err.message).toContain(`context rulesFile: ${path} is not valid JSON`);
    expect(err.message).toMatch(/line 4 column 3/);
  });

  it('a rulesFile that does not exist fails, naming it; relative paths are taken from the project root', () => {
    expect(synthError(join(dir, 'missing.json')).message).toBe(`context rulesFile: ${join(dir, 'missing.json')} does not exist`);
    const path = file(VALID);
    const rel = relative(PROJECT_ROOT, path);
    expect(readRulesFile(nodeWith(rel))).toEqual({ rulesJson: JSON.stringify(VALID), rulesFile: path });
  });

  it(`refuses a definition over ${MAX_RULES_JSON_CHARS} bytes of compact JSON, which Lambda's 4 KB environment could not hold`, () => {
    const filters = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, { expression: 'price <= $maxPrice', description: 'd'.repeat(200) }]));
    const big = { filters };
    expect(() => compileRules(big)).not.toThrow(); // valid: refused for its size alone
    const size = JSON.stringify(big).length;
    expect(size).toBeGreaterThan(MAX_RULES_JSON_CHARS);
    const err = synthError(file(big));
    expect(err.message).toMatch(new RegExp(`is ${size} bytes as compact JSON, more than the 4000 .*RULES_JSON`));
    // Multi-byte characters count as the bytes Lambda counts.
    const wide = { filters: { f: { expression: 'price <= $maxPrice', description: 'é'.repeat(499) } }, promotions: Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`p${i}`, { filter: 'f', share: 1, description: 'ü'.repeat(499) }])) };
    expect(JSON.stringify(wide).length).toBeLessThan(MAX_RULES_JSON_CHARS);
    expect(synthError(file(wide)).message).toMatch(/bytes as compact JSON, more than the 4000/);
  });

  it('measures the compact JSON: a pretty-printed file larger than the bound but compact within it is deployed, compacted', () => {
    const filters = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`f${i}`, 'price <= $maxPrice']));
    const path = join(dir, 'pretty.json');
    writeFileSync(path, JSON.stringify({ filters }, null, 2).replace(/\n/g, `\n${' '.repeat(150)}`));
    expect(readFileSync(path, 'utf8').length).toBeGreaterThan(MAX_RULES_JSON_CHARS);
    const { template, stack } = synthStack({ rulesFile: path });
    expect(readVariables(template, stack).RULES_JSON).toBe(JSON.stringify({ filters }));
    expect(stack.node.tryGetContext('rulesFile')).toBe(path);
  });

  it('refuses rules within the 4000 bytes when the read function’s environment as a whole would exceed Lambda’s 4 KB', () => {
    // ~3,700 bytes of rules: within the variable's bound, but not with the function's other variables.
    const filters = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`f${i}`, { expression: 'price <= $maxPrice', description: 'd'.repeat(420) }]));
    const size = JSON.stringify({ filters }).length;
    expect(size).toBeLessThanOrEqual(MAX_RULES_JSON_CHARS);
    expect(size).toBeGreaterThan(3500);
    const path = file({ filters });
    expect(readRulesFile(nodeWith(path))?.rulesJson).toBe(JSON.stringify({ filters }));
    const err = synthError(path);
    expect(err.message).toMatch(/the read function's environment is about \d+ bytes, more than the 4096 Lambda allows; RULES_JSON \(rulesFile .*\) alone is \d+ bytes/);
  });

  it('a valid definition reaches the read function as compact JSON in RULES_JSON, and only the read function', () => {
    const path = file(VALID);
    const { template, stack } = synthStack({ rulesFile: path });
    expect(readVariables(template, stack).RULES_JSON).toBe(JSON.stringify(VALID));
    const withRules = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) => 'RULES_JSON' in ((f as { Properties: { Environment?: { Variables?: object } } }).Properties.Environment?.Variables ?? {}));
    expect(withRules).toHaveLength(1);
  });

  it('the default is rules.json at the project root, when it exists; without it there are no rules and no RULES_JSON', () => {
    const root = mkdtempSync(join(dir, 'root-'));
    expect(readRulesFile(nodeWith(), root)).toBeUndefined();
    writeFileSync(join(root, 'rules.json'), JSON.stringify(VALID, null, 2));
    expect(readRulesFile(nodeWith(), root)).toEqual({ rulesJson: JSON.stringify(VALID), rulesFile: 'rules.json' });
    writeFileSync(join(root, 'rules.json'), '{"filters": {"x": "price <"}}');
    expect(() => readRulesFile(nodeWith(), root)).toThrow(/^context rulesFile: rules\.json is not a valid rules definition/);

    // The repository's own rules.json is what a default synth deploys.
    const own = join(PROJECT_ROOT, 'rules.json');
    const config = readConfig(new App({ context: CDK_JSON_CONTEXT }).node);
    if (existsSync(own)) expect(config.rulesJson).toBe(JSON.stringify(JSON.parse(readFileSync(own, 'utf8'))));
    else expect(config.rulesJson).toBeUndefined();

    // No rules: the read function gets no RULES_JSON at all.
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const bare = { ...readConfig(app.node), rulesJson: undefined, rulesFile: undefined };
    const stack = new RecsysStack(app, bare.stackName, { config: bare, env: { account: '123456789012', region: 'eu-west-1' } });
    expect(readVariables(Template.fromStack(stack), stack)).not.toHaveProperty('RULES_JSON');
  });
});
