/**
 * Nightly retraining benchmark: N generated events (users with tastes, Zipf popularity, a view → purchase
 * funnel) are landed in Bronze by the consumer's own batch code (`ingestBatch`, 1,000 records per batch and
 * shard, feature table stubbed out: the speed layer is not what is measured here), then the state machine
 * runs locally on that arrival day with the real handlers against s3rver and dynalite. Prints time and
 * rows per step and writes bench/out/retrain-<engine>.json.
 *
 *   npm run bench:retrain -- --events 1000000 --users 20000 --items 10000 [--engine lambda|athena|lambda,athena]
 *
 * `--engine athena` runs the set-based steps as SQL on DuckDB, the local stand-in for Athena (the same SQL text the
 * deployed state machine sends to Athena). Memory is the resident set size of this one process (the emulators
 * included), sampled every 50 ms while each state runs: its peak per state, and the run's peak over its states.
 * `--engine lambda,athena` lands Bronze once and runs both engines on it, one after the other (figures from one run).
 */
import { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { createDynamoDocumentClient, createKinesisClient, createS3Client } from '../src/adapters/aws-clients';
import { S3Lake } from '../src/adapters/s3-lake';
import { ingestBatch } from '../src/ingest/ingest-batch';
import type { StreamRecord } from '../src/stream/stream-record';
import type { FeatureTable } from '../src/stream/ports';
import { startEmulators } from '../src/local/emulators';
import { ensureResources } from '../src/adapters/local-resources';
import { generateTasteEvents } from '../src/local/synthetic-events';

const opts = new Command()
  .name('bench:retrain')
  .description('Time every step of the nightly retraining on N generated events')
  .option('--events <n>', 'events to generate', (v) => parseInt(v, 10), 1_000_000)
  .option('--users <n>', 'users', (v) => parseInt(v, 10), 20_000)
  .option('--items <n>', 'items', (v) => parseInt(v, 10), 10_000)
  .option('--shards <n>', 'Kinesis shards the events are spread over', (v) => parseInt(v, 10), 2)
  .option('--duplicates <share>', 'share of events delivered twice', (v) => parseFloat(v), 0.01)
  .option('--seed <n>', 'generator seed', (v) => parseInt(v, 10), 11)
  .option('--engine <engines>', 'batch engine(s): lambda (the steps in one Lambda each), athena (SQL, DuckDB locally), or lambda,athena (both on the same Bronze, one after the other)', 'lambda')
  .parse()
  .opts<{ events: number; users: number; items: number; shards: number; duplicates: number; seed: number; engine: string }>();
const engines = opts.engine.split(',').map((e) => e.trim());
if (engines.length === 0 || engines.some((e) => e !== 'lambda' && e !== 'athena') || new Set(engines).size !== engines.length) {
  throw new Error(`--engine must be lambda, athena or lambda,athena, got ${JSON.stringify(opts.engine)}`);
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const emulators = await startEmulators();
Object.assign(process.env, emulators.env);
const names = { lakeBucket: 'bench-retrain-lake', featuresTable: 'bench-retrain-features', eventsStream: 'bench-retrain-events', eventsStreamShards: 1 };
Object.assign(process.env, { LAKE_BUCKET: names.lakeBucket, FEATURES_TABLE: names.featuresTable });
const s3 = createS3Client();
await ensureResources({ s3, ddb: createDynamoDocumentClient(), kinesis: createKinesisClient() }, names);

// 1. Bronze, written by the consumer's batch logic: arrival yesterday, so the run's window is one full day.
const arrivalDay = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const arrivalBase = Date.parse(`${arrivalDay}T00:00:00Z`);
const noFeatures: FeatureTable = { getRows: async () => new Map(), putRows: async () => ({ failed: new Set() }), queryRows: async () => [] };
const lake = new S3Lake(s3, names.lakeBucket);
let t = performance.now();
const pending = Array.from({ length: opts.shards }, () => [] as StreamRecord[]);
const seq = Array.from({ length: opts.shards }, () => 0n);
let produced = 0;
let bronzeObjects = 0;
// Shards land concurrently, each in order (as one consumer per shard does); at most one batch per shard in flight.
const inFlight: Promise<void>[] = Array.from({ length: opts.shards }, () => Promise.resolve());
const flush = async (shard: number) => {
  const batch = pending[shard]!;
  pending[shard] = [];
  await inFlight[shard];
  inFlight[shard] = ingestBatch(batch, { lake, table: noFeatures }).then((out) => {
    if (out.failures.size) throw new Error(`${out.failures.size} records failed to land in Bronze`);
    bronzeObjects += out.stats.bronzeObjects;
  });
};
for (const e of generateTasteEvents({ events: opts.events, users: opts.users, items: opts.items, seed: opts.seed, duplicateShare: opts.duplicates, endMs: arrivalBase + 3_600_000 })) {
  const shard = Math.abs(hash(String(e.userId))) % opts.shards;
  seq[shard]! += 1n;
  pending[shard]!.push({
    shardId: `shardId-${String(shard).padStart(12, '0')}`,
    sequenceNumber: (49_600_000_000_000_000_000_000_000_000_000_000_000_000_000n + seq[shard]!).toString(),
    arrivalMs: arrivalBase + Math.min(86_399_000, Math.floor((produced / opts.events) * 86_000_000)),
    data: Buffer.from(JSON.stringify(e)),
  });
  produced += 1;
  if (pending[shard]!.length === 1000) await flush(shard);
}
for (let s = 0; s < opts.shards; s++) if (pending[s]!.length) await flush(s);
await Promise.all(inFlight);
const landSeconds = (performance.now() - t) / 1000;
const bronzeBytes = (await lake.listObjects('bronze/')).reduce((sum, o) => sum + o.size, 0);
console.log(`Bronze: ${produced.toLocaleString('en-US')} records (${opts.duplicates * 100}% delivered twice) in ${bronzeObjects} objects, ${(bronzeBytes / 2 ** 20).toFixed(1)} MiB (${Math.round(bronzeBytes / produced)} bytes a line), ${landSeconds.toFixed(1)} s`);

// 2. The state machine, as `npm run retrain` runs it, once per engine on the same Bronze (the second run is a rerun of
// the same window: it rewrites that window's Silver and feature rows, as a rerun does).
const { runRetrainingLocally } = await import('../src/local/retraining-runner');
let failed = false;
for (const engine of engines) {
process.env.RETRAINING_ENGINE = engine;
console.log(`\n${engine} engine:`);
const entered = new Map<string, number>();
const seconds: Record<string, number> = {};
const memory: Record<string, number> = {};
// Peak RSS per state: sampled while it runs (states of a Map or Parallel overlap: each sees the peak of its time).
const running = new Map<string, number>();
const sampler = setInterval(() => {
  const rss = process.memoryUsage().rss;
  for (const [state, peak] of running) if (rss > peak) running.set(state, rss);
}, 50);
t = performance.now();
const result = await runRetrainingLocally(
  { date: arrivalDay },
  {
    executionName: `bench-${engine}`,
    onEvent: (e) => {
      if (e.type === 'entered') {
        entered.set(e.state, e.at);
        running.set(e.state, process.memoryUsage().rss);
      }
      if (e.type === 'exited') {
        seconds[e.state] = (seconds[e.state] ?? 0) + (e.at - entered.get(e.state)!) / 1000;
        const peak = Math.max(running.get(e.state) ?? 0, process.memoryUsage().rss);
        running.delete(e.state);
        memory[e.state] = Math.max(memory[e.state] ?? 0, Math.round(peak / 2 ** 20));
        console.log(`  ${e.state.padEnd(20)} ${seconds[e.state]!.toFixed(1).padStart(7)} s   peak rss ${memory[e.state]} MB`);
      }
      if (e.type === 'failed') console.log(`  ${e.state} FAILED: ${e.error} ${e.cause.slice(0, 300)}`);
    },
  },
);
clearInterval(sampler);
const total = (performance.now() - t) / 1000;
// The peak over this run's states (the process's maxRSS would include an earlier engine's run).
const maxRssMb = Math.max(0, ...Object.values(memory));
// The inputs of the README's Scale formulas: Bronze and Silver bytes per event.
const silverBytes = (await lake.listObjects('silver/interactions/')).reduce((sum, o) => sum + o.size, 0);
const out = (result.output ?? {}) as Record<string, Record<string, unknown>>;
const n = (x: unknown) => (typeof x === 'number' ? x.toLocaleString('en-US') : String(x ?? '—'));
const rows: [string, string, string][] = [
  ['ValidateData', `${n(out.validation?.validEvents)} lines read, ${n(out.validation?.uniqueEvents)} unique`, ''],
  ['ExtractFeatures', `${n(out.extract?.windowInteractions)} Silver rows`, `${n(out.extract?.silverFilesWritten)} Parquet files, ${n(out.extract?.featureRowsWritten)} exact feature rows`],
  ['TrainModel', `${n(out.training?.events)} events → ${n(out.training?.interactions)} interactions`, `${n(out.training?.users)} users, ${n(out.training?.items)} items, model ${n(Math.round(Number(out.training?.payloadBytes) / 1024))} KiB`],
  ['EvaluateModel', `${n(out.training?.interactions)} interactions`, String((out.evaluation?.gate as { reason?: string } | undefined)?.reason ?? '')],
  ['DeployModel', '1 pointer', ''],
  ['ReloadApi', '—', String(out.reload?.reason ?? '')],
];
console.log(`Silver interactions: ${(silverBytes / 2 ** 20).toFixed(1)} MiB (${(silverBytes / produced).toFixed(1)} bytes an event)`);
// The Athena engine's checked Bronze (what ValidateQuery and the Silver queries scan instead of Bronze).
const checkedBytes = (await lake.listObjects('silver/_batch/')).filter((o) => o.key.includes(`/bench-${engine}`) && o.key.includes('/checked_bronze/')).reduce((sum, o) => sum + o.size, 0);
if (checkedBytes > 0) console.log(`Checked Bronze: ${(checkedBytes / 2 ** 20).toFixed(1)} MiB (${(checkedBytes / produced).toFixed(1)} bytes a line)`);
console.log(`\n${result.status} in ${total.toFixed(1)} s with the ${engine} engine (${result.path.join(' → ')}); peak RSS ${maxRssMb} MB\n`);
if (engine === 'lambda') {
  console.log(`| step | time | peak RSS | rows | notes |\n|---|---:|---:|---|---|`);
  for (const [step, r, note] of rows) console.log(`| ${step} | ${(seconds[step] ?? 0).toFixed(1)} s | ${memory[step] ?? '—'} MB | ${r} | ${note} |`);
} else {
  console.log(`| state | time | peak RSS |\n|---|---:|---:|`);
  for (const state of Object.keys(seconds)) console.log(`| ${state} | ${seconds[state]!.toFixed(1)} s | ${memory[state]} MB |`);
}
await mkdir('bench/out', { recursive: true });
await writeFile(`bench/out/retrain-${engine}.json`, JSON.stringify({ options: opts, engine, maxRssMb, bronze: { records: produced, objects: bronzeObjects, bytes: bronzeBytes, seconds: landSeconds }, silverBytes, checkedBytes, status: result.status, totalSeconds: total, seconds, rssMb: memory, output: result.output, error: result.error }, null, 2));
if (result.status !== 'SUCCEEDED') failed = true;
}
s3.destroy();
await emulators.stop();
if (failed) process.exitCode = 1;

function hash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}
