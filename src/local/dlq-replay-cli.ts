/**
 * `npm run dlq:replay`: replays the batches a consumer gave up on, from its dead-letter queue (AWS or
 * LocalStack) or from `.local/dead-letters.jsonl` (`npm start`), through the consumer again with their
 * original sequence numbers. See SECURITY.md, "Replaying the dead-letter queues".
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { KinesisStreamBatchResponse } from 'aws-lambda';
import { createKinesisClient } from '../adapters/aws-clients';
import { DEFAULT_NAMES } from '../config/runtime';
import type { DeadLetter } from '../stream/dead-letters';
import { FileDeadLetterSource } from '../ops/dead-letters';
import { replayDeadLetters, type BatchInvoker, type ReplayEvent, type ReplayOptions } from '../ops/dlq-replay';
import { readOutputs } from '../ops/stack-outputs';

interface Options {
  outputs?: string;
  consumer: 'ingestion' | 'analytics';
  queueUrl?: string;
  stream?: string;
  function?: string;
  local?: boolean;
  dataDir: string;
  batchSize: number;
  maxAttempts: number;
  max?: number;
  dryRun?: boolean;
}

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got "${v}"`);
  return n;
};

const program = new Command('dlq:replay')
  .description('Replay dead-lettered Kinesis batches through their consumer, with their original sequence numbers (replays never double count)')
  .option('--outputs <file>', 'take the queue, stream and function from a stack outputs file (npm run deploy writes cdk-outputs.json)')
  .addOption(new Option('--consumer <which>', 'which consumer\'s dead letters').choices(['ingestion', 'analytics']).default('ingestion'))
  .option('--queue-url <url>', 'the dead-letter queue (output ConsumerDeadLetterQueueUrl or AnalyticsDeadLetterQueueUrl)')
  .option('--stream <name>', 'the events stream (output EventsStreamName)')
  .option('--function <name>', 'the consumer function (output ConsumerFunctionName or AnalyticsConsumerFunctionName)')
  .option('--local', "replay npm start's dead-letter file with the consumers in-process, on its emulators' data (stop npm start first)")
  .option('--data-dir <dir>', 'npm start\'s data folder (with --local)', '.local')
  .option('--batch-size <n>', 'records per invocation', int, 100)
  .option('--max-attempts <n>', 'invocations of a failing piece before its letter is left on the queue', int, 3)
  .option('--max <n>', 'replay at most this many letters', int)
  .option('--dry-run', 'read the letters and count their records in the stream; invoke and delete nothing')
  .addHelpText('after', `
Examples:
  npm run dlq:replay -- --outputs cdk-outputs.json --dry-run
  npm run dlq:replay -- --outputs cdk-outputs.json --consumer analytics
  npm run dlq:replay -- --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/recsys-dlq --stream recsys-events --function recsys-consumer
  npm run dlq:replay -- --local`);

async function main(): Promise<number> {
  const opts = program.parse().opts<Options>();
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return opts.local ? replayLocal(opts) : replayFromQueue(opts);
}

async function replayFromQueue(opts: Options): Promise<number> {
  const fromOutputs = opts.outputs ? readOutputs(opts.outputs, opts.consumer) : {};
  const queueUrl = opts.queueUrl ?? fromOutputs.queueUrl;
  const stream = opts.stream ?? fromOutputs.stream;
  const functionName = opts.function ?? fromOutputs.functionName;
  const missing = [!queueUrl && '--queue-url', !stream && '--stream', !functionName && '--function'].filter(Boolean);
  if (missing.length) {
    console.error(`error: ${missing.join(', ')} required (or --outputs cdk-outputs.json, or --local for npm start)`);
    return 2;
  }
  const { createSqsClient, SqsDeadLetterSource } = await import('../adapters/sqs-dead-letters');
  const { createLambdaClient, invokeFunction } = await import('../adapters/lambda-invoke');
  const sqs = createSqsClient();
  const lambda = createLambdaClient();
  const kinesis = createKinesisClient();
  const invoke: BatchInvoker = async (event) => (await invokeFunction(lambda, functionName!, event)) as KinesisStreamBatchResponse | undefined;
  console.log(`replaying ${queueUrl} through ${functionName} (stream ${stream})${opts.dryRun ? ', dry run' : ''}`);
  try {
    const source = new SqsDeadLetterSource(sqs, queueUrl!, { onUnreadable: (id, error) => console.error(`  ? message ${id}: ${error} (left on the queue)`) });
    return await replay(opts, { source, kinesis, stream: stream!, invoke });
  } finally {
    sqs.destroy();
    lambda.destroy();
    kinesis.destroy();
  }
}

async function replayLocal(opts: Options): Promise<number> {
  const dataDir = resolve(opts.dataDir);
  const file = join(dataDir, 'dead-letters.jsonl');
  if (!existsSync(file) || readFileSync(file, 'utf8').trim() === '') {
    console.log(`no dead letters in ${file}: nothing to replay`);
    return 0;
  }
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const { startEmulators } = await import('./emulators');
  const { localLambdaContext } = await import('./lambda-context');
  let emulators: Awaited<ReturnType<typeof startEmulators>>;
  try {
    emulators = await startEmulators({ dataDir: join(dataDir, 'data') });
  } catch (err) {
    console.error(`error: could not open the emulators' data in ${join(dataDir, 'data')} (${(err as Error).message}); is npm start still running? Stop it first.`);
    return 1;
  }
  Object.assign(process.env, emulators.env, {
    LAKE_BUCKET: process.env.LAKE_BUCKET ?? DEFAULT_NAMES.lakeBucket,
    FEATURES_TABLE: process.env.FEATURES_TABLE ?? DEFAULT_NAMES.featuresTable,
    ANALYTICS_TABLE: process.env.ANALYTICS_TABLE ?? `${DEFAULT_NAMES.prefix}-analytics`,
  });
  const stream = process.env.EVENTS_STREAM ?? DEFAULT_NAMES.eventsStream;
  const consumer = await import('../../lambdas/consumer/index');
  const analytics = await import('../../lambdas/analytics-consumer/index');
  const invoke: BatchInvoker = async (event: ReplayEvent, letter: DeadLetter) => {
    const fn = letter.functionName === 'analytics-consumer' ? analytics.handler : consumer.handler;
    return fn(event, localLambdaContext(letter.functionName ?? 'consumer'));
  };
  const kinesis = createKinesisClient();
  console.log(`replaying ${file} through the local consumers (stream ${stream})${opts.dryRun ? ', dry run' : ''}`);
  try {
    const source = new FileDeadLetterSource(file, (line, error) => console.error(`  ? line ${line}: ${error} (kept)`));
    return await replay(opts, { source, kinesis, stream, invoke });
  } finally {
    kinesis.destroy();
    await emulators.stop();
  }
}

/** Runs the replay with the command-line options, prints each letter and a summary; the exit code. */
async function replay(opts: Options, wiring: Pick<ReplayOptions, 'source' | 'kinesis' | 'stream' | 'invoke'>): Promise<number> {
  const report = await replayDeadLetters({
    ...wiring,
    batchSize: opts.batchSize,
    maxAttempts: opts.maxAttempts,
    maxLetters: opts.max,
    dryRun: opts.dryRun,
    log: (line) => console.log(`  ${line}`),
  });
  return summarise(report, opts.dryRun);
}

function summarise(report: Awaited<ReturnType<typeof replayDeadLetters>>, dryRun?: boolean): number {
  const verb = dryRun ? 'would replay' : 'replayed';
  console.log(`${report.letters.length} letters: ${dryRun ? report.letters.length : report.replayed} ${verb} (${report.records} records), ${report.failed} failed, ${report.missing} records no longer in the stream`);
  return report.failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  },
);
