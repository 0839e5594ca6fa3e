import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compileRules } from '../../src/rules/rules-definition';
import { createItemUniverse, FilterEngine, type ItemView, type UserHistory } from '../../src/rules/eligibility';
import type { EventType } from '../../src/domain/events';

/**
 * The engine (cached static masks, sparse user sets, dense/sparse AND/OR/NOT) against a brute-force evaluator:
 * random items, random users and random expressions, generated as trees that are both rendered to the filter
 * language and evaluated here item by item, straight from the documented semantics.
 */

const NOW = Date.parse('2025-06-01T00:00:00Z');
const HOUR = 3_600_000;
const CATS = ['a', 'b', 'c', '__proto__'];
const BRANDS = ['x', 'y', 'constructor'];
const TYPES: EventType[] = ['view', 'click', 'add_to_cart', 'purchase', 'rating'];
const VERBS: Record<string, EventType | undefined> = { viewed: 'view', clicked: 'click', added: 'add_to_cart', purchased: 'purchase', rated: 'rating', interacted: undefined };

type Expr =
  | { k: 'and' | 'or'; a: Expr; b: Expr }
  | { k: 'not'; a: Expr }
  | { k: 'cat'; op: '=' | '!='; v: string }
  | { k: 'catIn'; neg: boolean; vs: string[] }
  | { k: 'price'; op: '<' | '<=' | '>' | '>=' | '=' | '!='; v: number }
  | { k: 'brand'; op: '=' | '!='; v: string }
  | { k: 'brandIn'; neg: boolean; param: boolean; vs: string[] }
  | { k: 'sale' }
  | { k: 'avail'; v: boolean }
  | { k: 'recent'; hours: number }
  | { k: 'user'; verb: string; hours?: number };

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ e: Expr }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ k: fc.constant('cat' as const), op: fc.constantFrom('=' as const, '!=' as const), v: fc.constantFrom(...CATS) }),
    fc.record({ k: fc.constant('catIn' as const), neg: fc.boolean(), vs: fc.uniqueArray(fc.constantFrom(...CATS), { minLength: 1, maxLength: 3 }) }),
    fc.record({ k: fc.constant('price' as const), op: fc.constantFrom('<' as const, '<=' as const, '>' as const, '>=' as const, '=' as const, '!=' as const), v: fc.integer({ min: 0, max: 5 }) }),
    fc.record({ k: fc.constant('brand' as const), op: fc.constantFrom('=' as const, '!=' as const), v: fc.constantFrom(...BRANDS) }),
    fc.record({ k: fc.constant('brandIn' as const), neg: fc.boolean(), param: fc.boolean(), vs: fc.uniqueArray(fc.constantFrom(...BRANDS), { minLength: 1, maxLength: 3 }) }),
    fc.constant({ k: 'sale' as const }),
    fc.record({ k: fc.constant('avail' as const), v: fc.boolean() }),
    fc.record({ k: fc.constant('recent' as const), hours: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ k: fc.constant('user' as const), verb: fc.constantFrom(...Object.keys(VERBS)), hours: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }) }),
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), a: tie('e'), b: tie('e') }),
    fc.record({ k: fc.constant('not' as const), a: tie('e') }),
  ),
})).e;

function render(e: Expr, params: Map<string, string>): string {
  switch (e.k) {
    case 'and':
    case 'or':
      return `(${render(e.a, params)} ${e.k.toUpperCase()} ${render(e.b, params)})`;
    case 'not':
      return `NOT ${render(e.a, params)}`;
    case 'cat':
      return `category ${e.op} '${e.v}'`;
    case 'catIn':
      return `category ${e.neg ? 'NOT IN' : 'IN'} (${e.vs.map((v) => `'${v}'`).join(', ')})`;
    case 'price':
      return `price ${e.op} ${e.v}`;
    case 'brand': {
      const name = `p${params.size}`;
      params.set(name, e.v);
      return `brand ${e.op} $${name}`;
    }
    case 'brandIn': {
      if (!e.param) return `brand ${e.neg ? 'not in' : 'in'} (${e.vs.map((v) => `"${v}"`).join(',')})`;
      const name = `l${params.size}`;
      params.set(name, e.vs.join(','));
      return `brand ${e.neg ? 'not in' : 'in'} $${name}`;
    }
    case 'sale':
      return 'onSale';
    case 'avail':
      return `available = ${e.v}`;
    case 'recent':
      return `createdAt WITHIN ${e.hours}h`;
    case 'user':
      return `user ${e.verb}${e.hours === undefined ? '' : ` WITHIN ${e.hours}h`}`;
  }
}

function mentionsAvailable(e: Expr): boolean {
  return e.k === 'avail' || ((e.k === 'and' || e.k === 'or') && (mentionsAvailable(e.a) || mentionsAvailable(e.b))) || (e.k === 'not' && mentionsAvailable(e.a));
}

function brute(e: Expr, item: ItemView, user: UserHistory): boolean {
  const attr = (name: string) => (Object.hasOwn(item.attributes, name) ? item.attributes[name] : undefined);
  switch (e.k) {
    case 'and': return brute(e.a, item, user) && brute(e.b, item, user);
    case 'or': return brute(e.a, item, user) || brute(e.b, item, user);
    case 'not': return !brute(e.a, item, user);
    case 'cat': return e.op === '=' ? item.categories.includes(e.v) : !item.categories.includes(e.v);
    case 'catIn': return item.categories.some((c) => e.vs.includes(c)) !== e.neg;
    case 'price': {
      if (e.op === '!=') return !(item.price !== undefined && item.price === e.v);
      if (item.price === undefined) return false;
      const p = item.price;
      return e.op === '<' ? p < e.v : e.op === '<=' ? p <= e.v : e.op === '>' ? p > e.v : e.op === '>=' ? p >= e.v : p === e.v;
    }
    case 'brand': {
      const b = attr('brand');
      const eq = typeof b === 'string' && b === e.v;
      return e.op === '=' ? eq : !eq;
    }
    case 'brandIn': {
      const b = attr('brand');
      return (typeof b === 'string' && e.vs.includes(b)) !== e.neg;
    }
    case 'sale': return attr('onSale') === true;
    case 'avail': return item.available === e.v;
    case 'recent': return item.createdAtMs !== undefined && item.createdAtMs >= NOW - e.hours * HOUR;
    case 'user': {
      const type = VERBS[e.verb];
      const since = e.hours === undefined ? -Infinity : NOW - e.hours * HOUR;
      const byEvent = user.events.some((ev) => ev.itemId === item.itemId && (type === undefined || ev.type === type) && ev.timestampMs >= since);
      return byEvent || (type === undefined && e.hours === undefined && user.trainedItems.includes(item.itemId));
    }
  }
}

const itemArb = (i: number): fc.Arbitrary<ItemView> =>
  fc.record({
    categories: fc.uniqueArray(fc.constantFrom(...CATS), { maxLength: 3 }),
    price: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
    available: fc.boolean(),
    withdrawn: fc.integer({ min: 0, max: 3 }).map((r) => r === 0),
    createdAtMs: fc.option(fc.integer({ min: NOW - 5 * HOUR, max: NOW + HOUR }), { nil: undefined }),
    brand: fc.option(fc.oneof(fc.constantFrom(...BRANDS), fc.integer({ min: 0, max: 2 })), { nil: undefined }),
    onSale: fc.option(fc.oneof(fc.boolean(), fc.constant('true')), { nil: undefined }),
  }).map((r) => {
    const attributes: Record<string, string | number | boolean> = Object.create(null);
    if (r.brand !== undefined) attributes.brand = r.brand;
    if (r.onSale !== undefined) attributes.onSale = r.onSale;
    const view: ItemView = { itemId: `i${i}`, categories: r.categories, available: r.available, withdrawn: r.withdrawn, attributes };
    if (r.price !== undefined) view.price = r.price;
    if (r.createdAtMs !== undefined) view.createdAtMs = r.createdAtMs;
    return view;
  });

const caseArb = fc.integer({ min: 0, max: 40 }).chain((n) =>
  fc.record({
    items: fc.tuple(...Array.from({ length: n }, (_, i) => itemArb(i))),
    events: fc.array(fc.record({ item: fc.integer({ min: 0, max: 45 }), type: fc.constantFrom(...TYPES), ago: fc.integer({ min: -HOUR, max: 5 * HOUR }) }), { maxLength: 12 }),
    trained: fc.uniqueArray(fc.integer({ min: 0, max: 45 }), { maxLength: 5 }),
    exprs: fc.array(exprArb, { minLength: 1, maxLength: 4 }),
  }),
);

describe('FilterEngine.eligible matches a brute-force evaluator', () => {
  it('on random items, users and expressions (including the cache across versions)', () => {
    fc.assert(
      fc.property(caseArb, ({ items, events, trained, exprs }) => {
        const user: UserHistory = {
          events: events.map((e) => ({ itemId: `i${e.item}`, type: e.type, timestampMs: NOW - e.ago })),
          trainedItems: trained.map((t) => `i${t}`),
        };
        const queries = exprs.map(() => new Map<string, string>());
        const filters = Object.fromEntries(exprs.map((e, i) => [`f${i}`, render(e, queries[i]!)]));
        const rules = compileRules({ attributes: { brand: 'string', onSale: 'boolean' }, filters });
        const engine = new FilterEngine(rules, { cacheEntries: 3 });
        // Two versions of the universe (the second with availability flipped) through one engine: the cache must follow.
        const versions = [items, items.map((it) => ({ ...it, available: !it.available }))];
        versions.forEach((views, version) => {
          const universe = createItemUniverse(views, version);
          for (let round = 0; round < 2; round++) {
            exprs.forEach((e, i) => {
              const bound = engine.bind(`f${i}`, Object.fromEntries(queries[i]!));
              const mask = engine.eligible(bound, universe, user, NOW);
              const expected = views.map((it) => (!it.withdrawn && (mentionsAvailable(e) || it.available) && brute(e, it, user) ? 1 : 0));
              expect([...mask], `${filters[`f${i}`]} (version ${version})`).toEqual(expected);
            });
          }
          const plain = engine.eligible(undefined, universe, user, NOW);
          expect([...plain]).toEqual(views.map((it) => (!it.withdrawn && it.available ? 1 : 0)));
        });
      }),
      { numRuns: 300, seed: 15 },
    );
  });
});
