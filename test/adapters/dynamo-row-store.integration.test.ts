import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { rowId } from '../../src/ingest/ports';
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
    expect(await store.putRowsIfUnchanged([{ row: a, expectedWm: undefined }, { row: { ...b, wm: '20', value: 2 }, expectedWm: '10' }])).toEqual({ failed: new Set(), conflicts: new Set() });

    // Someone else wrote meanwhile: neither an "absent" expectation nor a stale watermark may overwrite.
    const result = await store.putRowsIfUnchanged([{ row: { ...a, value: 99 }, expectedWm: undefined }, { row: { ...b, value: 99 }, expectedWm: '10' }]);
    expect(result.conflicts).toEqual(new Set([rowId(a), rowId(b)]));
    expect(result.failed.size).toBe(0);
    const rows = await store.getRows([a, b]);
    expect(rows.get(rowId(a))).toEqual(a);
    expect(rows.get(rowId(b))).toEqual({ ...b, wm: '20', value: 2 });
  });
});
