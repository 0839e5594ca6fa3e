import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bronzeCtes, DEFAULT_QUERY_CONTRACT, STRICTER } from '../../../src/batch/queries/bronze';
import { batchNumber, batchString, type BatchRow } from '../../../src/batch/engine';
import { parseRecords } from '../../../src/ingest/parse-records';
import { readBronzeWindow, type BronzeWindow } from '../../../src/retraining/bronze';
import { toSilverInteraction } from '../../../src/retraining/silver';
import { MemoryLake, stageLake, type StagedLake } from './bronze.support';

/**
 * The Bronze view (src/batch/queries/bronze.ts) against the Lambda engine's readBronzeWindow, line by line:
 * lines the consumer writes (parseRecords itself) must be judged and converted identically; hostile lines
 * written straight into Bronze must agree too, except the few listed in DIFFERENCES, where the SQL is stricter
 * (it refuses a line the Lambda accepts, or gives an invalid line another kind), each for a documented reason.
 */

const D = '2026-11-10';
const ARRIVAL = `${D}T12:00:00.000Z`;
const ARRIVAL_MS = Date.parse(ARRIVAL);
const SHARD = 'shardId-000000000000';
let seq = 1000;
const ingest = (over: Record<string, unknown> = {}) => ({ shardId: SHARD, sequenceNumber: String(seq++), arrivalTime: ARRIVAL, ...over });
const base = (over: Record<string, unknown> = {}) => ({ eventId: `e${seq}`, type: 'click', userId: 'u1', itemId: 'i1', timestamp: `${D}T11:00:00Z`, ...over });
/** A Bronze line as the consumer shapes it (event fields, then `_ingest`), written straight to Bronze. */
const line = (over: Record<string, unknown> = {}, ingestOver: Record<string, unknown> = {}) => JSON.stringify({ ...base(over), _ingest: ingest(ingestOver) });
/** A raw JSON text with `_ingest` spliced in before the closing brace. */
const rawLine = (fields: string) => `{${fields},"_ingest":${JSON.stringify(ingest())}}`;
const nest = (depth: number): unknown => (depth === 0 ? 1 : { n: nest(depth - 1) });

/** Payloads the consumer accepts: parseRecords writes their Bronze lines. */
const CONSUMER: [string, unknown][] = [
  ['click', base()],
  ['view with session and category', base({ type: 'view', sessionId: 's-1', category: 'shoes' })],
  ['rating', base({ type: 'rating', rating: 4.5 })],
  ['rating bounds', base({ type: 'rating', rating: 0.5 })],
  ['purchase number price', base({ type: 'purchase', price: 12.34, quantity: 2 })],
  ['purchase string price', base({ type: 'purchase', price: '19.99' })],
  ['purchase inexact binary price', base({ type: 'purchase', price: 0.1, quantity: 3 })],
  ['purchase free', base({ type: 'purchase', price: 0 })],
  ['add_to_cart without price', base({ type: 'add_to_cart' })],
  ['add_to_cart at the line total bound', base({ type: 'add_to_cart', price: 1e9, quantity: 10 })],
  ['quantity bound', base({ type: 'purchase', price: 1, quantity: 10_000 })],
  ['impression with position', base({ type: 'impression', position: 0, recommendationId: 'r-1' })],
  ['impression position bound', base({ type: 'impression', position: 999 })],
  ['impression without position', base({ type: 'impression' })],
  ['numeric ids', base({ eventId: 123, userId: 0, itemId: 9007199254740991 })],
  ['epoch seconds', base({ timestamp: 1794300000 })],
  ['epoch milliseconds', base({ timestamp: 1794300000123 })],
  ['fractional epoch seconds', base({ timestamp: 1794300000.1236 })],
  ['offset and nanoseconds', base({ timestamp: `${D}T15:30:00.123456789+05:30` })],
  ['leap day', base({ timestamp: '2024-02-29T23:59:59.999Z' })],
  ['at the skew bound', base({ timestamp: new Date(ARRIVAL_MS + 900_000).toISOString() })],
  ['at the time floor', base({ timestamp: '1990-01-01T00:00:00Z' })],
  ['late event', base({ timestamp: '2026-10-01T00:00:00Z' })],
  ['category with emoji and accents', base({ category: 'Schuhe 👟 é' })],
  ['category of 128 emoji (zod counts code points)', base({ category: '👟'.repeat(128) })],
  ['unknown nested fields, depth 8', base({ extra: nest(7), list: [1, [2, [3]]], flag: true, none: null })],
  ['unknown 10 KB string', base({ note: 'x'.repeat(10_000) })],
  ['event of exactly 16384 bytes', null],
  ['64 fields', base(Object.fromEntries(Array.from({ length: 58 }, (_, i) => [`f${i}`, i])))],
  ['__proto__ and constructor keys', `{"eventId":"proto1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","__proto__":{"polluted":true},"constructor":{"prototype":{}}}`],
  ['__proto__ and constructor ids', base({ eventId: '__proto__', userId: 'constructor', itemId: 'prototype' })],
  ['number beyond 2^53 in an unknown field', `{"eventId":"big1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","big":12345678901234567890123}`],
  ['NaN-ish strings in unknown fields', base({ note: 'NaN', other: 'Infinity', price: 'NaN' })],
  ['escaped characters', `{"eventId":"esc1","type":"click","userId":"u\\u0031","itemId":"i\\u002e1","timestamp":"${D}T11:00:00Z","note":"tab\\tquote\\"\\u00e9"}`],
];
{
  // Exactly MAX_EVENT_BYTES of payload: the bound is inclusive.
  const probe = JSON.stringify(base({ eventId: 'size1', note: '' }));
  CONSUMER[CONSUMER.findIndex(([l]) => l === 'event of exactly 16384 bytes')]![1] = JSON.stringify(base({ eventId: 'size1', note: 'y'.repeat(16_384 - Buffer.byteLength(probe)) }));
}

type Expect = 'valid' | 'json' | 'ingest' | 'contract' | 'after-arrival';
/** Lines written straight into Bronze, with what the Lambda engine makes of them. */
const HOSTILE: [string, string, Expect][] = [
  ['not JSON', 'hello', 'json'],
  ['truncated JSON', '{"eventId":"x",', 'json'],
  ['NaN literal', rawLine(`"eventId":"nan1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":NaN`), 'json'],
  ['Infinity literal', rawLine(`"eventId":"inf1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":-Infinity`), 'json'],
  ['trailing comma', rawLine(`"eventId":"tc1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":[1,2,]`), 'json'],
  ['byte order mark', `\ufeff${line()}`, 'json'],
  ['single quotes', "{'eventId':'x'}", 'json'],
  ['array', '[1,2]', 'ingest'],
  ['JSON string', '"abc"', 'ingest'],
  ['JSON null', 'null', 'ingest'],
  ['empty object', '{}', 'ingest'],
  ['no _ingest', JSON.stringify(base()), 'ingest'],
  ['_ingest not an object', JSON.stringify({ ...base(), _ingest: 'x' }), 'ingest'],
  ['sequence number not digits', line({}, { sequenceNumber: '12a' }), 'ingest'],
  ['sequence number a JSON number', line({}, { sequenceNumber: 12 }), 'ingest'],
  ['arrivalTime missing', line({}, { arrivalTime: undefined }), 'ingest'],
  ['arrivalTime not a time', line({}, { arrivalTime: 'yesterday' }), 'ingest'],
  ['shardId missing', line({}, { shardId: undefined }), 'ingest'],
  ['arrivalTime without milliseconds', line({}, { arrivalTime: `${D}T12:00:00Z` }), 'valid'],
  ['userId boolean', line({ userId: true }), 'contract'],
  ['userId missing', line({ userId: undefined }), 'contract'],
  ['timestamp object', line({ timestamp: {} }), 'contract'],
  ['timestamp missing', line({ timestamp: undefined }), 'contract'],
  ['rating as string', line({ type: 'rating', rating: '5' }), 'contract'],
  ['rating missing', line({ type: 'rating' }), 'contract'],
  ['rating above bound', line({ type: 'rating', rating: 5.5 }), 'contract'],
  ['unknown type', line({ type: 'like' }), 'contract'],
  ['type number', line({ type: 1 }), 'contract'],
  ['eventId beyond 2^53', rawLine(`"eventId":9007199254740993,"type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z"`), 'contract'],
  ['eventId negative', line({ eventId: -1 }), 'contract'],
  ['eventId fractional', line({ eventId: 1.5 }), 'contract'],
  ['eventId 1.0 is the id "1"', rawLine(`"eventId":1.0,"type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z"`), 'valid'],
  ['eventId empty', line({ eventId: '' }), 'contract'],
  ['eventId with a space', line({ eventId: 'a b' }), 'contract'],
  ['eventId with a newline', line({ eventId: 'ab\n' }), 'contract'],
  ['eventId of 129 characters', line({ eventId: 'a'.repeat(129) }), 'contract'],
  ['eventId of 128 characters', line({ eventId: 'a'.repeat(128) }), 'valid'],
  ['sessionId null', line({ sessionId: null }), 'contract'],
  ['recommendationId object', line({ recommendationId: { a: 1 } }), 'contract'],
  ['price with 3 decimals', line({ type: 'purchase', price: 12.345 }), 'contract'],
  ['price string with 3 decimals', line({ type: 'purchase', price: '12.345' }), 'contract'],
  ['price string exponent', line({ type: 'purchase', price: '1e3' }), 'contract'],
  ['price negative', line({ type: 'purchase', price: -1 }), 'contract'],
  ['price "NaN"', line({ type: 'purchase', price: 'NaN' }), 'contract'],
  ['price 1e-7', rawLine(`"eventId":"p7","type":"purchase","price":1e-7,"userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z"`), 'contract'],
  ['price above bound', line({ type: 'purchase', price: 1e9 + 1 }), 'contract'],
  ['price boolean', line({ type: 'add_to_cart', price: true }), 'contract'],
  ['purchase without price', line({ type: 'purchase' }), 'contract'],
  ['line total above bound', line({ type: 'purchase', price: 1e9, quantity: 11 }), 'contract'],
  ['quantity 0', line({ type: 'purchase', price: 1, quantity: 0 }), 'contract'],
  ['quantity 1.5', line({ type: 'purchase', price: 1, quantity: 1.5 }), 'contract'],
  ['quantity string', line({ type: 'add_to_cart', quantity: '2' }), 'contract'],
  ['quantity null', line({ type: 'add_to_cart', quantity: null }), 'contract'],
  ['position 1000', line({ type: 'impression', position: 1000 }), 'contract'],
  ['position -1', line({ type: 'impression', position: -1 }), 'contract'],
  ['position 1.5', line({ type: 'impression', position: 1.5 }), 'contract'],
  ['category empty', line({ category: '' }), 'contract'],
  ['category of 129 characters', line({ category: 'c'.repeat(129) }), 'contract'],
  ['category with a control character', line({ category: 'a\u0007b' }), 'contract'],
  ['category with a C1 control character', line({ category: 'a\u0085b' }), 'contract'],
  ['category of 129 emoji', line({ category: '👟'.repeat(129) }), 'contract'],
  ['category of 100 letters and an emoji', line({ category: `${'c'.repeat(100)}👟` }), 'valid'],
  ['timestamp before the floor', line({ timestamp: '1989-12-31T23:59:59Z' }), 'contract'],
  ['timestamp February 30', line({ timestamp: '2026-02-30T00:00:00Z' }), 'contract'],
  ['timestamp hour 24', line({ timestamp: `${D}T24:00:00Z` }), 'contract'],
  ['timestamp offset +24:00', line({ timestamp: `${D}T10:00:00+24:00` }), 'contract'],
  ['timestamp lowercase z', line({ timestamp: `${D}T10:00:00z` }), 'contract'],
  ['timestamp words', line({ timestamp: 'yesterday' }), 'contract'],
  ['timestamp after arrival + skew', line({ timestamp: new Date(ARRIVAL_MS + 901_000).toISOString() }), 'after-arrival'],
  ['timestamp far future number', rawLine(`"eventId":"ff1","type":"click","userId":"u1","itemId":"i1","timestamp":4e12`), 'after-arrival'],
  ['epoch seconds just below the milliseconds bound (year 5138)', line({ timestamp: 99_999_999_999 }), 'after-arrival'],
  ['epoch milliseconds at the bound (1973)', line({ timestamp: 100_000_000_000 }), 'contract'],
  ['after arrival and no userId', line({ userId: undefined, timestamp: '2027-01-01T00:00:00Z' }), 'after-arrival'],
  ['65 fields', line(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${i}`, i]))), 'contract'],
  ['nesting depth 9', line({ extra: nest(8) }), 'contract'],
  ['nesting depth 8', line({ extra: nest(7) }), 'valid'],
  ['nesting depth 9 in _ingest', line({}, { extra: nest(8) }), 'contract'],
  ['event over 16 KB', line({ note: 'z'.repeat(16_400) }), 'contract'],
  ['1e400 in an unknown field', rawLine(`"eventId":"e400","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":1e400`), 'contract'],
  ['400-digit integer in an unknown field', rawLine(`"eventId":"d400","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":${'9'.repeat(400)}`), 'contract'],
  ['1e5 in an unknown field', rawLine(`"eventId":"e5","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":1e5`), 'valid'],
  ['whitespace around the line', `  ${line()}\t`, 'valid'],
  ['carriage return at the end', `${line()}\r`, 'valid'],
  ['key order with _ingest first', JSON.stringify({ _ingest: ingest(), ...base() }), 'valid'],
  ['__proto__ as the only extra', rawLine(`"eventId":"pp1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","__proto__":null`), 'valid'],
  // The documented differences (STRICTER): the Lambda accepts these, or judges them another way.
  ['duplicate eventId key', rawLine(`"eventId":"dupA","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","eventId":"dupB"`), 'valid'],
  ['contract key repeated in a nested object', line({ context: { userId: 'other' } }), 'valid'],
  ['lone surrogate in an unknown field', rawLine(`"eventId":"ls1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":"\\ud800"`), 'valid'],
  ['sequence number with a leading zero', line({}, { sequenceNumber: '0123' }), 'valid'],
  ['shardId with a space', line({}, { shardId: 'shard 1' }), 'valid'],
  ['arrivalTime as a date', line({ timestamp: `${D}T00:00:00Z` }, { arrivalTime: D }), 'valid'],
  ['arrivalTime February 30 (Date.parse rolls over)', line({ timestamp: '2026-01-01T00:00:00Z' }, { arrivalTime: '2026-02-30T12:00:00.000Z' }), 'valid'],
  ['category with a lone surrogate', rawLine(`"eventId":"ls2","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","category":"a\\udc00"`), 'contract'],
  ['NUL escape in an unknown field', rawLine(`"eventId":"nul1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":"a\\u0000b"`), 'valid'],
  ['10 KB non-ASCII string', line({ note: 'é'.repeat(5_000) }), 'valid'],
  ['exponent in a long line', rawLine(`"eventId":"el1","type":"click","userId":"u1","itemId":"i1","timestamp":"${D}T11:00:00Z","x":1e5,"pad":"${'p'.repeat(3000)}"`), 'valid'],
];

/** Where the SQL is stricter than the Lambda engine: label → [Lambda's verdict, the SQL's], with the reason. */
const DIFFERENCES: Record<string, [Expect, Expect, keyof typeof STRICTER]> = {
  'duplicate eventId key': ['valid', 'contract', 'duplicateKeys'],
  'contract key repeated in a nested object': ['valid', 'contract', 'duplicateKeys'],
  'lone surrogate in an unknown field': ['valid', 'json', 'jsonGrammar'],
  'sequence number with a leading zero': ['valid', 'ingest', 'sequenceNumber'],
  'shardId with a space': ['valid', 'ingest', 'shardId'],
  'arrivalTime as a date': ['valid', 'ingest', 'arrivalTime'],
  'arrivalTime February 30 (Date.parse rolls over)': ['valid', 'ingest', 'arrivalTime'],
  'category with a lone surrogate': ['contract', 'json', 'jsonGrammar'],
  '10 KB non-ASCII string': ['valid', 'contract', 'size'],
  'exponent in a long line': ['valid', 'contract', 'exponent'],
};

interface Verdict {
  kind: Expect;
  row?: Record<string, unknown>;
}

let sql: Map<string, Verdict>;
let lambda: Map<string, Verdict>;
let consumerLabels: string[];
let staged: StagedLake;

/** The SQL row as the Silver conversion shapes it (toSilverInteraction of the Lambda's record). */
function sqlRow(r: BatchRow): Record<string, unknown> {
  const s = (c: string) => batchString(r[c]);
  const n = (c: string) => batchNumber(r[c]);
  return {
    event_id: s('event_id'),
    event_type: s('event_type'),
    user_id: s('user_id'),
    item_id: s('item_id'),
    event_time_ms: n('event_time_ms'),
    rating: n('rating'),
    price: n('price'),
    quantity: n('quantity'),
    category: s('category'),
    session_id: s('session_id'),
    arrival_time_ms: n('arrival_ms'),
    shard_id: s('shard_id'),
    sequence_number: s('sequence_number'),
    ...(s('recommendation_id') !== null ? { recommendation_id: s('recommendation_id') } : {}),
    ...(n('position') !== null ? { position: n('position') } : {}),
  };
}

beforeAll(async () => {
  const records = CONSUMER.map(([, payload]) => ({
    shardId: SHARD,
    sequenceNumber: String(seq++),
    arrivalMs: ARRIVAL_MS,
    data: Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
  }));
  const parsed = parseRecords(records, undefined);
  const refused = parsed.flatMap((p, i) => (p.event ? [] : [`${CONSUMER[i]![0]}: ${p.reason}`]));
  expect(refused, 'the consumer accepts every CONSUMER payload').toEqual([]);
  consumerLabels = CONSUMER.map(([l]) => l);
  const corpus: [string, string][] = [...CONSUMER.map(([l], i): [string, string] => [l, parsed[i]!.line]), ...HOSTILE.map(([l, text]): [string, string] => [l, text])];
  expect(new Set(corpus.map(([l]) => l)).size).toBe(corpus.length);

  // One object per line, so both engines' verdicts are found by key; plus a blank-lines object.
  const lake = new MemoryLake();
  const keyOf = (i: number) => `bronze/events/dt=${D}/shard=${SHARD}/${String(i).padStart(4, '0')}.jsonl`;
  corpus.forEach(([, text], i) => lake.put(keyOf(i), `${text}\n`));
  lake.put(`bronze/events/dt=${D}/shard=${SHARD}/blank.jsonl`, '\n   \n\u00a0\n\t\n');
  const labelOfKey = new Map(corpus.map(([l], i) => [keyOf(i), l]));

  const bronze: BronzeWindow = await readBronzeWindow(lake.asRetrainingLake(), { from: D, to: D });
  expect(bronze.lines).toBe(corpus.length);
  lambda = new Map();
  for (const inv of bronze.invalid) lambda.set(labelOfKey.get(inv.key)!, { kind: inv.kind ?? 'contract' });
  // Valid records carry their stream position, not their key: find their line by sequence number.
  const labelOfSeq = new Map<string, string>();
  corpus.forEach(([l, text]) => {
    const m = /"sequenceNumber":"(\d+)"/.exec(text);
    if (m) labelOfSeq.set(m[1]!, l);
  });
  for (const r of bronze.records) lambda.set(labelOfSeq.get(r.sequenceNumber)!, { kind: 'valid', row: { ...toSilverInteraction(r) } });

  staged = await stageLake(lake, 'lake');
  const rows = await staged.select(`WITH ${bronzeCtes({ window: { from: D, to: D }, contract: DEFAULT_QUERY_CONTRACT })} SELECT * FROM bronze_checked`);
  expect(rows.length, 'blank lines are skipped, every other line is judged').toBe(corpus.length);
  sql = new Map();
  for (const r of rows) {
    const key = batchString(r.object_path)!.replace('s3://lake/', '');
    const kind = batchString(r.kind);
    sql.set(labelOfKey.get(key)!, kind === null ? { kind: 'valid', row: sqlRow(r) } : { kind: kind as Expect });
  }
}, 30_000);

afterAll(async () => {
  await staged?.close();
});

describe('the Bronze view judges lines as the Lambda engine does', () => {
  it('agrees on every line the consumer writes, and converts each event to the same Silver values', () => {
    for (const label of consumerLabels) {
      expect({ label, ...sql.get(label) }).toEqual({ label, ...lambda.get(label) });
      expect(lambda.get(label)!.kind).toBe('valid');
    }
  });

  it('knows what the Lambda engine makes of each hostile line (the corpus is labelled right)', () => {
    const wrong = HOSTILE.filter(([l, , expected]) => lambda.get(l)?.kind !== expected).map(([l]) => `${l}: Lambda says ${lambda.get(l)?.kind}`);
    expect(wrong).toEqual([]);
  });

  it('agrees on every hostile line but the documented differences, and values agree where both accept', () => {
    const differing: Record<string, [Expect, Expect]> = {};
    for (const [label] of HOSTILE) {
      const a = lambda.get(label)!;
      const b = sql.get(label)!;
      if (a.kind !== b.kind) differing[label] = [a.kind, b.kind];
      else if (a.kind === 'valid') expect({ label, ...b.row }).toEqual({ label, ...a.row });
    }
    expect(differing).toEqual(Object.fromEntries(Object.entries(DIFFERENCES).map(([l, [a, b]]) => [l, [a, b]])));
  });

  it('judges a timestamp beyond the Date range as after-arrival without failing, in both engines', async () => {
    // readBronzeWindow once formatted the time with toISOString(), a RangeError for 1e300 that failed the whole step.
    const lake = new MemoryLake();
    lake.put(`bronze/events/dt=${D}/shard=${SHARD}/far.jsonl`, `${rawLine(`"eventId":"ff2","type":"click","userId":"u1","itemId":"i1","timestamp":1e300`)}\n`);
    const far = await stageLake(lake, 'lake');
    try {
      const rows = await far.select(`WITH ${bronzeCtes({ window: { from: D, to: D }, contract: DEFAULT_QUERY_CONTRACT })} SELECT kind FROM bronze_checked`);
      expect(rows).toEqual([{ kind: 'after-arrival' }]);
      const bronze = await readBronzeWindow(lake.asRetrainingLake(), { from: D, to: D });
      expect(bronze.invalid.map((l) => [l.kind, l.reason])).toEqual([['after-arrival', expect.stringContaining('stamped 1e+300')]]);
    } finally {
      await far.close();
    }
  });

  it('is only ever stricter: where the verdicts differ the SQL refuses the line (a line the Lambda refuses too only changes kind)', () => {
    for (const [label, [, sqlKind, why]] of Object.entries(DIFFERENCES)) {
      expect(sqlKind, label).not.toBe('valid');
      expect(STRICTER[why]).toBeTruthy();
    }
  });
});
