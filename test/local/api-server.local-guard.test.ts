import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deploy, rawRequest, trainSmallModel, versionFor } from '../serving/support';

/**
 * The local server runs on the user's machine, where every web page they visit can make the browser send
 * "simple" requests to http://localhost:3000 (form posts, `fetch(..., { mode: 'no-cors' })`) with no CORS
 * check. Every state-changing route must refuse them, and still serve its own page, curl and scripts.
 */
let aws: TestAws;
let api: RunningApiServer;
let retrains = 0;
/** An origin a developer listed in CORS_ALLOW_ORIGIN (e.g. a shop front-end on another port). */
const listedOrigin = 'http://shop.localhost:5173';

beforeAll(async () => {
  aws = await startTestAws();
  await deploy(aws, trainSmallModel(1), versionFor(1));
  api = await startApiServer({
    port: 0,
    env: { MODEL_REFRESH_SECONDS: '3600', CORS_ALLOW_ORIGIN: listedOrigin },
    log: { warn: () => undefined },
    // Stands in for `npm start`'s POST /local/retrain (src/local/pipeline-status.ts).
    localRoutes: async (req, res, url) => {
      if (req.method !== 'POST' || url.pathname !== '/local/retrain') return false;
      retrains += 1;
      res.writeHead(202, { 'Content-Type': 'application/json' });
      res.end('{"started":true}');
      return true;
    },
  });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

/** Byte-exact requests: fetch would add or refuse some of these headers. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; json: any }> {
  const length = String(body !== undefined ? Buffer.byteLength(body) : 0);
  return rawRequest(api.url, { method, path, headers: [...Object.entries(headers), ['Content-Length', length]], ...(body !== undefined ? { body } : {}) });
}

let eventNo = 0;
const eventBody = () => JSON.stringify({ eventId: `guard-${process.pid}-${++eventNo}`, type: 'view', userId: 'guard-user', itemId: 'i1', timestamp: new Date().toISOString() });
const own = () => `http://localhost:${api.port}`;
const adminHeader = () => ({ 'X-Local-Admin-Token': api.adminToken });

/** The three state-changing routes, with what a legitimate caller sends besides the checked headers. */
const routes: { name: string; path: string; body: () => string | undefined; extra: () => Record<string, string> }[] = [
  { name: 'POST /events', path: '/events', body: eventBody, extra: () => ({}) },
  { name: 'POST /local/retrain', path: '/local/retrain', body: () => undefined, extra: () => ({}) },
  { name: 'POST /admin/reload', path: '/admin/reload', body: () => undefined, extra: adminHeader },
];

/** Cross-site requests a page on another site can make the browser send, or that carry no JSON type. */
const hostile: { name: string; status: number; headers: () => Record<string, string>; body: (route: (typeof routes)[number]) => string | undefined }[] = [
  { name: 'a text/plain body (form or no-cors fetch)', status: 415, headers: () => ({ 'Content-Type': 'text/plain' }), body: (r) => r.body() ?? '{}' },
  { name: 'a form post', status: 415, headers: () => ({ 'Content-Type': 'application/x-www-form-urlencoded' }), body: () => 'a=1' },
  { name: 'an empty form post', status: 415, headers: () => ({ 'Content-Type': 'multipart/form-data; boundary=x' }), body: () => '' },
  { name: 'a body without a content type', status: 415, headers: () => ({}), body: (r) => r.body() ?? '{}' },
  { name: 'a foreign Origin with JSON', status: 403, headers: () => ({ Origin: 'https://evil.example', 'Content-Type': 'application/json' }), body: (r) => r.body() },
  { name: 'a foreign Origin on the same host name, other port', status: 403, headers: () => ({ Origin: 'http://localhost:1', 'Content-Type': 'application/json' }), body: (r) => r.body() },
  { name: 'a DNS-rebinding Origin', status: 403, headers: () => ({ Origin: `http://attacker.example:${api.port}`, Host: `attacker.example:${api.port}`, 'Content-Type': 'application/json' }), body: (r) => r.body() },
  { name: 'Origin: null (sandboxed page, file://)', status: 403, headers: () => ({ Origin: 'null', 'Content-Type': 'application/json' }), body: (r) => r.body() },
  { name: 'a foreign Origin with no body (no-cors fetch)', status: 403, headers: () => ({ Origin: 'https://evil.example' }), body: () => undefined },
  { name: 'Sec-Fetch-Site: cross-site', status: 403, headers: () => ({ 'Sec-Fetch-Site': 'cross-site', 'Content-Type': 'application/json' }), body: (r) => r.body() },
];

describe('state-changing routes of the local server', () => {
  for (const route of routes) {
    it.each(hostile)(`${route.name} refuses %s and has no effect`, async (c) => {
      const reload = vi.spyOn(api.modelStore(), 'reload');
      const before = retrains;
      try {
        const res = await send('POST', route.path, { ...route.extra(), ...c.headers() }, c.body(route));
        expect(res.status).toBe(c.status);
        expect(res.json.error.code).toBe(c.status === 403 ? 'CROSS_SITE_REQUEST_REFUSED' : 'UNSUPPORTED_MEDIA_TYPE');
        expect(res.json.error.message.length).toBeGreaterThan(20);
        expect(retrains).toBe(before);
        expect(reload).not.toHaveBeenCalled();
      } finally {
        reload.mockRestore();
      }
    });
  }

  it("accepts the local page's requests (same origin, on localhost or 127.0.0.1) and the CLI's (no Origin, JSON)", async () => {
    const before = retrains;
    // The page: fetch('/local/retrain', { method: 'POST' }) sends its Origin and Sec-Fetch-Site, no body.
    expect((await send('POST', '/local/retrain', { Origin: own(), 'Sec-Fetch-Site': 'same-origin' })).status).toBe(202);
    expect((await send('POST', '/local/retrain', { Origin: `http://127.0.0.1:${api.port}`, 'Content-Type': 'application/json' }, '{}')).status).toBe(202);
    // curl -X POST …/local/retrain
    expect((await send('POST', '/local/retrain')).status).toBe(202);
    expect(retrains).toBe(before + 3);

    // npm start's examples and scripts post events as JSON without an Origin; the page with its own.
    expect((await send('POST', '/events', { 'Content-Type': 'application/json' }, eventBody())).status).toBe(202);
    expect((await send('POST', '/events', { 'Content-Type': 'application/json; charset=utf-8', Origin: own(), 'Sec-Fetch-Site': 'same-origin' }, eventBody())).status).toBe(202);
    // An origin listed in CORS_ALLOW_ORIGIN may post events (the public API), never use the local or admin routes.
    expect((await send('POST', '/events', { 'Content-Type': 'application/json', Origin: listedOrigin, 'Sec-Fetch-Site': 'same-site' }, eventBody())).status).toBe(202);
    expect((await send('POST', '/local/retrain', { Origin: listedOrigin })).status).toBe(403);
    expect((await send('POST', '/admin/reload', { Origin: listedOrigin, ...adminHeader() })).status).toBe(403);
    expect(retrains).toBe(before + 3);
  });

  it('reload needs the admin token from this machine; without it the read function refuses it as unsigned', async () => {
    const reload = vi.spyOn(api.modelStore(), 'reload');
    try {
      for (const headers of [{}, { 'X-Local-Admin-Token': 'wrong' }, { 'X-Local-Admin-Token': `${api.adminToken}x` }, { Authorization: `Bearer ${api.adminToken}` }] as Record<string, string>[]) {
        const res = await send('POST', '/admin/reload', { 'Content-Type': 'application/json', ...headers }, '');
        expect(res.status).toBe(403);
        expect(res.json.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/no IAM caller/) });
      }
      expect(reload).not.toHaveBeenCalled();
      const ok = await send('POST', '/admin/reload', { Origin: own(), ...adminHeader() });
      expect(ok.status).toBe(200);
      expect(ok.json).toMatchObject({ health: { modelVersion: versionFor(1) } });
      expect((await send('POST', '/admin/reload', { 'Content-Type': 'application/json', ...adminHeader() }, '')).status).toBe(200);
      expect(reload).toHaveBeenCalledTimes(2);
      // The token is the route's credential only: it does not turn another method into a reload.
      expect((await send('PUT', '/admin/reload', { 'Content-Type': 'application/json', ...adminHeader() }, '')).status).toBe(405);
      expect(reload).toHaveBeenCalledTimes(2);
    } finally {
      reload.mockRestore();
    }
  });

  it('read routes are unaffected by Origin (public GETs, CORS as configured)', async () => {
    expect((await send('GET', '/health', { Origin: 'https://evil.example' })).status).toBe(200);
    expect((await send('GET', '/items/popular', { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(200);
  });

  it('no refused request reached the stream: it holds exactly the accepted events', async () => {
    const batches = await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 500);
    const ids = batches.flatMap((b) => b.Records.map((r) => (JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')) as { eventId: string }).eventId));
    expect(ids.sort()).toEqual([`guard-${process.pid}-${eventNo - 2}`, `guard-${process.pid}-${eventNo - 1}`, `guard-${process.pid}-${eventNo}`].sort());
  });
});
