import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { compileRules, compileRulesText, EMPTY_RULES, MAX_FILTERS, RulesError, type RulesProblem } from '../../src/rules/rules-definition';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function problemsOf(json: unknown): RulesProblem[] {
  try {
    compileRules(json);
  } catch (e) {
    expect(e).toBeInstanceOf(RulesError);
    return [...(e as RulesError).problems];
  }
  throw new Error('expected the definition to be refused');
}

const SPEC_EXAMPLE = {
  attributes: { brand: 'string', rating: 'number', onSale: 'boolean' },
  filters: {
    'in-category': { expression: 'category = $category', description: 'a category page' },
    'under-price': 'price <= $maxPrice',
    'not-bought-recently': 'NOT user purchased WITHIN 30d',
    'on-sale': 'onSale = true',
    'brand-in': 'brand IN $brands',
  },
  promotions: { sale: { filter: 'on-sale', share: 20 } },
  exploration: { share: 10, maxInteractions: 5 },
};

describe('compileRules', () => {
  it('compiles the repository rules.json', () => {
    const rules = compileRulesText(readFileSync(`${ROOT}/rules.json`, 'utf8'));
    expect(rules.filters.size).toBeGreaterThanOrEqual(5);
    expect(rules.promotions.get('sale')).toMatchObject({ filter: 'on-sale', share: 20 });
    expect(rules.exploration.share).toBe(10);
    expect([...rules.filters.values()].some((f) => f.compiled.usesUser)).toBe(true);
    expect([...rules.filters.values()].some((f) => f.compiled.mentionsAvailable)).toBe(true);
  });

  it('compiles the design example, exposing filters and promotions by name', () => {
    const rules = compileRules(SPEC_EXAMPLE);
    expect(rules.source).toBe('rules.json');
    expect(rules.filters.get('in-category')).toMatchObject({ name: 'in-category', expression: 'category = $category', description: 'a category page' });
    expect(rules.filters.get('under-price')!.compiled.params.get('maxPrice')).toEqual({ type: 'number', list: false });
    expect(rules.filters.get('brand-in')!.compiled.params.get('brands')).toEqual({ type: 'string', list: true });
    expect(rules.attributes.get('onSale')).toBe('boolean');
    expect(rules.exploration).toEqual({ share: 10, maxInteractions: 5 });
  });

  it('has an empty default', () => {
    for (const rules of [EMPTY_RULES, compileRules({})]) {
      expect(rules.filters.size).toBe(0);
      expect(rules.promotions.size).toBe(0);
      expect(rules.attributes.size).toBe(0);
      expect(rules.exploration).toEqual({ share: 10, maxInteractions: 5 });
    }
    expect(compileRules({ exploration: { share: 0, maxInteractions: 0, newWithinDays: 14 } }).exploration).toEqual({ share: 0, maxInteractions: 0, newWithinDays: 14 });
  });

  it('lists EVERY problem, each with its path, and expression problems with the column and a caret', () => {
    let error: RulesError | undefined;
    try {
      compileRules(
        {
          attributes: { brand: 'string', size: 'enum', price: 'number', '9lives': 'string' },
          filters: {
            cheap: { expression: "price = 'x' AND brand < 3" },
            short: 'category = shoes',
            Bad_Name: 'available',
            empty: { description: 'no expression' },
            extra: { expression: 'available', colour: 'red' },
          },
          promotions: { sale: { filter: 'nope', share: 0 }, more: { filter: 'cheap', share: 101, extra: true } },
          exploration: { share: -1, maxInteractions: 1.5 },
          colour: 'red',
        },
        'my-rules.json',
      );
    } catch (e) {
      error = e as RulesError;
    }
    expect(error).toBeInstanceOf(RulesError);
    const paths = error!.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining([
      '(root)', 'exploration.share', 'exploration.maxInteractions',
      'attributes.size', 'attributes.price', 'attributes.9lives',
      'filters.cheap.expression', 'filters.short', 'filters.Bad_Name', 'filters.empty.expression', 'filters.extra',
      'promotions.sale.filter', 'promotions.sale.share', 'promotions.more.share', 'promotions.more',
    ]));
    const cheap = error!.problems.filter((p) => p.path === 'filters.cheap.expression');
    expect(cheap.map((p) => p.column)).toEqual([9, 17]);
    expect(error!.problems.find((p) => p.path === 'filters.short')!.column).toBe(12);
    expect(error!.problems.find((p) => p.path === '(root)')!.message).toContain('unknown key colour');
    expect(error!.problems.find((p) => p.path === 'promotions.sale.filter')!.message).toContain('unknown filter "nope"; known filters: cheap, short, Bad_Name, empty, extra');
    expect(error!.problems.find((p) => p.path === 'attributes.price')!.message).toContain('reserved');
    // The message names the source and shows each expression problem with its caret.
    expect(error!.message).toMatch(/^my-rules\.json: \d+ problems in the rules definition:/);
    const lines = error!.message.split('\n');
    const at = lines.findIndex((l) => l.startsWith('- filters.short:'));
    expect(lines[at + 1]!.trim()).toBe('category = shoes');
    expect(lines[at + 2]!.indexOf('^') - lines[at + 1]!.indexOf('c')).toBe(11);
  });

  it('refuses a promotion naming an unknown filter (also with no filters at all)', () => {
    expect(problemsOf({ promotions: { sale: { filter: 'on-sale', share: 20 } } })).toEqual([
      { path: 'promotions.sale.filter', message: 'unknown filter "on-sale"; no filters are defined' },
    ]);
  });

  it.each([
    [null, '(root)'],
    [[], '(root)'],
    ['rules', '(root)'],
    [{ filters: [] }, 'filters'],
    [{ filters: { a: 42 } }, 'filters.a'],
    [{ filters: { a: { expression: 3 } } }, 'filters.a.expression'],
    [{ attributes: { brand: ['string'] } }, 'attributes.brand'],
    [{ promotions: { p: 'on-sale' } }, 'promotions.p'],
    [{ filters: { f: 'available' }, promotions: { p: { filter: 'f', share: 20.5 } } }, 'promotions.p.share'],
    [{ exploration: { share: 101 } }, 'exploration.share'],
    [{ exploration: { maxInteractions: -1 } }, 'exploration.maxInteractions'],
    [{ exploration: { newWithinDays: 0 } }, 'exploration.newWithinDays'],
    [{ exploration: { share: 10, ratio: 2 } }, 'exploration'],
    [{ filters: { f: { expression: 'available', description: 'x'.repeat(501) } } }, 'filters.f.description'],
  ])('refuses %j at %s', (json, path) => {
    expect(problemsOf(json).map((p) => p.path)).toContain(path);
  });

  it('treats prototype names as data (parsed JSON has own __proto__ keys)', () => {
    const json = JSON.parse(`{
      "attributes": { "__proto__": "string", "constructor": "number", "toString": "boolean" },
      "filters": { "__proto__": "available", "constructor": "constructor > 2 AND toString", "hasownproperty": "available" },
      "promotions": { "__proto__": { "filter": "constructor", "share": 10 }, "constructor": { "filter": "__proto__", "share": 10 }, "valueof": { "filter": "toString", "share": 5 } }
    }`);
    const problems = problemsOf(json);
    expect(problems.map((p) => p.path)).toEqual(['attributes.__proto__', 'filters.__proto__', 'promotions.__proto__', 'promotions.valueof.filter']);
    expect(problems[3]!.message).toContain('unknown filter "toString"');
    // Valid once the bad names go: constructor/toString work as attribute, filter and promotion names.
    delete json.attributes.__proto__;
    delete json.filters.__proto__;
    delete json.promotions.__proto__;
    delete json.promotions.valueof;
    json.promotions.constructor.filter = 'hasownproperty';
    const rules = compileRules(json);
    expect(rules.attributes.get('constructor')).toBe('number');
    expect(rules.filters.get('constructor')!.compiled.params.size).toBe(0);
    expect(rules.filters.has('__proto__')).toBe(false);
    expect(rules.filters.has('toString')).toBe(false);
    expect(rules.promotions.get('constructor')).toMatchObject({ filter: 'hasownproperty' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('bounds the number of filters', () => {
    const many = (n: number) => ({ filters: Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, 'available'])) });
    expect(compileRules(many(MAX_FILTERS)).filters.size).toBe(MAX_FILTERS);
    expect(problemsOf(many(MAX_FILTERS + 1)).map((p) => p.path)).toEqual(['filters']);
  });

  it('refuses names just outside the pattern', () => {
    const name64 = `a${'b'.repeat(63)}`;
    expect(compileRules({ filters: { [name64]: 'available' } }).filters.has(name64)).toBe(true);
    for (const bad of [`${name64}c`, '-a', '1a', 'A', 'a_b', 'a b', '']) {
      expect(problemsOf({ filters: { [bad]: 'available' } })[0]!.message).toContain('filter names are lower-case');
    }
  });

  it('compileRulesText reports invalid JSON as a RulesError', () => {
    expect(() => compileRulesText('{ "filters": ', 'env RULES_JSON')).toThrow(/env RULES_JSON: 1 problem in the rules definition:\n- \(root\): not valid JSON/);
  });
});
