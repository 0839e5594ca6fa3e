import { describe, expect, it } from 'vitest';
import { parquetColumns, readParquet, writeParquet } from '../../src/retraining/parquet';
import { setFastShredder } from '../../src/retraining/parquet-fast-shred';
import { INTERACTION_COLUMNS, toParquetRow } from '../../src/retraining/silver';

const rows = Array.from({ length: 3000 }, (_, i) =>
  toParquetRow({
    event_id: `e${i}`,
    event_type: i % 5 === 0 ? 'rating' : 'view',
    user_id: `u${i % 97}`,
    item_id: `i${i % 61}`,
    event_time_ms: 1_790_000_000_000 + i * 1000,
    rating: i % 5 === 0 ? 0.5 * (1 + (i % 10)) : null,
    price: i % 7 === 0 ? 12.5 : null,
    quantity: i % 7 === 0 ? 1 + (i % 3) : null,
    category: i % 3 === 0 ? null : `c${i % 4}`,
    session_id: null,
    arrival_time_ms: 1_790_000_000_000 + i * 1000 + 20,
    shard_id: 'shardId-000000000001',
    sequence_number: `4960${String(i).padStart(30, '0')}`,
  }),
);

describe('Silver Parquet writing', () => {
  it('writes byte-identical files with the flat fast shredder and with parquetjs-lite\'s own', async () => {
    setFastShredder(false);
    const reference = await writeParquet(INTERACTION_COLUMNS, rows);
    setFastShredder(true);
    const fast = await writeParquet(INTERACTION_COLUMNS, rows);
    expect(Buffer.from(fast).equals(Buffer.from(reference))).toBe(true);
  });

  it('reads back every row and null with the declared types', async () => {
    const back = await readParquet(await writeParquet(INTERACTION_COLUMNS, rows));
    expect(back).toHaveLength(rows.length);
    expect(back[5]).toMatchObject({ event_id: 'e5', event_type: 'rating', rating: 3, price: null, category: 'c1', event_time_ms: 1_790_000_005_000n });
    expect(back[7]).toMatchObject({ event_id: 'e7', rating: null, price: 12.5, quantity: 2 });
    expect(parquetColumns(await writeParquet(INTERACTION_COLUMNS, rows.slice(0, 1))).map((c) => c.name)).toEqual(Object.keys(INTERACTION_COLUMNS));
  });

  it('still refuses a row without a required column', async () => {
    await expect(writeParquet(INTERACTION_COLUMNS, [{ event_id: 'x' }])).rejects.toBe('missing required field: event_type');
  });
});
