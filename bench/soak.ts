/**
 * Load and soak run of the whole local pipeline (bounded, 127.0.0.1 only):
 * 1. `npm start`'s pipeline with N generated events: produced onto Kinesis, consumed by the local event source
 *    mappings, retrained, served;
 * 2. a sustained phase: more events at a fixed rate while autocannon (a separate process) loads the API;
 * 3. the end-of-run check: events produced = events in Bronze = events counted in the features.
 *
 *   npm run bench:soak -- --events 1000000 --soak-events 100000 --rate 2000 --connections 20 --duration 60
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createDynamoDocumentClient, createKinesisClient } from '../src/adapters/aws-clients';
import { produceEvents } from '../src/local/event-producer';
import { LocalPipeline } from '../src/local/pipeline';
import { generateTasteEvents } from '../src/local/synthetic-events';

const opts = new Command()
  .name('bench:soak')
  .option('--events <n>', 'initial events', (v) => parseInt(v, 10), 1_000_000)
  .option('--users <n>', 'users', (v) => parseInt(v, 10), 20_000)
  .option('--items <n>', 'items', (v) => parseInt(v, 10), 5_000)
  .option('--soak-events <n>', 'events produced during the sustained phase', (v) => parseInt(v, 10), 100_000)
  .option('--rate <n>', 'events per second during the sustained phase', (v) => parseInt(v, 10), 2_000)
  .option('--connections <n>', 'autocannon connections during the sustained phase', (v) => parseInt(v, 10), 20)
  .option('--duration <s>', 'seconds of API load', (v) => parseInt(v, 10), 60)
  .parse()
  .opts<{ events: number; users: number; items: number; soakEvents: number; rate: number; connections: number; duration: number }>();

const dir = await mkdtemp(join(tmpdir(), 'recsys-soak-'));
const started = performance.now();
const t = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const pipeline = new LocalPipeline({
  dataDir: dir,
  fresh: true,
  port: 0,
  host: '127.0.0.1',
  events: opts.events,
  users: opts.users,
  items: opts.items,
  seed: 5,
  rate: 0,
  liveRate: 0,
  retrainEveryMinutes: 0,
  analytics: true,
  log: (line) => console.log(`[${t().padStart(8)}] ${line}`),
});

try {
  await pipeline.start();
  const first = await pipeline.status();
  const ingestSeconds = (Date.parse(first.retraining[0]?.startedAt ?? new Date().toISOString()) - Date.parse(first.startedAt)) / 1000;
  console.log(`initial load: ${first.events.consumed.toLocaleString('en-US')} events through Kinesis and both consumers in ~${ingestSeconds.toFixed(0)} s (${(first.events.consumed / ingestSeconds).toFixed(0)} events/s), model ${first.model.version}`);

  // Sustained phase: events keep arriving while the API is under load.
  const kinesis = createKinesisClient();
  const soak = [...generateTasteEvents({ events: opts.soakEvents, users: opts.users, items: opts.items, seed: 99 })].map((e, i) => ({ ...e, eventId: `soak-${i}`, timestamp: new Date().toISOString() }));
  const producing = produceEvents(soak, { kinesis, stream: process.env.EVENTS_STREAM!, ratePerSecond: opts.rate });
  const load = autocannon(`${pipeline.apiUrl}/recommend/u1?k=10`, opts.connections, opts.duration);
  const [produced, api] = await Promise.all([producing, load]);
  console.log(`sustained phase: ${produced.sent.toLocaleString('en-US')} events at ${opts.rate}/s (${produced.retried} throttled and retried)`);
  console.log(`API under load: ${api.requests.average.toFixed(0)} req/s, latency p50 ${api.latency.p50} ms / p99 ${api.latency.p99} ms, errors ${api.errors}, timeouts ${api.timeouts}, non-2xx ${api.non2xx}`);

  // Drain, then count end to end.
  const expected = first.events.produced + produced.sent;
  for (let i = 0; i < 3600; i++) {
    const s = await pipeline.status();
    if (s.events.consumed + s.events.sentToDlq >= expected && s.events.analyticsConsumed >= expected) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  await new Promise((r) => setTimeout(r, 3500)); // the status counts are cached for 3 s
  const end = await pipeline.status();
  const counted = await eventsCountedInFeatures(process.env.FEATURES_TABLE!);
  const ok = expected === end.lake.bronzeRecords && expected === counted && end.events.sentToDlq === 0;
  console.log('');
  console.log(`events produced            ${expected.toLocaleString('en-US')}`);
  console.log(`events in Bronze           ${(end.lake.bronzeRecords ?? 0).toLocaleString('en-US')} (${end.lake.bronzeObjects} objects)`);
  console.log(`events counted in features ${counted.toLocaleString('en-US')}`);
  console.log(`sent to DLQ                ${end.events.sentToDlq}`);
  console.log(`end-of-run check           ${ok ? 'OK: produced = Bronze = features' : 'MISMATCH'}   (total ${t()})`);
  kinesis.destroy();
  process.exitCode = ok ? 0 : 1;
} finally {
  await pipeline.stop();
  await rm(dir, { recursive: true, force: true });
}

/** Sums every user's per-type event counts over their per-shard real-time rows. */
async function eventsCountedInFeatures(table: string): Promise<number> {
  const ddb = createDynamoDocumentClient();
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const row of page.Items ?? []) {
      if (String(row.pk).startsWith('U#') && String(row.sk).startsWith('RT#')) {
        total += Object.values((row.features as { counts: Record<string, number> }).counts).reduce((a, b) => a + b, 0);
      }
    }
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
  ddb.destroy();
  return total;
}

interface AutocannonResult {
  requests: { average: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

/** autocannon in its own process, so the load generator does not share the pipeline's event loop. */
function autocannon(url: string, connections: number, duration: number): Promise<AutocannonResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join('node_modules', 'autocannon', 'autocannon.js'), '-c', String(connections), '-d', String(duration), '-j', url], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as AutocannonResult);
      } catch {
        reject(new Error(`autocannon printed no result: ${out.slice(0, 200)}`));
      }
    });
  });
}
