/**
 * `npm start` (also `npm run local -- --help`): the whole pipeline on this machine, no Docker, no AWS account.
 * In-process S3, DynamoDB and Kinesis emulators; the same Lambda handlers, state machine and API as in AWS.
 */
import { Command, Option } from 'commander';
import { Presets, SingleBar } from 'cli-progress';
import { createRunEventPrinter } from './run-events';
import { describeError } from '../retraining/errors';
import { LocalPipeline, type LocalPipelineOptions } from './pipeline';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got ${v}`);
  return n;
};

const program = new Command('npm start')
  .description('Run the whole recommendation pipeline locally: events → Kinesis → consumer → lake and features → nightly retraining → API on localhost')
  .addOption(new Option('--port <port>', 'HTTP port of the API and the status page').argParser(int).default(3000))
  .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
  .addOption(new Option('--events <n>', 'generated events for the initial load').argParser(int).default(30_000))
  .addOption(new Option('--users <n>', 'generated users').argParser(int).default(1_000))
  .addOption(new Option('--items <n>', 'generated items (or the item metadata file with --ratings)').argParser(int).default(500))
  .addOption(new Option('--seed <n>', 'generator seed').argParser(int).default(7))
  .option('--ratings <file>', 'replay a ratings file instead (MovieLens u.data / ratings.dat, or CSV userId,itemId,rating,timestamp)')
  .option('--item-metadata <file>', 'item titles and genres (MovieLens u.item / movies.dat, or CSV itemId,title,genres)')
  .addOption(new Option('--rate <n>', 'events per second onto Kinesis for the initial load (0 = as fast as possible)').argParser(int).default(0))
  .addOption(new Option('--live-rate <n>', 'fresh events per second after start-up, so the page moves (0 = none)').argParser(int).default(5))
  .addOption(new Option('--schedule <minutes>', 'run the retraining state machine again every N minutes (0 = at start and on demand only)').argParser(int).default(0))
  .addOption(new Option('--shoppers <n>', 'simulated shoppers with known tastes: visits per second (GET /recommend, then POST /events with impressions, clicks, purchases); the initial load becomes their history (0 = off)').argParser(int).default(0))
  .option('--no-analytics', 'do not run the shop analytics consumer')
  .option('--data-dir <dir>', 'where data persists between runs', '.local')
  .option('--fresh', 'delete the data folder first')
  .option('--exit-when-ready', 'stop once the API serves the first model (for scripts and timing)');

interface CliOptions {
  port: number;
  host: string;
  events: number;
  users: number;
  items: number;
  seed: number;
  ratings?: string;
  itemMetadata?: string;
  rate: number;
  liveRate: number;
  schedule: number;
  shoppers: number;
  analytics: boolean;
  dataDir: string;
  fresh?: boolean;
  exitWhenReady?: boolean;
}

async function main(): Promise<void> {
  const opts = program.parse().opts<CliOptions>();
  const started = performance.now();
  const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  const log = (line: string) => console.log(`[${elapsed().padStart(7)}] ${line}`);
  let bar: SingleBar | undefined;
  const interactive = process.stdout.isTTY;

  const options: LocalPipelineOptions = {
    dataDir: opts.dataDir,
    fresh: Boolean(opts.fresh),
    port: opts.port,
    host: opts.host,
    events: opts.events,
    users: opts.users,
    items: opts.items,
    seed: opts.seed,
    rate: opts.rate,
    // The simulated shoppers are the live traffic: the generic trickle would act on other tastes.
    liveRate: opts.exitWhenReady || opts.shoppers > 0 ? 0 : opts.liveRate,
    ratingsFile: opts.ratings,
    itemsFile: opts.itemMetadata,
    retrainEveryMinutes: opts.schedule,
    analytics: opts.analytics,
    ...(opts.shoppers > 0 ? { shoppers: { visitsPerSecond: opts.shoppers } } : {}),
    log,
    onProduceProgress: (sent, total) => {
      if (!interactive) return;
      if (!bar) {
        bar = new SingleBar({ format: '          produce [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left', hideCursor: true }, Presets.shades_classic);
        bar.start(total, 0);
      }
      bar.update(sent);
      if (sent >= total) bar.stop();
    },
    // A caught state is printed failed with its error (not ✓), retries and attempts with their cause.
    onRetrainEvent: createRunEventPrinter(log, { verboseStart: false, indent: '  ' }),
  };

  const pipeline = new LocalPipeline(options);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    bar?.stop();
    log(`${signal}: stopping pollers, API and emulators (data kept in ${opts.dataDir})`);
    await pipeline.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    await pipeline.start();
  } catch (err) {
    bar?.stop();
    console.error(`\nerror: ${describeError(err)}`);
    if (process.env.DEBUG) console.error(err);
    await pipeline.stop();
    process.exit(1);
  }

  const status = await pipeline.status();
  const api = pipeline.apiUrl;
  const run = status.retraining[0];
  const metrics = (run?.metrics ?? {}) as { candidate?: Record<string, number>; popularity?: Record<string, number> };
  console.log('');
  console.log(`serving on ${api}  (status page: ${api}/)`);
  console.log('');
  console.log('summary');
  console.log(`  events in             ${status.events.produced.toLocaleString('en-US')} produced, ${status.events.consumed.toLocaleString('en-US')} consumed, ${status.events.sentToDlq} to the DLQ`);
  console.log(`  lake                  ${status.lake.bronzeObjects} Bronze objects (${(status.lake.bronzeRecords ?? 0).toLocaleString('en-US')} records), ${status.lake.quarantineObjects} quarantine objects`);
  console.log(`  features              ${status.features.users.toLocaleString('en-US')} users, ${status.features.items.toLocaleString('en-US')} items`);
  console.log(`  model                 ${status.model.version ?? 'none deployed'}${run ? ` (${run.status}: ${run.outcome ?? ''})` : ''}`);
  if (metrics.candidate && metrics.popularity) {
    const f = (x: number | undefined) => (x ?? 0).toFixed(4);
    console.log(`  nDCG@10 / P@10        model ${f(metrics.candidate.ndcg)} / ${f(metrics.candidate.precision)}   popularity ${f(metrics.popularity.ndcg)} / ${f(metrics.popularity.precision)}  (temporal hold-out)`);
  }
  console.log(`  ready after           ${elapsed()}`);
  console.log('');
  await printExamples(api, status.model.exampleUser);
  if (opts.exitWhenReady) {
    await pipeline.stop();
    process.exit(0);
  }
  console.log(`Ctrl-C stops; data stays in ${opts.dataDir} for the next run (--fresh to start over).`);
}

/** Calls the API the way a user would and prints the calls with their real answers. */
async function printExamples(api: string, exampleUser = 'u1'): Promise<void> {
  const item = await fetch(`${api}/items/popular?k=1`)
    .then((r) => r.json() as Promise<{ items?: { itemId: string }[] }>)
    .then((body) => body.items?.[0]?.itemId)
    .catch(() => undefined);
  const user = encodeURIComponent(exampleUser);
  const calls: [string, string, RequestInit?][] = [
    ['GET', '/health'],
    ['GET', `/recommend/${user}?k=5`],
    ['GET', '/recommend/someone-new?k=3'],
    ['GET', '/items/popular?k=3'],
    ...(item ? [['GET', `/items/${encodeURIComponent(item)}/similar?k=3`] as [string, string]] : []),
    ['POST', '/events', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ events: [{ eventId: `demo-${Date.now()}`, type: 'rating', userId: exampleUser, itemId: item ?? 'i1', rating: 5, timestamp: new Date().toISOString() }] }) }],
  ];
  console.log('try it:');
  for (const [method, path, init] of calls) {
    const res = await fetch(`${api}${path}`, init).catch((err: Error) => err);
    const body = res instanceof Error ? res.message : await res.text();
    const curl = method === 'POST' ? `curl -s -X POST ${api}${path} -H 'Content-Type: application/json' -d '${String(init?.body)}'` : `curl -s '${api}${path}'`;
    console.log(`  $ ${curl}`);
    console.log(`    ${res instanceof Error ? 'error' : res.status} ${body.length > 400 ? `${body.slice(0, 400)}…` : body}`);
  }
  console.log('');
}

void main();
