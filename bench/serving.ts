/**
 * Serving benchmark for the shop's rules: recommend p50/p99 through the read API's own composition (the rules
 * engine's eligibility mask, the item universe, promotions, exploration, the model) for no filter, a filter that
 * removes 90 % of the catalogue, a promotion, and `rank` of 100 items; on ML-100K (when given) and on a generated
 * 100k-item model. Then how long a catalogue write takes to reach a serving replica (DynamoDB on dynalite, the
 * real adapter and replica), against the documented bound.
 *
 *   npm run bench:serving -- --ratings ../shared/data/ml-100k/u.data --items ../shared/data/ml-100k/u.item
 *   npm run bench:serving -- --scale-items 100000 --scale-users 100000 --scale-events 2000000
 */
import { readFile } from 'node:fs/promises';
import { isUtf8 } from 'node:buffer';
import { Command } from 'commander';
import type { CatalogItem, CatalogRecord } from '../src/catalog/item';
import type { CatalogReader } from '../src/catalog/catalog-store';
import { LiveCatalogue } from '../src/catalog/live-catalogue';
import { generateSyntheticDataset, parseItemsFile, parseRatingsFile, trainHybridModel, type HybridModel, type ItemMeta } from '../src/recommender/index';
import { createRng } from '../src/recommender/rng';
import { FilterEngine, type UserHistory } from '../src/rules/eligibility';
import { compileRules } from '../src/rules/rules-definition';
import { composeRecommendations } from '../src/serving/compose-recommendations';
import { ModelUniverse } from '../src/serving/item-universe';

const opts = new Command('bench:serving')
  .option('--ratings <file>', 'ratings file (u.data, ratings.dat or CSV) for the small model')
  .option('--items <file>', 'item metadata (u.item or CSV)')
  .option('--scale-items <n>', 'items of the generated scale model (0 skips it)', Number, 100_000)
  .option('--scale-users <n>', 'users of the generated scale model', Number, 100_000)
  .option('--scale-events <n>', 'interactions of the generated scale model', Number, 2_000_000)
  .option('--users <n>', 'users timed per case', Number, 300)
  .option('--propagation <n>', 'catalogue writes timed on dynalite (0 skips)', Number, 20)
  .parse()
  .opts<{ ratings?: string; items?: string; scaleItems: number; scaleUsers: number; scaleEvents: number; users: number; propagation: number }>();

const RULES = compileRules({
  attributes: { bucket: 'number', onSale: 'boolean' },
  filters: { tenth: 'bucket = $bucket', 'on-sale': 'onSale = true', 'not-bought': 'NOT user purchased WITHIN 30d' },
  promotions: { sale: { filter: 'on-sale', share: 20 } },
  exploration: { share: 10, maxInteractions: 0 },
});
const NO_USER: UserHistory = { events: [], trainedItems: [] };

async function text(path: string): Promise<string> {
  const bytes = await readFile(path);
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A replica loaded from memory: the bench times serving, not DynamoDB (the propagation part does that). */
async function catalogueFor(model: HybridModel): Promise<LiveCatalogue> {
  const rng = createRng(11);
  const records: CatalogRecord[] = model.items().map((itemId) => ({
    itemId,
    categories: model.itemMeta(itemId)?.genres ?? [],
    price: 1 + Math.floor(rng() * 100),
    available: rng() > 0.02,
    attributes: Object.assign(Object.create(null) as Record<string, number | boolean>, { bucket: Math.floor(rng() * 10), onSale: rng() < 0.1 }),
    updatedAt: 1,
    withdrawn: false,
  }));
  const reader: CatalogReader = {
    async *scanAll() {
      yield* records;
    },
    async *changedSince() {},
  };
  const live = new LiveCatalogue(reader, { refreshMs: 60_000 });
  await live.ready();
  return live;
}

function time(users: readonly string[], call: (userId: string) => unknown, repetitions = 3): { p50: number; p99: number } {
  for (const u of users) call(u);
  const times: number[] = [];
  for (let r = 0; r < repetitions; r++) {
    for (const u of users) {
      const t = performance.now();
      call(u);
      times.push(performance.now() - t);
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

async function benchModel(label: string, model: HybridModel): Promise<void> {
  const catalogue = await catalogueFor(model);
  const t0 = performance.now();
  const universe = new ModelUniverse(model, catalogue, 1);
  const buildMs = performance.now() - t0;
  const engine = new FilterEngine(RULES);
  const rng = createRng(5);
  const all = model.users();
  const users = Array.from({ length: Math.min(opts.users, all.length) }, () => all[Math.floor(rng() * all.length)]!);
  const items = model.items();
  const lists = new Map(users.map((u) => [u, Array.from({ length: 100 }, () => items[Math.floor(rng() * items.length)]!).filter((v, i, a) => a.indexOf(v) === i)]));
  const now = Date.now();
  const recommend = (query: Record<string, string>) => (userId: string) => {
    const filter = engine.bind(query.filter, query);
    const user: UserHistory = { events: [], trainedItems: model.historyOf(userId) };
    const promotion = query.promotion ? engine.bindPromotion(query.promotion, query) : undefined;
    return composeRecommendations({
      model,
      universe,
      userId,
      k: 10,
      history: [],
      exclude: [],
      eligible: engine.eligible(filter, universe, user, now),
      ...(promotion ? { promotion: { name: promotion.name, share: promotion.share, eligible: engine.eligible(promotion.filter, universe, user, now) } } : {}),
      exploration: { ...RULES.exploration, nowMs: now },
    });
  };
  const rank = (query: Record<string, string>) => (userId: string) => {
    const filter = engine.bind(query.filter, query);
    const eligible = engine.eligible(filter, universe, NO_USER, now);
    const kept = lists.get(userId)!.filter((id) => eligible[universe.indexOf(id)!] === 1);
    return model.rankItems(userId, kept, { explain: true });
  };
  const raw = time(users, (u) => model.recommend(u, 10));
  const cases: [string, { p50: number; p99: number }][] = [
    ['model.recommend alone (no rules)', raw],
    ['recommend, no filter', time(users, recommend({}))],
    ['recommend, filter removing 90 %', time(users, recommend({ filter: 'tenth', bucket: '3' }))],
    ['recommend, user filter (not bought 30d)', time(users, recommend({ filter: 'not-bought' }))],
    ['recommend, promotion 20 % of slots', time(users, recommend({ promotion: 'sale' }))],
    ['rank 100, no filter', time(users, rank({}))],
    ['rank 100, filter removing 90 %', time(users, rank({ filter: 'tenth', bucket: '3' }))],
  ];
  const base = cases[1]![1];
  console.log(`\n## ${label}: ${model.itemCount} items, ${model.userCount} users; universe built in ${buildMs.toFixed(1)} ms; ${users.length} users × 3`);
  console.log('| case | p50 ms | p99 ms | p99 / unfiltered p99 |');
  console.log('|---|---:|---:|---:|');
  for (const [name, t] of cases) console.log(`| ${name} | ${t.p50.toFixed(3)} | ${t.p99.toFixed(3)} | ${(t.p99 / base.p99).toFixed(2)} |`);
}

async function benchPropagation(writes: number): Promise<void> {
  const { startEmulators } = await import('../src/local/emulators');
  const { ensureCatalogTable } = await import('../src/adapters/local-resources');
  const { DynamoCatalog } = await import('../src/adapters/dynamo-catalog');
  const { createDynamoDocumentClient } = await import('../src/adapters/aws-clients');
  const emulators = await startEmulators();
  Object.assign(process.env, emulators.env);
  const ddb = createDynamoDocumentClient();
  try {
    await ensureCatalogTable(ddb, 'bench-catalog');
    const store = new DynamoCatalog(ddb, 'bench-catalog');
    await store.put(Array.from({ length: 1000 }, (_, i): CatalogItem => ({ itemId: `b${i}`, categories: ['c'], available: true, attributes: {} })), Date.now());
    const refreshMs = 2000;
    const replica = new LiveCatalogue(store, { refreshMs });
    await replica.ready();
    const delays: number[] = [];
    for (let w = 0; w < writes; w++) {
      // Writes land at a random point of the refresh cycle, as a shop's would.
      await new Promise((r) => setTimeout(r, Math.random() * refreshMs));
      const id = `b${w}`;
      const start = Date.now();
      await store.put([{ itemId: id, categories: ['c'], available: w % 2 === 0, attributes: {} }], start);
      // A request every 20 ms: each one lets a due refresh run, as the read API does.
      while (replica.get(id)?.updatedAt !== start) {
        await replica.maybeRefresh();
        if (replica.get(id)?.updatedAt === start) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      delays.push(Date.now() - start);
    }
    delays.sort((a, b) => a - b);
    console.log(`\n## catalogue write → serving replica (dynalite, refresh every ${refreshMs} ms, a request every 20 ms), ${writes} writes`);
    console.log(`p50 ${percentile(delays, 50)} ms, max ${delays[delays.length - 1]} ms; documented bound ${replica.health().stalenessBoundMs} ms`);
  } finally {
    ddb.destroy();
    await emulators.stop();
  }
}

console.log(`# bench:serving — node ${process.version}`);
if (opts.ratings) {
  const ratings = parseRatingsFile(await text(opts.ratings), opts.ratings);
  const items: ItemMeta[] | undefined = opts.items ? parseItemsFile(await text(opts.items), opts.items) : undefined;
  await benchModel(opts.ratings, trainHybridModel(ratings, { items }));
}
if (opts.scaleItems > 0) {
  const t = performance.now();
  const { interactions, items } = generateSyntheticDataset({ users: opts.scaleUsers, items: opts.scaleItems, events: opts.scaleEvents, seed: 7 });
  const model = trainHybridModel(interactions, { items });
  console.log(`\n(scale model generated and trained in ${((performance.now() - t) / 1000).toFixed(0)} s)`);
  await benchModel(`generated ${opts.scaleItems}-item model`, model);
}
if (opts.propagation > 0) await benchPropagation(opts.propagation);
console.log(`\npeak resident memory ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
