/**
 * Scale benchmark: trains the default model on a generated data set and reports time per stage, peak
 * memory and artifact size, to check training fits a Lambda (15 minutes, 10 GB).
 *
 *   node --max-old-space-size=9000 --expose-gc --import tsx bench/model-scale.ts --users 500000 --items 100000 --events 10000000
 */
import { Command } from 'commander';
import { deserializeModel, generateSyntheticDataset, serializeModel, trainHybridModel } from '../src/recommender/index';

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
const times: number[] = [];
for (let r = 0; r < 2000; r++) {
  const u = users[(r * 7919) % users.length];
  const s = performance.now();
  loaded.recommend(u, 10);
  times.push(performance.now() - s);
}
times.sort((a, b) => a - b);
log(`deserialized in ${loadMs.toFixed(0)} ms; first recommend ${firstMs.toFixed(0)} ms; then p50 ${times[1000].toFixed(3)} ms, p99 ${times[1980].toFixed(3)} ms`);
console.log(`RESULT train_seconds=${trainSeconds.toFixed(1)} peak_rss=${peak()} artifact_bytes=${artifact.payload.byteLength}`);
