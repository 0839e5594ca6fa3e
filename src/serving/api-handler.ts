import type { APIGatewayProxyEvent } from 'aws-lambda';
import { errorResponse, HttpError, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import type { RouteImplementation } from './read-api';
import { matchRoute, type RouteId } from './routes';

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
      // An IAM route is only reachable through its own API Gateway method, where IAM was checked; the same
      // path arriving through the public catch-all (e.g. with a trailing slash) is refused.
      if (match.route.auth === 'iam' && event.resource !== match.route.path) {
        throw new HttpError(403, 'FORBIDDEN', `${match.route.method} ${match.route.path} needs a SigV4-signed request to the route itself`);
      }
      const implementation = implementations[match.route.id];
      if (!implementation) throw new HttpError(404, 'NOT_FOUND', `${match.route.method} ${match.route.path} is not served by this function`);
      // API Gateway fills pathParameters for a declared resource; the catch-all and the local server do not.
      const fromGateway = event.resource === match.route.path ? event.pathParameters : null;
      const request: ApiRequest = {
        method: event.httpMethod.toUpperCase(),
        path,
        params: { ...match.params, ...(fromGateway ?? {}) } as Record<string, string>,
        query: { ...(event.queryStringParameters ?? {}) },
        headers,
        body: event.body == null ? undefined : event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body,
        requestId: event.requestContext?.requestId ?? '',
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

function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers'] | null | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
