import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { erasureModelRetentionDays, erasureTablesOf, isErasableUserId, newErasureRequest, parseErasureRequest, userIdHash } from '../../src/erasure/request';
import { erasureDoneKey, parseErasureRequestKey } from '../../src/domain/lake-layout';

describe('erasure requests', () => {
  it('key the request by time and SHA-256 of the id, never the id', () => {
    const { key, request } = newErasureRequest('user:42@shop', new Date('2026-12-03T15:00:00.123Z'), 'arn:aws:iam::1:user/op', { features: 2, analytics: 1 }, 'r1');
    const hash = createHash('sha256').update('user:42@shop').digest('hex');
    expect(key).toBe(`reports/erasure/requests/20261203T150000123Z-${hash}.json`);
    expect(key).not.toContain('user');
    expect(parseErasureRequestKey(key)).toEqual({ time: '20261203T150000123Z', userHash: hash });
    expect(erasureDoneKey(hash)).toBe(`reports/erasure/done/${hash}.json`);
    expect(parseErasureRequest(JSON.parse(JSON.stringify(request)))).toEqual(request);
  });

  it('refuses a record whose hash is not its id', () => {
    const { request } = newErasureRequest('u1', new Date(), 'op', { features: 0, analytics: 0 }, 'r1');
    expect(parseErasureRequest({ ...request, userHash: userIdHash('u2') })).toBeUndefined();
    expect(parseErasureRequest({ ...request, userId: '../x' })).toBeUndefined();
    expect(parseErasureRequest(null)).toBeUndefined();
  });

  it('accept exactly the event contract ids', () => {
    for (const ok of ['u1', '__proto__', 'a.b_c:d@e+f=g~h-i', 'x'.repeat(128)]) expect(isErasableUserId(ok)).toBe(true);
    for (const bad of ['', 'a b', 'a/b', 'x'.repeat(129), 'é', 'a\nb']) expect(isErasableUserId(bad)).toBe(false);
  });

  it('read ERASURE_MODEL_RETENTION_DAYS (default 0) and the tables', () => {
    expect(erasureModelRetentionDays({})).toBe(0);
    expect(erasureModelRetentionDays({ ERASURE_MODEL_RETENTION_DAYS: '30' })).toBe(30);
    expect(() => erasureModelRetentionDays({ ERASURE_MODEL_RETENTION_DAYS: '-1' })).toThrow(/ERASURE_MODEL_RETENTION_DAYS/);
    expect(erasureTablesOf({ FEATURES_TABLE: 'f-table', ANALYTICS_TABLE: '' })).toEqual({ features: 'f-table' });
  });
});
