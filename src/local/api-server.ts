import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DEFAULT_NAMES } from '../config/runtime';
import { matchRoute, type ApiFunctionName } from '../serving/routes';
import type { ModelStore } from '../serving/model-store';
import { startEmulators, type RunningEmulators } from './emulators';
import { localLambdaContext } from './lambda-context';
import type { ResourceNames } from './resources';

type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface StartApiServerOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /**
   * Environment for the handlers (merged over process.env, which it updates: the handlers read it).
   * Without any AWS_ENDPOINT_URL* the server starts the in-process emulators and creates the resources.
   */
  env?: Record<string, string>;
  /** Resource names when emulators are started here (defaults: DEFAULT_NAMES). */
  names?: Partial<ResourceNames>;
  /** Largest request body, as API Gateway's 10 MB payload limit (bytes). */
  maxBodyBytes?: number;
  /**
   * Local-only routes tried before the API's (e.g. the `npm start` status page); resolve true when handled.
   * They never exist in AWS.
   */
  localRoutes?: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>;
}

export interface RunningApiServer {
  url: string;
  port: number;
  server: Server;
  /** The emulators this server started, if it started them. */
  emulators?: RunningEmulators;
  /** The read function's model store (health, load time). */
  modelStore(): ModelStore;
  stop(): Promise<void>;
}

const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;

/**
 * Plays API Gateway on this machine: each HTTP request becomes an `APIGatewayProxyEvent` (resource and path
 * parameters from the same route table the CDK construct deploys) and goes to the same Lambda handler the
 * route is deployed to; the proxy result is written back. No route logic lives here.
 *
 * Differences from AWS, on purpose: no IAM check on `POST /admin/reload`, no stage throttling.
 *
 * @example
 * const api = await startApiServer({ port: 0 });
 * await fetch(`${api.url}/recommend/42?k=5`);
 * await api.stop();
 */
export async function startApiServer(options: StartApiServerOptions = {}): Promise<RunningApiServer> {
  // The handlers read process.env. The variables this server sets get their previous values back on stop().
  const previous = new Map<string, string | undefined>();
  const setEnv = (key: string, value: string, onlyIfUnset = false) => {
    if (onlyIfUnset && process.env[key] !== undefined) return;
    if (!previous.has(key)) previous.set(key, process.env[key]);
    process.env[key] = value;
  };
  for (const [k, v] of Object.entries(options.env ?? {})) setEnv(k, v);
  setEnv('AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED', 'true', true);
  let emulators: RunningEmulators | undefined;
  if (!hasEndpointOverride(process.env)) {
    emulators = await startEmulators();
    for (const [k, v] of Object.entries(emulators.env)) setEnv(k, v);
    const names: ResourceNames = { ...DEFAULT_NAMES, ...options.names };
    setEnv('LAKE_BUCKET', names.lakeBucket, true);
    setEnv('FEATURES_TABLE', names.featuresTable, true);
    setEnv('EVENTS_STREAM', names.eventsStream, true);
    await createResources({ ...names, lakeBucket: process.env.LAKE_BUCKET!, featuresTable: process.env.FEATURES_TABLE!, eventsStream: process.env.EVENTS_STREAM! });
  }
  // One JSON line a request would drown a load test; opt back in with POWERTOOLS_* variables.
  setEnv('POWERTOOLS_METRICS_DISABLED', 'true', true);
  setEnv('POWERTOOLS_LOG_LEVEL', 'WARN', true);

  // Imported only now: the handlers' loggers read the environment when their modules load.
  const read = await import('../../lambdas/api/index');
  const events = await import('../../lambdas/events-api/index');
  read.resetReadApi();
  events.resetEventsApi();
  const handlers: Record<ApiFunctionName, LambdaHandler> = { read: read.handler, events: events.handler };
  const maxBody = options.maxBodyBytes ?? API_GATEWAY_MAX_BODY;
  const corsOrigin = process.env.CORS_ALLOW_ORIGIN ?? '*';

  const server = createServer((req, res) => {
    const local = options.localRoutes ? options.localRoutes(req, res, new URL(req.url ?? '/', 'http://localhost')) : Promise.resolve(false);
    local.then((handled) => (handled ? undefined : serve(req, res, handlers, maxBody, corsOrigin))).catch((err: unknown) => {
      writeResult(res, { statusCode: 502, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: { code: 'BAD_GATEWAY', message: (err as Error).message } }) });
    });
  });
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    emulators,
    modelStore: () => read.readApiModelStore(),
    async stop() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      read.resetReadApi();
      events.resetEventsApi();
      await emulators?.stop();
      for (const [key, value] of previous) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, handlers: Record<ApiFunctionName, LambdaHandler>, maxBody: number, corsOrigin: string) {
  const url = rawUrl(req.url ?? '/');
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS') {
    // API Gateway answers CORS preflights itself (a mock integration); so does this adapter.
    writeResult(res, {
      statusCode: 204,
      headers: {
        'Access-Control-Allow-Origin': corsOrigin === '*' ? '*' : corsOrigin.split(',')[0]!.trim(),
        'Access-Control-Allow-Methods': 'GET,POST,OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type,Accept,Authorization,X-Amz-Date,X-Amz-Security-Token',
        'Access-Control-Max-Age': '600',
      },
      body: '',
    });
    return;
  }
  const body = await readBody(req, maxBody);
  if (body === 'too-large') {
    writeResult(res, { statusCode: 413, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error: { code: 'PAYLOAD_TOO_LARGE', message: `request body is larger than ${maxBody} bytes` } }) });
    return;
  }
  const match = matchRoute(method, url.pathname);
  const route = match.kind === 'match' ? match.route : undefined;
  const event = toProxyEvent(req, url, method, body, route ? { resource: route.path, params: match.kind === 'match' ? match.params : {} } : undefined);
  // Unmatched paths go to the read function, as the `{proxy+}` catch-all does in AWS.
  const handler = handlers[route?.function ?? 'read'];
  writeResult(res, await handler(event, localContext(route?.function ?? 'read', event.requestContext.requestId)));
}

/** The proxy event API Gateway (REST, Lambda proxy integration) would send for this request. */
export function toProxyEvent(
  req: Pick<IncomingMessage, 'headers' | 'socket'>,
  url: { pathname: string; searchParams: URLSearchParams },
  method: string,
  body: Buffer,
  route: { resource: string; params: Record<string, string> } | undefined,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    (multiQuery[name] ??= []).push(value);
  }
  const requestId = randomUUID();
  const resource = route?.resource ?? '/{proxy+}';
  const text = body.length ? body.toString('utf8') : null;
  return {
    resource,
    path: url.pathname,
    httpMethod: method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length ? multiQuery : null,
    pathParameters: route ? (Object.keys(route.params).length ? route.params : null) : { proxy: url.pathname.slice(1) },
    stageVariables: null,
    body: text,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      path: `/local${url.pathname}`,
      stage: 'local',
      requestId,
      requestTimeEpoch: Date.now(),
      resourceId: 'local',
      resourcePath: resource,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: null,
        userAgent: headers['user-agent'] ?? null,
        userArn: null,
      },
    },
  };
}

/**
 * Path and query as sent. WHATWG URL parsing would resolve `..` and `%2E%2E` segments before routing and
 * hide them from the handler's validation; API Gateway hands the path on as received.
 */
function rawUrl(url: string): { pathname: string; searchParams: URLSearchParams } {
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  return { pathname: path.startsWith('/') ? path : `/${path}`, searchParams: new URLSearchParams(q >= 0 ? url.slice(q + 1) : '') };
}

function localContext(functionName: string, requestId: string): Context {
  return localLambdaContext(`local-${functionName}-api`, { timeoutMs: 29_000, requestId });
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function writeResult(res: ServerResponse, result: APIGatewayProxyResult): void {
  const body = result.isBase64Encoded ? Buffer.from(result.body, 'base64') : Buffer.from(result.body ?? '', 'utf8');
  const headers: Record<string, string | number | string[]> = { 'Content-Length': body.length };
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
  for (const [k, v] of Object.entries(result.multiValueHeaders ?? {})) headers[k] = v.map(String);
  res.writeHead(result.statusCode, headers);
  res.end(body);
}

function hasEndpointOverride(env: NodeJS.ProcessEnv): boolean {
  return Boolean(env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL_KINESIS);
}

async function createResources(names: ResourceNames): Promise<void> {
  const { createDynamoDocumentClient, createKinesisClient, createS3Client } = await import('../adapters/aws-clients');
  const { ensureResources } = await import('./resources');
  const clients = { s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis: createKinesisClient() };
  try {
    await ensureResources(clients, names);
  } finally {
    clients.s3.destroy();
    clients.ddb.destroy();
    clients.kinesis.destroy();
  }
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const api = await startApiServer({ port: Number(arg('port') ?? process.env.PORT ?? 3000) });
  if (argv.includes('--demo-model')) await deployDemoModel();
  const where = api.emulators ? `in-process emulators (S3 ${api.emulators.endpoints.s3}, DynamoDB ${api.emulators.endpoints.dynamodb}, Kinesis ${api.emulators.endpoints.kinesis})` : 'the endpoints in AWS_ENDPOINT_URL*';
  console.log(`Recommend API on ${api.url} against ${where}`);
  console.log(`  try: curl ${api.url}/health   curl ${api.url}/recommend/u1?k=5   curl ${api.url}/items/popular`);
  const stop = () => {
    void api.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** Trains a small synthetic model and makes it production, so a fresh local API has something to serve. */
async function deployDemoModel(): Promise<void> {
  const { createS3Client } = await import('../adapters/aws-clients');
  const { S3Lake } = await import('../adapters/s3-lake');
  const { PRODUCTION_POINTER_KEY } = await import('../domain/model-registry');
  const { generateSyntheticDataset, trainHybridModel } = await import('../recommender/index');
  const { publishModel } = await import('../serving/publish-model');
  const lake = new S3Lake(createS3Client(), process.env.LAKE_BUCKET!);
  if (await lake.getText(PRODUCTION_POINTER_KEY)) {
    console.log(`${PRODUCTION_POINTER_KEY} exists; --demo-model left it alone`);
    return;
  }
  const { interactions, items } = generateSyntheticDataset({ users: 200, items: 300, events: 8_000, seed: 1 });
  const pointer = await publishModel(lake, trainHybridModel(interactions, { items }), { version: undefined });
  console.log(`deployed demo model ${pointer.version} (users u1..u200, items i1..i300)`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
