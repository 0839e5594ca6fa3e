/**
 * Scale benchmark: trains the default model on a generated data set and reports time per stage, peak
 * memory and artifact size, to check training fits a Lambda (15 minutes, 10 GB); then recommend and rank-of-100
 * latency on the loaded model, unfiltered and with an eligibility mask leaving a seeded 10 % of the catalogue.
 *
 *   node --max-old-space-size=9000 --expose-gc --import tsx bench/model-scale.ts --users 500000 --items 100000 --events 10000000
 */
import { Command } from 'commander';
import { deserializeModel, generateSyntheticDataset, serializeModel, trainHybridModel } from '../src/recommender/index';
import { createRng, shuffleInPlace } from '../src/recommender/rng';

const opts = new Command('bench:model-scale')
  .option('--users <n>', 'users', Number, 500_000)
  .option('--items <n>', 'items', Number, 100_000)
  .option('--events <n>', 'interactions', Number, 10_000_000)
  .option('--seed <n>', 'seed', Number, 7)
  .option('--algorithm <name>', 'collaborative core (default: auto)')
  .parse()
  .opts<{ users: number; items: number; events: number; seed: number; algorithm?: 'ease' | 'rp3beta' | 'itemknn' }>();

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const peak = () => mb(process.resourceUsage().maxRSS * 1024);
const log = (msg: string) => console.log(`[${(process.uptime()).toFixed(1)}s] ${msg} (rss ${mb(process.memoryUsage().rss)}, peak ${peak()})`);

console.log(`# bench:model-scale — ${opts.users} users, ${opts.items} items, ${opts.events} interactions; node ${process.version}`);
let t = performance.now();
const { interactions, items } = generateSyntheticDataset({ users: opts.users, items: opts.items, events: opts.events, seed: opts.seed });
log(`generated in ${((performance.now() - t) / 1000).toFixed(1)}s`);

const stages = new Map<string, number>();
let stage = '';
let stageStart = performance.now();
t = performance.now();
const model = trainHybridModel(interactions, {
  items,
  config: opts.algorithm ? { algorithm: opts.algorithm } : {},
  onProgress: (s) => {
    if (s === stage) return;
    const now = performance.now();
    if (stage) stages.set(stage, (now - stageStart) / 1000);
    stage = s;
    stageStart = now;
  },
});
stages.set(stage, (performance.now() - stageStart) / 1000);
const trainSeconds = (performance.now() - t) / 1000;
log(`trained ${model.metadata.algorithm} in ${trainSeconds.toFixed(1)}s — ${[...stages].map(([s, sec]) => `${s} ${sec.toFixed(1)}s`).join(', ')}`);

// Free the raw interactions so the load below sees a heap like a fresh Lambda's.
interactions.length = 0;
(globalThis as { gc?: () => void }).gc?.();
t = performance.now();
const artifact = serializeModel(model);
log(`serialized in ${((performance.now() - t) / 1000).toFixed(1)}s: payload ${mb(artifact.payload.byteLength)} (${artifact.payload.byteLength} bytes)`);
t = performance.now();
const loaded = deserializeModel(artifact);
const loadMs = performance.now() - t;
const users = loaded.users();
t = performance.now();
loaded.recommend(users[0], 10); // first request also builds the user index
const firstMs = performance.now() - t;
/** Milliseconds of 2000 calls over spread-out users, sorted. */
function latencies(call: (userId: string) => unknown): number[] {
  const times: number[] = [];
  for (let r = 0; r < 2000; r++) {
    const u = users[(r * 7919) % users.length];
    const s = performance.now();
    call(u);
    times.push(performance.now() - s);
  }
  return times.sort((a, b) => a - b);
}
const p50p99 = (times: number[]) => `p50 ${times[1000].toFixed(3)} ms, p99 ${times[1980].toFixed(3)} ms`;
const times = latencies((u) => loaded.recommend(u, 10));
log(`deserialized in ${loadMs.toFixed(0)} ms; first recommend ${firstMs.toFixed(0)} ms; then ${p50p99(times)}`);
// A filter that leaves 10 % of the catalogue eligible (seeded shuffle), and a page's own list of 100 items.
const order = shuffleInPlace(Array.from({ length: loaded.itemCount }, (_, i) => i), createRng(opts.seed));
const mask = new Uint8Array(loaded.itemCount);
for (let r = 0; r < Math.ceil(0.1 * loaded.itemCount); r++) mask[order[r]!] = 1;
const catalogue = loaded.items();
const list = Array.from({ length: Math.min(100, catalogue.length) }, (_, i) => catalogue[Math.floor((i * catalogue.length) / Math.min(100, catalogue.length))]!);
log(`recommend mask90 ${p50p99(latencies((u) => loaded.recommend(u, 10, { eligible: mask })))}`);
log(`rank100 ${p50p99(latencies((u) => loaded.rankItems(u, list)))}; rank100 mask90 ${p50p99(latencies((u) => loaded.rankItems(u, list, { eligible: mask })))}`);
console.log(`RESULT train_seconds=${trainSeconds.toFixed(1)} peak_rss=${peak()} artifact_bytes=${artifact.payload.byteLength}`);
