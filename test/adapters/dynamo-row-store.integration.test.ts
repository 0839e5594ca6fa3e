import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { rowId } from '../../src/stream/ports';
import { startTestAws, type TestAws } from '../support/aws-env';

type Row = { pk: string; sk: string; wm: string; value: number };
let aws: TestAws;
let store: DynamoRowStore<Row>;

beforeAll(async () => {
  aws = await startTestAws();
  store = new DynamoRowStore<Row>(aws.ddb, aws.names.featuresTable);
});
afterAll(async () => {
  await aws?.stop();
});

describe('conditional row writes (dead-letter replays beside the live consumer)', () => {
  it('writes a row only if it is still as it was read, and reports the others as conflicts', async () => {
    const a = { pk: 'A', sk: 'RT#s0', wm: '10', value: 1 };
    const b = { pk: 'B', sk: 'RT#s0', wm: '10', value: 1 };
    await store.putRows([b]);

    // Absent rows are created; a row with the expected watermark is replaced.
    expect(await store.putRowsIfUnchanged([{ row: a, expectedWm: undefined }, { row: { ...b, wm: '20', value: 2 }, expectedWm: '10' }])).toEqual({ failed: new Set(), conflicts: new Set(), rejected: new Map(), causes: new Map() });

    // Someone else wrote meanwhile: neither an "absent" expectation nor a stale watermark may overwrite.
    const result = await store.putRowsIfUnchanged([{ row: { ...a, value: 99 }, expectedWm: undefined }, { row: { ...b, value: 99 }, expectedWm: '10' }]);
    expect(result.conflicts).toEqual(new Set([rowId(a), rowId(b)]));
    expect(result.failed.size).toBe(0);
    const rows = await store.getRows([a, b]);
    expect(rows.get(rowId(a))).toEqual(a);
    expect(rows.get(rowId(b))).toEqual({ ...b, wm: '20', value: 2 });
  });
});

describe('row writes that DynamoDB can never take', () => {
  it('rejects exactly the rows at fault, with why, and writes every other row of their 25-row request', async () => {
    type Loose = { pk: string; sk: string; wm: string; value: unknown };
    const loose = new DynamoRowStore<Loose>(aws.ddb, aws.names.featuresTable, { backoffMs: 1 });
    const rows: Loose[] = Array.from({ length: 25 }, (_, i) => ({ pk: `R${i}`, sk: 'RT#s0', wm: '1', value: i }));
    rows[3] = { ...rows[3]!, value: 2 ** 60 }; // beyond MAX_SAFE_INTEGER: the marshaller refuses it
    rows[11] = { ...rows[11]!, value: 'x'.repeat(420_000) }; // over DynamoDB's 400 KB item limit
    rows[17] = { ...rows[17]!, value: Infinity };
    const { failed, rejected } = await loose.putRows(rows);
    expect(failed.size).toBe(0);
    expect(new Set(rejected.keys())).toEqual(new Set([rowId(rows[3]!), rowId(rows[11]!), rowId(rows[17]!)]));
    expect(rejected.get(rowId(rows[3]!))).toMatch(/MAX_SAFE_INTEGER/);
    expect(rejected.get(rowId(rows[11]!))).toMatch(/^ValidationException: .*size/i);
    expect(rejected.get(rowId(rows[17]!))).toMatch(/Infinity/);
    const stored = await loose.getRows(rows);
    expect([...stored.keys()].sort()).toEqual(rows.filter((_, i) => ![3, 11, 17].includes(i)).map(rowId).sort());
  });

  it('fails (for a retry) rather than rejects rows when the table itself is the problem', async () => {
    const missing = new DynamoRowStore<Row>(aws.ddb, 'no-such-table', { backoffMs: 1 });
    const rows = [{ pk: 'M1', sk: 'RT#s0', wm: '1', value: 1 }, { pk: 'M2', sk: 'RT#s0', wm: '1', value: 2 }];
    const { failed, rejected, causes } = await missing.putRows(rows);
    expect(failed).toEqual(new Set(rows.map(rowId)));
    expect(rejected.size).toBe(0);
    expect(causes.get(rowId(rows[0]!))).toMatch(/ResourceNotFoundException/);
  });
});
