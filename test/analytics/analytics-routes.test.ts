import { describe, expect, it } from 'vitest';
import type { AnalyticsReader } from '../../src/analytics/analytics-reader';
import { analyticsRoutes, parseWindow, popularItemsRoute, realtimeRoute, trendsRoute } from '../../src/analytics/analytics-routes';

/** Records what the routes ask the reader, so parameter handling is tested apart from DynamoDB. */
function recordingReader() {
  const calls: unknown[][] = [];
  const reader = {
    realtime: async (...args: unknown[]) => (calls.push(['realtime', ...args]), { summary: { events: 0 }, perMinute: [] }),
    trends: async (...args: unknown[]) => (calls.push(['trends', ...args]), []),
    popularItems: async (...args: unknown[]) => (calls.push(['popularItems', ...args]), []),
  } as unknown as AnalyticsReader;
  return { reader, calls };
}

describe('analytics routes', () => {
  const now = Date.UTC(2026, 10, 22, 12, 30);

  it('reads durations like 5m, 1h and 7d', () => {
    expect(parseWindow('5m', '1h')).toBe(300_000);
    expect(parseWindow(undefined, '1h')).toBe(3_600_000);
    expect(parseWindow('7d', '1h')).toBe(7 * 86_400_000);
    expect(parseWindow('90d', '1h')).toBe('must be between 1m and 31d');
    expect(parseWindow('soon', '1h')).toBe('must be a duration like 5m, 1h or 7d');
  });

  it('answers 400 naming the parameter at fault', async () => {
    const { reader, calls } = recordingReader();
    expect(await realtimeRoute({ window: 'x' }, reader, now)).toMatchObject({ status: 400, body: { error: { code: 'INVALID_PARAMETER', field: 'window' } } });
    expect(await realtimeRoute({ window: '7d' }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'window' } } });
    expect(await trendsRoute({ granularity: 'week' }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'granularity' } } });
    expect(await trendsRoute({ from: 'yesterday' }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'from' } } });
    expect(await trendsRoute({ from: '2026-11-22T00:00:00Z', to: '2026-11-21T00:00:00Z' }, reader, now)).toMatchObject({ status: 400 });
    expect(await trendsRoute({ from: '2025-01-01T00:00:00Z', granularity: 'minute' }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'granularity' } } });
    expect(await popularItemsRoute({ k: '1000' }, reader, now)).toMatchObject({ status: 400, body: { error: { field: 'k' } } });
    expect(calls).toEqual([]);
  });

  it('passes sensible defaults to the reader', async () => {
    const { reader, calls } = recordingReader();
    expect((await realtimeRoute({}, reader, now)).status).toBe(200);
    expect((await trendsRoute({}, reader, now)).status).toBe(200);
    expect((await popularItemsRoute({ category: 'books' }, reader, now)).status).toBe(200);
    expect(calls).toEqual([
      ['realtime', 300_000, now],
      ['trends', 'hour', now - 24 * 3_600_000, now],
      ['popularItems', 3_600_000, { k: 10, category: 'books', nowMs: now }],
    ]);
  });

  it('answers 404 with a reason where analytics is switched off', async () => {
    const routes = analyticsRoutes(undefined);
    for (const route of Object.values(routes)) {
      expect(await route({ query: {} })).toMatchObject({ status: 404, body: { error: { code: 'ANALYTICS_DISABLED' } } });
    }
  });
});
