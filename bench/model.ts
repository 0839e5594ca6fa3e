/**
 * Offline benchmark of the recommender on a ratings file (MovieLens-100K by default protocol):
 * popularity and each shipped model on the same per-user stratified 75/25 split (seeded), top-10 over all
 * unseen items; training seconds, artifact bytes, cold-load time and in-process recommend latency, unfiltered
 * and with an eligibility mask that removes 90 % of the catalogue (seeded), for recommend and for rank-of-100.
 *
 *   npm run bench:model -- --ratings ../shared/data/ml-100k/u.data --items ../shared/data/ml-100k/u.item
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isUtf8 } from 'node:buffer';
import { Command } from 'commander';
import {
  evaluateRecommender,
  parseItemsFile,
  parseRatingsFile,
  popularityModel,
  readModelDir,
  serializeModel,
  stratifiedSplit,
  temporalSplit,
  trainHybridModel,
  writeModelDir,
  type HybridConfig,
  type Interaction,
  type ItemMeta,
} from '../src/recommender/index';
import { formatTable, type ModelRow } from '../src/cli/report';
import { createRng, shuffleInPlace } from '../src/recommender/rng';

const opts = new Command('bench:model')
  .requiredOption('--ratings <file>', 'ratings file (u.data, ratings.dat or CSV)')
  .option('--items <file>', 'item metadata (u.item or CSV)')
  .option('--seed <n>', 'split seed', (v) => Number(v), 42)
  .option('--k <n>', 'list length', (v) => Number(v), 10)
  .option('--no-temporal', 'skip the temporal-split table')
  .parse()
  .opts<{ ratings: string; items?: string; seed: number; k: number; temporal: boolean }>();

async function text(path: string): Promise<string> {
  const bytes = await readFile(path);
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

const MODELS: { name: string; config: Partial<HybridConfig> }[] = [
  { name: 'hybrid default (EASE top-200 + content)', config: {} },
  { name: 'EASE top-200, no content', config: { algorithm: 'ease', contentWeight: 0 } },
  { name: 'EASE top-100', config: { algorithm: 'ease', neighbors: 100 } },
  { name: 'EASE unpruned', config: { algorithm: 'ease', neighbors: 100_000 } },
  { name: 'RP3beta top-200 + content', config: { algorithm: 'rp3beta' } },
  { name: 'ItemKNN cosine top-200 + content', config: { algorithm: 'itemknn' } },
];

/** A mask over `count` items keeping exactly ceil(share × count) of them, chosen by a seeded shuffle. */
function seededMask(count: number, share: number, seed: number): Uint8Array {
  const order = shuffleInPlace(Array.from({ length: count }, (_, i) => i), createRng(seed));
  const mask = new Uint8Array(count);
  for (let r = 0; r < Math.ceil(share * count); r++) mask[order[r]!] = 1;
  return mask;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Milliseconds of single in-process calls, one per user and repetition, after one warm-up pass; sorted. */
function latencies(users: readonly string[], call: (userId: string) => unknown, repetitions = 5): number[] {
  for (const u of users) call(u);
  const times: number[] = [];
  for (let rep = 0; rep < repetitions; rep++) {
    for (const u of users) {
      const t = performance.now();
      call(u);
      times.push(performance.now() - t);
    }
  }
  return times.sort((a, b) => a - b);
}

async function benchSplit(label: string, train: Interaction[], test: Interaction[], items: ItemMeta[] | undefined, models: typeof MODELS): Promise<void> {
  const k = opts.k;
  const dir = await mkdtemp(join(tmpdir(), 'bench-model-'));
  const pop = popularityModel(train);
  const rows: ModelRow[] = [{ name: 'popularity', result: evaluateRecommender((u, n) => pop.recommend(u, n).items, train, test, { k, items }) }];
  const extra = { bytes: ['-'], load: ['-'], p50: ['-'], p99: ['-'], m50: ['-'], m99: ['-'], rank50: ['-'], rank99: ['-'], rankM50: ['-'], rankM99: ['-'] };
  const testUsers = [...new Set(test.map((e) => e.userId))];
  for (const { name, config } of models) {
    const started = performance.now();
    const trained = trainHybridModel(train, { items, config });
    const trainSeconds = (performance.now() - started) / 1000;
    const artifactBytes = serializeModel(trained).payload.byteLength;
    await writeModelDir(join(dir, String(rows.length)), trained);
    // Cold load: read both files and rebuild the model, as a Lambda does on its first request.
    const loadStart = performance.now();
    const model = await readModelDir(join(dir, String(rows.length)));
    const loadMs = performance.now() - loadStart;
    const result = evaluateRecommender((u, n) => model.recommend(u, n).items, train, test, { k, items });
    const times = latencies(testUsers, (u) => model.recommend(u, k));
    // A filter that leaves 10 % of the catalogue eligible (same seed for every model).
    const mask = seededMask(model.itemCount, 0.1, opts.seed);
    const maskedTimes = latencies(testUsers, (u) => model.recommend(u, k, { eligible: mask }));
    // POST /rank: a page's own list of 100 items (spread over the catalogue) ordered for each test user.
    const catalogue = model.items();
    const list = Array.from({ length: Math.min(100, catalogue.length) }, (_, i) => catalogue[Math.floor((i * catalogue.length) / Math.min(100, catalogue.length))]!);
    const rankTimes = latencies(testUsers, (u) => model.rankItems(u, list));
    const rankMaskedTimes = latencies(testUsers, (u) => model.rankItems(u, list, { eligible: mask }));
    extra.rank50.push(percentile(rankTimes, 50).toFixed(3));
    extra.rank99.push(percentile(rankTimes, 99).toFixed(3));
    extra.rankM50.push(percentile(rankMaskedTimes, 50).toFixed(3));
    extra.rankM99.push(percentile(rankMaskedTimes, 99).toFixed(3));
    rows.push({ name, result, trainSeconds });
    extra.bytes.push(String(artifactBytes));
    extra.load.push(loadMs.toFixed(1));
    extra.p50.push(percentile(times, 50).toFixed(3));
    extra.p99.push(percentile(times, 99).toFixed(3));
    extra.m50.push(percentile(maskedTimes, 50).toFixed(3));
    extra.m99.push(percentile(maskedTimes, 99).toFixed(3));
  }
  await rm(dir, { recursive: true, force: true });
  console.log(`\n## ${label}: ${train.length} train / ${test.length} test interactions, ${rows[0].result.users} users evaluated, k=${k}`);
  console.log(
    formatTable(rows, [
      { header: 'artifact B', values: extra.bytes },
      { header: 'load ms', values: extra.load },
      { header: 'p50 ms', values: extra.p50 },
      { header: 'p99 ms', values: extra.p99 },
      { header: 'mask90 p50', values: extra.m50 },
      { header: 'mask90 p99', values: extra.m99 },
      { header: 'rank100 p50', values: extra.rank50 },
      { header: 'rank100 p99', values: extra.rank99 },
      { header: 'rank100 mask90 p50', values: extra.rankM50 },
      { header: 'rank100 mask90 p99', values: extra.rankM99 },
    ]),
  );
}

const ratings = parseRatingsFile(await text(opts.ratings), opts.ratings);
const items = opts.items ? parseItemsFile(await text(opts.items), opts.items) : undefined;
console.log(`# bench:model — ${opts.ratings}: ${ratings.length} interactions; items: ${items ? items.length : 'none'}; node ${process.version}`);
console.log('# latency ms per call (p50/p99); mask90 = eligibility mask leaving a seeded 10 % of the catalogue');
const stratified = stratifiedSplit(ratings, { ratio: 0.75, seed: opts.seed });
await benchSplit(`stratified 75/25 split (seed ${opts.seed})`, stratified.train, stratified.test, items, MODELS);
if (opts.temporal) {
  const temporal = temporalSplit(ratings, { ratio: 0.75 });
  await benchSplit('temporal split (latest 25% of each user held out)', temporal.train, temporal.test, items, MODELS.slice(0, 1).concat(MODELS.slice(4)));
}
