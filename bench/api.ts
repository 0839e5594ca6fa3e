/**
 * Recommend API benchmark. Three processes, as in AWS where DynamoDB/S3/Kinesis are not inside the
 * function: the emulators (s3rver, dynalite, kinesalite), the local API server (the real handlers behind
 * the API Gateway adapter), and this one (orchestration and the autocannon load, 127.0.0.1 only).
 *
 * 1. trains the hybrid model on MovieLens-100K (or, without the files, a synthetic set of the same size)
 *    and deploys it to s3rver as models/production.json does in AWS;
 * 2. gives every user a few fresh events through Kinesis and the consumer Lambda, so each recommendation
 *    joins real-time history from DynamoDB as in production;
 * 3. cold-start model load: a fresh process loads the production model from S3 (pointer, manifest,
 *    payload, deserialise), several times;
 * 4. warm handler latency in-process: the read Lambda handler invoked directly, sequentially;
 * 5. load: autocannon against the local API (GET /recommend 80 % with Zipf-distributed users, 5 % of them
 *    unknown; /items/{id}/similar 10 %; /items/popular 10 %).
 *
 *   npm run bench:api -- --connections 100 --duration 20
 *   npm run bench:api -- --connections 100,10 --fresh-cache-ms 0     (several load levels; no micro-cache)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { localLambdaContext } from '../src/local/lambda-context';

const program = new Command()
  .name('bench:api')
  .description('Load the local recommend API and time the handler and the cold-start model load')
  .option('--connections <list>', 'concurrent autocannon connections; a comma list runs one load per value', (v) => v.split(',').map((x) => parseInt(x, 10)), [100])
  .option('--duration <s>', 'seconds of load', (v) => parseInt(v, 10), 20)
  .option('--warm-requests <n>', 'sequential in-process handler invocations timed', (v) => parseInt(v, 10), 3_000)
  .option('--cold-loads <n>', 'fresh processes timing the model load', (v) => parseInt(v, 10), 3)
  .option('--fresh-events <n>', 'fresh events given to each user before the load', (v) => parseInt(v, 10), 5)
  .option('--fresh-cache-ms <n>', "API's fresh-events micro-cache TTL (FRESH_EVENTS_CACHE_MS; 0 = a DynamoDB read per request)", (v) => parseInt(v, 10))
  .option('--data <dir>', 'MovieLens-100K folder (u.data, u.item)', process.env.ML100K_DIR ?? '/work/shared/data/ml-100k')
  .option('--role <role>', 'internal: emulators | api | cold-load')
  .parse();
const opts = program.opts<{ connections: number[]; duration: number; warmRequests: number; coldLoads: number; freshEvents: number; freshCacheMs?: number; data: string; role?: string }>();

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Declarations below are hoisted functions: the role dispatch runs (top-level await) before the end of the file.
const NAMES = { lakeBucket: 'bench-api-lake', featuresTable: 'bench-api-features', eventsStream: 'bench-api-events', eventsStreamShards: 2 };
const SELF = fileURLToPath(import.meta.url);

if (opts.role === 'emulators') await runEmulators();
else if (opts.role === 'api') await runApi();
else if (opts.role === 'cold-load') await runColdLoad();
else await orchestrate();

// ---------------------------------------------------------------------------------------------------------
// Child roles: each prints one JSON line when ready, then lives until its parent ends it.

async function runEmulators(): Promise<void> {
  const { startEmulators } = await import('../src/local/emulators');
  const { ensureResources } = await import('../src/adapters/local-resources');
  const { createDynamoDocumentClient, createKinesisClient, createS3Client } = await import('../src/adapters/aws-clients');
  const emu = await startEmulators();
  Object.assign(process.env, emu.env);
  await ensureResources({ s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis: createKinesisClient() }, NAMES);
  console.log(JSON.stringify({ env: { ...emu.env, LAKE_BUCKET: NAMES.lakeBucket, FEATURES_TABLE: NAMES.featuresTable, EVENTS_STREAM: NAMES.eventsStream } }));
  await untilParentGoes(() => emu.stop());
}

async function runApi(): Promise<void> {
  const { startApiServer } = await import('../src/local/api-server');
  const api = await startApiServer({ port: 0 });
  console.log(JSON.stringify({ url: api.url }));
  await untilParentGoes(() => api.stop());
}

async function runColdLoad(): Promise<void> {
  const t0 = performance.now();
  const { createS3Client } = await import('../src/adapters/aws-clients');
  const { S3Lake } = await import('../src/adapters/s3-lake');
  const { S3ModelRegistry: S3ModelSource } = await import('../src/adapters/s3-model-registry');
  const { ModelStore } = await import('../src/serving/model-store');
  const imported = performance.now();
  const store = new ModelStore(new S3ModelSource(new S3Lake(createS3Client(), NAMES.lakeBucket)), { refreshSeconds: 30 });
  const loaded = await store.get();
  const done = performance.now();
  if (!loaded) throw new Error(`no model: ${store.health().error}`);
  loaded.model.recommend(loaded.model.users()[0]!, 10);
  const firstAnswer = performance.now();
  console.log(JSON.stringify({ importMs: imported - t0, loadMs: done - imported, artifactLoadMs: loaded.loadMs, firstRecommendMs: firstAnswer - done }));
}

function untilParentGoes(stop: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const end = () => void stop().then(() => resolve(), () => resolve()).finally(() => process.exit(0));
    process.stdin.on('end', end);
    process.stdin.on('close', end);
    process.stdin.resume();
    process.once('SIGTERM', end);
  });
}

function startChild(role: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; ready: Record<string, unknown> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--role', role], {
    env: { ...process.env, ...env, NODE_OPTIONS: '--openssl-legacy-provider' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      try {
        resolve({ child, ready: JSON.parse(line) as Record<string, unknown> });
      } catch {
        reject(new Error(`${role} child said: ${line}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`${role} child exited with ${code}`)));
  });
}

// ---------------------------------------------------------------------------------------------------------

async function orchestrate(): Promise<void> {
  const children: ChildProcess[] = [];
  const cleanup = () => children.forEach((c) => c.stdin?.end());
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const emulators = await startChild('emulators');
    children.push(emulators.child);
    const env = (emulators.ready as { env: Record<string, string> }).env;
    Object.assign(process.env, env);

    const { createKinesisClient, createS3Client } = await import('../src/adapters/aws-clients');
    const { S3Lake } = await import('../src/adapters/s3-lake');
    const { publishModel } = await import('../src/local/publish-model');
    const rec = await import('../src/recommender/index');

    // 1. Model.
    let t = performance.now();
    const hasMl = existsSync(`${opts.data}/u.data`) && existsSync(`${opts.data}/u.item`);
    const { interactions, items } = hasMl
      ? { interactions: rec.parseRatingsFile(readFileSync(`${opts.data}/u.data`, 'utf8'), 'u.data'), items: rec.parseItemsFile(readFileSync(`${opts.data}/u.item`, 'latin1'), 'u.item') }
      : rec.generateSyntheticDataset({ users: 943, items: 1682, events: 100_000, seed: 7 });
    const model = rec.trainHybridModel(interactions, { items });
    const artifact = rec.serializeModel(model);
    const pointer = await publishModel(new S3Lake(createS3Client(), NAMES.lakeBucket), model);
    console.log(
      `model: ${hasMl ? 'MovieLens-100K' : 'synthetic, ML-100K-sized (MovieLens files not found)'}; ${interactions.length} ratings, ` +
        `${model.userCount} users, ${model.itemCount} items, ${model.metadata.algorithm}; trained in ${((performance.now() - t) / 1000).toFixed(1)} s; ` +
        `artifact ${(artifact.payload.byteLength / 1e6).toFixed(2)} MB; deployed as ${pointer.version}`,
    );

    // 2. Fresh events for every user, through Kinesis and the consumer, as in production.
    t = performance.now();
    const users = [...model.users()];
    const catalogue = [...model.items()];
    const kinesis = createKinesisClient();
    const { PutRecordsCommand } = await import('@aws-sdk/client-kinesis');
    const now = Date.now();
    const events = users.flatMap((userId, u) =>
      Array.from({ length: opts.freshEvents }, (_, j) => {
        const itemId = catalogue[(u * 31 + j * 97) % catalogue.length]!;
        const base = { eventId: `bench-${userId}-${j}`, userId, itemId, timestamp: new Date(now - (j + 1) * 60_000).toISOString() };
        return j % 2 === 0 ? { ...base, type: 'rating', rating: 1 + ((u + j) % 5) } : { ...base, type: 'view' };
      }),
    );
    for (let i = 0; i < events.length; i += 500) {
      const Records = events.slice(i, i + 500).map((e) => ({ PartitionKey: e.userId, Data: Buffer.from(JSON.stringify(e)) }));
      await kinesis.send(new PutRecordsCommand({ StreamName: NAMES.eventsStream, Records }));
    }
    const { readStreamAsLambdaEvents } = await import('../src/local/kinesis-reader');
    const consumer = await import('../lambdas/consumer/index');
    const ctx = benchContext('consumer');
    for (const batch of await readStreamAsLambdaEvents(kinesis, NAMES.eventsStream, 1000)) await consumer.handler(batch, ctx);
    console.log(`fresh events: ${events.length} (${opts.freshEvents} per user) through Kinesis and the consumer in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // 3. Cold-start model load, each in a fresh process.
    const cold: { importMs: number; loadMs: number; artifactLoadMs: number; firstRecommendMs: number }[] = [];
    for (let i = 0; i < opts.coldLoads; i++) {
      const out = await runToCompletion('cold-load');
      cold.push(out as (typeof cold)[number]);
    }

    // 4. Warm handler latency, in-process, sequential.
    // The in-process figure always includes the DynamoDB read of fresh events (no micro-cache).
    process.env.FRESH_EVENTS_CACHE_MS = '0';
    const api = await import('../lambdas/api/index');
    api.resetReadApi();
    const unknownUsers = Array.from({ length: 50 }, (_, i) => `cold-${i}`);
    const pick = <T>(list: readonly T[], i: number) => list[(i * 7919) % list.length]!;
    const readCtx = benchContext('read');
    const invoke = (i: number) => api.handler(proxyEvent(i % 20 === 0 ? pick(unknownUsers, i) : pick(users, i)), readCtx);
    for (let i = 0; i < 300; i++) await invoke(i);
    const handlerMs: number[] = [];
    for (let i = 0; i < opts.warmRequests; i++) {
      const s = performance.now();
      const res = await invoke(i + 300);
      handlerMs.push(performance.now() - s);
      if (res.statusCode !== 200) throw new Error(`handler answered ${res.statusCode}: ${res.body}`);
    }
    // The handler's own cost: the same middy handler and model, fresh events served from memory (each
    // user's, read once from DynamoDB beforehand), so what remains is routing, ranking and serialising.
    const store = api.readApiModelStore();
    const { DynamoFeatureTable } = await import('../src/adapters/dynamo-feature-table');
    const { createDynamoDocumentClient } = await import('../src/adapters/aws-clients');
    const { ReadApi } = await import('../src/serving/read-api');
    const { createApiHandler } = await import('../src/serving/api-handler');
    const table = new DynamoFeatureTable(createDynamoDocumentClient(), NAMES.featuresTable);
    const inMemory = new Map<string, Awaited<ReturnType<typeof table.userFeatures>>>();
    for (const userId of [...users, ...unknownUsers]) inMemory.set(userId, await table.userFeatures(userId));
    const memoryReader = { realtime: async (userId: string) => inMemory.get(userId), exact: async () => undefined };
    api.resetReadApi({ store, handle: createApiHandler(new ReadApi(store, memoryReader, { freshEventsTimeoutMs: 250 }).routes(), { corsAllowOrigin: '*' }) });
    for (let i = 0; i < 300; i++) await invoke(i);
    const ownMs: number[] = [];
    for (let i = 0; i < opts.warmRequests; i++) {
      const s = performance.now();
      await invoke(i + 300);
      ownMs.push(performance.now() - s);
    }
    api.resetReadApi();

    // The model's share of it: ranking with the fresh history, no I/O.
    const loaded = await store.get();
    const modelMs: number[] = [];
    for (let i = 0; i < opts.warmRequests; i++) {
      const userId = pick(users, i);
      const s = performance.now();
      loaded!.model.recommend(userId, 10, { history: [{ userId, itemId: pick(catalogue, i), rating: 4, timestamp: now }] });
      modelMs.push(performance.now() - s);
    }

    // 5. Load through HTTP.
    const cacheEnv: Record<string, string> = opts.freshCacheMs === undefined ? {} : { FRESH_EVENTS_CACHE_MS: String(opts.freshCacheMs) };
    const server = await startChild('api', { ...env, ...cacheEnv });
    children.push(server.child);
    const url = (server.ready as { url: string }).url;
    const autocannon = (await import('autocannon')).default;
    // Who asks is Zipf-distributed over users (exponent 0.8, as the event generator's user activity);
    // 5 % of recommendation requests come from users the model has never seen.
    const { seededRandom, zipfSampler } = await import('../src/domain/event-generator');
    const random = seededRandom(42);
    const nextUser = zipfSampler(users.length, 0.8, random);
    const nextItem = zipfSampler(catalogue.length, 1.0, random);
    let n = 0;
    const pathFor = () => {
      const i = n++;
      const r = i % 20;
      if (r < 2) return '/items/popular?k=10';
      if (r < 4) return `/items/${encodeURIComponent(catalogue[nextItem()]!)}/similar?k=10`;
      return `/recommend/${encodeURIComponent(r === 4 ? pick(unknownUsers, i) : users[nextUser()]!)}?k=10`;
    };
    // Warm the server (JIT, keep-alive sockets, the model load) before measuring.
    await autocannon({ url, connections: 10, duration: 2, requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: pathFor() }) }] });
    const loads: { connections: number; result: Awaited<ReturnType<typeof autocannon>> }[] = [];
    for (const connections of opts.connections) {
      const result = await autocannon({
        url,
        connections,
        duration: opts.duration,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: pathFor() }) }],
      });
      loads.push({ connections, result });
    }
    const health = (await (await fetch(`${url}/health`)).json()) as { modelVersion: string; modelLoadMs: number };

    // Report.
    const warm = percentiles(handlerMs);
    const modelOnly = percentiles(modelMs);
    const own = percentiles(ownMs);
    const coldLoad = percentiles(cold.map((c) => c.loadMs));
    const rows: [string, string, string, string][] = [
      ...loads.flatMap(({ connections, result: load }): [string, string, string, string][] => [
        ['local API under load', `${connections} connections, ${opts.duration} s, fresh-events cache ${opts.freshCacheMs ?? 1000} ms`, '', ''],
        ['  requests/s (mean)', load.requests.average.toFixed(0), '', ''],
        ['  latency p50 / p99', `${load.latency.p50} / ${load.latency.p99} ms`, 'p99 <= 50 ms', mark(load.latency.p99 <= 50)],
        ['  errors (socket + timeouts + non-2xx)', `${load.errors} + ${load.timeouts} + ${load.non2xx}`, 'zero', mark(load.errors + load.timeouts + load.non2xx === 0)],
        ['  requests', String(load.requests.total), '', ''],
      ]),
      ['warm handler in-process (read Lambda, DynamoDB fresh events incl.)', `p50 ${fmt(warm.p50)} / p99 ${fmt(warm.p99)} ms`, 'p99 <= 5 ms', mark(warm.p99 <= 5)],
      ['  handler without the DynamoDB read (fresh events in memory)', `p50 ${fmt(own.p50)} / p99 ${fmt(own.p99)} ms`, 'p99 <= 5 ms', mark(own.p99 <= 5)],
      ['  model ranking alone', `p50 ${fmt(modelOnly.p50)} / p99 ${fmt(modelOnly.p99)} ms`, '', ''],
      [
        'cold-start model load (S3 pointer + manifest + payload + deserialise)',
        `median ${fmt(coldLoad.p50)} / max ${fmt(Math.max(...cold.map((c) => c.loadMs)))} ms over ${cold.length} fresh processes`,
        '<= 300 ms',
        mark(Math.max(...cold.map((c) => c.loadMs)) <= 300),
      ],
      ['  first recommendation after load', `${fmt(percentiles(cold.map((c) => c.firstRecommendMs)).p50)} ms`, '', ''],
      ['  server under load served', health.modelVersion, '', ''],
    ];
    console.log('');
    const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length)), 14];
    for (const [a, b, c, d] of rows) console.log(`${a.padEnd(w[0]!)}  ${b.padEnd(w[1]!)}  ${c.padEnd(w[2]!)} ${d}`);
    console.log(
      JSON.stringify({
        freshEventsCacheMs: opts.freshCacheMs ?? 1000,
        durationS: opts.duration,
        loads: loads.map(({ connections, result: l }) => ({
          connections,
          requestsPerSecond: Math.round(l.requests.average),
          latencyP50Ms: l.latency.p50,
          latencyP99Ms: l.latency.p99,
          errors: l.errors + l.timeouts + l.non2xx,
        })),
        warmHandlerP50Ms: round(warm.p50),
        warmHandlerP99Ms: round(warm.p99),
        handlerWithoutDynamoP99Ms: round(own.p99),
        modelRankP99Ms: round(modelOnly.p99),
        coldStartModelLoadMs: cold.map((c) => round(c.loadMs)),
        dataset: hasMl ? 'ml-100k' : 'synthetic-ml-100k-size',
      }),
    );
    kinesis.destroy();
  } finally {
    cleanup();
  }
  process.exit(0);
}

function runToCompletion(role: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--role', role], {
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${role} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>);
    });
  });
}

function proxyEvent(userId: string) {
  const path = `/recommend/${userId}`;
  return {
    resource: '/recommend/{userId}',
    path,
    httpMethod: 'GET',
    headers: { accept: 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: { k: '10' },
    multiValueQueryStringParameters: null,
    pathParameters: { userId },
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'bench', httpMethod: 'GET', path, stage: 'bench' },
  } as unknown as import('aws-lambda').APIGatewayProxyEvent;
}

function benchContext(name: string): import('aws-lambda').Context {
  return localLambdaContext(`bench-${name}`, { requestId: 'bench' });
}

function percentiles(values: number[]): { p50: number; p99: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99) };
}
function round(x: number): number {
  return Math.round(x * 100) / 100;
}
function fmt(x: number): string {
  return x.toFixed(2);
}
function mark(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}
