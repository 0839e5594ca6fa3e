import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { parquetMetadata } from 'hyparquet';
import { createHash } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { ERASURE_DONE_PREFIX, ERASURE_REQUESTS_PREFIX, PRODUCTION_POINTER_KEY, SILVER_INTERACTIONS_PREFIX } from '../../src/domain/lake-layout';
import { parseProductionPointer } from '../../src/domain/model-registry';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { runRetrainingLocally, type LocalRunResult } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { readParquet } from '../../src/retraining/parquet';
import { startTestAws, type TestAws } from '../support/aws-env';
import { callApi } from '../support/http';
import { fillLakeThroughConsumer, lakeOf } from './support';

/**
 * The done-when test of user erasure: events of many users through the real ingest path (Kinesis, the consumer)
 * into s3rver and dynalite, a nightly retraining (the ASL run locally), `DELETE /admin/users/{userId}` through the
 * admin handler, then the nightly runs that erase the lake and replace production, after which no lake object and
 * no kept model mentions the user while every other user is still there.
 */
let aws: TestAws;
let api: RunningApiServer;
const TARGET = 'erasure-target-7';
// Shares the target's id as a prefix: must survive everything.
const NEIGHBOUR = 'erasure-target-77';
const today = () => new Date().toISOString().slice(0, 10);
const mentionsTarget = (text: string) => /erasure-target-7(?![0-9A-Za-z])/.test(text);

beforeAll(async () => {
  aws = await startTestAws();
  // The candidate trained without one user is about as good as production: deploy it.
  process.env.DEPLOY_TOLERANCE = '0.5';
  api = await startApiServer({ port: 0, env: { CORS_ALLOW_ORIGIN: '*' } });
});
afterAll(async () => {
  delete process.env.DEPLOY_TOLERANCE;
  await api?.stop();
  await aws?.stop();
});

let runs = 0;
const retrain = (): Promise<LocalRunResult> => runRetrainingLocally({ date: today() }, { retryIntervalMs: 1, executionName: `erasure-run-${++runs}` });

/** Every object of the lake as the text a reader could find the id in: raw, Parquet rows, gunzipped, base64 decoded. */
async function lakeTexts(): Promise<Map<string, string>> {
  const lake = lakeOf(aws);
  const out = new Map<string, string>();
  for (const key of await lake.listKeys('')) {
    const bytes = (await lake.getBytes(key))!;
    const json = (v: unknown) => JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? String(x) : x instanceof Uint8Array ? Buffer.from(x).toString('latin1') : x));
    // Parquet pages are Snappy-compressed: their raw bytes can hold a neighbour's id cut short by a back-reference
    // (`erasure-target-7` + "copy one 7"), so a Parquet file is read decoded: every row, and the footer (statistics).
    const parts = key.endsWith('.parquet')
      ? [json(await readParquet(bytes)), json(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer))]
      : [Buffer.from(bytes).toString('latin1'), Buffer.from(bytes).toString('utf8')];
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) parts.push(gunzipSync(bytes).toString('utf8'));
    for (const line of Buffer.from(bytes).toString('utf8').split('\n')) {
      const b64 = /"dataBase64":"([^"]*)"/.exec(line)?.[1];
      if (b64) parts.push(Buffer.from(b64, 'base64').toString('utf8'));
    }
    out.set(key, parts.join('\n'));
  }
  return out;
}

async function silverUsers(): Promise<Map<string, number>> {
  const lake = lakeOf(aws);
  const users = new Map<string, number>();
  for (const key of (await lake.listKeys(SILVER_INTERACTIONS_PREFIX)).filter((k) => k.endsWith('.parquet'))) {
    for (const r of await readParquet((await lake.getBytes(key))!)) users.set(String(r.user_id), (users.get(String(r.user_id)) ?? 0) + 1);
  }
  return users;
}

async function modelUsers(version: string): Promise<string[]> {
  const manifest = JSON.parse((await lakeOf(aws).getText(`models/${version}/manifest.json`))!) as { payload: { sections: { name: string; offset: number; bytes: number }[] } };
  const section = manifest.payload.sections.find((s) => s.name === 'userIds')!;
  const payload = (await lakeOf(aws).getBytes(`models/${version}/model.bin`))!;
  return Buffer.from(payload.subarray(section.offset, section.offset + section.bytes)).toString('utf8').split('\n');
}

const featurePks = async () => new Set(((await aws.ddb.send(new ScanCommand({ TableName: aws.names.featuresTable, ConsistentRead: true }))).Items ?? []).map((i) => String(i.pk)));
const production = async () => parseProductionPointer((await lakeOf(aws).getText(PRODUCTION_POINTER_KEY))!).version;

describe('erasure of a user, end to end', () => {
  it('after the request and the nightly runs, no lake object and no kept model mentions the user; everyone else is intact', async () => {
    // 100 users with tastes; two of them renamed to the target and its prefix-sharing neighbour.
    const base = [...generateTasteEvents({ events: 2000, users: 100, items: 80, seed: 3 })];
    const [first, second] = [...new Set(base.map((e) => String(e.userId)))];
    const events = base.map((e) => (e.userId === first ? { ...e, userId: TARGET } : e.userId === second ? { ...e, userId: NEIGHBOUR } : e));
    const targetEvents = events.filter((e) => e.userId === TARGET).length;
    expect(targetEvents).toBeGreaterThan(0);
    // Quarantined records of both: one not UTF-8 (kept base64-encoded), one that breaks the contract (kept as text).
    const garbage = (user: string) => Buffer.concat([Buffer.from(`{"eventId":"bad-${user}","userId":"${user}","type":"view","itemId":"i1"`, 'utf8'), Buffer.from([0xff, 0xfe, 0x00])]);
    const invalid = (user: string) => ({ eventId: `invalid-${user}`, userId: user, type: 'teleport', itemId: 'i1', timestamp: new Date().toISOString() });
    await fillLakeThroughConsumer(aws, [...events, garbage(TARGET), garbage(NEIGHBOUR), invalid(TARGET), invalid(NEIGHBOUR)]);

    const run1 = await retrain();
    expect(run1.error).toBeNull();
    expect(run1.path.slice(0, 4)).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData']);
    const v1 = await production();
    expect(await modelUsers(v1)).toContain(TARGET);
    expect((await featurePks()).has(`U#${TARGET}`)).toBe(true);
    const bronzeBefore = new Map<string, string>();
    for (const key of await lakeOf(aws).listKeys('bronze/')) bronzeBefore.set(key, (await lakeOf(aws).getText(key))!);
    expect([...bronzeBefore.values()].some(mentionsTarget)).toBe(true);

    // The request: the user's DynamoDB rows go at once.
    const answer = await callApi(api.url, 'DELETE', `/admin/users/${TARGET}`, { headers: { 'X-Local-Admin-Token': api.adminToken } });
    expect(answer.status).toBe(202);
    expect(answer.json.removedRows.features).toBeGreaterThan(0);
    expect((await featurePks()).has(`U#${TARGET}`)).toBe(false);
    // The user's events still in flight (a new one, and the stream redelivered to a restarted consumer) bring real-time
    // rows back before the nightly run: it removes them again, and the new event's Bronze line.
    await fillLakeThroughConsumer(aws, [{ eventId: 'late-target', type: 'view', userId: TARGET, itemId: String(events[0]!.itemId), timestamp: new Date().toISOString() }]);
    expect((await featurePks()).has(`U#${TARGET}`)).toBe(true);

    // The next run erases the lake before reading it and trains without the user; production still holds it, so the request waits.
    const run2 = await retrain();
    expect(run2.error).toBeNull();
    const erasure2 = (run2.events.find((e) => e.type === 'exited' && e.state === 'EraseUsers') as { output: { erasure: { users: number; done: number; waiting: { reason: string }[]; reportKey: string } } }).output.erasure;
    expect(erasure2).toMatchObject({ users: 1, done: 0, waiting: [{ reason: 'production' }] });
    expect(JSON.parse((await lakeOf(aws).getText(erasure2.reportKey))!)).toMatchObject({ featureRowsRemoved: expect.any(Number), bronze: { linesDropped: targetEvents + 3 } });
    expect(JSON.parse((await lakeOf(aws).getText(erasure2.reportKey))!).featureRowsRemoved).toBeGreaterThan(0);
    const v2 = await production();
    expect(v2).not.toBe(v1);
    expect(await modelUsers(v2)).not.toContain(TARGET);
    expect(await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX)).toHaveLength(1);

    // The run after the deploy deletes the old version and finishes the request.
    const run3 = await retrain();
    expect(run3.error).toBeNull();
    const erasure3 = (run3.events.find((e) => e.type === 'exited' && e.state === 'EraseUsers') as { output: { erasure: { done: number } } }).output.erasure;
    expect(erasure3.done).toBe(1);
    expect(await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX)).toEqual([]);
    expect(await lakeOf(aws).listKeys(ERASURE_DONE_PREFIX)).toEqual([`${ERASURE_DONE_PREFIX}${createHash('sha256').update(TARGET).digest('hex')}.json`]);

    // No trace: every object, every byte, Parquet decoded, gzip inflated, quarantined base64 decoded.
    const texts = await lakeTexts();
    expect([...texts].filter(([, t]) => mentionsTarget(t)).map(([k]) => k)).toEqual([]);
    const versions = [...new Set([...texts.keys()].filter((k) => /^models\/v[^/]+\/model\.bin$/.test(k)).map((k) => k.split('/')[1]!))];
    expect(versions).not.toContain(v1);
    expect(versions.length).toBeGreaterThan(0);
    for (const v of versions) expect(await modelUsers(v)).not.toContain(TARGET);
    expect((await featurePks()).has(`U#${TARGET}`)).toBe(false);

    // Everyone else is still there: every Silver row, the neighbour's quarantined records, the model's users, the features.
    const users = await silverUsers();
    expect(users.has(TARGET)).toBe(false);
    expect([...users.values()].reduce((a, b) => a + b, 0)).toBe(events.length - targetEvents);
    expect(users.get(NEIGHBOUR)).toBe(events.filter((e) => e.userId === NEIGHBOUR).length);
    expect(await modelUsers(await production())).toContain(NEIGHBOUR);
    expect((await featurePks()).has(`U#${NEIGHBOUR}`)).toBe(true);
    const neighbourQuarantine = [...texts].filter(([k, t]) => k.startsWith('bronze/_quarantine/') && t.includes(`"${NEIGHBOUR}"`));
    expect(neighbourQuarantine.length).toBeGreaterThan(0);
    // Bronze: each object is what it was minus the target's lines, byte for byte.
    for (const [key, before] of bronzeBefore) {
      const after = (await lakeOf(aws).getText(key)) ?? '';
      const kept = before.split('\n').filter((l) => !mentionsTarget(l) && !(l.includes('dataBase64') && mentionsTarget(Buffer.from(/"dataBase64":"([^"]*)"/.exec(l)?.[1] ?? '', 'base64').toString('utf8'))));
      expect(after).toBe(kept.join('\n'));
    }
    // Nothing the runs logged to their state names the user.
    for (const run of [run1, run2, run3]) expect(mentionsTarget(JSON.stringify(run.events))).toBe(false);
  });

  it('a failing EraseUsers takes the failure path before anything reads the lake, and the request stays pending', async () => {
    await callApi(api.url, 'DELETE', '/admin/users/someone-else', { headers: { 'X-Local-Admin-Token': api.adminToken } });
    const pending = await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX);
    expect(pending.length).toBeGreaterThan(0);
    const run = await runRetrainingLocally({ date: today() }, { retryIntervalMs: 1, executionName: `erasure-run-${++runs}`, handlers: { EraseUsers: async () => Promise.reject(new Error('lake unreachable')) } });
    expect(run.status).toBe('FAILED');
    expect(run.path).toEqual(['EraseUsers', 'NotifyFailure', 'RecordFailure', 'RunFailed']);
    expect(await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX)).toEqual(pending);
  });
});
