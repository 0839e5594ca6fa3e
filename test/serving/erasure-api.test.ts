import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { startApiServer, type RunningApiServer } from '../../src/local/api-server';
import { ERASURE_REQUESTS_PREFIX } from '../../src/domain/lake-layout';
import { startTestAws, type TestAws } from '../support/aws-env';
import { callApi } from '../support/http';
import { lakeOf } from './support';

/**
 * DELETE /admin/users/{userId} through the local API Gateway adapter and the real admin handler, against dynalite
 * (feature and analytics tables) and s3rver (the request record).
 */
let aws: TestAws;
let api: RunningApiServer;

beforeAll(async () => {
  aws = await startTestAws({ analyticsTable: `test-erasure-api-${process.pid}` });
  process.env.ANALYTICS_TABLE = aws.names.analyticsTable;
  api = await startApiServer({ port: 0, env: { CORS_ALLOW_ORIGIN: '*', POWERTOOLS_LOG_LEVEL: 'INFO' } });
});
afterAll(async () => {
  await api?.stop();
  await aws?.stop();
  delete process.env.ANALYTICS_TABLE;
});

const USERS = ['u1', 'u10', 'xu1', '__proto__'];
beforeEach(async () => {
  const keys = await lakeOf(aws).listKeys('');
  if (keys.length > 0) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  for (const u of USERS) {
    for (const sk of ['RT#shardId-000000000000', 'RT#shardId-000000000001', 'EXACT']) {
      await aws.ddb.send(new PutCommand({ TableName: aws.names.featuresTable, Item: { pk: `U#${u}`, sk, entity: 'user', features: { views: 1 } } }));
    }
    await aws.ddb.send(new PutCommand({ TableName: aws.names.analyticsTable!, Item: { pk: `IMP#${u}`, sk: 'shardId-000000000000', entity: 'impressions', keys: [], impressions: [] } }));
  }
  await aws.ddb.send(new PutCommand({ TableName: aws.names.featuresTable, Item: { pk: 'I#u1', sk: 'EXACT', entity: 'item', features: {} } }));
  await aws.ddb.send(new PutCommand({ TableName: aws.names.analyticsTable!, Item: { pk: 'H#2026-12-03', sk: '10#shardId-000000000000', entity: 'window' } }));
});

const pks = async (table: string) => ((await aws.ddb.send(new ScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? []).map((i) => `${String(i.pk)}|${String(i.sk)}`).sort();
const erase = (userId: string, headers: Record<string, string> = { 'X-Local-Admin-Token': api.adminToken }) => callApi(api.url, 'DELETE', `/admin/users/${encodeURIComponent(userId)}`, { headers });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('DELETE /admin/users/{userId}', () => {
  it("removes the user's feature and implicit attribution rows at once, nobody else's, and records the request", async () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (written.push(String(chunk)), true));
    const res = await erase('u1');
    spy.mockRestore();
    expect(res.status).toBe(202);
    // The handler logged the request with the hash, never the id.
    const logged = written.filter((l) => l.includes('user erasure requested'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain(sha('u1').slice(0, 12));
    expect(logged[0]).not.toMatch(/"u1"|users\/u1\b/);
    expect(res.json).toMatchObject({ requestId: expect.any(String), userHash: sha('u1'), removedRows: { features: 3, analytics: 1 }, pending: 'lake and models: next nightly run' });

    const features = await pks(aws.names.featuresTable);
    expect(features.filter((k) => k.startsWith('U#u1|'))).toEqual([]);
    // u10 and xu1 share a prefix or a suffix with u1: untouched. The item I#u1 is not a user.
    for (const u of ['u10', 'xu1', '__proto__']) expect(features.filter((k) => k.startsWith(`U#${u}|`))).toHaveLength(3);
    expect(features).toContain('I#u1|EXACT');
    const analytics = await pks(aws.names.analyticsTable!);
    expect(analytics).not.toContain('IMP#u1|shardId-000000000000');
    expect(analytics).toEqual(expect.arrayContaining(['IMP#u10|shardId-000000000000', 'IMP#xu1|shardId-000000000000', 'IMP#__proto__|shardId-000000000000', 'H#2026-12-03|10#shardId-000000000000']));

    // The request, keyed by time and hash, holds the id for the nightly step.
    const keys = await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX);
    expect(keys).toEqual([res.json.requestKey]);
    expect(keys[0]).toMatch(new RegExp(`^reports/erasure/requests/\\d{8}T\\d{9}Z-${sha('u1')}\\.json$`));
    expect(JSON.parse((await lakeOf(aws).getText(keys[0]!))!)).toMatchObject({ userId: 'u1', userHash: sha('u1'), removedRows: { features: 3, analytics: 1 }, requestedBy: expect.any(String) });
  });

  it('is idempotent: a repeat succeeds, removes nothing more and records one more request', async () => {
    expect((await erase('u1')).status).toBe(202);
    const again = await erase('u1');
    expect(again.status).toBe(202);
    expect(again.json.removedRows).toEqual({ features: 0, analytics: 0 });
    expect(await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX)).toHaveLength(2);
  });

  it('erases a __proto__ user as data', async () => {
    expect((await erase('__proto__')).json.removedRows).toEqual({ features: 3, analytics: 1 });
    expect((await pks(aws.names.featuresTable)).filter((k) => k.startsWith('U#__proto__|'))).toEqual([]);
  });

  it('answers 400 for an id no event can carry, and touches nothing', async () => {
    const before = await pks(aws.names.featuresTable);
    for (const bad of ['a b', 'é', 'x'.repeat(129), 'a\u0000b']) {
      const res = await erase(bad);
      expect(res.status).toBe(400);
      expect(res.json.error).toMatchObject({ code: 'INVALID_USER_ID', field: 'userId', message: expect.stringContaining('1-128 characters') });
    }
    expect(await pks(aws.names.featuresTable)).toEqual(before);
    expect(await lakeOf(aws).listKeys(ERASURE_REQUESTS_PREFIX)).toEqual([]);
  });

  it('refuses a caller without the IAM identity', async () => {
    const res = await erase('u1', {});
    expect(res.status).toBe(403);
    expect((await pks(aws.names.featuresTable)).filter((k) => k.startsWith('U#u1|'))).toHaveLength(3);
  });
});
