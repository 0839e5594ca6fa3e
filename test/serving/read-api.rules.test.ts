import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deploy, trainSmallModel, versionFor } from './support';

/**
 * The shop's rules over HTTP (local server → the Lambda handlers → s3rver and dynalite): the live catalogue
 * written through PUT /items and DELETE /items/{itemId}, and the filters, promotions and new-item exploration
 * of the rules definition, on every read route.
 */
const REFRESH_MS = 200;
const RULES = {
  attributes: { brand: 'string', onSale: 'boolean' },
  filters: {
    'in-category': 'category = $category',
    'under-price': 'price <= $maxPrice',
    'on-sale': 'onSale = true',
    'out-of-stock': 'available = false',
    'brand-in': 'brand IN $brands',
    'not-viewed': 'NOT user viewed',
  },
  promotions: { sale: { filter: 'on-sale', share: 20 } },
  exploration: { share: 10, maxInteractions: 0 },
};

let aws: TestAws;
let api: RunningApiServer;
const model = trainSmallModel(1);
const user = model.users()[0]!;
const seen = new Set(model.historyOf(user));
const number = (itemId: string) => Number(itemId.slice(1));
const brands = ['acme', 'globex', 'initech'];
/** The catalogue: the model's items with their genres as categories, a price, a brand, every fifth on sale. */
const catalogue = model.items().map((itemId) => ({
  itemId,
  title: `Product ${itemId}`,
  categories: model.itemMeta(itemId)!.genres,
  price: (number(itemId) % 40) + 0.99,
  attributes: { brand: brands[number(itemId) % 3]!, onSale: number(itemId) % 5 === 0 },
}));
const byId = new Map(catalogue.map((c) => [c.itemId, c]));

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    headers: { ...(body === undefined ? {} : { 'Content-Type': 'application/json' }), ...headers },
  });
  return { status: res.status, json: (await res.json()) as any };
}
const get = (path: string) => call('GET', path);
const asAdmin = () => ({ 'X-Local-Admin-Token': api.adminToken });
/** Lets every instance's catalogue refresh become due (the documented bound minus the index allowance). */
const afterRefresh = () => new Promise((r) => setTimeout(r, REFRESH_MS + 20));
const ids = (res: { json: { items: { itemId: string }[] } }) => res.json.items.map((i) => i.itemId);

beforeAll(async () => {
  aws = await startTestAws({ catalogTable: `test-cat-rules-${process.pid}` });
  await deploy(aws, model, versionFor(1));
  api = await startApiServer({
    port: 0,
    env: { CATALOG_TABLE: aws.names.catalogTable!, CATALOG_REFRESH_MS: String(REFRESH_MS), RULES_JSON: JSON.stringify(RULES), FRESH_EVENTS_CACHE_MS: '0' },
  });
  expect((await call('PUT', '/items', { items: catalogue }, asAdmin())).status).toBe(200);
  await afterRefresh();
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

describe('filters on GET /recommend', () => {
  const counts = new Map<string, number>();
  for (const c of catalogue) for (const g of c.categories) counts.set(g, (counts.get(g) ?? 0) + 1);
  const bigCategory = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];

  it('answers k items of the category, the best the model ranks among them, searching past the unfiltered top k', async () => {
    const res = await get(`/recommend/${user}?k=6&filter=in-category&category=${encodeURIComponent(bigCategory)}`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ filter: 'in-category', strategy: 'personalized' });
    const eligible = catalogue.filter((c) => c.categories.includes(bigCategory) && !seen.has(c.itemId)).map((c) => c.itemId);
    expect(eligible.length).toBeGreaterThanOrEqual(6);
    // The model's own order over exactly the eligible items.
    const expected = model.rankItems(user, eligible).items.slice(0, 6).map((i) => i.itemId);
    expect(ids(res)).toEqual(expected);
    expect(res.json.fewerThanK).toBeUndefined();
    const unfiltered = new Set(ids(await get(`/recommend/${user}?k=6`)));
    expect(ids(res).some((id) => !unfiltered.has(id))).toBe(true);
  });

  it('says so when fewer than k items are eligible, and returns every one of them', async () => {
    const res = await get(`/recommend/${user}?k=10&filter=under-price&maxPrice=1`);
    const eligible = catalogue.filter((c) => c.price <= 1 && !seen.has(c.itemId)).map((c) => c.itemId);
    expect(eligible.length).toBeGreaterThan(0);
    expect(eligible.length).toBeLessThan(10);
    expect(ids(res).sort()).toEqual([...eligible].sort());
    expect(res.json.fewerThanK).toEqual({ requested: 10, returned: eligible.length, reason: expect.stringContaining('under-price') });
  });

  it('takes list parameters and leaves out what the user interacted with', async () => {
    const res = await get(`/recommend/${user}?k=20&filter=brand-in&brands=acme,initech`);
    expect(res.json.items.length).toBe(20);
    for (const id of ids(res)) expect(['acme', 'initech']).toContain(byId.get(id)!.attributes.brand);
  });

  it('refuses unknown filters and bad parameters with the field at fault', async () => {
    expect(await get(`/recommend/${user}?filter=nope`)).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_FILTER', field: 'filter' } } });
    expect(await get(`/recommend/${user}?filter=__proto__`)).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_FILTER' } } });
    expect(await get(`/recommend/${user}?filter=constructor`)).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_FILTER' } } });
    expect(await get(`/recommend/${user}?filter=in-category`)).toMatchObject({ status: 400, json: { error: { code: 'MISSING_PARAMETER', field: 'category' } } });
    expect(await get(`/recommend/${user}?filter=under-price&maxPrice=cheap`)).toMatchObject({ status: 400, json: { error: { code: 'INVALID_PARAMETER', field: 'maxPrice' } } });
    expect(await get(`/recommend/${user}?filter=brand-in&brands=${'x,'.repeat(150)}`)).toMatchObject({ status: 400, json: { error: { field: 'brands' } } });
    expect(await get(`/recommend/${user}?promotion=nope`)).toMatchObject({ status: 404, json: { error: { code: 'UNKNOWN_PROMOTION', field: 'promotion' } } });
  });
});

describe('filters on the other read routes', () => {
  it('popular, similar and rank honour the filter', async () => {
    const popular = await get('/items/popular?k=5&filter=on-sale');
    expect(popular.json.items).toHaveLength(5);
    for (const id of ids(popular)) expect(byId.get(id)!.attributes.onSale).toBe(true);

    const anchor = model.popular(1)[0]!.itemId;
    const similar = await get(`/items/${anchor}/similar?k=5&filter=under-price&maxPrice=20`);
    expect(similar.status).toBe(200);
    for (const id of ids(similar)) expect(byId.get(id)!.price).toBeLessThanOrEqual(20);

    const list = catalogue.slice(0, 30).map((c) => c.itemId);
    const ranked = await call('POST', `/rank/${user}?filter=under-price&maxPrice=10`, { itemIds: [...list, 'not-in-catalogue'] });
    expect(ranked.status).toBe(200);
    const cheap = list.filter((id) => byId.get(id)!.price <= 10);
    expect(ids(ranked).filter((id) => id !== 'not-in-catalogue').sort()).toEqual([...cheap].sort());
    expect(ranked.json.excluded.sort()).toEqual(list.filter((id) => !cheap.includes(id)).concat('not-in-catalogue').sort());
  });
});

describe('promotions', () => {
  it('places the promotion items, ranked by the model, at stable slots and marks them', async () => {
    const res = await get(`/recommend/${user}?k=10&promotion=sale`);
    expect(res.json.items).toHaveLength(10);
    const positions = res.json.items.flatMap((i: { promoted?: string }, p: number) => (i.promoted ? [p] : []));
    expect(positions).toEqual([2, 7]);
    const promoted = res.json.items.filter((i: { promoted?: string }) => i.promoted).map((i: { itemId: string }) => i.itemId);
    for (const id of promoted) expect(byId.get(id)!.attributes.onSale).toBe(true);
    const onSaleUnseen = catalogue.filter((c) => c.attributes.onSale && !seen.has(c.itemId)).map((c) => c.itemId);
    expect(promoted).toEqual(model.rankItems(user, onSaleUnseen).items.slice(0, 2).map((i) => i.itemId));
    expect(new Set(ids(res)).size).toBe(10);
    // The same request answers the same list.
    expect(ids(await get(`/recommend/${user}?k=10&promotion=sale`))).toEqual(ids(res));
  });
});

describe('the live catalogue', () => {
  it('an item marked unavailable or withdrawn leaves every list within the refresh bound; a filter can still ask for unavailable items', async () => {
    const [top, second] = model.popular(2).map((i) => i.itemId);
    expect(ids(await get('/items/popular?k=3'))).toContain(top);
    expect((await call('PUT', '/items', { items: [{ ...byId.get(top!)!, available: false }] }, asAdmin())).status).toBe(200);
    await afterRefresh();
    expect(ids(await get('/items/popular?k=3'))).not.toContain(top);
    expect(ids(await get('/items/popular?k=3&filter=out-of-stock'))).toEqual([top]);

    expect((await call('DELETE', `/items/${second}`, undefined, asAdmin())).status).toBe(200);
    await afterRefresh();
    expect(ids(await get('/items/popular?k=3'))).not.toContain(second);
    expect(ids(await get('/items/popular?k=50&filter=out-of-stock'))).not.toContain(second);
    const rank = await call('POST', `/rank/${user}`, { itemIds: [second, top, catalogue[5]!.itemId] });
    expect(rank.json.excluded).toEqual([second, top]);
    const anyUser = model.users().find((u) => !model.historyOf(u).includes(second!))!;
    expect(ids(await get(`/recommend/${anyUser}?k=50`))).not.toContain(second);
    const health = await get('/health');
    expect(health.json.catalogue).toMatchObject({ items: catalogue.length - 1, withdrawn: 1, refreshMs: REFRESH_MS });
    expect(health.json.rules).toMatchObject({ filters: expect.arrayContaining(['in-category']), promotions: ['sale'] });
  });

  it("shows a new item to users whose history is like it in content, marked reason: new, and not to others", async () => {
    const genres = new Map<string, number>();
    for (const id of seen) for (const g of model.itemMeta(id)!.genres) genres.set(g, (genres.get(g) ?? 0) + 1);
    const favourite = [...genres.entries()].sort((a, b) => b[1] - a[1])[0]![0];
    expect((await call('PUT', '/items', { items: [{ itemId: 'brand-new', title: 'Brand new', categories: [favourite], price: 5 }] }, asAdmin())).status).toBe(200);
    await afterRefresh();
    const res = await get(`/recommend/${user}?k=10`);
    const fresh = res.json.items.filter((i: { reason?: string }) => i.reason === 'new');
    expect(fresh).toEqual([expect.objectContaining({ itemId: 'brand-new', title: 'Brand new', reason: 'new' })]);
    expect(res.json.items).toHaveLength(10);
    // A user none of whose history shares the category is not shown it.
    const stranger = model.users().find((u) => model.historyOf(u).every((id) => !model.itemMeta(id)!.genres.includes(favourite)));
    if (stranger) expect(ids(await get(`/recommend/${stranger}?k=10`))).not.toContain('brand-new');
    // Filters apply to new items too.
    expect(ids(await get(`/recommend/${user}?k=10&filter=on-sale`))).not.toContain('brand-new');
  });
});

describe('a broken rules definition', () => {
  it('is never served: the function fails at cold start naming the problem (API Gateway answers 502), instead of recommending without the rules', async () => {
    const broken = await startApiServer({ port: 0, env: { RULES_JSON: JSON.stringify({ filters: { cheap: 'prise <= $max' } }) } });
    try {
      const res = await fetch(`${broken.url}/recommend/${user}`);
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ error: { code: 'BAD_GATEWAY', message: expect.stringMatching(/RULES_JSON.*unknown field prise/s) } });
    } finally {
      await broken.stop();
    }
  });
});
