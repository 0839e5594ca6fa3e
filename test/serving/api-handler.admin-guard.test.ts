import { describe, expect, it, vi } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createApiHandler } from '../../src/serving/api-handler';
import type { ServingLog } from '../../src/serving/http';
import type { ModelStore } from '../../src/serving/model-store';
import { ReadApi } from '../../src/serving/read-api';
import type { UserFeatureReader } from '../../src/serving/features-reader';

/**
 * `POST /admin/reload` is IAM-authorised in API Gateway, but the read function must not rely on routing:
 * `ANY /admin/reload` and the `{proxy+}` catch-all reach the same function unauthenticated. Only the exact
 * method, through the route's own resource, with the SigV4 caller API Gateway attaches, may reload.
 */
function setup() {
  const reload = vi.fn(async () => ({ reloaded: true, previousVersion: 'v1', health: { status: 'ok', modelVersion: 'v2' } }));
  const store = { get: async () => undefined, health: () => ({ status: 'ok' }), reload } as unknown as ModelStore;
  const features: UserFeatureReader = { realtime: async () => undefined, exact: async () => undefined };
  const log: ServingLog = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const api = new ReadApi(store, features, { freshEventsTimeoutMs: 50, log });
  const handle = createApiHandler(api.routes(), { corsAllowOrigin: '*', log });
  return { handle, reload, log };
}

/** What API Gateway sends for an IAM-authorised call: the SigV4 caller is in requestContext.identity. */
const signedIdentity = {
  accessKey: 'ASIAEXAMPLEKEY',
  accountId: '123456789012',
  caller: 'AROAEXAMPLE:retraining',
  user: 'AROAEXAMPLE:retraining',
  userArn: 'arn:aws:sts::123456789012:assumed-role/Retraining/retraining',
  sourceIp: '10.0.0.1',
};
/** What API Gateway sends for an unauthenticated method (e.g. `ANY`): identity fields are null. */
const anonymousIdentity = { accessKey: null, accountId: null, caller: null, user: null, userArn: null, sourceIp: '203.0.113.9', userAgent: 'curl/8' };

function reloadEvent(overrides: { httpMethod?: string; resource?: string; path?: string; identity?: unknown; requestContext?: unknown } = {}): APIGatewayProxyEvent {
  const httpMethod = overrides.httpMethod ?? 'POST';
  const resource = overrides.resource ?? '/admin/reload';
  return {
    httpMethod,
    resource,
    path: overrides.path ?? '/admin/reload',
    headers: { 'Content-Type': 'application/json' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext:
      'requestContext' in overrides
        ? overrides.requestContext
        : { requestId: 'r1', httpMethod, resourcePath: resource, identity: 'identity' in overrides ? overrides.identity : signedIdentity },
  } as unknown as APIGatewayProxyEvent;
}

describe('POST /admin/reload in the read function', () => {
  it('reloads for the IAM-authorised POST on its own resource, and logs who asked', async () => {
    const { handle, reload, log } = setup();
    const res = await handle(reloadEvent());
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ reloaded: true, health: { modelVersion: 'v2' } });
    expect(reload).toHaveBeenCalledTimes(1);
    expect(log.info).toHaveBeenCalledWith('model reload requested', expect.objectContaining({ caller: signedIdentity.userArn }));
  });

  it.each([
    ['lower-case post', 'post'],
    ['mixed-case Post', 'Post'],
    ['ANY', 'ANY'],
    ['GET', 'GET'],
    ['PUT', 'PUT'],
    ['DELETE', 'DELETE'],
    ['HEAD', 'HEAD'],
  ])('refuses the method %s, signed or not, and does not reload', async (_name, httpMethod) => {
    const { handle, reload } = setup();
    for (const identity of [signedIdentity, anonymousIdentity]) {
      const res = await handle(reloadEvent({ httpMethod, identity }));
      expect([403, 405], `${httpMethod}`).toContain(res.statusCode);
      expect(JSON.parse(res.body).error.code).toMatch(/^(FORBIDDEN|METHOD_NOT_ALLOWED)$/);
    }
    expect(reload).not.toHaveBeenCalled();
  });

  it.each([
    ['identity fields all null (unauthenticated ANY method)', { identity: anonymousIdentity }],
    ['identity null', { identity: null }],
    ['identity absent', { identity: undefined }],
    ['a userArn but no caller or access key', { identity: { ...anonymousIdentity, userArn: 'arn:aws:iam::1:user/x' } }],
    ['an access key but no userArn', { identity: { ...anonymousIdentity, accessKey: 'AKIAEXAMPLE' } }],
    ['blank identity strings', { identity: { ...signedIdentity, userArn: ' ', caller: '', accessKey: '' } }],
    ['no request context at all', { requestContext: undefined }],
    ['a request context claiming another method', { requestContext: { requestId: 'r', httpMethod: 'ANY', resourcePath: '/admin/reload', identity: signedIdentity } }],
    ['a request context claiming another resource', { requestContext: { requestId: 'r', httpMethod: 'POST', resourcePath: '/{proxy+}', identity: signedIdentity } }],
    ['the public catch-all, signed', { resource: '/{proxy+}', path: '/admin/reload/' }],
  ])('refuses POST with %s: 403 naming the reason, logged, no reload', async (_name, overrides) => {
    const { handle, reload, log } = setup();
    const res = await handle(reloadEvent(overrides as Parameters<typeof reloadEvent>[0]));
    expect(res.statusCode).toBe(403);
    const body = JSON.parse(res.body);
    expect(body.error.code).toBe('FORBIDDEN');
    expect(body.error.message).toMatch(/IAM|SigV4/);
    expect(reload).not.toHaveBeenCalled();
    expect(log.warn).toHaveBeenCalledWith('refused an IAM-only route', expect.objectContaining({ route: 'adminReload', reason: expect.any(String) }));
  });

  it('the reload implementation itself refuses a request without a verified caller (wired any other way)', async () => {
    const { reload } = setup();
    const store = { get: async () => undefined, health: () => ({}), reload } as unknown as ModelStore;
    const api = new ReadApi(store, { realtime: async () => undefined, exact: async () => undefined }, { freshEventsTimeoutMs: 50 });
    const request = { method: 'POST', path: '/admin/reload', params: {}, query: {}, headers: {}, body: undefined, requestId: 'r' };
    await expect(api.routes().adminReload!(request)).rejects.toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(reload).not.toHaveBeenCalled();
    expect((await api.routes().adminReload!({ ...request, caller: 'arn:aws:iam::1:user/ops' })).statusCode).toBe(200);
  });
});
