import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { startTestAws, type TestAws } from '../support/aws-env';

/** Requests an attacker or a broken client would send: each must get a clear 4xx, never a 5xx. */
let aws: TestAws;
let api: RunningApiServer;

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-hostile-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  api = await startApiServer({ port: 0 });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
});

const json = { 'Content-Type': 'application/json' };
const huge = 'x'.repeat(2 * 1024 * 1024);
const cases: [string, string, RequestInit?][] = [
  ['path traversal in a user id', '/recommend/..%2F..%2Fetc%2Fpasswd'],
  ['dot-dot segment', '/recommend/..'],
  ['encoded dot-dot', '/recommend/%2e%2e'],
  ['backslash traversal', '/users/..%5C..%5Cwindows/features'],
  ['null byte', '/recommend/u1%00'],
  ['unicode id', '/recommend/%E2%98%83%F0%9F%98%80'],
  ['id over 128 characters', `/recommend/${'a'.repeat(129)}`],
  ['huge k', '/recommend/u1?k=99999999999999999999'],
  ['negative k', '/recommend/u1?k=-1'],
  ['k not a number', '/items/popular?k=ten'],
  ['k with exponent', '/items/popular?k=1e3'],
  ['similar of a traversal id', '/items/..%2Fmodels%2Fproduction.json/similar'],
  ['wrong method on recommend', '/recommend/u1', { method: 'POST' }],
  ['wrong method on events', '/events', { method: 'GET' }],
  ['unknown route', '/../../etc/passwd'],
  ['malformed JSON body', '/events', { method: 'POST', headers: json, body: '{"events": [{' }],
  ['JSON that is not an event', '/events', { method: 'POST', headers: json, body: '"hello"' }],
  ['wrong content type', '/events', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: 'hello' }],
  ['oversized body', '/events', { method: 'POST', headers: json, body: JSON.stringify({ events: [{ eventId: huge }] }) }],
  ['too many events', '/events', { method: 'POST', headers: json, body: JSON.stringify({ events: Array.from({ length: 501 }, (_, i) => ({ eventId: `e${i}` })) }) }],
  ['events with prototype pollution keys', '/events', { method: 'POST', headers: json, body: '{"__proto__":{"admin":true},"events":[{"constructor":{"prototype":{}}}]}' }],
  ['analytics window in years', '/analytics/realtime?window=9999d'],
  ['analytics trends over centuries by the minute', '/analytics/trends?from=1990-01-01T00:00:00Z&granularity=minute'],
];

describe('the API under hostile input', () => {
  it.each(cases)('answers %s with a clear 4xx', async (_name, path, init) => {
    const res = await fetch(`${api.url}${path}`, init);
    const body = (await res.json()) as { error?: { code?: string; message?: string } };
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(body.error?.code).toMatch(/^[A-Z_]+$/);
    expect(body.error?.message?.length).toBeGreaterThan(5);
  });

  it('keeps working for normal requests afterwards', async () => {
    const res = await fetch(`${api.url}/health`);
    expect(res.status).toBe(200);
  });
});
