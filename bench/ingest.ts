/**
 * Ingestion benchmark: N generated events go onto kinesalite, are read back as Lambda Kinesis events and
 * handed to the real consumer handler, which writes to s3rver and dynalite. Prints events/s and AWS
 * requests per 1,000 events, beside the reference per-event design (one object and two DynamoDB writes
 * per event) measured on the same events in the same run. The event ledger's share (each eventId counted
 * once) is measured on the same run: every row write and read the consumer makes is observed, so the
 * requests it would have made without the ledger rows are counted exactly (same batches, same rows).
 * `--repeat-share 0.05` posts that share of the events a second time (as a client retrying would).
 *
 *   npm run bench:ingest -- --events 100000 --users 2000 --items 1000 --batch-size 1000
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { startEmulators } from '../src/local/emulators';
import { ensureResources } from '../src/adapters/local-resources';
import { readStreamAsLambdaEvents } from '../src/local/kinesis-reader';
import { createDynamoDocumentClient, createKinesisClient, createS3Client } from '../src/adapters/aws-clients';
import { S3Lake } from '../src/adapters/s3-lake';
import { DynamoFeatureTable } from '../src/adapters/dynamo-feature-table';
import { generateEvents } from '../src/domain/event-generator';
import { parseEvent } from '../src/domain/events';
import { RequestCounter } from './request-counter';
import type { FeatureTable, FeatureTableRow, RowKey } from '../src/stream/ports';
import { estimatedRowBytes } from '../src/ingest/storable';
import { ledgerConfig } from '../src/ingest/event-ledger';

const program = new Command()
  .name('bench:ingest')
  .description('Push generated events through the consumer Lambda against the in-process emulators')
  .option('--events <n>', 'events to ingest', (v) => parseInt(v, 10), 100_000)
  .option('--users <n>', 'distinct users (Zipf-distributed activity)', (v) => parseInt(v, 10), 2_000)
  .option('--items <n>', 'distinct items (Zipf-distributed popularity)', (v) => parseInt(v, 10), 1_000)
  .option('--shards <n>', 'stream shards', (v) => parseInt(v, 10), 2)
  .option('--batch-size <n>', 'records per Lambda invocation (event source mapping BatchSize)', (v) => parseInt(v, 10), 1_000)
  .option('--per-event-sample <n>', 'events run through the per-event reference design', (v) => parseInt(v, 10), 5_000)
  .option('--seed <n>', 'generator seed', (v) => parseInt(v, 10), 7)
  .option('--repeat-share <x>', 'share of events posted a second time (repeated eventIds)', (v) => parseFloat(v), 0)
  .option('--no-ledger', 'count every record (no event ledger), to compare')
  .parse();
const opts = program.opts<{ events: number; users: number; items: number; shards: number; batchSize: number; perEventSample: number; seed: number; repeatShare: number; ledger: boolean }>();

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

const emulators = await startEmulators();
Object.assign(process.env, emulators.env);
const names = { lakeBucket: 'bench-lake', featuresTable: 'bench-features', eventsStream: 'bench-events', eventsStreamShards: opts.shards };
Object.assign(process.env, { LAKE_BUCKET: names.lakeBucket, FEATURES_TABLE: names.featuresTable });
const kinesis = createKinesisClient();
await ensureResources({ s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis }, names);
const { handler, resetConsumer } = await import('../lambdas/consumer/index');
const { lambdaContext } = await import('../test/support/lambda');

// The ledger's clock is Kinesis arrival: every record of the run arrives within its horizon (its worst case,
// every bucket row keeps growing), whatever the events' own times.
const generated = [...generateEvents({ users: opts.users, items: opts.items, events: opts.events, seed: opts.seed })];
const repeatEvery = opts.repeatShare > 0 ? Math.max(1, Math.round(1 / opts.repeatShare)) : 0;
const events = repeatEvery ? generated.flatMap((e, i) => (i % repeatEvery === 0 ? [e, { ...e }] : [e])) : generated;
console.log(`events ${events.length}${repeatEvery ? ` (${events.length - generated.length} repeated eventIds)` : ''}, users ${opts.users}, items ${opts.items} (Zipf), shards ${opts.shards}, batch size ${opts.batchSize}`);

const bar = (label: string, total: number) => {
  const b = new SingleBar({ format: `${label.padEnd(10)} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left`, hideCursor: true }, Presets.shades_classic);
  b.start(total, 0);
  return b;
};

// 1. Produce onto the stream (partition key = userId, as POST /events does).
let t0 = performance.now();
let b = bar('produce', events.length);
for (let i = 0; i < events.length; i += 500) {
  const chunk = events.slice(i, i + 500);
  const out = await kinesis.send(
    new PutRecordsCommand({ StreamName: names.eventsStream, Records: chunk.map((e) => ({ Data: Buffer.from(JSON.stringify(e)), PartitionKey: String(e.userId) })) }),
  );
  if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} records failed to put`);
  b.update(i + chunk.length);
}
b.stop();
const produceSeconds = (performance.now() - t0) / 1000;
const batches = await readStreamAsLambdaEvents(kinesis, names.eventsStream, opts.batchSize);

// 2. Consume with the real handler, counting every request its clients send.
const counter = new RequestCounter();
const s3 = counter.attach(createS3Client());
const ddb = counter.attach(createDynamoDocumentClient());
// Every row write and read of the consumer, observed: what the ledger costs on exactly these batches.
const ledgerUse = { rows: 0, bytes: 0, wcu: 0, allWcu: 0, writeRequests: 0, writeRequestsWithout: 0, readRequests: 0, readRequestsWithout: 0, maxEntries: 0 };
const inner = new DynamoFeatureTable(ddb, names.featuresTable);
const isLedger = (k: RowKey) => k.pk.startsWith('CTL#ledger#');
const observed: FeatureTable = {
  queryRows: (pk, fromSk, toSk) => {
    ledgerUse.readRequests += 1;
    return inner.queryRows(pk, fromSk, toSk);
  },
  getRows: (keys) => {
    ledgerUse.readRequests += Math.ceil(keys.length / 100);
    ledgerUse.readRequestsWithout += Math.ceil(keys.filter((k) => !isLedger(k)).length / 100);
    return inner.getRows(keys);
  },
  putRows: (rows: readonly FeatureTableRow[]) => {
    const ledgerRows = rows.filter(isLedger);
    ledgerUse.writeRequests += Math.ceil(rows.length / 25);
    ledgerUse.writeRequestsWithout += Math.ceil((rows.length - ledgerRows.length) / 25);
    ledgerUse.rows += ledgerRows.length;
    for (const r of rows) ledgerUse.allWcu += Math.ceil(estimatedRowBytes(r) / 1024);
    for (const r of ledgerRows) {
      const bytes = estimatedRowBytes(r);
      ledgerUse.bytes += bytes;
      ledgerUse.wcu += Math.ceil(bytes / 1024);
      if (r.entity === 'ledger') ledgerUse.maxEntries = Math.max(ledgerUse.maxEntries, r.count);
    }
    return inner.putRows(rows);
  },
};
resetConsumer({ lake: new S3Lake(s3, names.lakeBucket), table: observed, ...(opts.ledger ? {} : { ledger: false as const }) });
t0 = performance.now();
b = bar('consume', events.length);
let done = 0;
let failed = 0;
for (const batch of batches) {
  const res = await handler(batch, lambdaContext('consumer'));
  failed += res?.batchItemFailures.length ?? 0;
  done += batch.Records.length;
  b.update(done);
}
b.stop();
const consumeSeconds = (performance.now() - t0) / 1000;
const ours = {
  s3Put: counter.get('PutObject'),
  ddbBatchWrite: counter.get('BatchWrite') + counter.get('BatchWriteItem'),
  ddbBatchGet: counter.get('BatchGet') + counter.get('BatchGetItem') + counter.get('Query'),
};

// 3. The reference design on a sample of the same events: one object and one update per user and per item, per event.
const sample = events.slice(0, Math.min(opts.perEventSample, events.length));
const refCounter = new RequestCounter();
const refS3 = refCounter.attach(createS3Client());
const refDdb = refCounter.attach(createDynamoDocumentClient());
t0 = performance.now();
b = bar('per-event', sample.length);
for (let i = 0; i < sample.length; i++) {
  const r = parseEvent(sample[i]);
  if (!r.ok) continue;
  const e = r.event;
  await refS3.send(new PutObjectCommand({ Bucket: names.lakeBucket, Key: `reference/bronze/dt=${e.timestamp.slice(0, 10)}/${e.eventId}.json`, Body: JSON.stringify(sample[i]) }));
  for (const pk of [`REF#U#${e.userId}`, `REF#I#${e.itemId}`]) {
    await refDdb.send(
      new UpdateCommand({
        TableName: names.featuresTable,
        Key: { pk, sk: 'REF' },
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': `n_${e.type}` },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }
  b.update(i + 1);
}
b.stop();
const refSeconds = (performance.now() - t0) / 1000;
const ref = { s3Put: refCounter.get('PutObject'), ddbWrites: refCounter.get('Update') + refCounter.get('UpdateItem') };

const per1k = (n: number, of: number) => (n * 1000) / of;
const oursTotal = per1k(ours.s3Put + ours.ddbBatchWrite, events.length);
const refTotal = per1k(ref.s3Put + ref.ddbWrites, sample.length);
const rows: [string, string, string][] = [
  ['S3 PUT requests / 1k events', per1k(ours.s3Put, events.length).toFixed(1), per1k(ref.s3Put, sample.length).toFixed(1)],
  ['DynamoDB write requests / 1k events', per1k(ours.ddbBatchWrite, events.length).toFixed(1), per1k(ref.ddbWrites, sample.length).toFixed(1)],
  ['DynamoDB items written / 1k events (WCU)', per1k(counter.batchWriteItems, events.length).toFixed(1), per1k(ref.ddbWrites, sample.length).toFixed(1)],
  ['DynamoDB read requests (BatchGet + Query) / 1k events', per1k(ours.ddbBatchGet, events.length).toFixed(1), '0.0'],
  ['write requests / 1k events (S3 + DynamoDB)', oursTotal.toFixed(1), refTotal.toFixed(1)],
  ['events/s through the handler', (events.length / consumeSeconds).toFixed(0), (sample.length / refSeconds).toFixed(0)],
];
console.log('');
console.log(`${'figure'.padEnd(44)} ${'batched (ours)'.padStart(15)} ${'per-event'.padStart(12)}`);
for (const [k, a, c] of rows) console.log(`${k.padEnd(44)} ${a.padStart(15)} ${c.padStart(12)}`);
console.log('');
console.log(`write requests: ${(refTotal / oursTotal).toFixed(1)}x fewer than the per-event design`);
const ledger = ledgerConfig();
if (!opts.ledger) console.log('dedup: event ledger off (--no-ledger): every record counted; run without the flag for its cost');
const extraWrites = per1k(ledgerUse.writeRequests - ledgerUse.writeRequestsWithout, events.length);
if (opts.ledger) console.log(
  `dedup (event ledger, one new row a shard and batch, ${ledger.horizonMinutes} min horizon): +${extraWrites.toFixed(1)} write requests / 1k events ` +
    `(${per1k(ledgerUse.rows, events.length).toFixed(1)} ledger rows / 1k events in the same BatchWrite requests; ` +
    `${per1k(ledgerUse.writeRequestsWithout, events.length).toFixed(1)} DynamoDB write requests / 1k events without them), ` +
    `+${per1k(ledgerUse.readRequests - ledgerUse.readRequestsWithout, events.length).toFixed(1)} read requests / 1k events`,
);
if (opts.ledger) console.log(
  `dedup write capacity: ~${per1k(ledgerUse.wcu, events.length).toFixed(0)} WCU / 1k events of ~${per1k(ledgerUse.allWcu, events.length).toFixed(0)} (${(ledgerUse.bytes / Math.max(1, ledgerUse.rows) / 1024).toFixed(1)} KB a ledger row on average, ` +
    `largest row ${ledgerUse.maxEntries} entries, 12 bytes each)`,
);
console.log(`invocations ${batches.length}, record failures ${failed}, produce ${produceSeconds.toFixed(1)} s, consume ${consumeSeconds.toFixed(1)} s (${opts.events} events), per-event sample ${sample.length} in ${refSeconds.toFixed(1)} s`);

kinesis.destroy();
await emulators.stop();
