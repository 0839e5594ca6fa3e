import { describe, expect, it } from 'vitest';
import {
  erasedUsersInModel,
  isErasedEventLine,
  isErasedQuarantineLine,
  mentionsId,
  redactUsers,
  REDACTED,
  rewriteLines,
  rowsWithoutUsers,
} from '../../src/erasure/rewrite';

const line = (userId: unknown, extra: Record<string, unknown> = {}) => JSON.stringify({ eventId: `e-${String(userId)}`, type: 'view', userId, itemId: 'i1', timestamp: '2026-12-01T10:00:00Z', ...extra, _ingest: { shardId: 's0', sequenceNumber: '1' } });
const quarantine = (data: string, asBase64 = false) =>
  JSON.stringify({ reason: 'invalid', errors: [], ...(asBase64 ? { dataBase64: Buffer.from(data, 'utf8').toString('base64') } : { data }), shardId: 's0', sequenceNumber: '7', arrivalTime: '2026-12-01T10:00:00Z' });

describe('which Bronze event lines belong to an erased user', () => {
  const users = new Set(['u1']);

  it('judges valid lines by their userId only: u1 is erased, u10, xu1 and u1-b are not', () => {
    expect(isErasedEventLine(line('u1'), users)).toBe(true);
    for (const other of ['u10', 'xu1', 'u1-b', 'U1', 'u1 ']) expect(isErasedEventLine(line(other), users)).toBe(false);
    // Another user's event naming u1 elsewhere (its item, its session) is that user's data and stays.
    expect(isErasedEventLine(line('u2', { itemId: 'u1', sessionId: 'u1' }), users)).toBe(false);
  });

  it('matches the numeric ids the contract accepts', () => {
    expect(isErasedEventLine(line(42), new Set(['42']))).toBe(true);
    expect(isErasedEventLine(line(420), new Set(['42']))).toBe(false);
  });

  it('handles __proto__ and constructor ids as data', () => {
    expect(isErasedEventLine(line('__proto__'), new Set(['__proto__']))).toBe(true);
    expect(isErasedEventLine(line('constructor'), new Set(['__proto__']))).toBe(false);
    expect(isErasedEventLine('{"__proto__":{"userId":"u1"},"userId":"u2"}', users)).toBe(false);
    expect(isErasedEventLine(line('u2'), new Set(['__proto__', 'constructor', 'toString']))).toBe(false);
  });

  it('judges lines that are not JSON objects by mention', () => {
    expect(isErasedEventLine('{"userId":"u1", truncated', users)).toBe(true);
    expect(isErasedEventLine('{"userId":"u10", truncated', users)).toBe(false);
    expect(isErasedEventLine('[1,2,3]', users)).toBe(false);
    expect(isErasedEventLine('', users)).toBe(false);
  });
});

describe('which quarantine lines belong to an erased user', () => {
  const users = new Set(['u1']);

  it('decodes base64 records', () => {
    expect(isErasedQuarantineLine(quarantine('{"userId":"u1","type":"bogus"}', true), users)).toBe(true);
    expect(isErasedQuarantineLine(quarantine('{"userId":"u10","type":"bogus"}', true), users)).toBe(false);
    // Not JSON at all, base64: found by mention in the decoded text.
    expect(isErasedQuarantineLine(quarantine('userId=u1&type=view\u0000\u00ff', true), users)).toBe(true);
  });

  it('reads text records, escaped ids included, and the reason', () => {
    expect(isErasedQuarantineLine(quarantine('{"userId":"u1","timestamp":"never"}'), users)).toBe(true);
    expect(isErasedQuarantineLine(quarantine('{"userId":"\\u00751"}'), users)).toBe(true);
    expect(isErasedQuarantineLine(quarantine('{"userId":"u10"}'), users)).toBe(false);
    expect(isErasedQuarantineLine(JSON.stringify({ reason: 'userId u1 refused', data: '{}' }), users)).toBe(true);
  });

  it('keeps hostile lines of other users and garbage', () => {
    for (const l of ['not json', '{"dataBase64":"%%%not base64"}', '{"data":{"nested":"u10"}}', 'null', '"u10"']) expect(isErasedQuarantineLine(l, users)).toBe(false);
  });
});

describe('rewriteLines', () => {
  const erased = (l: string) => l.includes('"u1"');

  it('drops only the erased lines and keeps every other byte', () => {
    const text = `${line('u2')}\n${line('u1')}\n\n${line('u3')}\n`;
    const out = rewriteLines(text, erased);
    expect(out).toEqual({ text: `${line('u2')}\n\n${line('u3')}\n`, kept: 3, dropped: 1 });
  });

  it('returns the very same text when nothing is dropped, final newline or not', () => {
    const text = `${line('u2')}\r\n${line('u3')}`;
    expect(rewriteLines(text, erased).text).toBe(text);
    expect(rewriteLines(`${line('u2')}\n${line('u1')}`, erased).text).toBe(line('u2'));
  });

  it('leaves nothing when every line is erased', () => {
    expect(rewriteLines(`${line('u1')}\n${line('u1')}\n`, erased)).toEqual({ text: '', kept: 0, dropped: 2 });
  });
});

describe('rowsWithoutUsers', () => {
  it('drops rows by exact user_id, never prefixes, and survives hostile rows', () => {
    const rows = [{ user_id: 'u1' }, { user_id: 'u10' }, { user_id: '__proto__' }, { item_id: 'u1' }, { user_id: null }, { user_id: 1 }];
    expect(rowsWithoutUsers(rows, new Set(['u1'])).rows).toEqual([{ user_id: 'u10' }, { user_id: '__proto__' }, { item_id: 'u1' }, { user_id: null }, { user_id: 1 }]);
    expect(rowsWithoutUsers(rows, new Set(['__proto__', '1'])).dropped).toBe(2);
  });
});

describe('redactUsers', () => {
  it('replaces mentions in strings and keys, nothing else', () => {
    const report = { samples: [{ where: 'exact feature row', id: 'U#u1', reason: 'u1 and u10' }], u1: 3, n: 1, other: 'u10' };
    const out = redactUsers(report, new Set(['u1']));
    expect(out.changed).toBe(true);
    expect(out.value).toEqual({ samples: [{ where: 'exact feature row', id: `U#${REDACTED}`, reason: `${REDACTED} and u10` }], [REDACTED]: 3, n: 1, other: 'u10' });
    expect(redactUsers({ a: 'u10' }, new Set(['u1']))).toEqual({ value: { a: 'u10' }, changed: false });
  });

  it('keeps a __proto__ key as data', () => {
    const value = JSON.parse('{"__proto__":{"x":"u1"}}') as unknown;
    const out = redactUsers(value, new Set(['u1'])).value as Record<string, unknown>;
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"x":"${REDACTED}"}}`);
  });
});

describe('mentionsId', () => {
  it('needs no letter or digit on either side', () => {
    expect(mentionsId('"u1"', 'u1')).toBe(true);
    expect(mentionsId('U#u1:', 'u1')).toBe(true);
    expect(mentionsId('u10 xu1 u1b', 'u1')).toBe(false);
    expect(mentionsId('u10 then u1', 'u1')).toBe(true);
  });
});

describe('erasedUsersInModel', () => {
  const payloadWith = (ids: string[]) => {
    const head = new Uint8Array(8);
    const body = new TextEncoder().encode(ids.join('\n'));
    const payload = new Uint8Array(8 + body.length);
    payload.set(head);
    payload.set(body, 8);
    return { payload, manifest: { payload: { sections: [{ name: 'itemIds', type: 'lines', offset: 0, bytes: 0 }, { name: 'userIds', type: 'lines', offset: 8, bytes: body.length }] } } };
  };

  it('reads the userIds section exactly', () => {
    const { payload, manifest } = payloadWith(['u10', 'u2', '__proto__']);
    expect([...erasedUsersInModel(manifest, payload, new Set(['u1', '__proto__']))]).toEqual(['__proto__']);
  });

  it('falls back to mentions in the bytes when the manifest is unreadable', () => {
    const { payload } = payloadWith(['u10', 'u1']);
    expect([...erasedUsersInModel({ broken: true }, payload, new Set(['u1', 'u3']))]).toEqual(['u1']);
    expect(erasedUsersInModel(undefined, undefined, new Set(['u1'])).size).toBe(0);
  });
});
