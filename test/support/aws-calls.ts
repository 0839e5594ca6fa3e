import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Records every AWS API call a Lambda handler makes while the test suites run, keyed by the handler file
 * (`lambdas/…`) whose invocation made it, with the IAM action it needs and the resource it touched. The IAM
 * check (`npm run test:iam`, test/deploy/iam.check.ts) evaluates each recorded call against the policies
 * `cdk synth` gives that function's role. The emulators enforce no IAM; this is what stands in for it.
 */

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * Where the suites write what they recorded: one folder per `vitest run` (`run-<time>-<pid>`, marked
 * `complete` when the run ends), one JSON-lines file per test worker in it. Runs never share a folder, so
 * two runs at once cannot mix or clear each other's calls; the newest few are kept.
 */
export const AWS_CALLS_ROOT = process.env.AWS_CALLS_ROOT ?? join(REPO_ROOT, '.aws-calls');
/** Complete runs kept; a run still going is never removed (unless it is older than a day: it died). */
const RUNS_KEPT = 8;
const DEAD_RUN_MS = 24 * 3600_000;

/** A resource a call touched, named the way the handler found it: by the environment variables holding its name. */
export interface TouchedResource {
  kind: 'bucket' | 'object' | 'table' | 'index' | 'stream' | 'queue' | 'topic' | 'stateMachine' | 'function' | 'none';
  /** The physical name (bucket, table, stream, queue URL, ARN, function name) as the emulator saw it. */
  name: string;
  /** Environment variables whose value is `name` when the call was made: how the template's resource is found. */
  env: string[];
  /** Object key (kind `object`) or index name (kind `index`). */
  key?: string;
}

export interface RecordedCall {
  /** Handler file, e.g. `lambdas/consumer/index.ts`. */
  handler: string;
  /** SDK client and command, e.g. `S3Client` / `PutObjectCommand`. */
  client: string;
  command: string;
  /** The IAM action this call is authorised by, e.g. `s3:PutObject`. */
  action: string;
  resource: TouchedResource;
  /** Condition keys the request carries (e.g. `s3:prefix` of a listing). */
  context?: Record<string, string>;
  /** The test file that ran the invocation. */
  suite?: string;
  /** Why the call is needed when the code did not make it itself (e.g. the 404 of a missing object). */
  because?: string;
}

/** The handler whose invocation is running, so calls made anywhere below it are attributed to it. */
export const invocationScope = new AsyncLocalStorage<string>();

/** The first `lambdas/…` file on a stack: the handler module that built a middy handler. */
export function handlerFileOnStack(stack: string | undefined): string | undefined {
  for (const line of (stack ?? '').split('\n')) {
    const m = /(?:^|[\s(/])(lambdas\/[\w./-]+\.ts)(?::\d+)/.exec(line.replace(/\\/g, '/'));
    if (m) return m[1];
  }
  return undefined;
}

const SERVICE_OF_CLIENT: Record<string, string> = {
  S3Client: 's3',
  DynamoDBClient: 'dynamodb',
  DynamoDBDocumentClient: 'dynamodb',
  KinesisClient: 'kinesis',
  SQSClient: 'sqs',
  SFNClient: 'states',
  LambdaClient: 'lambda',
  SNSClient: 'sns',
  CloudWatchClient: 'cloudwatch',
  AthenaClient: 'athena',
  GlueClient: 'glue',
};

/** lib-dynamodb's command names against the DynamoDB operations they send. */
const DOCUMENT_OPERATION: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

/**
 * S3 operations authorised by an action of another name (Service Authorization Reference, Amazon S3:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
 */
const S3_ACTION: Record<string, string> = {
  HeadObject: 'GetObject',
  ListObjectsV2: 'ListBucket',
  ListObjects: 'ListBucket',
  HeadBucket: 'ListBucket',
  ListObjectVersions: 'ListBucketVersions',
  DeleteObjects: 'DeleteObject',
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
  GetObjectAttributes: 'GetObjectAttributes',
};

type Input = Record<string, unknown>;

function envNamesOf(value: string): string[] {
  return Object.entries(process.env)
    .filter(([, v]) => v === value)
    .map(([k]) => k)
    .sort();
}

function touched(kind: TouchedResource['kind'], name: unknown, key?: string): TouchedResource {
  const n = typeof name === 'string' ? name : '';
  return { kind, name: n, env: n ? envNamesOf(n) : [], ...(key !== undefined ? { key } : {}) };
}

/** The IAM actions and resources one SDK command needs (a batch or a copy needs several). */
export function describeCommand(client: string, command: string, input: Input): Omit<RecordedCall, 'handler' | 'suite'>[] {
  const service = SERVICE_OF_CLIENT[client] ?? client.replace(/Client$/, '').toLowerCase();
  const op = command.replace(/Command$/, '');
  const base = { client, command };
  if (service === 's3') {
    const action = `s3:${S3_ACTION[op] ?? op}`;
    if (op === 'DeleteObjects') {
      const objects = ((input.Delete as { Objects?: { Key?: string }[] } | undefined)?.Objects ?? []).map((o) => o.Key ?? '');
      return objects.map((key) => ({ ...base, action, resource: touched('object', input.Bucket, key) }));
    }
    if (op === 'CopyObject') {
      const source = String(input.CopySource ?? '').replace(/^\//, '');
      const [bucket, ...key] = decodeURIComponent(source.split('?')[0] ?? '').split('/');
      return [
        { ...base, action: 's3:GetObject', resource: touched('object', bucket, key.join('/')) },
        { ...base, action: 's3:PutObject', resource: touched('object', input.Bucket, String(input.Key ?? '')) },
      ];
    }
    if (typeof input.Key === 'string') return [{ ...base, action, resource: touched('object', input.Bucket, input.Key) }];
    const context = typeof input.Prefix === 'string' ? { 's3:prefix': input.Prefix } : undefined;
    return [{ ...base, action, resource: touched('bucket', input.Bucket), ...(context ? { context } : {}) }];
  }
  if (service === 'dynamodb') {
    const operation = client === 'DynamoDBDocumentClient' ? (DOCUMENT_OPERATION[op] ?? op) : op;
    const action = `dynamodb:${operation}`;
    if (input.RequestItems && typeof input.RequestItems === 'object') {
      return Object.keys(input.RequestItems).map((table) => ({ ...base, action, resource: touched('table', table) }));
    }
    if (Array.isArray(input.TransactItems)) {
      return (input.TransactItems as Record<string, { TableName?: string }>[]).flatMap((item) =>
        Object.entries(item).map(([kind, spec]) => ({ ...base, action: `dynamodb:${kind === 'ConditionCheck' ? 'ConditionCheckItem' : `${kind}Item`}`, resource: touched('table', spec.TableName) })),
      );
    }
    if (typeof input.IndexName === 'string') return [{ ...base, action, resource: touched('index', input.TableName, input.IndexName) }];
    return [{ ...base, action, resource: touched('table', input.TableName) }];
  }
  if (service === 'kinesis') return [{ ...base, action: `kinesis:${op}`, resource: touched('stream', input.StreamName ?? input.StreamARN) }];
  if (service === 'sqs') return [{ ...base, action: `sqs:${op.replace(/Batch$/, '')}`, resource: touched('queue', input.QueueUrl) }];
  if (service === 'sns') return [{ ...base, action: `sns:${op}`, resource: touched('topic', input.TopicArn) }];
  if (service === 'states') return [{ ...base, action: `states:${op}`, resource: touched('stateMachine', input.stateMachineArn ?? input.executionArn) }];
  if (service === 'lambda') return [{ ...base, action: `lambda:${op === 'Invoke' ? 'InvokeFunction' : op}`, resource: touched('function', input.FunctionName) }];
  if (service === 'cloudwatch') return [{ ...base, action: `cloudwatch:${op}`, resource: touched('none', ''), ...(typeof input.Namespace === 'string' ? { context: { 'cloudwatch:namespace': input.Namespace } } : {}) }];
  return [{ ...base, action: `${service}:${op}`, resource: touched('none', '') }];
}

/**
 * What a 404 on an object read needs besides the read: s3:ListBucket on the bucket (GetObject API reference,
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
 */
export function missingObjectNeeds(calls: Omit<RecordedCall, 'handler' | 'suite'>[]): Omit<RecordedCall, 'handler' | 'suite'>[] {
  return calls
    .filter((c) => c.action === 's3:GetObject' && c.resource.kind === 'object')
    .map((c) => ({ ...c, action: 's3:ListBucket', resource: { kind: 'bucket' as const, name: c.resource.name, env: c.resource.env }, context: { 's3:prefix': c.resource.key ?? '' }, because: 'a read of a missing object answers 404 only with s3:ListBucket, 403 AccessDenied without' }));
}

/** At most this many distinct keys are kept per handler, action and top-level prefix: enough to show every layout. */
const SAMPLES_PER_PREFIX = 40;

export interface CallRecorder {
  file: string;
  recorded: number;
}

let installed: CallRecorder | undefined;

/**
 * Wraps `send` of every AWS SDK v3 client (they all extend smithy's `Client`): each call made inside a
 * handler invocation is appended to this worker's file in `dir`, once per distinct action and resource.
 */
export function installAwsCallRecorder(dir: string, suite?: () => string | undefined): CallRecorder {
  if (installed) return installed;
  mkdirSync(dir, { recursive: true });
  const recorder: CallRecorder = { file: join(dir, `calls-${process.pid}-${Date.now()}.jsonl`), recorded: 0 };
  const seen = new Set<string>();
  const perPrefix = new Map<string, number>();
  const require = createRequire(import.meta.url);
  const { Client } = require('@smithy/core/client') as { Client: { prototype: { send: (...args: unknown[]) => unknown } } };
  const send = Client.prototype.send;
  Client.prototype.send = function recordedSend(this: { constructor: { name: string } }, ...args: unknown[]) {
    const handler = invocationScope.getStore();
    const command = args[0] as { constructor: { name: string }; input?: Input } | undefined;
    const record = (calls: Omit<RecordedCall, 'handler' | 'suite'>[]) => {
      try {
        for (const call of calls) {
          const exact = JSON.stringify([handler, call.action, call.resource, call.context]);
          if (seen.has(exact)) continue;
          seen.add(exact);
          const prefix = JSON.stringify([handler, call.action, call.resource.name, (call.resource.key ?? '').split('/').slice(0, 2).join('/')]);
          const n = perPrefix.get(prefix) ?? 0;
          if (n >= SAMPLES_PER_PREFIX) continue;
          perPrefix.set(prefix, n + 1);
          const s = suite?.();
          appendFileSync(recorder.file, `${JSON.stringify({ handler, ...call, ...(s ? { suite: s } : {}) })}\n`);
          recorder.recorded++;
        }
      } catch {
        // Recording must never change what the code under test sees.
      }
    };
    const calls = handler && command ? describeCommand(this.constructor.name, command.constructor.name, command.input ?? {}) : [];
    record(calls);
    const result = send.apply(this, args);
    if (calls.length > 0 && result instanceof Promise) {
      // A read of a missing object answers 404 only to a caller allowed s3:ListBucket on the bucket; without
      // it S3 answers 403 AccessDenied, and code that treats "missing" as normal breaks on a first deploy.
      result.then(undefined, (err: { $metadata?: { httpStatusCode?: number } }) => {
        if (err?.$metadata?.httpStatusCode === 404) record(missingObjectNeeds(calls));
      });
    }
    return result;
  };
  installed = recorder;
  return recorder;
}

const runs = (root: string) => (existsSync(root) ? readdirSync(root).filter((d) => d.startsWith('run-')).sort((a, b) => Number(b.split('-')[1]) - Number(a.split('-')[1])) : []);

/** A new folder for this run's calls; older runs beyond the newest few are removed. */
export function startRecordingRun(root = AWS_CALLS_ROOT): string {
  mkdirSync(root, { recursive: true });
  const complete = runs(root).filter((d) => existsSync(join(root, d, 'complete')));
  for (const old of complete.slice(RUNS_KEPT - 1)) rmSync(join(root, old), { recursive: true, force: true });
  for (const dead of runs(root).filter((d) => !complete.includes(d) && Date.now() - Number(d.split('-')[1]) > DEAD_RUN_MS)) rmSync(join(root, dead), { recursive: true, force: true });
  const dir = join(root, `run-${Date.now()}-${process.pid}`);
  mkdirSync(dir);
  return dir;
}

export function completeRecordingRun(dir: string): void {
  writeFileSync(join(dir, 'complete'), new Date().toISOString());
}

/** The run that ended last (or `AWS_CALLS_RUN`, a run folder), and what it recorded. */
export function readRecordedCalls(root = AWS_CALLS_ROOT): { run: string | undefined; calls: RecordedCall[] } {
  const finished = runs(root)
    .map((d) => join(root, d))
    .filter((d) => existsSync(join(d, 'complete')))
    .sort((a, b) => readFileSync(join(b, 'complete'), 'utf8').localeCompare(readFileSync(join(a, 'complete'), 'utf8')));
  const run = process.env.AWS_CALLS_RUN ?? finished[0];
  if (!run || !existsSync(run)) return { run: undefined, calls: [] };
  const calls = readdirSync(run)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(run, f), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as RecordedCall));
  return { run, calls };
}

/** A test file's path relative to the repository, for reports. */
export function suiteName(path: string | undefined): string | undefined {
  return path ? relative(REPO_ROOT, path) : undefined;
}
