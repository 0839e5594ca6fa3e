import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { encodeJson, erasureRequestKey, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { pointerFor } from '../../src/domain/model-registry';
import { newErasureRequest, userIdHash } from '../../src/erasure/request';
import { eraseUsers, eraseUsersStep } from '../../src/retraining/erase-users';
import type { RetrainingDeps } from '../../src/retraining/deps';
import { readParquet, writeParquet, parquetColumns } from '../../src/retraining/parquet';
import { INTERACTION_COLUMNS, USER_FEATURE_COLUMNS, ITEM_FEATURE_COLUMNS } from '../../src/retraining/silver';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from './support';

/** The EraseUsers step on an s3rver lake laid out by hand: what it rewrites, deletes, keeps and reports. */
let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  const keys = await lakeOf(aws).listKeys('');
  if (keys.length > 0) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
});

const NOW = new Date('2026-12-03T02:00:00Z');
const event = (userId: string, n: number) => JSON.stringify({ eventId: `e-${userId}-${n}`, type: 'view', userId, itemId: 'i1', timestamp: '2026-12-01T10:00:00.000Z', _ingest: { shardId: 's0', sequenceNumber: String(n), arrivalTime: '2026-12-01T10:00:01.000Z' } });
const interaction = (userId: string, n: number) => ({ event_id: `e-${userId}-${n}`, event_type: 'view', user_id: userId, item_id: 'i1', event_time_ms: 1_764_583_200_000 + n, arrival_time_ms: 1_764_583_201_000 + n, shard_id: 's0', sequence_number: String(n) });
const userFeature = (userId: string) => ({ user_id: userId, views: 1, clicks: 0, add_to_carts: 0, purchases: 0, ratings: 0, rating_sum: 0, spend: 0, first_seen_ms: 1, last_seen_ms: 2 });

/** A model version whose payload's userIds section holds `users` (the layout src/recommender/serialize.ts writes). */
async function putModel(version: string, users: string[]): Promise<void> {
  const lake = lakeOf(aws);
  const body = new TextEncoder().encode(users.join('\n'));
  const payload = new Uint8Array(8 + body.length);
  payload.set(body, 8);
  await lake.putObject(`models/${version}/model.bin`, payload, 'application/octet-stream');
  await lake.putObject(`models/${version}/manifest.json`, encodeJson({ formatVersion: 1, metadata: {}, payload: { bytes: payload.length, checksum: '', sections: [{ name: 'userIds', type: 'lines', offset: 8, bytes: body.length }] } }), 'application/json');
  await lake.putObject(`models/${version}/training.json`, encodeJson({ version, users: users.length }), 'application/json');
}

async function request(userId: string, at: Date): Promise<string> {
  const { key, request } = newErasureRequest(userId, at, 'arn:aws:iam::1:user/op', { features: 0, analytics: 0 }, `req-${userId}-${at.getTime()}`);
  await lakeOf(aws).putObject(key, encodeJson(request), 'application/json');
  return key;
}

async function layout(): Promise<void> {
  const lake = lakeOf(aws);
  await lake.putObject('bronze/events/dt=2026-12-01/shard=s0/1.jsonl', [event('u1', 1), event('u10', 2), event('u2', 3)].join('\n') + '\n', 'application/x-ndjson');
  await lake.putObject('bronze/events/dt=2026-12-01/shard=s1/1.jsonl', event('u1', 4) + '\n', 'application/x-ndjson');
  await lake.putObject('bronze/events/dt=2026-12-02/shard=s0/5.jsonl', event('u10', 5) + '\n', 'application/x-ndjson');
  await lake.putObject('bronze/_quarantine/dt=2026-12-01/shard=s0/9.jsonl', [JSON.stringify({ reason: 'not UTF-8', dataBase64: Buffer.from('{"userId":"u1"\u00ff').toString('base64') }), JSON.stringify({ reason: 'bad type', data: '{"userId":"u10","type":"x"}' })].join('\n') + '\n', 'application/x-ndjson');
  await lake.putObject('silver/interactions/dt=2026-12-01/arrival_dt=2026-12-01/part-0.parquet', await writeParquet(INTERACTION_COLUMNS, [interaction('u1', 1), interaction('u10', 2)]), 'application/vnd.apache.parquet');
  // The legacy layout and an Athena-named file of the new one.
  await lake.putObject('silver/interactions/dt=2026-11-30/part-2026-11-30.parquet', await writeParquet(INTERACTION_COLUMNS, [interaction('u1', 7)]), 'application/vnd.apache.parquet');
  await lake.putObject('silver/interactions/dt=2026-12-02/arrival_dt=2026-12-02/20261202_abc_00000.parquet', await writeParquet(INTERACTION_COLUMNS, [interaction('u2', 8)]), 'application/vnd.apache.parquet');
  await lake.putObject('silver/user_features/as_of=2026-12-01/part-0.parquet', await writeParquet(USER_FEATURE_COLUMNS, [userFeature('u1'), userFeature('u10')]), 'application/vnd.apache.parquet');
  await lake.putObject('silver/item_features/as_of=2026-12-01/part-0.parquet', await writeParquet(ITEM_FEATURE_COLUMNS, [{ item_id: 'u1', views: 1, clicks: 0, add_to_carts: 0, purchases: 0, ratings: 0, rating_sum: 0, revenue: 0, units_sold: 0, popularity: 1, first_seen_ms: 1, last_seen_ms: 2 }]), 'application/vnd.apache.parquet');
  await lake.putObject('reports/retraining/run-1/run.json', encodeJson({ warnings: ['1 row set aside; e.g. U#u1: too large', 'U#u10 fine'] }), 'application/json');
}

const snapshot = async () => {
  const lake = lakeOf(aws);
  const out: Record<string, string> = {};
  for (const key of (await lake.listKeys('')).sort()) out[key] = Buffer.from((await lake.getBytes(key))!).toString('base64');
  return out;
};
const rowsOf = async (key: string) => (await readParquet((await lakeOf(aws).getBytes(key))!)).map((r) => String(r.user_id));

describe('EraseUsers', () => {
  it('with no request, reads nothing but the requests prefix and writes nothing', async () => {
    await layout();
    const before = await snapshot();
    const result = await eraseUsers('run-0', { lake: lakeOf(aws), retentionDays: 0, now: () => NOW });
    expect(result).toMatchObject({ requests: 0, users: 0, reportKey: null, bronze: { objectsRead: 0 }, silver: { filesRead: 0 } });
    expect(await snapshot()).toEqual(before);
  });

  it("deletes earlier runs' batch outputs, whose raw Bronze lines may name the user outside any user_id column", async () => {
    await layout();
    const lake = lakeOf(aws);
    // An invalid line CheckBronze kept as text (user_id NULL: the line broke the contract).
    const checked = await writeParquet({ line: { type: 'UTF8' }, kind: { type: 'UTF8' }, user_id: { type: 'UTF8', optional: true } }, [{ line: '{"userId":"u1","type":"x"}', kind: 'contract', user_id: null }]);
    await lake.putObject('silver/_batch/run-0/checked_bronze/data_0.parquet', checked, 'application/vnd.apache.parquet');
    await request('u1', new Date('2026-12-02T12:00:00Z'));
    await eraseUsers('run-1', { lake, retentionDays: 0, now: () => NOW });
    expect(await lake.listKeys('silver/_batch/')).toEqual([]);
  });

  it("drops u1's lines and rows everywhere, never u10's, keeps untouched objects byte for byte, and finishes the request", async () => {
    await layout();
    await putModel('v20261201T020000Z-old', ['u2', 'u1']);
    await putModel('v20261202T020000Z-prod', ['u2', 'u10']);
    await lakeOf(aws).putObject(PRODUCTION_POINTER_KEY, encodeJson(pointerFor('v20261202T020000Z-prod', undefined)), 'application/json');
    const requestKey = await request('u1', new Date('2026-12-02T12:00:00Z'));
    const before = await snapshot();

    const result = await eraseUsers('run-1', { lake: lakeOf(aws), retentionDays: 0, now: () => NOW });
    expect(result).toMatchObject({
      requests: 1,
      users: 1,
      bronze: { objectsRead: 4, objectsRewritten: 2, objectsDeleted: 1, linesDropped: 3 },
      silver: { rowsDropped: 3, filesRewritten: 2, filesDeleted: 1 },
      reports: { objectsRedacted: 1 },
      models: { versionsChecked: 2, versionsDeleted: ['v20261201T020000Z-old'], versionsKept: [] },
      done: 1,
      waiting: [],
      reportKey: 'reports/erasure/runs/run-1.json',
    });
    const lake = lakeOf(aws);
    expect(await lake.getText('bronze/events/dt=2026-12-01/shard=s0/1.jsonl')).toBe([event('u10', 2), event('u2', 3)].join('\n') + '\n');
    expect(await lake.getText('bronze/events/dt=2026-12-01/shard=s1/1.jsonl')).toBeUndefined();
    expect(await lake.getText('bronze/_quarantine/dt=2026-12-01/shard=s0/9.jsonl')).toBe(JSON.stringify({ reason: 'bad type', data: '{"userId":"u10","type":"x"}' }) + '\n');
    expect(await rowsOf('silver/interactions/dt=2026-12-01/arrival_dt=2026-12-01/part-0.parquet')).toEqual(['u10']);
    expect(await rowsOf('silver/user_features/as_of=2026-12-01/part-0.parquet')).toEqual(['u10']);
    expect(await lake.getBytes('silver/interactions/dt=2026-11-30/part-2026-11-30.parquet')).toBeUndefined();
    // The rewrite keeps the file's schema.
    expect(parquetColumns((await lake.getBytes('silver/interactions/dt=2026-12-01/arrival_dt=2026-12-01/part-0.parquet'))!)).toEqual(
      parquetColumns((await writeParquet(INTERACTION_COLUMNS, [interaction('x', 1)])))
    );
    expect(JSON.parse((await lake.getText('reports/retraining/run-1/run.json'))!)).toEqual({ warnings: ['1 row set aside; e.g. U#[erased]: too large', 'U#u10 fine'] });
    expect(await lake.listKeys('models/v20261201T020000Z-old/')).toEqual([]);

    // Objects without u1 were not written: same bytes (the item features name an item u1, not a user).
    const after = await snapshot();
    for (const key of ['bronze/events/dt=2026-12-02/shard=s0/5.jsonl', 'silver/interactions/dt=2026-12-02/arrival_dt=2026-12-02/20261202_abc_00000.parquet', 'silver/item_features/as_of=2026-12-01/part-0.parquet', 'models/v20261202T020000Z-prod/model.bin']) {
      expect(after[key]).toBe(before[key]);
    }
    // The request (the only object with the id) is gone; done and the run report name the hash only.
    expect(after[requestKey]).toBeUndefined();
    const done = JSON.parse((await lake.getText(`reports/erasure/done/${userIdHash('u1')}.json`))!);
    expect(done).toMatchObject({ userHash: userIdHash('u1'), runId: 'run-1', doneAt: NOW.toISOString() });
    for (const key of Object.keys(after)) expect(key).not.toMatch(/\bu1\b/);
    expect(await lake.getText('reports/erasure/runs/run-1.json')).not.toMatch(/"u1"/);

    // Idempotent: nothing is left to drop, nothing is written but the run report.
    const settled = await snapshot();
    const again = await eraseUsers('run-2', { lake: lakeOf(aws), retentionDays: 0, now: () => NOW });
    expect(again).toMatchObject({ requests: 0, users: 0 });
    expect(await snapshot()).toEqual(settled);
  });

  it('waits while production or a running challenger holds the user, and while the retention lasts', async () => {
    await putModel('v20261130T020000Z-a', ['u1']);
    await putModel('v20261201T020000Z-b', ['u1', 'u2']);
    await putModel('v20261202T020000Z-c', ['u1']);
    const pointer = pointerFor('v20261201T020000Z-b', undefined);
    const challenger = pointerFor('v20261202T020000Z-c', undefined);
    await lakeOf(aws).putObject(
      PRODUCTION_POINTER_KEY,
      encodeJson({ ...pointer, experiment: { id: 'xabc', challenger: { version: challenger.version, manifestKey: challenger.manifestKey, payloadKey: challenger.payloadKey, deployedAt: challenger.deployedAt }, sharePercent: 10, startedAt: NOW.toISOString(), startedBy: 'operator', decision: { metric: 'ctr', minImpressions: 100, alpha: 0.05, maxDurationHours: 72 } } }),
      'application/json',
    );
    const key = await request('u1', new Date('2026-12-02T12:00:00Z'));

    // Retention of 7 days: nothing is deleted yet.
    const early = await eraseUsers('run-1', { lake: lakeOf(aws), retentionDays: 7, now: () => NOW });
    expect(early.models.versionsKept).toEqual([
      { version: 'v20261130T020000Z-a', reason: 'retention' },
      { version: 'v20261201T020000Z-b', reason: 'production' },
      { version: 'v20261202T020000Z-c', reason: 'challenger' },
    ]);
    expect(early).toMatchObject({ done: 0, waiting: [{ userHash: userIdHash('u1').slice(0, 12), reason: 'production' }] });
    expect(await lakeOf(aws).getText(key)).toBeDefined();

    // Once the retention has passed the old version goes; production and the challenger stay, so does the request.
    const later = await eraseUsers('run-2', { lake: lakeOf(aws), retentionDays: 7, now: () => new Date('2026-12-10T02:00:00Z') });
    expect(later.models.versionsDeleted).toEqual(['v20261130T020000Z-a']);
    expect(later.done).toBe(0);
    expect(await lakeOf(aws).getText(key)).toBeDefined();
  });

  it('leaves objects that are not requests alone and reports them by key', async () => {
    const forged = erasureRequestKey(NOW, userIdHash('u1'));
    await lakeOf(aws).putObject(forged, encodeJson({ formatVersion: 1, userId: 'u2' }), 'application/json');
    await lakeOf(aws).putObject('reports/erasure/requests/garbage.json', 'not json', 'application/json');
    const result = await eraseUsers('run-1', { lake: lakeOf(aws), retentionDays: 0, now: () => NOW });
    expect(result.invalidRequests.sort()).toEqual(['reports/erasure/requests/garbage.json', forged].sort());
    expect(result.users).toBe(0);
    expect(await lakeOf(aws).listKeys('reports/erasure/requests/')).toHaveLength(2);
  });

  it('takes the Task payload: the run id is the execution name, the retention from the environment', async () => {
    await putModel('v20261130T020000Z-a', ['u1']);
    await request('u1', NOW);
    const deps = { lake: lakeOf(aws) } as unknown as RetrainingDeps;
    const result = await eraseUsersStep({ executionName: 'nightly 2026/12/03', startTime: NOW.toISOString() }, deps, undefined, { ERASURE_MODEL_RETENTION_DAYS: '30' });
    expect(result.reportKey).toBe('reports/erasure/runs/nightly-2026-12-03.json');
    expect(result.models.versionsKept).toEqual([{ version: 'v20261130T020000Z-a', reason: 'retention' }]);
    await expect(eraseUsersStep({}, deps, undefined, {})).rejects.toThrow(/EraseUsers: invalid payload/);
  });
});
