import { describe, expect, it } from 'vitest';
import { negotiate } from '../../src/serving/http';
import { parseId, parseK } from '../../src/serving/params';
import { matchRoute, ROUTES } from '../../src/serving/routes';
import { freshInteractions } from '../../src/serving/fresh-history';
import { toInteractions } from '../../src/retraining/interactions';

describe('route table', () => {
  it('resolves every route and its path parameters', () => {
    expect(matchRoute('GET', '/recommend/42')).toMatchObject({ kind: 'match', route: { id: 'recommend' }, params: { userId: '42' } });
    expect(matchRoute('GET', '/items/i9/similar')).toMatchObject({ kind: 'match', route: { id: 'similarItems' }, params: { itemId: 'i9' } });
    expect(matchRoute('GET', '/items/popular')).toMatchObject({ kind: 'match', route: { id: 'popularItems' }, params: {} });
    expect(matchRoute('GET', '/users/u1/features')).toMatchObject({ kind: 'match', route: { id: 'userFeatures' } });
    expect(matchRoute('POST', '/events')).toMatchObject({ kind: 'match', route: { id: 'postEvents', function: 'events' } });
    expect(matchRoute('POST', '/admin/reload')).toMatchObject({ kind: 'match', route: { id: 'adminReload', auth: 'iam' } });
    expect(matchRoute('DELETE', '/admin/users/u1')).toMatchObject({ kind: 'match', route: { id: 'eraseUser', function: 'admin', auth: 'iam' }, params: { userId: 'u1' } });
    expect(matchRoute('GET', '/health/')).toMatchObject({ kind: 'match', route: { id: 'health' } });
  });

  it('tells a wrong method (405 with the allowed ones) from an unknown path (404)', () => {
    expect(matchRoute('DELETE', '/recommend/42')).toEqual({ kind: 'method-not-allowed', allow: ['GET'] });
    expect(matchRoute('GET', '/events')).toEqual({ kind: 'method-not-allowed', allow: ['POST'] });
    expect(matchRoute('GET', '/recommend')).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', '/recommend/a/b')).toEqual({ kind: 'not-found' });
    expect(matchRoute('GET', '/recommend//')).toEqual({ kind: 'not-found' });
  });

  it('only the admin and catalogue write routes need IAM; events, catalogue writes and experiment control with user erasure have their own functions', () => {
    expect(ROUTES.filter((r) => r.auth === 'iam').map((r) => r.id).sort()).toEqual(['adminReload', 'deleteItem', 'eraseUser', 'experimentAction', 'experimentStatus', 'putItems']);
    expect(ROUTES.filter((r) => r.function === 'admin').map((r) => r.id).sort()).toEqual(['eraseUser', 'experimentAction', 'experimentStatus']);
    expect(ROUTES.filter((r) => r.function === 'events').map((r) => r.id)).toEqual(['postEvents']);
    expect(ROUTES.filter((r) => r.function === 'catalog').map((r) => r.id).sort()).toEqual(['deleteItem', 'putItems']);
    // Every write but POST /events (public, validated) is authenticated.
    expect(ROUTES.filter((r) => r.method !== 'GET' && r.auth === 'none').map((r) => r.id).sort()).toEqual(['postEvents', 'rankItems']);
  });
});

describe('request parameters', () => {
  it('k defaults to 10 and must be an integer from 1 to 100', () => {
    expect(parseK(undefined)).toBe(10);
    expect(parseK('1')).toBe(1);
    expect(parseK('100')).toBe(100);
    for (const bad of ['0', '101', '-1', '1.5', 'abc', '1e2', ' 5', '99999999']) {
      expect(() => parseK(bad), bad).toThrow(expect.objectContaining({ status: 400, field: 'k' }));
    }
  });

  it('ids are percent-decoded and held to the event id pattern; traversal attempts are refused', () => {
    expect(parseId('userId', '42')).toBe('42');
    expect(parseId('userId', 'user%40example.com')).toBe('user@example.com');
    for (const bad of ['..', '.', '..%2Fadmin', '%2e%2e', 'a%20b', '%E0%A4%A', 'x'.repeat(129), '']) {
      expect(() => parseId('userId', bad), bad).toThrow(expect.objectContaining({ status: 400, code: 'INVALID_ID', field: 'userId' }));
    }
  });

  it('content negotiation picks text/plain only when the client prefers it', () => {
    const offers = ['application/json', 'text/plain'] as const;
    expect(negotiate(undefined, offers)).toBe('application/json');
    expect(negotiate('*/*', offers)).toBe('application/json');
    expect(negotiate('text/plain', offers)).toBe('text/plain');
    expect(negotiate('text/*', offers)).toBe('text/plain');
    expect(negotiate('application/json;q=0.5, text/plain', offers)).toBe('text/plain');
    expect(negotiate('text/html', offers)).toBe('application/json');
  });
});

describe('fresh events as model history', () => {
  const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
  it('weighs implicit events by intent, keeps the strongest per item, and lets the latest rating speak for the user', () => {
    const history = freshInteractions('u1', [
      { itemId: 'a', type: 'view', timestamp: at(9) },
      { itemId: 'b', type: 'rating', rating: 1.5, timestamp: at(8) },
      { itemId: 'a', type: 'purchase', timestamp: at(7) },
      { itemId: 'b', type: 'purchase', timestamp: at(6) },
      { itemId: 'c', type: 'rating', rating: 4, timestamp: at(5) },
      { itemId: 'c', type: 'rating', rating: 2, timestamp: at(4) },
      { itemId: 'd', type: 'click', timestamp: at(3) },
      { itemId: 'e', type: 'add_to_cart', timestamp: at(2) },
    ]);
    const byItem = Object.fromEntries(history.map((h) => [h.itemId, h.rating]));
    expect(byItem).toEqual({ a: 5, b: 1.5, c: 4, d: 2, e: 3 });
    expect(history.every((h) => h.userId === 'u1' && Number.isFinite(h.timestamp))).toBe(true);
  });

  it('serves each fresh event at the strength the nightly training gave the same event', () => {
    for (const type of ['view', 'click', 'add_to_cart', 'purchase'] as const) {
      const served = freshInteractions('u1', [{ itemId: 'a', type, timestamp: at(1) }])[0]!.rating;
      const trained = toInteractions([
        { event_id: 'e', event_type: type, user_id: 'u1', item_id: 'a', event_time_ms: Date.parse(at(1)), rating: null, price: type === 'purchase' ? 1 : null, quantity: type === 'purchase' ? 1 : null, category: null, session_id: null, arrival_time_ms: Date.parse(at(1)), shard_id: 's', sequence_number: '1' },
      ])[0]!.rating;
      expect(served, type).toBe(trained);
    }
  });
});
