import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/rules/rules-definition';
import { createItemUniverse, FilterEngine, RequestRulesError, type ItemUniverse, type ItemView, type UserHistory } from '../../src/rules/eligibility';

const DAY = 86_400_000;
const NOW = Date.parse('2025-06-01T00:00:00Z');

const rules = compileRules({
  attributes: { brand: 'string', rating: 'number', onSale: 'boolean', constructor: 'string' },
  filters: {
    'in-category': 'category = $category',
    'not-category': "category != 'hats'",
    'under-price': 'price <= $maxPrice',
    'no-price': 'NOT price >= 0',
    'brand-in': 'brand IN $brands',
    'on-sale': 'onSale',
    'out-of-stock': 'available = false',
    'not-bought': 'NOT user purchased WITHIN 30d',
    'viewed': 'user viewed WITHIN 1h',
    'interacted': 'user interacted',
    'interacted-recently': 'user interacted WITHIN 1d',
    'new': 'createdAt WITHIN 7d',
    'since': 'createdAt >= $since',
    'ctor': 'constructor = $constructor',
    'mixed': '(category = $category OR user viewed) AND NOT user purchased',
  },
  promotions: { sale: { filter: 'on-sale', share: 20 } },
});

function item(i: number, over: Partial<ItemView> = {}): ItemView {
  return { itemId: `i${i}`, categories: [i % 2 === 0 ? 'shoes' : 'hats'], price: i * 10, available: true, withdrawn: false, createdAtMs: NOW - i * DAY, attributes: {}, ...over };
}

const NO_USER: UserHistory = { events: [], trainedItems: [] };
const ones = (mask: Uint8Array): string[] => [...mask].flatMap((v, i) => (v === 1 ? [`i${i}`] : []));

describe('FilterEngine.eligible: the default rule', () => {
  const universe = createItemUniverse([item(0), item(1, { available: false }), item(2, { withdrawn: true }), item(3), item(4, { withdrawn: true, available: false })], 1);
  const engine = new FilterEngine(rules);

  it('without a filter: withdrawn and unavailable items are excluded', () => {
    expect(ones(engine.eligible(undefined, universe, NO_USER, NOW))).toEqual(['i0', 'i3']);
  });

  it('with a filter that does not mention available: also excluded', () => {
    expect(ones(engine.eligible(engine.bind('not-category', {}), universe, NO_USER, NOW))).toEqual(['i0']);
  });

  it('a filter mentioning available may list unavailable items; withdrawn never', () => {
    expect(ones(engine.eligible(engine.bind('out-of-stock', {}), universe, NO_USER, NOW))).toEqual(['i1']);
  });

  it('returns a fresh array each time (callers may mutate it)', () => {
    const a = engine.eligible(undefined, universe, NO_USER, NOW);
    a.fill(7);
    expect(ones(engine.eligible(undefined, universe, NO_USER, NOW))).toEqual(['i0', 'i3']);
  });

  it('bind(undefined) is no filter', () => {
    expect(engine.bind(undefined, { category: 'x' })).toBeUndefined();
  });
});

describe('item predicates', () => {
  const universe = createItemUniverse([
    item(0, { categories: ['shoes', 'sale'], attributes: { brand: 'acme', onSale: true } }),
    item(1, { categories: [], price: undefined, attributes: { brand: 3 as unknown as string } }),
    item(2, { categories: ['hats'], attributes: { brand: 'globex', onSale: 'yes' as unknown as boolean } }),
    item(3, { attributes: Object.assign(Object.create(null), { constructor: 'x' }) }),
  ]);
  const engine = new FilterEngine(rules);
  const run = (name: string, query: Record<string, string> = {}) => ones(engine.eligible(engine.bind(name, query), universe, NO_USER, NOW));

  it('category is multi-valued; != is NOT =', () => {
    expect(run('in-category', { category: 'sale' })).toEqual(['i0']);
    expect(run('in-category', { category: 'shoes' })).toEqual(['i0']);
    expect(run('not-category')).toEqual(['i0', 'i1']); // i1 has no category at all: != is NOT =
  });

  it('a missing or mistyped value compares false, so NOT on it is true', () => {
    expect(run('under-price', { maxPrice: '100' })).toEqual(['i0', 'i2', 'i3']);
    expect(run('no-price')).toEqual(['i1']);
    expect(run('brand-in', { brands: 'acme, globex,3' })).toEqual(['i0', 'i2']);
    expect(run('on-sale')).toEqual(['i0']);
  });

  it('reads attributes as own properties only', () => {
    expect(run('ctor', { constructor: 'x' })).toEqual(['i3']);
    // An item without the attribute does not see Object.prototype.constructor.
    expect(run('ctor', { constructor: 'function Object() { [native code] }' })).toEqual([]);
  });

  it('createdAt compares with dates and WITHIN includes the boundary', () => {
    expect(run('since', { since: '2025-05-30' })).toEqual(['i0', 'i1', 'i2']);
    const boundary = createItemUniverse([item(0, { createdAtMs: NOW - 7 * DAY }), item(1, { createdAtMs: NOW - 7 * DAY - 1 }), item(2, { createdAtMs: undefined }), item(3, { createdAtMs: NOW + DAY })]);
    expect(ones(engine.eligible(engine.bind('new', {}), boundary, NO_USER, NOW))).toEqual(['i0', 'i3']);
    expect(ones(engine.eligible(engine.bind('new', {}), boundary, NO_USER, NOW + 1))).toEqual(['i3']);
  });
});

describe('user predicates', () => {
  const universe = createItemUniverse(Array.from({ length: 6 }, (_, i) => item(i)));
  const engine = new FilterEngine(rules);
  const user: UserHistory = {
    events: [
      { itemId: 'i0', type: 'purchase', timestampMs: NOW - 30 * DAY }, // exactly at the 30d boundary: counts
      { itemId: 'i1', type: 'purchase', timestampMs: NOW - 30 * DAY - 1 }, // just outside
      { itemId: 'i2', type: 'view', timestampMs: NOW - 3_600_000 },
      { itemId: 'i3', type: 'view', timestampMs: NOW - 3_600_001 },
      { itemId: 'gone', type: 'purchase', timestampMs: NOW },
    ],
    trainedItems: ['i4', 'unknown'],
  };
  const run = (name: string, query: Record<string, string> = {}, now = NOW) => ones(engine.eligible(engine.bind(name, query), universe, user, now));

  it('WITHIN windows include their boundary', () => {
    expect(run('not-bought')).toEqual(['i1', 'i2', 'i3', 'i4', 'i5']);
    expect(run('not-bought', {}, NOW + 1)).toEqual(['i0', 'i1', 'i2', 'i3', 'i4', 'i5']);
    expect(run('viewed')).toEqual(['i2']);
  });

  it('interacted covers every event type and, without WITHIN, the training history', () => {
    expect(run('interacted')).toEqual(['i0', 'i1', 'i2', 'i3', 'i4']);
    expect(run('interacted-recently')).toEqual(['i2', 'i3']);
  });

  it('combines user and item predicates', () => {
    // (category = hats OR viewed) AND NOT purchased: hats are i1,i3,i5; viewed i2,i3; purchased i0,i1.
    expect(run('mixed', { category: 'hats' })).toEqual(['i2', 'i3', 'i5']);
    expect(engine.bind('mixed', { category: 'hats' })!.usesUser).toBe(true);
    expect(engine.bind('in-category', { category: 'hats' })!.usesUser).toBe(false);
  });
});

describe('binding request parameters', () => {
  const engine = new FilterEngine(rules);
  const refusal = (fn: () => unknown): RequestRulesError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(RequestRulesError);
      return e as RequestRulesError;
    }
    throw new Error('expected a RequestRulesError');
  };

  it.each([
    ['nope', {}, 'UNKNOWN_FILTER', 'filter', 'unknown filter "nope"; known filters: in-category'],
    ['__proto__', {}, 'UNKNOWN_FILTER', 'filter', 'unknown filter "__proto__"'],
    ['constructor', {}, 'UNKNOWN_FILTER', 'filter', 'unknown filter "constructor"'],
    ['in-category', {}, 'MISSING_PARAMETER', 'category', 'filter in-category needs the query parameter category (string)'],
    ['in-category', { category: '' }, 'MISSING_PARAMETER', 'category', 'needs'],
    ['in-category', { category: undefined }, 'MISSING_PARAMETER', 'category', 'needs'],
    ['in-category', { category: 'x'.repeat(257) }, 'INVALID_PARAMETER', 'category', 'at most 256 characters'],
    ['under-price', { maxPrice: 'ten' }, 'INVALID_PARAMETER', 'maxPrice', 'maxPrice must be a number (got "ten")'],
    ['under-price', { maxPrice: '1e999' }, 'INVALID_PARAMETER', 'maxPrice', 'must be a number'],
    ['under-price', { maxPrice: '0x10' }, 'INVALID_PARAMETER', 'maxPrice', 'must be a number'],
    ['since', { since: 'yesterday' }, 'INVALID_PARAMETER', 'since', 'must be a date'],
    ['brand-in', { brands: Array.from({ length: 101 }, (_, i) => `b${i}`).join(',') }, 'INVALID_PARAMETER', 'brands', 'at most 100 comma-separated values (got 101)'],
    ['brand-in', { brands: 'a,,b' }, 'INVALID_PARAMETER', 'brands', 'empty value at position 2'],
    ['brand-in', { brands: `a,${'x'.repeat(257)}` }, 'INVALID_PARAMETER', 'brands', 'at most 256 characters'],
    ['brand-in', { brands: 'x'.repeat(1_000_000) }, 'INVALID_PARAMETER', 'brands', 'too long'],
  ] as const)('case %# binding %s', (filter, query, code, field, message) => {
    const err = refusal(() => engine.bind(filter, query as Record<string, string | undefined>));
    expect(err.code).toBe(code);
    expect(err.field).toBe(field);
    expect(err.message).toContain(message);
  });

  it('takes parameters from own keys only (not Object.prototype)', () => {
    // `constructor` is inherited by every plain object: it must still count as missing.
    expect(refusal(() => engine.bind('ctor', {})).code).toBe('MISSING_PARAMETER');
    expect(engine.bind('ctor', JSON.parse('{"constructor":"x"}'))!.params.get('constructor')).toBe('x');
  });

  it('accepts values at each bound', () => {
    expect(engine.bind('brand-in', { brands: Array.from({ length: 100 }, (_, i) => `b${i}`).join(',') })!.params.get('brands')).toHaveLength(100);
    expect(engine.bind('in-category', { category: 'x'.repeat(256) })!.params.get('category')).toHaveLength(256);
    expect(engine.bind('under-price', { maxPrice: ' -1.5e1 ' })!.params.get('maxPrice')).toBe(-15);
  });

  it('binds promotions', () => {
    const p = engine.bindPromotion('sale', {});
    expect(p).toMatchObject({ name: 'sale', share: 20, filter: { name: 'on-sale' } });
    for (const name of ['nope', '__proto__', 'constructor']) {
      const err = refusal(() => engine.bindPromotion(name, {}));
      expect([err.code, err.field]).toEqual(['UNKNOWN_PROMOTION', 'promotion']);
      expect(err.message).toContain('known promotions: sale');
    }
  });
});

describe('the mask cache', () => {
  class CountingUniverse implements ItemUniverse {
    views = 0;
    private readonly index: Map<string, number>;
    constructor(readonly items: ItemView[], readonly version: number) {
      this.index = new Map(items.map((it, i) => [it.itemId, i]));
    }
    get size() {
      return this.items.length;
    }
    view(i: number) {
      this.views++;
      return this.items[i]!;
    }
    indexOf(id: string) {
      return this.index.get(id);
    }
  }

  it('reuses static masks, and recomputes when universe.version changes', () => {
    const engine = new FilterEngine(rules);
    const items = Array.from({ length: 10 }, (_, i) => item(i));
    const u1 = new CountingUniverse(items, 1);
    const bound = engine.bind('in-category', { category: 'shoes' });
    expect(ones(engine.eligible(bound, u1, NO_USER, NOW))).toEqual(['i0', 'i2', 'i4', 'i6', 'i8']);
    expect(u1.views).toBe(10);
    engine.eligible(engine.bind('in-category', { category: 'shoes' }), u1, NO_USER, NOW);
    expect(u1.views).toBe(10); // cached (a fresh bind of the same filter and values)
    engine.eligible(engine.bind('in-category', { category: 'hats' }), u1, NO_USER, NOW);
    expect(u1.views).toBe(20); // other parameter values: another mask
    // The catalogue changes: item 0 moves to hats, a new version.
    const changed = items.map((it, i) => (i === 0 ? { ...it, categories: ['hats'] } : it));
    const u2 = new CountingUniverse(changed, 2);
    expect(ones(engine.eligible(bound, u2, NO_USER, NOW))).toEqual(['i2', 'i4', 'i6', 'i8']);
    expect(u2.views).toBe(10);
  });

  it('does not confuse two universes that share a version number', () => {
    const engine = new FilterEngine(rules);
    const a = new CountingUniverse([item(0), item(2)], 1);
    const b = new CountingUniverse([item(1), item(3)], 1);
    const bound = engine.bind('in-category', { category: 'shoes' });
    expect(ones(engine.eligible(bound, a, NO_USER, NOW))).toEqual(['i0', 'i1']);
    expect(ones(engine.eligible(bound, b, NO_USER, NOW))).toEqual([]);
  });

  it('keeps at most cacheEntries masks (least recently used goes first)', () => {
    const engine = new FilterEngine(rules, { cacheEntries: 2 });
    const u = new CountingUniverse(Array.from({ length: 4 }, (_, i) => item(i)), 1);
    const ask = (c: string) => engine.eligible(engine.bind('in-category', { category: c }), u, NO_USER, NOW);
    ask('a');
    ask('b');
    ask('a'); // a is now the most recent
    ask('c'); // evicts b
    expect(engine.cachedMasks).toBe(2);
    const before = u.views;
    ask('a');
    expect(u.views).toBe(before);
    ask('b');
    expect(u.views).toBe(before + 4);
  });

  it('prints the time of a 100,000-item universe with a filter removing 90 % (no assertion on time)', () => {
    const n = 100_000;
    const views = Array.from({ length: n }, (_, i) => ({ ...item(i), categories: [`c${i % 10}`], createdAtMs: NOW - (i % 100) * DAY }));
    const universe = createItemUniverse(views, 1);
    const engine = new FilterEngine(rules);
    const user: UserHistory = { events: Array.from({ length: 50 }, (_, i) => ({ itemId: `i${i * 7}`, type: 'purchase' as const, timestampMs: NOW - i * 1000 })), trainedItems: [] };
    const timed = (name: string, query: Record<string, string>) => {
      engine.eligible(engine.bind(name, query), universe, user, NOW); // first call fills the cache
      const runs = 200;
      const start = performance.now();
      let kept = 0;
      for (let r = 0; r < runs; r++) kept |= engine.eligible(engine.bind(name, query), universe, user, NOW)[3]!;
      const us = ((performance.now() - start) / runs) * 1000;
      console.log(`[rules] ${name} over ${n} items: ${us.toFixed(0)} µs per request (after the first)`);
      return kept;
    };
    expect(timed('in-category', { category: 'c3' })).toBe(1);
    timed('mixed', { category: 'c3' });
    timed('not-bought', {});
    timed('new', {});
    const mask = engine.eligible(engine.bind('mixed', { category: 'c3' }), universe, user, NOW);
    expect(mask.reduce((s, v) => s + v, 0)).toBe(n / 10 - user.events.filter((e) => Number(e.itemId.slice(1)) % 10 === 3).length);
  });
});
