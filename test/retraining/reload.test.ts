import { describe, expect, it } from 'vitest';
import { confirmReload, type ReloadOptions } from '../../src/retraining/reload';
import { startHealthServer } from './support';

const base: Omit<ReloadOptions, 'apiBaseUrl' | 'version'> = {
  refreshSeconds: 0,
  marginSeconds: 2,
  pollIntervalMs: 5,
  parallelRequests: 4,
  consecutiveAnswers: 8,
  requestTimeoutMs: 1000,
};

describe('confirmReload', () => {
  it('skips, with the reason, when no API is configured', async () => {
    await expect(confirmReload({ ...base, apiBaseUrl: undefined, version: 'v2' })).resolves.toMatchObject({ skipped: true, reason: 'API_BASE_URL is not configured: no API to confirm' });
  });

  it('waits until N answers in a row report the version, across instances that refresh at different times', async () => {
    // Four instances answer in turn; instance k serves v2 only from its (5k+1)-th answer on.
    const api = await startHealthServer((n) => ((n - 1) % 4) * 5 + 4 < n ? 'v2' : 'v1');
    try {
      const result = await confirmReload({ ...base, apiBaseUrl: api.url, version: 'v2' });
      expect(result).toMatchObject({ skipped: false, confirmedVersion: 'v2', failedRequests: 0 });
      expect(result.staleAnswers).toBeGreaterThan(0);
      expect(result.answers).toBeGreaterThanOrEqual(8 + result.staleAnswers);
    } finally {
      await api.close();
    }
  });

  it('is not fooled by one instance that reloaded while others still serve the old version', async () => {
    const api = await startHealthServer((n) => (n % 4 === 0 ? 'v2' : 'v1'));
    try {
      await expect(confirmReload({ ...base, marginSeconds: 0.2, apiBaseUrl: api.url, version: 'v2' })).rejects.toMatchObject({
        name: 'ReloadNotConfirmedError',
        message: expect.stringMatching(/did not report v2 in 8 consecutive answers within 0\.2s .*versions seen: v1 ×\d+, v2 ×\d+/),
      });
    } finally {
      await api.close();
    }
  });

  it('counts unreachable instances as failures and gives up at the bound', async () => {
    await expect(confirmReload({ ...base, marginSeconds: 0.1, requestTimeoutMs: 100, apiBaseUrl: 'http://127.0.0.1:9/prod', version: 'v2' })).rejects.toMatchObject({
      name: 'ReloadNotConfirmedError',
      message: expect.stringContaining('0 answers'),
    });
  });
});
