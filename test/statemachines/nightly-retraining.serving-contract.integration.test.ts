import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRetrainingLocally } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { startTestAws, type TestAws } from '../support/aws-env';
import { fillLakeThroughConsumer } from '../retraining/support';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  for (const k of ['API_BASE_URL', 'MODEL_REFRESH_SECONDS', 'RELOAD_MARGIN_SECONDS', 'RELOAD_POLL_INTERVAL_MS']) delete process.env[k];
  await aws?.stop();
});

describe('ReloadApi against the real serving code (contract: GET /health reports modelVersion)', () => {
  it('confirms the version the local API serves after it re-reads production.json', async () => {
    Object.assign(process.env, { MODEL_REFRESH_SECONDS: '1', RELOAD_MARGIN_SECONDS: '10', RELOAD_POLL_INTERVAL_MS: '100' });
    const { startApiServer } = await import('../../src/local/api-server');
    const api = await startApiServer({ port: 0 });
    try {
      const before = (await (await fetch(`${api.url}/health`)).json()) as { modelVersion: string | null };
      expect(before.modelVersion).toBeNull();
      await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 1500, users: 80, items: 60, seed: 9 })]);
      process.env.API_BASE_URL = api.url;

      const run = await runRetrainingLocally({ date: new Date().toISOString().slice(0, 10) }, { retryIntervalMs: 1, executionName: 'contract' });
      expect(run.error).toBeNull();
      const out = run.output as { training: { version: string }; reload: { skipped: boolean; confirmedVersion: string } };
      expect(out.reload).toMatchObject({ skipped: false, confirmedVersion: out.training.version });
      const after = (await (await fetch(`${api.url}/health`)).json()) as { modelVersion: string | null };
      expect(after.modelVersion).toBe(out.training.version);
    } finally {
      await api.stop();
    }
  });
});
