/**
 * Bundles that run alone: every Lambda bundle exactly as `cdk synth` builds it is cold-started in an empty
 * directory (no node_modules anywhere above it) by a separate `node` process that plays the Lambda Node.js
 * runtime, with the environment the template gives that function, and handles one real event against the
 * emulators. A bundle that still needs something from node_modules, a variable the template does not set,
 * or a file outside its asset fails here instead of in AWS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteStreamCommand } from '@aws-sdk/client-kinesis';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { generateEvents } from '../../src/domain/event-generator';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { ensureResources } from '../../src/adapters/local-resources';
import { RETRAINING_FUNCTIONS, type RetrainingFunction } from '../../src/retraining/functions';
import { trainTaskResultKey } from '../../src/retraining/train-task';
import type { StepHandler } from '../../src/retraining/lambda-step';
import { runRetrainingLocally } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { matchRoute } from '../../src/serving/routes';
import { PROJECT_ROOT } from '../../lib/node-function';
import { startTestAws, type TestAws } from '../support/aws-env';
import { ResolvedTemplate } from '../support/cfn-template';
import {
  bundleInvoker,
  describeFailure,
  invokeInSandbox,
  lambdaEnvironment,
  nodeModulesAbove,
  prepareSandbox,
  synthWithBundling,
  type BundledApp,
  type BundleInvoker,
} from '../support/lambda-runtime';
import { fillLakeThroughConsumer } from '../retraining/support';

type Kind = 'ingestion-consumer' | 'analytics-consumer' | 'events-api' | 'read-api' | 'catalog-api' | 'admin-api' | 'experiment-check' | `retraining:${RetrainingFunction}`;

/** What each function is, by its POWERTOOLS_SERVICE_NAME. A function with a service not listed here fails the suite. */
const KIND_OF_SERVICE: Record<string, Kind> = {
  'event-consumer': 'ingestion-consumer',
  'analytics-consumer': 'analytics-consumer',
  'events-api': 'events-api',
  'recommend-api': 'read-api',
  'catalog-api': 'catalog-api',
  'admin-api': 'admin-api',
  'experiment-check': 'experiment-check',
  ...Object.fromEntries((Object.entries(RETRAINING_FUNCTIONS) as [RetrainingFunction, string][]).map(([name, file]) => [`retraining-${file}`, `retraining:${name}` as Kind])),
};

/** The template's resources the functions' environments name, by variable: the emulator's get their names. */
const RESOURCE_VARIABLES = { LAKE_BUCKET: 'AWS::S3::Bucket', FEATURES_TABLE: 'AWS::DynamoDB::Table', ANALYTICS_TABLE: 'AWS::DynamoDB::Table', CATALOG_TABLE: 'AWS::DynamoDB::Table', EVENTS_STREAM: 'AWS::Kinesis::Stream' } as const;

let aws: TestAws;
let app: BundledApp;
let resolved: ResolvedTemplate;
let runner: BundleInvoker;
const idOf = new Map<Kind, string>();
let deployedVersion: string | undefined;

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-analytics-${process.pid}`, catalogTable: `test-catalog-${process.pid}` });
  try {
    app = await synthWithBundling();
  } catch (err) {
    throw new Error(`CDK bundling failed: ${(err as Error).message}`, { cause: err });
  }
  console.info(`synth with bundling: ${app.functions.length} functions bundled in ${(app.bundlingMs / 1000).toFixed(1)} s (stack construction), app.synth() ${(app.synthMs / 1000).toFixed(1)} s`);

  const names: Record<string, string> = {};
  const physical: Record<keyof typeof RESOURCE_VARIABLES, string> = {
    LAKE_BUCKET: aws.names.lakeBucket,
    FEATURES_TABLE: aws.names.featuresTable,
    ANALYTICS_TABLE: aws.names.analyticsTable!,
    CATALOG_TABLE: aws.names.catalogTable!,
    EVENTS_STREAM: aws.names.eventsStream,
  };
  for (const fn of app.functions) {
    const vars = (app.template.Resources[fn.logicalId]!.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    for (const [variable, type] of Object.entries(RESOURCE_VARIABLES) as [keyof typeof RESOURCE_VARIABLES, string][]) {
      if (!(variable in vars)) continue;
      const target = ResolvedTemplate.target(vars[variable]);
      if (!target) throw new Error(`${fn.logicalId}: ${variable} is not a Ref to a resource: ${JSON.stringify(vars[variable])}`);
      if (app.template.Resources[target]?.Type !== type) throw new Error(`${fn.logicalId}: ${variable} refers to ${target}, not an ${type}`);
      if (names[target] && names[target] !== physical[variable]) throw new Error(`${target} is named by two variables`);
      names[target] = physical[variable];
    }
  }
  resolved = new ResolvedTemplate(app.template, names);
  runner = bundleInvoker(app, resolved, aws.emulators.env);
  for (const fn of app.functions) {
    const kind = KIND_OF_SERVICE[fn.serviceName];
    if (kind && !idOf.has(kind)) idOf.set(kind, fn.logicalId);
  }
}, 180_000);

afterAll(async () => {
  if (process.env.BUNDLES_VERBOSE && runner) {
    for (const { logicalId, outcome } of runner.outcomes) console.info(`=== ${logicalId}: ${outcome.ok ? `ok, init ${outcome.initMs.toFixed(0)} ms, handler ${outcome.durationMs.toFixed(0)} ms` : outcome.errorType}\n--- stdout\n${outcome.stdout}\n--- stderr\n${outcome.stderr}`);
  }
  await aws?.stop();
  await app?.cleanup();
});

const fnId = (kind: Kind): string => {
  const id = idOf.get(kind);
  if (!id) throw new Error(`the template has no ${kind} function`);
  return id;
};

const recentEvents = (n: number, seed: number) => {
  const now = Date.now();
  return [...generateEvents({ users: 5, items: 10, events: n, seed, startMs: now - 10 * 60_000, endMs: now - 60_000 })];
};

/** 100 users with tastes, 80 items: the hybrid model beats popularity with a margin (≈0.31 vs 0.27 nDCG@10), so the Gate deploys. */
const tasteEvents = () => [...generateTasteEvents({ events: 2000, users: 100, items: 80, seed: 3 })];

/** Kinesis records as the event source mapping delivers them: read back from the emulator's stream. */
async function kinesisEventWith(ids: (string | number)[]): Promise<KinesisStreamEvent> {
  const eventIds = ids.map(String);
  const batches = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 1000);
  const Records = batches.flatMap((b) => b.Records).filter((r) => {
    const body = JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { eventId?: string };
    return eventIds.includes(String(body.eventId));
  });
  expect(Records).toHaveLength(eventIds.length);
  return { Records };
}

/**
 * API Gateway on this machine for ReloadApi's `GET {API_BASE_URL}/health`: every request is a cold start
 * of the read API's bundle (as a new instance would be), its proxy result written back.
 */
async function startBundleGateway(readApiId: string): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const path = url.pathname.replace(/^\/prod(?=\/)/, '');
    runner
      .invoke(readApiId, proxyEvent(req.method ?? 'GET', `${path}${url.search}`))
      .then((outcome) => {
        if (!outcome.ok) {
          res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'Internal server error', errorType: outcome.errorType }));
          return;
        }
        const result = outcome.result as APIGatewayProxyResult;
        res.writeHead(result.statusCode, Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]))).end(result.body);
      })
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/prod/`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The retraining functions only the Athena engine's path of the state machine invokes. */
const ATHENA_ONLY: readonly RetrainingFunction[] = ['ValidateReport', 'WriteFeatureFile', 'FinishExtract'];
/** Run after the Fargate training task only (off in the synthesised stack): invoked on its own below. */
const FARGATE_ONLY: readonly RetrainingFunction[] = ['TrainTaskResult'];

/**
 * One nightly run of the state machine whose every Lambda Task is a cold start of that function's bundle
 * (`extra`: variables given to every retraining bundle on top of the template's).
 */
async function retrainThroughBundles(executionName: string, extra: Record<string, string> = {}) {
  // The template's API_BASE_URL is the API Gateway URL of a stack that is not deployed: ReloadApi gets
  // the local gateway instead, which answers with the read API's bundle.
  const gateway = await startBundleGateway(fnId('read-api'));
  const handlers = Object.fromEntries(
    (Object.keys(RETRAINING_FUNCTIONS) as RetrainingFunction[]).map((name) => {
      const id = fnId(`retraining:${name}`);
      const step: StepHandler = (payload) => runner.call(id, payload, { extra: { ...extra, ...(name === 'ReloadApi' ? { API_BASE_URL: gateway.url } : {}) } });
      return [name, step];
    }),
  ) as Record<RetrainingFunction, StepHandler>;
  try {
    const run = await runRetrainingLocally({ date: new Date().toISOString().slice(0, 10) }, { handlers, retryIntervalMs: 1, executionName });
    return { ...run, gatewayRequests: gateway.requests() };
  } finally {
    await gateway.close();
  }
}

async function emptyLakeAndStream(): Promise<void> {
  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.names.lakeBucket }));
  const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys } }));
  await aws.kinesis.send(new DeleteStreamCommand({ StreamName: aws.names.eventsStream }));
  await ensureResources({ s3: aws.s3, ddb: aws.ddb, kinesis: aws.kinesis }, aws.names);
}

/** The SigV4 identity API Gateway's AWS_IAM authorisation puts on the event of an IAM route. */
const IAM_IDENTITY = { userArn: 'arn:aws:iam::123456789012:user/catalogue-admin', caller: 'AIDAEXAMPLECALLER', accessKey: 'AKIAEXAMPLEKEY' };

/** An API Gateway REST (v1) proxy event, resource and path parameters from the route table CDK deploys. */
function proxyEvent(method: string, pathWithQuery: string, body?: unknown): APIGatewayProxyEvent {
  const url = new URL(pathWithQuery, 'https://api.example');
  const match = matchRoute(method, url.pathname);
  if (match.kind !== 'match') throw new Error(`no route ${method} ${url.pathname}`);
  const query = Object.fromEntries(url.searchParams);
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'bundles.test', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
  const requestId = randomUUID();
  return {
    resource: match.route.path,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(query).length ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])) : null,
    pathParameters: Object.keys(match.params).length ? match.params : null,
    stageVariables: null,
    body: body === undefined ? null : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'bundletest',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/prod${url.pathname}`,
      stage: 'prod',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'abc123',
      resourcePath: match.route.path,
      identity: {
        accessKey: null, accountId: null, apiKey: null, apiKeyId: null, caller: null, clientCert: null,
        cognitoAuthenticationProvider: null, cognitoAuthenticationType: null, cognitoIdentityId: null, cognitoIdentityPoolId: null,
        principalOrgId: null, sourceIp: '203.0.113.7', user: null, userAgent: 'bundles.test', userArn: null,
        ...(match.route.auth === 'iam' ? IAM_IDENTITY : {}),
      },
    },
  };
}

describe('the Lambda bundles of `cdk synth`, each run alone like the Lambda runtime runs it', () => {
  it('finds every function of the template, its asset folder and an event for its kind', () => {
    expect(app.functions.length).toBeGreaterThan(0);
    const uncovered = app.functions.filter((f) => !KIND_OF_SERVICE[f.serviceName]).map((f) => `${f.logicalId} (POWERTOOLS_SERVICE_NAME=${f.serviceName || 'unset'})`);
    expect(uncovered, 'functions this suite has no event for: add their kind and an invocation').toEqual([]);
    // One function per kind: a second one of a kind would go untested.
    const perKind = new Map<Kind, string[]>();
    for (const f of app.functions) perKind.set(KIND_OF_SERVICE[f.serviceName]!, [...(perKind.get(KIND_OF_SERVICE[f.serviceName]!) ?? []), f.logicalId]);
    expect([...perKind].filter(([, ids]) => ids.length > 1)).toEqual([]);
    for (const f of app.functions) {
      expect(f.handler).toBe('index.handler');
      expect(f.runtime).toBe('nodejs24.x');
      expect(f.assetFrom).toBe('metadata');
      // One ESM file (and its source map): no native addon that an arm64 sandbox could not load, no node_modules to lean on.
      const files = readdirSync(f.assetDir, { recursive: true }).map(String);
      expect(files, f.logicalId).toContain('index.mjs');
      expect(files.filter((x) => x.endsWith('.node') || x.split('/').includes('node_modules')), f.logicalId).toEqual([]);
    }
  });

  it('ingestion consumer: a Kinesis event with one valid event lands in Bronze, no batch item failures', async () => {
    const [event] = recentEvents(1, 11);
    await aws.putRecords([event]);
    const res = (await runner.call(fnId('ingestion-consumer'), await kinesisEventWith([event!.eventId]))) as KinesisStreamBatchResponse;
    expect(res.batchItemFailures).toEqual([]);
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.names.lakeBucket, Prefix: 'bronze/' }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!).filter((k) => k.startsWith('bronze/events/'));
    expect(keys).toHaveLength(1);
    const body = await (await aws.s3.send(new GetObjectCommand({ Bucket: aws.names.lakeBucket, Key: keys[0] }))).Body!.transformToString();
    expect(body).toContain(String(event!.eventId));
  });

  it('analytics consumer: a Kinesis event writes its window rows to the analytics table', async () => {
    const events = recentEvents(3, 12);
    await aws.putRecords(events);
    const res = (await runner.call(fnId('analytics-consumer'), await kinesisEventWith(events.map((e) => e.eventId)))) as KinesisStreamBatchResponse;
    expect(res.batchItemFailures).toEqual([]);
    const rows = await aws.ddb.send(new ScanCommand({ TableName: aws.names.analyticsTable }));
    expect(rows.Items?.length ?? 0).toBeGreaterThan(0);
  });

  it('events API: POST /events with one valid event answers 2xx and puts it on the stream', async () => {
    const [event] = recentEvents(1, 13);
    const res = (await runner.call(fnId('events-api'), proxyEvent('POST', '/events', event))) as APIGatewayProxyResult;
    expect(res.statusCode, res.body).toBeGreaterThanOrEqual(200);
    expect(res.statusCode, res.body).toBeLessThan(300);
    expect(JSON.parse(res.body)).toMatchObject({ accepted: 1 });
    await kinesisEventWith([event!.eventId]);
  });

  it('catalogue API: PUT /items writes the items to the catalogue table, DELETE /items/{itemId} withdraws one', async () => {
    const id = fnId('catalog-api');
    const items = [
      { itemId: 'bundle-i1', title: 'Kettle', categories: ['kitchen'], price: 25, available: true, createdAt: '2026-01-01T00:00:00Z', attributes: { brand: 'acme' } },
      { itemId: 'bundle-i2', title: 'Toaster', categories: ['kitchen'], price: 30, available: false },
    ];
    const put = (await runner.call(id, proxyEvent('PUT', '/items', { items }))) as APIGatewayProxyResult;
    expect(put.statusCode, put.body).toBe(200);
    expect(JSON.parse(put.body)).toMatchObject({ written: 2, rejected: 0, failed: 0 });
    const del = (await runner.call(id, proxyEvent('DELETE', '/items/bundle-i2'))) as APIGatewayProxyResult;
    expect(del.statusCode, del.body).toBe(200);
    expect(JSON.parse(del.body)).toEqual({ itemId: 'bundle-i2', withdrawn: true });
    const rows = (await aws.ddb.send(new ScanCommand({ TableName: aws.names.catalogTable }))).Items ?? [];
    const byId = Object.fromEntries(rows.map((r) => [String(r.itemId), r]));
    expect(byId['bundle-i1']).toMatchObject({ title: 'Kettle', price: 25, available: true, withdrawn: false, feed: expect.stringMatching(/^f[0-7]$/), updatedAt: expect.any(Number) });
    expect(byId['bundle-i2']).toMatchObject({ withdrawn: true });
    // Unsigned: the function refuses what API Gateway would have refused (403), without writing.
    const unsigned = proxyEvent('DELETE', '/items/bundle-i1');
    unsigned.requestContext.identity = { ...unsigned.requestContext.identity, userArn: null, caller: null, accessKey: null };
    const refused = (await runner.call(id, unsigned)) as APIGatewayProxyResult;
    expect(refused.statusCode, refused.body).toBe(403);
    // The retraining below snapshots the catalogue: these two items are not the taste events' items.
    for (const itemId of ['bundle-i1', 'bundle-i2']) await aws.ddb.send(new DeleteCommand({ TableName: aws.names.catalogTable, Key: { itemId } }));
  });

  it('the retraining steps: the nightly state machine runs through their bundles to DeployModel and Succeeded', async () => {
    // The model is trained and gated on this lake alone: the events of the tests above (random, not taste
    // events) would sit in the evaluation's most recent slice.
    await emptyLakeAndStream();
    await fillLakeThroughConsumer(aws, tasteEvents());
    const run = await retrainThroughBundles('bundles-alone');
    const failures = run.events.filter((e) => e.type === 'failed');
    expect(run.error, JSON.stringify(failures, null, 2)).toBeNull();
    expect(failures, JSON.stringify(failures, null, 2)).toEqual([]);
    expect(run.path, JSON.stringify((run.output as { evaluation?: unknown } | null)?.evaluation)).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi', 'Deployed', 'RecordRun', 'Succeeded']);
    const out = run.output as { training: { version: string }; reload: { skipped: boolean; confirmedVersion: string | null } };
    deployedVersion = out.training.version;
    // ReloadApi confirmed the new version from the read API's bundle, cold-started for every request.
    expect(out.reload).toMatchObject({ skipped: false, confirmedVersion: deployedVersion });
    expect(run.gatewayRequests).toBeGreaterThan(0);
    for (const name of Object.keys(RETRAINING_FUNCTIONS) as RetrainingFunction[]) {
      if (ATHENA_ONLY.includes(name) || FARGATE_ONLY.includes(name)) continue; // run by the Athena engine's run, or on their own, below
      expect(runner.invoked.get(fnId(`retraining:${name}`)), name).toBe(true);
    }
  }, 120_000);

  it('the retraining steps on the Athena engine (its queries on DuckDB): the same state machine runs through the Athena-only bundles to DeployModel and Succeeded', async () => {
    // The same Bronze from scratch (no Silver or model of the run above): the Athena path reruns windows in order only.
    await emptyLakeAndStream();
    await fillLakeThroughConsumer(aws, tasteEvents());
    const previous = process.env.RETRAINING_ENGINE;
    process.env.RETRAINING_ENGINE = 'athena';
    let run: Awaited<ReturnType<typeof retrainThroughBundles>>;
    try {
      // The bundles get the template's environment, not this process's: they are given the engine as a stack
      // deployed with the context retrainingEngine=athena would give it to them.
      run = await retrainThroughBundles('bundles-alone-athena', { RETRAINING_ENGINE: 'athena' });
    } finally {
      if (previous === undefined) delete process.env.RETRAINING_ENGINE;
      else process.env.RETRAINING_ENGINE = previous;
    }
    const failures = run.events.filter((e) => e.type === 'failed');
    expect(run.error, JSON.stringify(failures, null, 2)).toBeNull();
    expect(failures, JSON.stringify(failures, null, 2)).toEqual([]);
    const athenaPath = ['EraseUsers', 'PlanRun', 'ChooseEngine', 'CheckBronze', 'ValidateQuery', 'ValidateReport', 'BuildSilver', 'FeatureQueries', 'WriteFeatures', 'FinishExtract', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi', 'Deployed', 'RecordRun', 'Succeeded'];
    // Top-level states in order (the Map and Parallel states' inner states are in the path too, interleaved).
    expect(run.path.filter((s) => athenaPath.includes(s)), JSON.stringify((run.output as { evaluation?: unknown } | null)?.evaluation)).toEqual(athenaPath);
    expect(run.path).not.toContain('ValidateData');
    expect(run.path).not.toContain('ExtractFeatures');
    expect(run.path).toContain('WriteFeatureFile');
    const out = run.output as { training: { version: string }; reload: { skipped: boolean; confirmedVersion: string | null } };
    deployedVersion = out.training.version;
    expect(out.reload).toMatchObject({ skipped: false, confirmedVersion: deployedVersion });
    expect(run.gatewayRequests).toBeGreaterThan(0);
    for (const name of ATHENA_ONLY) expect(runner.invoked.get(fnId(`retraining:${name}`)), name).toBe(true);
  }, 150_000);

  it("TrainTaskResult (the Fargate path): its bundle turns the task's outcome into TrainModel's result, and a failed one into TrainModel's error", async () => {
    const runId = 'bundles-fargate';
    const run = { runId, window: { from: '2026-01-10', to: '2026-01-10' }, trigger: 'manual', startedAt: '2026-01-11T02:00:00.000Z', modelConfig: null };
    const result = { version: 'v1', trainingKey: 'models/v1/training.json', manifestKey: 'models/v1/manifest.json', events: 5, interactions: 4, users: 2, items: 2, algorithm: 'ease', trainingSeconds: 0.1, payloadBytes: 10, setAside: { count: 0, reasons: {}, samples: [] } };
    const outcome = (body: object) => aws.s3.send(new PutObjectCommand({ Bucket: aws.names.lakeBucket, Key: trainTaskResultKey(runId), Body: JSON.stringify({ runId, ...body }), ContentType: 'application/json' }));
    await outcome({ status: 'failed', error: { name: 'NoTrainingDataError', message: 'nothing to train on' }, retryable: false });
    const cause = JSON.stringify({ TaskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/training/2', StopCode: 'EssentialContainerExited', Containers: [{ Name: 'training', ExitCode: 2 }] });
    await expect(runner.call(fnId('retraining:TrainTaskResult'), { run, trainTask: { request: {}, error: { Error: 'States.TaskFailed', Cause: cause } } })).rejects.toMatchObject({ name: 'NoTrainingDataError' });
    // Last, so the invocation the summary below judges is one that succeeded.
    await outcome({ status: 'succeeded', result });
    const ok = await runner.call(fnId('retraining:TrainTaskResult'), { run, trainTask: { request: {}, task: { taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/training/1', createdAt: 1_000, stoppedAt: 3_000, exitCode: 0 } } });
    expect(ok).toEqual({ ...result, durationMs: 2_000 });
    for (const name of FARGATE_ONLY) expect(runner.invoked.get(fnId(`retraining:${name}`)), name).toBe(true);
  });

  it('read API: GET /health and GET /recommend/{userId} answer 200 from the model the retraining deployed', async () => {
    const id = fnId('read-api');
    const health = (await runner.call(id, proxyEvent('GET', '/health'))) as APIGatewayProxyResult;
    expect(health.statusCode, health.body).toBe(200);
    if (deployedVersion) expect(JSON.parse(health.body)).toMatchObject({ modelVersion: deployedVersion });
    const [user] = tasteEvents();
    const rec = (await runner.call(id, proxyEvent('GET', `/recommend/${encodeURIComponent(String(user!.userId))}?k=5`))) as APIGatewayProxyResult;
    expect(rec.statusCode, rec.body).toBe(200);
    expect(JSON.stringify(JSON.parse(rec.body))).toContain('"items"');
  });

  it('admin API: GET /admin/experiment answers the pointer the retraining wrote; a stop with nothing running is 409; unsigned is 403', async () => {
    const id = fnId('admin-api');
    const status = (await runner.call(id, proxyEvent('GET', '/admin/experiment'))) as APIGatewayProxyResult;
    expect(status.statusCode, status.body).toBe(200);
    expect(JSON.parse(status.body)).toMatchObject({ experiment: null, ...(deployedVersion ? { pointer: { version: deployedVersion } } : {}) });
    const stop = (await runner.call(id, proxyEvent('POST', '/admin/experiment/stop', {}))) as APIGatewayProxyResult;
    expect(stop.statusCode, stop.body).toBe(409);
    const unsigned = proxyEvent('GET', '/admin/experiment');
    unsigned.requestContext.identity = { ...unsigned.requestContext.identity, userArn: null, caller: null, accessKey: null };
    expect(((await runner.call(id, unsigned)) as APIGatewayProxyResult).statusCode).toBe(403);
  });

  it('experiment check: with no experiment on the pointer the retraining wrote, decides nothing and writes nothing', async () => {
    const result = (await runner.call(fnId('experiment-check'), { executionName: 'bundles', startTime: new Date().toISOString() })) as { action: string; reason: string; productionVersion: string | null };
    expect(result).toMatchObject({ action: 'none', ...(deployedVersion ? { reason: 'no experiment is running', productionVersion: deployedVersion } : {}) });
  });

  it('invoked every function of the template, every one succeeded, each cold start within Lambda\'s 10 s init limit', () => {
    const summary = app.functions.map(({ logicalId }) => {
      const runs = runner.outcomes.filter((o) => o.logicalId === logicalId).map((o) => o.outcome);
      const ok = runs.filter((o) => o.ok);
      const warnings = [...new Set(runs.flatMap((o) => o.stderr.split('\n')).filter((l) => /Warning|Error/.test(l)).map((l) => l.replace(/^\(node:\d+\) /, '')))];
      const max = (xs: number[]) => Math.max(0, ...xs).toFixed(0);
      return `${logicalId.padEnd(34)} ${runs.length} cold start(s), ${ok.length} ok; init max ${max(ok.map((o) => o.initMs)).padStart(4)} ms, handler max ${max(ok.map((o) => o.durationMs)).padStart(5)} ms${warnings.length ? `; stderr: ${warnings.join(' | ')}` : ''}`;
    });
    console.info(`bundles run alone:\n${summary.join('\n')}`);
    for (const { logicalId, outcome } of runner.outcomes) if (outcome.ok) expect(outcome.initMs, logicalId).toBeLessThan(10_000);
    expect(Object.fromEntries(app.functions.map((f) => [f.logicalId, runner.invoked.get(f.logicalId) ?? 'never invoked']))).toEqual(
      Object.fromEntries(app.functions.map((f) => [f.logicalId, true])),
    );
  });
});

describe('the harness is not vacuous', () => {
  it('a bundle that leaves a dependency external fails its cold start in the empty directory (ERR_MODULE_NOT_FOUND)', async () => {
    const outdir = await mkdtemp(join(tmpdir(), 'external-bundle-'));
    try {
      // The consumer bundled as lib/node-function.ts bundles it, but with the S3 client external.
      await build({
        entryPoints: [join(PROJECT_ROOT, 'lambdas/consumer/index.ts')],
        outfile: join(outdir, 'index.mjs'),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node24',
        minify: true,
        sourcemap: true,
        mainFields: ['module', 'main'],
        banner: { js: "import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);" },
        external: ['@aws-sdk/client-s3'],
        logLevel: 'silent',
      });
      const sandbox = await prepareSandbox(outdir);
      try {
        expect(nodeModulesAbove(sandbox.taskRoot)).toEqual([]);
        const id = fnId('ingestion-consumer');
        const outcome = await invokeInSandbox({
          sandbox,
          env: lambdaEnvironment(resolved, id, { emulatorEnv: aws.emulators.env, taskRoot: sandbox.taskRoot, runtimeDir: sandbox.runtimeDir }),
          event: { Records: [] },
          timeoutMs: 30_000,
          memoryMb: 512,
        });
        expect(outcome.ok).toBe(false);
        if (outcome.ok) return;
        expect(outcome.phase, describeFailure('external', outcome)).toBe('init');
        expect(outcome.errorType).toBe('Runtime.ImportModuleError');
        expect(outcome.code).toBe('ERR_MODULE_NOT_FOUND');
        expect(outcome.errorMessage).toContain('@aws-sdk/client-s3');
        expect(describeFailure('external', outcome)).toMatch(/init failed: Runtime\.ImportModuleError \(ERR_MODULE_NOT_FOUND\): Cannot find package '@aws-sdk\/client-s3'/);
      } finally {
        await sandbox.cleanup();
      }
    } finally {
      await rm(outdir, { recursive: true, force: true });
    }
  });

  it('a bundle run without a variable the template gives it fails its invocation, naming the variable', async () => {
    const sandbox = await prepareSandbox(app.functions.find((f) => f.logicalId === fnId('ingestion-consumer'))!.assetDir);
    try {
      const id = fnId('ingestion-consumer');
      // The consumer reads its configuration on the first event; without LAKE_BUCKET that invocation fails.
      const outcome = await invokeInSandbox({
        sandbox,
        env: lambdaEnvironment(resolved, id, { emulatorEnv: aws.emulators.env, taskRoot: sandbox.taskRoot, runtimeDir: sandbox.runtimeDir, drop: ['LAKE_BUCKET'] }),
        event: { Records: [{ kinesis: { sequenceNumber: '1', partitionKey: 'x', data: Buffer.from('{}').toString('base64'), approximateArrivalTimestamp: 0, kinesisSchemaVersion: '1.0' }, eventSource: 'aws:kinesis', eventID: 'shardId-000000000000:1', eventSourceARN: 'arn:aws:kinesis:eu-west-1:123456789012:stream/x' }] },
        timeoutMs: 30_000,
        memoryMb: 512,
      });
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      expect(outcome.phase, describeFailure('missing LAKE_BUCKET', outcome)).toBe('invoke');
      expect(outcome.errorMessage).toContain('LAKE_BUCKET');
    } finally {
      await sandbox.cleanup();
    }
  });
});
