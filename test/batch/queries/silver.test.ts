import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DEFAULT_QUERY_CONTRACT } from '../../../src/batch/queries/bronze';
import { civilDate, INTERACTION_PROBLEM_SQL, shiftedDays, silverCountsQuery, silverInteractionsSelect } from '../../../src/batch/queries/silver';
import { partitionDate } from '../../../src/domain/lake-layout';
import { interactionProblem } from '../../../src/retraining/poison';
import type { SilverInteraction } from '../../../src/retraining/silver';
import { TRINO_MACROS } from './bronze.support';

let db: DuckDBInstance;
let c: DuckDBConnection;
beforeAll(async () => {
  db = await DuckDBInstance.create(':memory:');
  c = await db.connect();
  for (const m of TRINO_MACROS) await c.run(m);
});
afterAll(() => {
  c?.closeSync();
  db?.closeSync();
});

const input = { window: { from: '2026-11-10', to: '2026-11-11' }, contract: DEFAULT_QUERY_CONTRACT };

describe('the Bronze → Silver queries', () => {
  it('refuse inputs that are not validated dates or integers', () => {
    expect(() => silverInteractionsSelect({ ...input, window: { from: "2026-11-10' OR 1=1 --", to: '2026-11-11' } })).toThrow(/not a date/);
    expect(() => silverInteractionsSelect({ ...input, window: { from: '2026-02-30', to: '2026-03-01' } })).toThrow(/not a date/);
    expect(() => silverInteractionsSelect({ ...input, window: { from: '2026-11-12', to: '2026-11-11' } })).toThrow(/ends before/);
    expect(() => silverCountsQuery({ ...input, contract: { timeFloorMs: 1.5, maxFutureSkewMs: 0 } })).toThrow(/integer/);
  });

  it('give each event the UTC date partitionDate gives it (Silver dt), over four centuries of instants', async () => {
    const ms: number[] = [0, -1, 86_399_999, 86_400_000, Date.parse('1990-01-01T00:00:00Z'), Date.parse('2000-02-29T23:59:59.999Z'), Date.parse('2100-03-01T00:00:00Z'), Date.parse('9999-12-31T23:59:59.999Z')];
    for (let i = 0; i < 400; i++) ms.push(Math.round(Date.parse('1800-01-01T00:00:00Z') + i * 1_000_003_331.7 * 9.1));
    const values = ms.map((m) => `(${m})`).join(',');
    const rows = (await c.runAndReadAll(`SELECT m, ${civilDate(shiftedDays('m'))} AS d FROM (VALUES ${values}) t(m)`)).getRowObjectsJS();
    expect(rows.map((r) => [Number(r.m), r.d])).toEqual(ms.map((m) => [m, partitionDate(m)]));
  });

  it('set aside exactly the rows interactionProblem refuses', async () => {
    const base: SilverInteraction = {
      event_id: 'e', event_type: 'purchase', user_id: 'u', item_id: 'i', event_time_ms: 1, rating: null, price: 1, quantity: 1,
      category: null, session_id: null, arrival_time_ms: 1, shard_id: 's', sequence_number: '1', recommendation_id: null, position: null,
    };
    const cases: Partial<SilverInteraction>[] = [
      {}, { price: null, quantity: null }, { rating: 0.5 }, { rating: 0.49 }, { rating: 5.01 }, { quantity: 0 }, { quantity: 10_000 }, { quantity: 10_001 },
      { price: -0.01 }, { price: 1e9 }, { price: 1e9 + 0.01 }, { price: 1e9, quantity: 10 }, { price: 1e9, quantity: 11 }, { price: 1e6 + 0.01, quantity: 9_999 },
      { price: 0.1, quantity: 3 }, { user_id: 'a\nb' }, { item_id: 'a\rb' }, { user_id: '' }, { item_id: '' }, { category: 'x'.repeat(70_000) },
    ];
    const rows = cases.map((over) => ({ ...base, ...over }));
    const lit = (v: unknown) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v.replace(/'/g, "''").replace(/\n/g, "' || chr(10) || '").replace(/\r/g, "' || chr(13) || '")}'` : `CAST(${String(v)} AS DOUBLE)`);
    const values = rows.map((r, i) => `(${i}, ${lit(r.user_id)}, ${lit(r.item_id)}, ${lit(r.rating)}, ${lit(r.price)}, ${r.quantity === null ? 'NULL' : `CAST(${r.quantity} AS INTEGER)`}, ${lit(r.category)})`).join(',\n');
    const sql = `SELECT i, ${INTERACTION_PROBLEM_SQL} AS problem FROM (
      SELECT i, 'e' AS event_id, user_id, item_id, rating, price, quantity, category, CAST(NULL AS VARCHAR) AS session_id, CAST(NULL AS VARCHAR) AS recommendation_id,
        's' AS shard_id, '1' AS sequence_number FROM (VALUES ${values}) t(i, user_id, item_id, rating, price, quantity, category)) r ORDER BY i`;
    const got = (await c.runAndReadAll(sql)).getRowObjectsJS().map((r) => r.problem !== null);
    expect(got).toEqual(rows.map((r) => interactionProblem(r) !== undefined));
    expect(got.filter(Boolean).length).toBeGreaterThan(8);
  });
});
