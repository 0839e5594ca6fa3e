/**
 * Analytics benchmark: N generated events (spread over the last `--minutes`) go onto kinesalite and through
 * the real analytics consumer into dynalite. Prints events/s and DynamoDB requests and item writes per
 * 1,000 events, then checks the totals the reader returns against the generated truth.
 *
 *   npm run bench:analytics -- --events 100000 --minutes 60
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { startEmulators } from '../src/local/emulators';
import { ensureResources } from '../src/adapters/local-resources';
import { readStreamAsLambdaEvents } from '../src/local/kinesis-reader';
import { produceEvents } from '../src/local/event-producer';
import { createDynamoDocumentClient, createKinesisClient, createS3Client } from '../src/adapters/aws-clients';
import { DynamoRowStore } from '../src/adapters/dynamo-row-store';
import { dynamoAnalyticsReader } from '../src/adapters/dynamo-analytics-reader';
import type { WindowRow } from '../src/analytics/window-rows';
import { generateEvents } from '../src/domain/event-generator';
import { RequestCounter } from './request-counter';

const opts = new Command()
  .name('bench:analytics')
  .description('Push generated events through the analytics consumer against the in-process emulators')
  .option('--events <n>', 'events', (v) => parseInt(v, 10), 100_000)
  .option('--users <n>', 'distinct users', (v) => parseInt(v, 10), 5_000)
  .option('--items <n>', 'distinct items', (v) => parseInt(v, 10), 2_000)
  .option('--minutes <n>', 'event-time span ending now', (v) => parseInt(v, 10), 60)
  .option('--batch-size <n>', 'records per invocation', (v) => parseInt(v, 10), 1_000)
  .option('--seed <n>', 'generator seed', (v) => parseInt(v, 10), 11)
  .parse()
  .opts<{ events: number; users: number; items: number; minutes: number; batchSize: number; seed: number }>();

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const emulators = await startEmulators();
Object.assign(process.env, emulators.env);
const names = { lakeBucket: 'bench-lake', featuresTable: 'bench-features', analyticsTable: 'bench-analytics', eventsStream: 'bench-events', eventsStreamShards: 2 };
process.env.ANALYTICS_TABLE = names.analyticsTable;
const kinesis = createKinesisClient();
await ensureResources({ s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis }, names);
const { handler, resetAnalyticsConsumer } = await import('../lambdas/analytics-consumer/index');
const { lambdaContext } = await import('../test/support/lambda');

const now = Date.now();
const events = [...generateEvents({ users: opts.users, items: opts.items, events: opts.events, seed: opts.seed, startMs: now - opts.minutes * 60_000, endMs: now - 1000 })];
console.log(`events ${opts.events} over ${opts.minutes} min, users ${opts.users}, items ${opts.items}, batch size ${opts.batchSize}`);
await produceEvents(events, { kinesis, stream: names.eventsStream });
const batches = await readStreamAsLambdaEvents(kinesis, names.eventsStream, opts.batchSize);

const counter = new RequestCounter();
const ddb = counter.attach(createDynamoDocumentClient());
resetAnalyticsConsumer(new DynamoRowStore<WindowRow>(ddb, names.analyticsTable));
const bar = new SingleBar({ format: 'analytics [{bar}] {percentage}% | {value}/{total} events', hideCursor: true }, Presets.shades_classic);
bar.start(events.length, 0);
const t0 = performance.now();
let done = 0;
for (const batch of batches) {
  const res = await handler(batch, lambdaContext('analytics'));
  if (res?.batchItemFailures.length) throw new Error(`${res.batchItemFailures.length} records failed`);
  done += batch.Records.length;
  bar.update(done);
}
bar.stop();
const seconds = (performance.now() - t0) / 1000;

const per1k = (n: number) => ((n * 1000) / events.length).toFixed(1);
console.log('');
console.log(`events/s through the analytics consumer      ${(events.length / seconds).toFixed(0)}`);
console.log(`DynamoDB write requests / 1k events          ${per1k(counter.get('BatchWrite') + counter.get('BatchWriteItem'))}`);
console.log(`window rows written / 1k events (≤ 8 KB)    ${per1k(counter.batchWriteItems)}`);
console.log(`DynamoDB read requests / 1k events           ${per1k(counter.get('BatchGet') + counter.get('BatchGetItem'))}`);

const reader = dynamoAnalyticsReader(createDynamoDocumentClient(), names.analyticsTable);
const { summary } = await reader.realtime(opts.minutes * 60_000 + 60_000, now);
const trueUsers = new Set(events.map((e) => String(e.userId))).size;
const truePurchases = events.filter((e) => e.type === 'purchase').length;
console.log(`check: events ${summary.events}/${events.length}, purchases ${summary.purchases}/${truePurchases}, active users ${summary.activeUsers} vs ${trueUsers} true (${(((summary.activeUsers - trueUsers) / trueUsers) * 100).toFixed(2)}%)`);
console.log(`consume ${seconds.toFixed(1)} s in ${batches.length} invocations`);
kinesis.destroy();
await emulators.stop();
