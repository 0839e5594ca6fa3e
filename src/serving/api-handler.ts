import type { APIGatewayProxyEvent } from 'aws-lambda';
import { errorResponse, HttpError, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import type { RouteImplementation } from './read-api';
import { matchRoute, type RouteId, type RouteSpec } from './routes';

export interface ApiHandlerOptions {
  /** `*`, or a comma-separated list of allowed origins (the request's Origin is echoed when listed). */
  corsAllowOrigin: string;
  log?: ServingLog;
}

export type ProxyHandler = (event: APIGatewayProxyEvent) => Promise<ApiResponse>;

/**
 * Turns route implementations into an API Gateway proxy handler: routing with the shared route table
 * (404 unknown path, 405 wrong method with `Allow`), error bodies `{ error: { code, message } }`, CORS
 * headers on every answer. An unexpected exception is logged and becomes a 500; bad input never does.
 */
export function createApiHandler(implementations: Partial<Record<RouteId, RouteImplementation>>, options: ApiHandlerOptions): ProxyHandler {
  const allowed = options.corsAllowOrigin.split(',').map((o) => o.trim()).filter(Boolean);
  const corsHeaders = (origin: string | undefined): Record<string, string> => {
    if (allowed.includes('*')) return { 'Access-Control-Allow-Origin': '*' };
    if (origin && allowed.includes(origin)) return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' };
    return {};
  };

  return async (event) => {
    const headers = lowerCaseHeaders(event.headers);
    const cors = corsHeaders(headers.origin);
    const finish = (res: ApiResponse): ApiResponse => {
      const vary = [res.headers?.Vary, cors.Vary].filter(Boolean).join(', ');
      return { ...res, headers: { ...res.headers, ...cors, ...(vary ? { Vary: vary } : {}) } };
    };
    try {
      const path = event.path || '/';
      const match = matchRoute(event.httpMethod, path);
      if (match.kind === 'not-found') throw new HttpError(404, 'NOT_FOUND', `no route for ${event.httpMethod} ${truncate(path)}; see GET /health and the API reference`);
      if (match.kind === 'method-not-allowed') {
        const res = errorResponse(new HttpError(405, 'METHOD_NOT_ALLOWED', `${event.httpMethod} is not allowed on ${truncate(path)}; use ${match.allow.join(', ')}`), { Allow: match.allow.join(', ') });
        return finish(res);
      }
      // An IAM route runs only for the exact method API Gateway checked IAM on, through its own resource, and
      // only when the request carries the SigV4 caller API Gateway verified: whatever reaches this function
      // (an `ANY` method, the catch-all, a hand-made event), nothing else gets through.
      let caller: string | undefined;
      if (match.route.auth === 'iam') {
        const verdict = iamCaller(event, match.route);
        if (!verdict.ok) {
          options.log?.warn('refused an IAM-only route', {
            route: match.route.id,
            reason: verdict.reason,
            httpMethod: event.httpMethod,
            resource: event.resource,
            path: truncate(path),
            sourceIp: event.requestContext?.identity?.sourceIp,
            requestId: event.requestContext?.requestId,
          });
          throw new HttpError(403, 'FORBIDDEN', `${match.route.method} ${match.route.path} needs a SigV4-signed (IAM-authorised) ${match.route.method} request to the route itself: ${verdict.reason}`);
        }
        caller = verdict.caller;
      }
      const implementation = implementations[match.route.id];
      if (!implementation) throw new HttpError(404, 'NOT_FOUND', `${match.route.method} ${match.route.path} is not served by this function`);
      // API Gateway fills pathParameters for a declared resource; the catch-all and the local server do not.
      const fromGateway = event.resource === match.route.path ? event.pathParameters : null;
      const request: ApiRequest = {
        method: event.httpMethod.toUpperCase(),
        path,
        params: ownRecord({ ...match.params, ...(fromGateway ?? {}) }) as Record<string, string>,
        query: ownRecord(event.queryStringParameters),
        headers,
        body: event.body == null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body,
        requestId: event.requestContext?.requestId ?? '',
        ...(caller ? { caller } : {}),
      };
      const res = await implementation(request);
      return finish(event.httpMethod.toUpperCase() === 'HEAD' ? { ...res, body: '' } : res);
    } catch (err) {
      if (err instanceof HttpError) return finish(errorResponse(err));
      options.log?.error('unhandled error', { error: err as Error, path: event.path, method: event.httpMethod });
      return finish(errorResponse(new HttpError(500, 'INTERNAL', 'internal error; the request id is in the logs')));
    }
  };
}

/**
 * Whether the event carries what API Gateway's AWS_IAM authorisation puts on it: the exact method and resource
 * of the IAM route, and the SigV4 caller in `requestContext.identity` (null or absent for unsigned requests).
 */
export function iamCaller(event: APIGatewayProxyEvent, route: RouteSpec): { ok: true; caller: string } | { ok: false; reason: string } {
  // HTTP methods are case-sensitive (RFC 9110); only the method IAM was configured on counts.
  if (event.httpMethod !== route.method) return { ok: false, reason: `method ${JSON.stringify(String(event.httpMethod).slice(0, 16))} is not ${route.method}` };
  if (event.resource !== route.path) return { ok: false, reason: `it arrived through ${JSON.stringify(String(event.resource ?? '').slice(0, 40))}, not ${route.path}` };
  const context = event.requestContext as Partial<APIGatewayProxyEvent['requestContext']> | undefined;
  if (context?.httpMethod !== undefined && context.httpMethod !== route.method) return { ok: false, reason: `the request context's method is ${JSON.stringify(String(context.httpMethod).slice(0, 16))}` };
  if (context?.resourcePath !== undefined && context.resourcePath !== route.path) return { ok: false, reason: `the request context's resource is ${JSON.stringify(String(context.resourcePath).slice(0, 40))}` };
  const identity = context?.identity as Partial<Record<'userArn' | 'caller' | 'accessKey', unknown>> | null | undefined;
  const filled = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
  if (!identity || !filled(identity.userArn) || !(filled(identity.caller) || filled(identity.accessKey))) {
    return { ok: false, reason: 'the request carries no IAM caller (unsigned request)' };
  }
  return { ok: true, caller: identity.userArn };
}

/**
 * Header names lower-cased, in an object without a prototype: a header named `constructor` or `__proto__`
 * is a header like any other, and looking up a header that was not sent never finds an Object member.
 */
function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers'] | null | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.create(null);
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

/** A copy of the own string-keyed entries, without a prototype (query and path parameters). */
function ownRecord(values: Record<string, string | undefined> | null | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = Object.create(null);
  for (const [k, v] of Object.entries(values ?? {})) out[k] = v;
  return out;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
