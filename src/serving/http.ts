import type { APIGatewayProxyResult } from 'aws-lambda';

/** The request as the route implementations see it: no Lambda or API Gateway shapes. */
export interface ApiRequest {
  method: string;
  /** Path as received, e.g. `/recommend/42`. */
  path: string;
  /** Path parameters of the matched route, URL-decoded (not yet validated). */
  params: Record<string, string>;
  /** Query string, one value per name (the last one when repeated). */
  query: Record<string, string | undefined>;
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>;
  body: string | undefined;
  requestId: string;
  /**
   * The verified caller (its ARN), set only on IAM routes once the handler has checked the SigV4 identity
   * API Gateway attached; absent everywhere else.
   */
  caller?: string;
}

export type ApiResponse = APIGatewayProxyResult;

/** The logging the serving code needs; the Lambda handlers adapt Powertools' logger to it. */
export interface ServingLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** A failure that maps to an HTTP status and the `{ error: { code, message } }` body. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The field at fault (query parameter, path parameter or event field), when there is one. */
    readonly field?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { 'Content-Type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

export function text(statusCode: number, body: string, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body };
}

export function errorBody(code: string, message: string, field?: string): { error: { code: string; message: string; field?: string } } {
  return { error: { code, message, ...(field ? { field } : {}) } };
}

/** The status and `{ error: { code, message, field? } }` body of a failure, before any transport shape. */
export function errorAnswer(err: HttpError): { status: number; body: Record<string, unknown> } {
  return { status: err.status, body: { ...errorBody(err.code, err.message, err.field), ...err.extra } };
}

export function errorResponse(err: HttpError, headers: Record<string, string> = {}): ApiResponse {
  const { status, body } = errorAnswer(err);
  return json(status, body, headers);
}

/**
 * The media type the client prefers among those offered (first offered wins ties and absent headers).
 * `Accept: text/plain` picks text; `*\/*`, `application/*` or nothing picks the first offer.
 */
export function negotiate<T extends string>(accept: string | undefined, offers: readonly T[]): T {
  if (!accept) return offers[0]!;
  let best: { type: T; q: number; specificity: number } | undefined;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    for (const offer of offers) {
      const [type, subtype] = offer.split('/');
      const [rType, rSub] = range.split('/');
      const specificity = rType === type && rSub === subtype ? 2 : rType === type && rSub === '*' ? 1 : range === '*/*' ? 0 : -1;
      if (specificity < 0) continue;
      if (!best || q > best.q || (q === best.q && specificity > best.specificity)) best = { type: offer, q, specificity };
    }
  }
  return best?.type ?? offers[0]!;
}

/** `application/json` or a `+json` type (`application/cloudevents+json`), with optional parameters. */
export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType !== undefined && /^application\/([\w.+-]*\+)?json\s*(;|$)/i.test(contentType.trim());
}

/**
 * The JSON body of a write route, checked in the order a careless or hostile client meets the limits: a JSON
 * type is required (without it a web page could post cross-site as a CORS "simple" request, with no
 * preflight), at most `maxBytes`, not empty, valid JSON. `what` names the payload in the messages
 * (`events`, `the item list`); `sendHint` says what to send.
 */
export function readJsonBody(request: ApiRequest, options: { what: string; maxBytes: number; sendHint: string; tooLargeHint?: string }): unknown {
  const contentType = request.headers['content-type'];
  if (!isJsonContentType(contentType)) {
    throw new HttpError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      contentType ? `send ${options.what} as application/json (got ${contentType.slice(0, 60)})` : `send ${options.what} as application/json: the Content-Type header is missing`,
    );
  }
  const body = request.body ?? '';
  if (Buffer.byteLength(body) > options.maxBytes) {
    throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `request body is larger than ${options.maxBytes} bytes${options.tooLargeHint ? `; ${options.tooLargeHint}` : ''}`);
  }
  if (body.trim() === '') throw new HttpError(400, 'MALFORMED_JSON', `request body is empty: ${options.sendHint}`, '(body)');
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    throw new HttpError(400, 'MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`, '(body)');
  }
}
