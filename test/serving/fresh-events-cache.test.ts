import { describe, expect, it } from 'vitest';
import type { RecentInteraction } from '../../src/domain/features';
import { FreshEventsCache } from '../../src/serving/fresh-events-cache';

function counting(answers: Record<string, RecentInteraction[]> = {}) {
  const calls: string[] = [];
  let fail = false;
  const load = async (userId: string) => {
    calls.push(userId);
    await new Promise((r) => setTimeout(r, 5));
    if (fail) throw new Error('DynamoDB unavailable');
    return answers[userId] ?? [{ itemId: `seen-by-${userId}-${calls.length}`, type: 'view' as const, timestamp: '2026-01-01T00:00:00.000Z' }];
  };
  return { calls, load, failNext: (f: boolean) => (fail = f) };
}

describe('fresh events micro-cache', () => {
  it('reuses a read within the TTL, reads again after it', async () => {
    const src = counting();
    const clock = { now: 0 };
    const cache = new FreshEventsCache(src.load, { ttlMs: 1000, now: () => clock.now });
    const first = await cache.get('u1');
    clock.now = 999;
    expect(await cache.get('u1')).toBe(first);
    clock.now = 1000;
    expect(await cache.get('u1')).not.toBe(first);
    expect(src.calls).toEqual(['u1', 'u1']);
  });

  it('shares one in-flight read between concurrent requests of a user, never across users', async () => {
    const src = counting();
    const cache = new FreshEventsCache(src.load, { ttlMs: 1000 });
    await Promise.all([cache.get('a'), cache.get('a'), cache.get('b'), cache.get('a')]);
    expect(src.calls.sort()).toEqual(['a', 'b']);
  });

  it('does not cache failures, and with TTL 0 reads every time', async () => {
    const src = counting();
    const cache = new FreshEventsCache(src.load, { ttlMs: 1000 });
    src.failNext(true);
    await expect(cache.get('u')).rejects.toThrow(/unavailable/);
    src.failNext(false);
    await expect(cache.get('u')).resolves.toHaveLength(1);

    const uncached = counting();
    const none = new FreshEventsCache(uncached.load, { ttlMs: 0 });
    await none.get('u');
    await none.get('u');
    expect(uncached.calls).toHaveLength(2);
  });

  it('keeps at most maxUsers users', async () => {
    const src = counting();
    const cache = new FreshEventsCache(src.load, { ttlMs: 60_000, maxUsers: 2 });
    for (const u of ['a', 'b', 'c']) await cache.get(u);
    await cache.get('c');
    await cache.get('a');
    expect(src.calls).toEqual(['a', 'b', 'c', 'a']);
  });
});
