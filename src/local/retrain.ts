/**
 * `npm run retrain`: runs statemachines/nightly-retraining.asl.json on this machine with the same Lambda
 * handlers, against the emulators (or whatever AWS_ENDPOINT_URL* points at), printing each state.
 *
 *   npm run retrain                                   # every Bronze day in the lake
 *   npm run retrain -- --generate 20000               # first fill the lake through Kinesis + the consumer
 *   npm run retrain -- --with-api                     # also serve the API locally; ReloadApi confirms the new model
 *   npm run retrain -- --date 2026-11-21 --api-url https://…/prod
 *   npm run retrain -- --rollback                     # production back to the previous model
 */
import { Command, Option } from 'commander';
import { resolve } from 'node:path';
import { createDynamoDocumentClient, createKinesisClient, createS3Client, usesEndpointOverride } from '../adapters/aws-clients';
import { DEFAULT_NAMES } from '../config/runtime';
import { BRONZE_EVENTS_PREFIX, modelKeys, PRODUCTION_POINTER_KEY, runReportKey } from '../domain/lake-layout';
import { rollbackProduction } from '../retraining/deploy';
import type { EvaluationRecord, Metrics } from '../retraining/evaluate-candidate';
import { S3Lake } from '../adapters/s3-lake';
import { getJson, type RetrainingLake } from '../retraining/lake';
import type { RunSummary } from '../retraining/record';
import { describeError } from '../retraining/errors';
import { createRunEventPrinter, formatSummarySteps } from './run-events';
import { startEmulators } from './emulators';
import { localLambdaContext } from './lambda-context';
import { ensureResources, type ResourceNames } from '../adapters/local-resources';

interface Options {
  dataDir: string;
  from?: string;
  to?: string;
  date?: string;
  generate?: number;
  users: number;
  items: number;
  apiUrl?: string;
  withApi?: boolean;
  modelConfig?: string;
  rollback?: boolean;
  verbose?: boolean;
}

const program = new Command('retrain')
  .description('Run the nightly retraining state machine locally (aws-local-stepfunctions + the real handlers)')
  .option('--data-dir <dir>', 'where the in-process emulators keep their data (ignored when AWS_ENDPOINT_URL* is set)', '.local/data')
  .option('--date <YYYY-MM-DD>', 'Bronze arrival date to process')
  .option('--from <YYYY-MM-DD>', 'first Bronze arrival date of the window')
  .option('--to <YYYY-MM-DD>', 'last Bronze arrival date of the window')
  .addOption(new Option('--generate <events>', 'first put this many generated events on Kinesis and run the consumer').argParser(Number))
  .addOption(new Option('--users <n>', 'users of the generated events').argParser(Number).default(2000))
  .addOption(new Option('--items <n>', 'items of the generated events').argParser(Number).default(1000))
  .option('--api-url <url>', 'recommend API base URL, for ReloadApi to confirm the new version (e.g. http://127.0.0.1:3000)')
  .option('--with-api', 'start the local recommend API on the same emulators, so ReloadApi confirms the new model (refresh 2 s)')
  .option('--model-config <json>', 'recommender options for this run, e.g. \'{"neighbors":100}\'')
  .option('--rollback', 'point production back at the previous model instead of retraining')
  .option('--verbose', 'print the handlers\' JSON logs and metrics too');

async function main(): Promise<void> {
  const opts = program.parse().opts<Options>();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if (!opts.verbose) {
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  }
  const names: ResourceNames = {
    ...DEFAULT_NAMES,
    lakeBucket: process.env.LAKE_BUCKET ?? DEFAULT_NAMES.lakeBucket,
    featuresTable: process.env.FEATURES_TABLE ?? DEFAULT_NAMES.featuresTable,
    eventsStream: process.env.EVENTS_STREAM ?? DEFAULT_NAMES.eventsStream,
  };
  let stop = async () => {};
  if (!usesEndpointOverride()) {
    const emulators = await startEmulators({ dataDir: resolve(opts.dataDir) });
    Object.assign(process.env, emulators.env);
    stop = () => emulators.stop();
    console.log(`emulators (data in ${opts.dataDir}): S3 ${emulators.endpoints.s3}, DynamoDB ${emulators.endpoints.dynamodb}, Kinesis ${emulators.endpoints.kinesis}`);
  }
  Object.assign(process.env, { LAKE_BUCKET: names.lakeBucket, FEATURES_TABLE: names.featuresTable, EVENTS_STREAM: names.eventsStream });
  if (opts.apiUrl) process.env.API_BASE_URL = opts.apiUrl;
  const clients = { s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis: createKinesisClient() };
  try {
    await ensureResources(clients, names);
    const lake = new S3Lake(clients.s3, names.lakeBucket);
    if (opts.rollback) {
      const { from, to } = await rollbackProduction(lake);
      console.log(`production rolled back: ${from} → ${to} (${PRODUCTION_POINTER_KEY})`);
      return;
    }
    if (opts.withApi) {
      process.env.MODEL_REFRESH_SECONDS ??= '2';
      process.env.RELOAD_POLL_INTERVAL_MS ??= '500';
      const { startApiServer } = await import('./api-server');
      const api = await startApiServer({ port: 0 });
      const stopEmulators = stop;
      stop = async () => {
        await api.stop();
        await stopEmulators();
      };
      process.env.API_BASE_URL = api.url;
      console.log(`local recommend API: ${api.url} (re-reads ${PRODUCTION_POINTER_KEY} every ${process.env.MODEL_REFRESH_SECONDS} s)`);
    }
    if (opts.generate) await fillLake(opts, names);
    const input = await runInput(opts, lake);
    if (!input) {
      console.error(`no Bronze data in s3://${names.lakeBucket}/${BRONZE_EVENTS_PREFIX}: fill the lake first (e.g. npm run retrain -- --generate 20000)`);
      process.exitCode = 1;
      return;
    }
    console.log(`retraining on Bronze ${input.from}..${input.to} of s3://${names.lakeBucket}\n`);
    const { runRetrainingLocally } = await import('./retraining-runner');
    const result = await runRetrainingLocally(input, { retryIntervalMs: 500, onEvent: createRunEventPrinter((line) => console.log(line)) });
    await printOutcome(lake, result.executionName, result.status, result.error);
    if (result.status === 'FAILED') process.exitCode = 1;
  } finally {
    clients.s3.destroy();
    clients.ddb.destroy();
    clients.kinesis.destroy();
    await stop();
  }
}

async function fillLake(opts: Options, names: ResourceNames): Promise<void> {
  const { putRecords } = await import('../adapters/kinesis-publisher');
  const { generateTasteEvents } = await import('./synthetic-events');
  const { readStreamAsLambdaEvents } = await import('./kinesis-reader');
  const consumer = await import('../../lambdas/consumer/index');
  const kinesis = createKinesisClient();
  const started = performance.now();
  let batch: { data: Uint8Array; partitionKey: string }[] = [];
  let put = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const failed = (await putRecords(kinesis, names.eventsStream, batch, { attempts: 1 })).filter((r) => !r.ok).length;
    if (failed) throw new Error(`${failed} records were not put on ${names.eventsStream}`);
    put += batch.length;
    batch = [];
  };
  for (const e of generateTasteEvents({ events: opts.generate!, users: opts.users, items: opts.items, seed: Date.now() % 100_000 })) {
    batch.push({ data: Buffer.from(JSON.stringify(e)), partitionKey: e.userId as string });
    if (batch.length === 500) await flush();
  }
  await flush();
  consumer.resetConsumer();
  let records = 0;
  for (const event of await readStreamAsLambdaEvents(kinesis, names.eventsStream, 1000)) {
    await consumer.handler(event, localLambdaContext('local-consumer'));
    records += event.Records.length;
  }
  kinesis.destroy();
  console.log(`generated ${put.toLocaleString('en-US')} events → Kinesis → consumer (${records.toLocaleString('en-US')} records read) in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

async function runInput(opts: Options, lake: RetrainingLake): Promise<{ from: string; to: string; modelConfig?: unknown } | undefined> {
  const modelConfig = opts.modelConfig ? { modelConfig: JSON.parse(opts.modelConfig) as unknown } : {};
  if (opts.date) return { from: opts.date, to: opts.date, ...modelConfig };
  if (opts.from || opts.to) return { from: opts.from ?? opts.to!, to: opts.to ?? opts.from!, ...modelConfig };
  const days = new Set<string>();
  for (const key of await lake.listKeys(BRONZE_EVENTS_PREFIX)) {
    const m = /dt=(\d{4}-\d{2}-\d{2})\//.exec(key);
    if (m) days.add(m[1]!);
  }
  const sorted = [...days].sort();
  return sorted.length ? { from: sorted[0]!, to: sorted.at(-1)!, ...modelConfig } : undefined;
}

async function printOutcome(lake: RetrainingLake, runId: string, status: string, error: { name: string; message: string } | null): Promise<void> {
  const summary = await getJson<RunSummary>(lake, runReportKey(runId, 'run'));
  console.log(`\n${status === 'SUCCEEDED' ? '✔' : '✘'} ${status}: ${summary?.reason ?? (error ? `${error.name}: ${error.message}` : '')}`);
  if (summary?.version) {
    const evaluation = await getJson<EvaluationRecord>(lake, modelKeys(summary.version).evaluation);
    if (evaluation) {
      const k = evaluation.candidate.k;
      const row = (name: string, m: Metrics | undefined) =>
        m ? `  ${name.padEnd(26)} ${[m.ndcg, m.precision, m.recall, m.map, m.coverage].map((x) => x.toFixed(4).padStart(10)).join('')}` : `  ${name.padEnd(26)} ${'—'.padStart(10)}`;
      console.log(`\nmetrics on the temporal hold-out (${evaluation.split.testUsers} users, ${evaluation.split.testInteractions} held-out interactions):`);
      console.log(`  ${''.padEnd(26)} ${[`ndcg@${k}`, `prec@${k}`, `recall@${k}`, `map@${k}`, 'coverage'].map((h) => h.padStart(10)).join('')}`);
      console.log(row(`candidate ${summary.version.slice(0, 17)}`, evaluation.candidate));
      console.log(row(`production ${evaluation.production?.version.slice(0, 16) ?? '(none)'}`, evaluation.production?.metrics));
      console.log(row('popularity', evaluation.popularity));
    }
  }
  if (summary) {
    console.log('\nsteps:');
    for (const line of formatSummarySteps(summary)) console.log(line);
    for (const warning of summary.warnings ?? []) console.log(`  ! ${warning}`);
    console.log(`\nrun summary: ${summary.reportKey}; production pointer: ${PRODUCTION_POINTER_KEY}`);
  }
}

main().catch((err: unknown) => {
  // The whole cause chain (SDK error name, HTTP status, request id), not only the outermost wrapper.
  console.error(`error: ${describeError(err)}`);
  if (process.env.DEBUG) console.error(err);
  process.exitCode = 1;
});
