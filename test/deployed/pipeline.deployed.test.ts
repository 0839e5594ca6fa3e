import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTarget, type Target } from './target';

/**
 * The same suite against a stack in AWS, in LocalStack, or the embedded pipeline (see target.ts): it only
 * talks to the public API, as a user of the deployment would.
 */
let target: Target;
const saved = { ...process.env };
const runId = `t${Date.now().toString(36)}`;

beforeAll(async () => {
  target = await resolveTarget();
}, 300_000);
afterAll(async () => {
  await target?.stop();
  process.env = saved;
});

async function call<T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(`${target.apiUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('a deployed pipeline, through its public API', () => {
  it('reports its health and the model it serves', async () => {
    const { status, body } = await call<{ status: string; modelVersion: string | null }>('/health');
    expect(status).toBe(200);
    expect(['ok', 'degraded']).toContain(body.status);
    expect(body).toHaveProperty('modelVersion');
  });

  it('takes events over HTTP, lands them in the features, and refuses the invalid one by name', async () => {
    const user = `${runId}-u`;
    const now = new Date().toISOString();
    const events = [
      { eventId: `${runId}-1`, type: 'view', userId: user, itemId: 'i1', timestamp: now },
      { eventId: `${runId}-2`, type: 'rating', userId: user, itemId: 'i2', rating: 4.5, timestamp: now },
      { eventId: `${runId}-3`, type: 'rating', userId: user, itemId: 'i3', rating: 11, timestamp: now },
    ];
    const posted = await call<{ accepted: number; rejected: number; results: { status: number; error?: { field?: string } }[] }>('/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(posted.status).toBe(207);
    expect(posted.body).toMatchObject({ accepted: 2, rejected: 1 });
    expect(JSON.stringify(posted.body.results[2])).toContain('rating');

    // The consumer runs behind the stream: wait for it (the event source mapping batches for a few seconds).
    const features = await eventually(async () => {
      const r = await call<{ realtime?: { counts: Record<string, number> } }>(`/users/${user}/features`);
      return r.status === 200 && r.body.realtime?.counts.rating === 1 ? r.body.realtime : undefined;
    }, 90_000);
    expect(features.counts).toMatchObject({ view: 1, rating: 1 });
  });

  it('answers a stranger with popular items, and bad input with 4xx, never 5xx', async () => {
    const stranger = await call<{ strategy: string; items: unknown[] }>(`/recommend/${runId}-stranger?k=3`);
    expect(stranger.status).toBe(200);
    expect(stranger.body.strategy).toBe('popular');
    expect((await call('/recommend/u1?k=1000')).status).toBe(400);
    expect((await call('/recommend/..%2F..%2Fetc%2Fpasswd')).status).toBe(400);
    expect((await call('/no/such/route')).status).toBe(404);
    expect((await call('/recommend/u1', { method: 'DELETE' })).status).toBe(405);
    const notJson = await call('/events', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"events": [' });
    expect(notJson.status).toBe(400);
  });

  it('keeps the admin reload route closed to unsigned callers, whether or not the gateway enforces IAM', async () => {
    // API Gateway refuses an unsigned call where IAM is enforced; elsewhere (LocalStack's free tier, the local
    // server) the function itself refuses a request that carries no SigV4 identity.
    for (const method of ['POST', 'post']) {
      const res = await call('/admin/reload', { method });
      expect(res.status).toBe(403);
    }
  });

  it('serves shop analytics for the last minutes', async () => {
    const { status, body } = await call<{ events: number; perMinute: unknown[] }>('/analytics/realtime?window=15m');
    expect(status).toBe(200);
    expect(body.perMinute).toHaveLength(15);
    expect(typeof body.events).toBe('number');
  });
});
