import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { rawRequest } from '../serving/support';

/**
 * The local server serves the catalogue routes from the catalog function, with the catalogue table it creates
 * on its own emulators, and gives them the IAM routes' local authentication: the admin token, from this machine.
 */
let api: RunningApiServer;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  // No endpoint overrides: the server starts its own emulators and creates every resource, the catalogue too.
  for (const k of Object.keys(process.env)) {
    if (k.startsWith('AWS_ENDPOINT_URL') || k === 'CATALOG_TABLE') {
      saved.set(k, process.env[k]);
      delete process.env[k];
    }
  }
  api = await startApiServer({ port: 0, env: { MODEL_REFRESH_SECONDS: '3600' }, log: { warn: () => undefined } });
});
afterAll(async () => {
  await api?.stop();
  for (const [k, v] of saved) if (v !== undefined) process.env[k] = v;
});

function send(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return rawRequest(api.url, { method, path, headers: [...Object.entries(headers), ['Content-Length', String(body ? Buffer.byteLength(body) : 0)]], ...(body !== undefined ? { body } : {}) });
}
const token = () => ({ 'X-Local-Admin-Token': api.adminToken });
const json = { 'Content-Type': 'application/json' };
const body = (itemId: string) => JSON.stringify({ items: [{ itemId, title: 't', categories: ['c'] }] });

describe('the catalogue routes on the local server', () => {
  it('creates the catalogue table (recsys-catalog) on its emulators and sets CATALOG_TABLE', async () => {
    expect(process.env.CATALOG_TABLE).toBe('recsys-catalog');
    const res = await send('PUT', '/items', { ...token(), ...json }, body('local-1'));
    expect(res.status).toBe(200);
    const ddb = createDynamoDocumentClient();
    try {
      const ids: string[] = [];
      for await (const r of new DynamoCatalog(ddb, 'recsys-catalog').scanAll()) ids.push(r.itemId);
      expect(ids).toContain('local-1');
    } finally {
      ddb.destroy();
    }
    const del = await send('DELETE', '/items/local-1', token());
    expect(del).toMatchObject({ status: 200, json: { itemId: 'local-1', withdrawn: true } });
  });

  it.each([
    ['no token', {}],
    ['a wrong token', { 'X-Local-Admin-Token': 'not-the-token' }],
    ['an empty token', { 'X-Local-Admin-Token': '' }],
    ['a SigV4-looking header without the token', { Authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=00' }],
  ])('refuses PUT /items and DELETE /items/{itemId} with %s (403, as API Gateway refuses an unsigned call)', async (_name, headers) => {
    const put = await send('PUT', '/items', { ...headers, ...json }, body('anon-1'));
    expect(put.status).toBe(403);
    expect(put.json.error.code).toBe('FORBIDDEN');
    const del = await send('DELETE', '/items/anon-1', headers);
    expect(del.status).toBe(403);
  });

  it('refuses a cross-site page even when it carries the token, and a form post', async () => {
    const cross = await send('PUT', '/items', { ...token(), ...json, Origin: 'https://evil.example' }, body('x-1'));
    expect(cross).toMatchObject({ status: 403, json: { error: { code: 'CROSS_SITE_REQUEST_REFUSED' } } });
    const del = await send('DELETE', '/items/x-1', { ...token(), 'Sec-Fetch-Site': 'cross-site' });
    expect(del.status).toBe(403);
    const form = await send('PUT', '/items', { ...token(), 'Content-Type': 'text/plain' }, body('x-1'));
    expect(form.status).toBe(415);
  });

  it('answers CORS preflights naming PUT and DELETE, and 405 for another method on /items', async () => {
    const pre = await fetch(`${api.url}/items`, { method: 'OPTIONS' });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-methods')).toContain('PUT');
    expect(pre.headers.get('access-control-allow-methods')).toContain('DELETE');
    const patch = await send('PATCH', '/items', { ...token(), ...json }, '{}');
    expect(patch.status).toBe(405);
  });
});
