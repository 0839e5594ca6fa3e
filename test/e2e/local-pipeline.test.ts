import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import type { LocalPipeline } from '../../src/local/pipeline';
import { startTestPipeline, type TestPipeline } from '../support/pipeline';

/** Debian's chromium (CI installs it, see .ci/run); CHROMIUM_PATH points elsewhere. */
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const options = { events: 8000, users: 300, items: 200, seed: 3 };

let running: TestPipeline;
let pipeline: LocalPipeline;
const saved = { ...process.env };

beforeAll(async () => {
  running = await startTestPipeline(options);
  pipeline = running.pipeline;
}, 240_000);

afterAll(async () => {
  await running?.stop();
  process.env = saved;
});

const getJson = async <T>(path: string): Promise<{ status: number; body: T }> => {
  const res = await fetch(`${pipeline.apiUrl}${path}`);
  return { status: res.status, body: (await res.json()) as T };
};

describe('npm start: the whole pipeline on one machine', () => {
  const events: UserEvent[] = [...generateTasteEvents(options)].map((e) => {
    const r = parseEvent(e);
    if (!r.ok) throw new Error(r.message);
    return r.event;
  });

  it('lands every event produced in Bronze exactly once', async () => {
    const status = await pipeline.status();
    expect(status.events.produced).toBe(events.length);
    expect(status.events.consumed).toBe(events.length);
    expect(status.lake.bronzeRecords).toBe(events.length);
    expect(status.lake.quarantineObjects).toBe(0);
    expect(status.events.sentToDlq).toBe(0);
  });

  it('keeps features equal to the events', async () => {
    for (const userId of ['u1', 'u2', 'u3']) {
      const mine = events.filter((e) => e.userId === userId);
      const { status, body } = await getJson<{ realtime: { counts: Record<string, number>; ratingCount: number } }>(`/users/${userId}/features`);
      expect(status).toBe(200);
      for (const type of ['view', 'click', 'add_to_cart', 'purchase', 'rating']) expect(body.realtime.counts[type]).toBe(mine.filter((e) => e.type === type).length);
    }
    const status = await pipeline.status();
    expect(status.features.users).toBe(new Set(events.map((e) => e.userId)).size);
    expect(status.features.items).toBe(new Set(events.map((e) => e.itemId)).size);
  });

  it('trains, evaluates and deploys a model that beats popularity, and the API serves it', async () => {
    const status = await pipeline.status();
    const run = status.retraining[0]!;
    expect(run.status).toBe('SUCCEEDED');
    expect(run.steps.map((s) => s.state)).toEqual(expect.arrayContaining(['ValidateData', 'ExtractFeatures', 'TrainModel', 'EvaluateModel', 'DeployModel', 'ReloadApi']));
    expect(status.model.version).toBe(run.deployedVersion);
    const m = run.metrics as { candidate: { ndcg: number }; popularity: { ndcg: number } };
    expect(m.candidate.ndcg).toBeGreaterThan(m.popularity.ndcg);
    const health = await getJson<{ modelVersion: string }>('/health');
    expect(health.body.modelVersion).toBe(status.model.version);
  });

  it('recommends personally for a known user and popular items for an unknown one, with titles', async () => {
    // The example user the start-up summary and the page suggest is one the served model knows.
    const userId = (await pipeline.status()).model.exampleUser!;
    expect(new Set(events.map((e) => e.userId)).has(userId)).toBe(true);
    const known = await getJson<{ strategy: string; items: { itemId: string; title?: string }[] }>(`/recommend/${userId}?k=5`);
    expect(known.body.strategy).toBe('personalized');
    expect(known.body.items).toHaveLength(5);
    expect(known.body.items.every((i) => typeof i.title === 'string' && i.title.length > 0)).toBe(true);
    const seen = new Set(events.filter((e) => e.userId === userId).map((e) => e.itemId));
    expect(known.body.items.some((i) => seen.has(i.itemId))).toBe(false);
    const unknown = await getJson<{ strategy: string; items: unknown[] }>('/recommend/nobody-knows-me?k=5');
    expect(unknown.body).toMatchObject({ strategy: 'popular' });
    expect(unknown.body.items).toHaveLength(5);
  });

  it.skipIf(!existsSync(chromiumPath))('shows the pipeline and recommendations on the page in headless Chromium', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${pipeline.apiUrl}/`);
      await page.waitForFunction("document.getElementById('phase')?.textContent === 'serving'");
      await page.waitForFunction("document.getElementById('version')?.textContent?.startsWith('v')");
      expect(await page.textContent('#bronzeRecords')).toBe(events.length.toLocaleString('en-US'));
      const exampleUser = (await pipeline.status()).model.exampleUser!;
      await page.waitForFunction(`document.getElementById('userId')?.placeholder?.endsWith(${JSON.stringify(exampleUser)})`);
      await page.fill('#userId', exampleUser);
      await page.click('#recForm button');
      await page.waitForSelector('#recs li b');
      const titles = await page.$$eval('#recs li b', (els) => els.map((e) => e.textContent ?? ''));
      expect(titles).toHaveLength(10);
      expect(titles.every((t) => t.length > 0 && !/^i\d+$/.test(t))).toBe(true);
      expect(await page.textContent('#recMeta')).toContain('personalized');
      await page.waitForSelector('#steps tbody tr');
      expect(await page.$$eval('#steps tbody tr', (rows) => rows.length)).toBeGreaterThanOrEqual(7);

      // The shop's rules on the page: put two unseen items on sale and add a new item like the user's history,
      // then ask with the project's rules.json promotion (sale: 20 % of the slots).
      const seen = events.filter((e) => e.userId === exampleUser).map((e) => e.itemId);
      const unseen = (await getJson<{ items: { itemId: string }[] }>(`/recommend/${exampleUser}?k=30`)).body.items.map((i) => i.itemId).slice(10, 12);
      const items = [
        ...unseen.map((itemId) => ({ itemId, title: `Sale ${itemId}`, categories: ['gadgets'], attributes: { onSale: true } })),
        ...[...new Set(seen)].map((itemId) => ({ itemId, title: `Seen ${itemId}`, categories: ['gadgets'] })),
        { itemId: 'page-new', title: 'Page new gadget', categories: ['gadgets'], createdAt: new Date().toISOString() },
      ];
      const put = await fetch(`${pipeline.apiUrl}/items`, { method: 'PUT', body: JSON.stringify({ items }), headers: { 'Content-Type': 'application/json', 'X-Local-Admin-Token': pipeline.adminToken! } });
      expect(put.status).toBe(200);
      await new Promise((r) => setTimeout(r, 2_500)); // the catalogue refresh bound's 2 s interval
      await page.reload();
      await page.waitForFunction("[...document.querySelectorAll('#promotion option')].some((o) => o.value === 'sale')");
      await page.fill('#userId', exampleUser);
      await page.selectOption('#promotion', 'sale');
      await page.click('#recForm button');
      await page.waitForSelector('#recs li[data-promoted]');
      const promoted = await page.$$eval('#recs li', (els) => els.flatMap((e, i) => (e.hasAttribute('data-promoted') ? [[i, e.getAttribute('data-item')]] : [])));
      expect(promoted.map(([i]) => i)).toEqual([2, 7]);
      expect(promoted.map(([, id]) => id).sort()).toEqual([...unseen].sort());
      expect(await page.$$eval('#recs li[data-reason="new"]', (els) => els.map((e) => e.getAttribute('data-item')))).toEqual(['page-new']);
      expect(await page.textContent('#recs')).toContain('because you liked');
      if (process.env.E2E_SCREENSHOT) await page.screenshot({ path: process.env.E2E_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
