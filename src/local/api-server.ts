import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { DEFAULT_NAMES } from '../config/runtime';
import { isJsonContentType } from '../serving/http';
import { matchRoute, type ApiFunctionName } from '../serving/routes';
import type { ModelStore } from '../serving/model-store';
import { startEmulators, type RunningEmulators } from './emulators';
import { localLambdaContext } from './lambda-context';
import type { ResourceNames } from '../adapters/local-resources';

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
  /**
   * The secret a local caller sends in `X-Local-Admin-Token` to use the IAM routes (`POST /admin/reload`,
   * `PUT /items`, `DELETE /items/{itemId}`, `/admin/experiment…`).
   * Default: `LOCAL_ADMIN_TOKEN` from the environment, else a random one per start (`RunningApiServer.adminToken`).
   */
  adminToken?: string;
  /** Where refused requests are reported (default: console). */
  log?: Pick<Console, 'warn'>;
}

export interface RunningApiServer {
  url: string;
  port: number;
  server: Server;
  /** The emulators this server started, if it started them. */
  emulators?: RunningEmulators;
  /** The read function's model store (health, load time). */
  modelStore(): ModelStore;
  /** Send it as `X-Local-Admin-Token` from this machine to call the IAM routes (`POST /admin/reload`, `PUT /items`, `DELETE /items/{itemId}`). */
  adminToken: string;
  stop(): Promise<void>;
}

const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;

/**
 * Plays API Gateway on this machine: each HTTP request becomes an `APIGatewayProxyEvent` (resource and path
 * parameters from the same route table the CDK construct deploys) and goes to the same Lambda handler the
 * route is deployed to; the proxy result is written back. No route logic lives here.
 *
 * Differences from AWS, on purpose:
 * - IAM routes (`POST /admin/reload`, `PUT /items`, `DELETE /items/{itemId}`): there is no SigV4 here. A request from a loopback address carrying
 *   `X-Local-Admin-Token: <adminToken>` gets a local caller in `requestContext.identity`, as API Gateway
 *   attaches the verified SigV4 caller; any other request arrives unauthenticated (identity null), and the
 *   function refuses it exactly as in AWS.
 * - State-changing requests (every method but GET, HEAD and OPTIONS, on the API's routes and on
 *   `localRoutes`) refuse cross-site callers: a browser `Origin` or `Sec-Fetch-Site` from another site is a
 *   403 (origins listed in CORS_ALLOW_ORIGIN may still post events), and a body or a `Content-Type` other
 *   than JSON is a 415. Same-origin pages, curl and scripts (no `Origin`) are unaffected.
 * - No stage throttling.
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
    setEnv('CATALOG_TABLE', names.catalogTable ?? DEFAULT_NAMES.catalogTable, true);
    await createResources({
      ...names,
      lakeBucket: process.env.LAKE_BUCKET!,
      featuresTable: process.env.FEATURES_TABLE!,
      eventsStream: process.env.EVENTS_STREAM!,
      catalogTable: process.env.CATALOG_TABLE!,
    });
  }
  // One JSON line a request would drown a load test; opt back in with POWERTOOLS_* variables.
  setEnv('POWERTOOLS_METRICS_DISABLED', 'true', true);
  setEnv('POWERTOOLS_LOG_LEVEL', 'WARN', true);

  // Imported only now: the handlers' loggers read the environment when their modules load.
  const read = await import('../../lambdas/api/index');
  const events = await import('../../lambdas/events-api/index');
  const catalog = await import('../../lambdas/catalog-api/index');
  const admin = await import('../../lambdas/admin-api/index');
  read.resetReadApi();
  events.resetEventsApi();
  catalog.resetCatalogApi();
  admin.resetAdminApi();
  const handlers: Record<ApiFunctionName, LambdaHandler> = { read: read.handler, events: events.handler, catalog: catalog.handler, admin: admin.handler };
  const maxBody = options.maxBodyBytes ?? API_GATEWAY_MAX_BODY;
  const corsOrigin = process.env.CORS_ALLOW_ORIGIN ?? '*';
  const host = options.host ?? '127.0.0.1';
  const adminToken = options.adminToken ?? process.env.LOCAL_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
  const log = options.log ?? console;
  let port = 0;

  const server = createServer((req, res) => {
    const answer = async () => {
      const refusal = refuseCrossSite(req, { port, host, corsOrigin });
      if (refusal) {
        log.warn(`local API refused ${req.method} ${truncate(req.url ?? '/')}: ${refusal.message}`);
        req.resume();
        writeResult(res, errorResult(refusal.status, refusal.code, refusal.message));
        return;
      }
      const handled = options.localRoutes ? await options.localRoutes(req, res, new URL(req.url ?? '/', 'http://localhost')) : false;
      if (!handled) await serve(req, res, handlers, maxBody, corsOrigin, adminToken);
    };
    answer().catch((err: unknown) => {
      if (!res.headersSent) writeResult(res, errorResult(502, 'BAD_GATEWAY', (err as Error).message));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 3000, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    emulators,
    adminToken,
    modelStore: () => read.readApiModelStore(),
    async stop() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      read.resetReadApi();
      events.resetEventsApi();
      catalog.resetCatalogApi();
      admin.resetAdminApi();
      await emulators?.stop();
      for (const [key, value] of previous) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    },
  };
}

/** Methods that may change state; a browser sends them cross-site only as a form post or a CORS request. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
export const LOCAL_ADMIN_TOKEN_HEADER = 'x-local-admin-token';

/**
 * The local server's cross-site request check, for every state-changing request (API routes and
 * `localRoutes` alike): a web page the user visits can make the browser send "simple" requests here
 * (a form post, `fetch(..., { mode: 'no-cors' })`) without any CORS check. Such requests always carry the
 * page's `Origin` (and `Sec-Fetch-Site` in current browsers), and can only have a form or text type.
 * - `Origin` absent (curl, scripts, the CLI) or this server's own origin on a loopback name; for the public
 *   API routes (`POST /events`) also an origin listed explicitly in CORS_ALLOW_ORIGIN. `Origin: null` and
 *   anything else: 403.
 * - `Sec-Fetch-Site` absent, `same-origin` or `none`; `same-site`/`cross-site` only for a listed origin: else 403.
 * - a body needs `Content-Type: application/json` (or `+json`), and a Content-Type, when sent, must be JSON: 415.
 */
export function refuseCrossSite(
  req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>,
  server: { port: number; host: string; corsOrigin: string },
): { status: 403 | 415; code: string; message: string } | undefined {
  const method = (req.method ?? 'GET').toUpperCase();
  if (SAFE_METHODS.has(method)) return undefined;
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const match = matchRoute(method, rawUrl(req.url ?? '/').pathname);
  const publicRoute = match.kind === 'match' && match.route.auth === 'none';
  const listed = server.corsOrigin.split(',').map((o) => o.trim()).filter((o) => o && o !== '*');
  const own = new Set(['localhost', '127.0.0.1', '[::1]', ...(server.host.includes(':') ? [`[${server.host}]`] : [server.host])].map((h) => `http://${h}:${server.port}`));
  const origin = header('origin');
  const explicitlyAllowed = origin !== undefined && publicRoute && listed.includes(origin);
  if (origin !== undefined && !own.has(origin.toLowerCase()) && !explicitlyAllowed) {
    return {
      status: 403,
      code: 'CROSS_SITE_REQUEST_REFUSED',
      message: `${method} requests from other origins are refused (Origin ${JSON.stringify(origin.slice(0, 80))}); this server accepts them from its own page (http://localhost:${server.port}) and from clients that send no Origin (curl, scripts)${publicRoute ? ', or from an origin listed in CORS_ALLOW_ORIGIN' : ''}`,
    };
  }
  const site = header('sec-fetch-site')?.toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none' && !explicitlyAllowed) {
    return { status: 403, code: 'CROSS_SITE_REQUEST_REFUSED', message: `${method} requests the browser marks Sec-Fetch-Site: ${site.slice(0, 20)} are refused; call from this server's own page or from a script` };
  }
  const contentType = header('content-type');
  const hasBody = Number(header('content-length') ?? 0) > 0 || header('transfer-encoding') !== undefined;
  if ((hasBody || contentType !== undefined) && !isJsonContentType(contentType)) {
    return {
      status: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: contentType ? `${method} bodies must be application/json (got ${contentType.slice(0, 60)})` : `${method} with a body needs Content-Type: application/json`,
    };
  }
  return undefined;
}

/** A loopback peer, IPv4 or IPv6 (incl. IPv4-mapped). */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a);
}

function tokenMatches(sent: string | string[] | undefined, expected: string): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The fields of `requestContext.identity` API Gateway fills for a SigV4-verified caller. */
export interface LocalCaller {
  accessKey: string;
  accountId: string;
  caller: string;
  user: string;
  userArn: string;
}

/** The local stand-in for the SigV4 caller API Gateway attaches after checking IAM. */
export const LOCAL_ADMIN_IDENTITY: LocalCaller = {
  accessKey: 'LOCALADMINKEY',
  accountId: '000000000000',
  caller: 'local-admin',
  user: 'local-admin',
  userArn: 'arn:aws:iam::000000000000:user/local-admin',
};

function errorResult(statusCode: number, code: string, message: string): APIGatewayProxyResult {
  return { statusCode, headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' }, body: JSON.stringify({ error: { code, message } }) };
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

async function serve(req: IncomingMessage, res: ServerResponse, handlers: Record<ApiFunctionName, LambdaHandler>, maxBody: number, corsOrigin: string, adminToken: string) {
  const url = rawUrl(req.url ?? '/');
  const method = (req.method ?? 'GET').toUpperCase();
  if (method === 'OPTIONS') {
    // API Gateway answers CORS preflights itself (a mock integration); so does this adapter.
    writeResult(res, {
      statusCode: 204,
      headers: {
        'Access-Control-Allow-Origin': corsOrigin === '*' ? '*' : corsOrigin.split(',')[0]!.trim(),
        'Access-Control-Allow-Methods': 'GET,POST,PUT,DELETE,OPTIONS',
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
  // IAM routes: the admin token from this machine stands for a SigV4 signature. It is checked here and
  // never forwarded; the handler sees only the identity, as behind API Gateway.
  const admin = isLoopback(req.socket.remoteAddress) && tokenMatches(req.headers[LOCAL_ADMIN_TOKEN_HEADER], adminToken);
  const event = toProxyEvent(req, url, method, body, route ? { resource: route.path, params: match.kind === 'match' ? match.params : {} } : undefined, {
    caller: admin && route?.auth === 'iam' ? LOCAL_ADMIN_IDENTITY : undefined,
  });
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
  auth: { caller?: LocalCaller } = {},
): APIGatewayProxyEvent {
  // Maps, then Object.fromEntries: names such as `constructor` or `__proto__` become own entries like any
  // other, never Object members (API Gateway's JSON event has them as plain keys too).
  const headerValues = new Map<string, string[]>();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === LOCAL_ADMIN_TOKEN_HEADER) continue;
    headerValues.set(name, Array.isArray(value) ? value : [value]);
  }
  const headers = Object.fromEntries([...headerValues].map(([name, values]) => [name, values.join(',')])) as Record<string, string>;
  const multiValueHeaders = Object.fromEntries(headerValues) as Record<string, string[]>;
  const queryValues = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    const values = queryValues.get(name);
    if (values) values.push(value);
    else queryValues.set(name, [value]);
  }
  const query = Object.fromEntries([...queryValues].map(([name, values]) => [name, values[values.length - 1]!])) as Record<string, string>;
  const multiQuery = Object.fromEntries(queryValues) as Record<string, string[]>;
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
        accessKey: auth.caller?.accessKey ?? null,
        accountId: auth.caller?.accountId ?? null,
        apiKey: null,
        apiKeyId: null,
        caller: auth.caller?.caller ?? null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        user: auth.caller?.user ?? null,
        userAgent: headers['user-agent'] ?? null,
        userArn: auth.caller?.userArn ?? null,
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
  const { ensureResources } = await import('../adapters/local-resources');
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
  const { localRulesJson } = await import('./local-rules');
  const rules = process.env.RULES_JSON ?? localRulesJson();
  const api = await startApiServer({ port: Number(arg('port') ?? process.env.PORT ?? 3000), ...(rules ? { env: { RULES_JSON: rules } } : {}) });
  if (argv.includes('--demo-model')) await deployDemoModel();
  const where = api.emulators ? `in-process emulators (S3 ${api.emulators.endpoints.s3}, DynamoDB ${api.emulators.endpoints.dynamodb}, Kinesis ${api.emulators.endpoints.kinesis})` : 'the endpoints in AWS_ENDPOINT_URL*';
  console.log(`Recommend API on ${api.url} against ${where}`);
  console.log(`  try: curl ${api.url}/health   curl ${api.url}/recommend/u1?k=5   curl ${api.url}/items/popular`);
  console.log(`  admin (this machine only): curl -X POST ${api.url}/admin/reload -H '${LOCAL_ADMIN_TOKEN_HEADER}: ${api.adminToken}'   (set LOCAL_ADMIN_TOKEN to choose it)`);
  console.log(`  experiments (same token): curl ${api.url}/admin/experiment -H '${LOCAL_ADMIN_TOKEN_HEADER}: ${api.adminToken}'   (POST /admin/experiment/start|promote|stop with a JSON body)`);
  console.log(`  catalogue (same token): curl -X PUT ${api.url}/items -H 'Content-Type: application/json' -H '${LOCAL_ADMIN_TOKEN_HEADER}: ${api.adminToken}' -d '{"items":[{"itemId":"i1","title":"A","categories":["books"],"price":9.99}]}'`);
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
  const { PRODUCTION_POINTER_KEY } = await import('../domain/lake-layout');
  const { generateSyntheticDataset, trainHybridModel } = await import('../recommender/index');
  const { publishModel } = await import('./publish-model');
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
