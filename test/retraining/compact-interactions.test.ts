import { describe, expect, it } from 'vitest';
import { compactToInteractions } from '../../src/recommender/columnar';
import { createRng } from '../../src/recommender/rng';
import { serializeModel } from '../../src/recommender/serialize';
import { trainHybridModel } from '../../src/recommender/train';
import type { CompactInteractions } from '../../src/recommender/types';
import { categoryRows, COMPACT_INTERACTION_COLUMNS, compactFromSilver, readCompactInteractions, readItemCategories, usableCompact, type TableLake } from '../../src/retraining/compact-interactions';
import { CorruptObjectError, DataError } from '../../src/retraining/errors';
import { itemCatalogue, toInteractions } from '../../src/retraining/interactions';
import { writeParquet, type ParquetColumns } from '../../src/retraining/parquet';
import { SetAsideLog } from '../../src/retraining/poison';
import type { SilverInteraction } from '../../src/retraining/silver';

const TYPES: SilverInteraction['event_type'][] = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'impression'];

/** Random Silver rows: every event type (impressions too), repeated pairs, null ratings, ids that prefix each other, non-ASCII ids. */
function randomSilver(seed: number, n = 2_000): SilverInteraction[] {
  const rng = createRng(seed);
  const pick = (k: number) => Math.floor(rng() * k);
  const users = ['u1', 'u10', 'u2', 'ü', 'user-é', 'U', 'u1 ', ...Array.from({ length: 60 }, (_, i) => `u${i + 100}`)];
  const items = ['a', 'ab', 'b', 'B', '商品', 'z', ...Array.from({ length: 70 }, (_, i) => `i${i}`)];
  return Array.from({ length: n }, (_, r) => {
    const type = TYPES[pick(TYPES.length)]!;
    return {
      event_id: `e${r}`,
      event_type: type,
      user_id: users[pick(users.length)]!,
      item_id: items[pick(items.length)]!,
      event_time_ms: Date.UTC(2026, 0, 1) + pick(5_000) * 1_000,
      rating: type === 'rating' ? (rng() < 0.1 ? null : 0.5 + pick(10) / 2) : null,
      price: null,
      quantity: null,
      category: rng() < 0.5 ? `c${pick(6)}` : null,
      session_id: null,
      arrival_time_ms: 0,
      shard_id: 's',
      sequence_number: String(r),
    };
  });
}

/** A lake of in-memory objects (the readers list and get only). */
function memoryLake(objects: Record<string, Uint8Array>): TableLake {
  return {
    listKeys: async (prefix) => Object.keys(objects).filter((k) => k.startsWith(prefix)),
    getBytes: async (key) => objects[key],
  };
}

const columnsOf = (c: CompactInteractions) => ({
  users: c.users,
  items: c.items,
  user: [...c.user.subarray(0, c.length)],
  item: [...c.item.subarray(0, c.length)],
  strength: [...c.strength.subarray(0, c.length)],
  firstContactMs: [...c.firstContactMs.subarray(0, c.length)],
  length: c.length,
});

/** The compact table rows of `rows`, the way the lake engine's query writes them. */
const tableRows = (rows: SilverInteraction[]) => toInteractions(rows).map((i) => ({ user_id: i.userId, item_id: i.itemId, strength: i.rating, first_contact_ms: i.timestamp }));

describe('compactFromSilver', () => {
  it('gives the rows of toInteractions, in its order, for random Silver histories', () => {
    for (const seed of [1, 2, 3]) {
      const rows = randomSilver(seed);
      expect(compactToInteractions(compactFromSilver(rows))).toEqual(toInteractions(rows));
    }
  });

  it('trains the same model, byte for byte, as toInteractions does', () => {
    const rows = randomSilver(4);
    const items = itemCatalogue(rows);
    for (const algorithm of ['ease', 'rp3beta'] as const) {
      const config = { algorithm, minRating: 1.5 };
      const a = serializeModel(trainHybridModel(toInteractions(rows), { items, config, modelVersion: 'v' }));
      const b = serializeModel(trainHybridModel(compactFromSilver(rows), { items, config, modelVersion: 'v' }));
      expect(Buffer.from(b.payload).equals(Buffer.from(a.payload))).toBe(true);
      expect(b.manifest.payload).toEqual(a.manifest.payload);
    }
  });
});

describe('readCompactInteractions (Parquet under a lake prefix)', () => {
  it('reads the same columns from Parquet files in any order and split as compactFromSilver builds from the rows', async () => {
    const rows = randomSilver(5);
    const table = tableRows(rows);
    // Shuffled, split over two files with names of their own, one pair repeated in both (merged: max / min).
    const rng = createRng(9);
    const shuffled = [...table].sort(() => rng() - 0.5);
    const half = Math.floor(shuffled.length / 2);
    const repeat = { ...shuffled[0]!, strength: shuffled[0]!.strength - 0.5, first_contact_ms: shuffled[0]!.first_contact_ms + 1 };
    const lake = memoryLake({
      'silver/_batch/r1/interactions/20261203_abc_00001': await writeParquet(COMPACT_INTERACTION_COLUMNS, shuffled.slice(0, half)),
      'silver/_batch/r1/interactions/data_1.parquet': await writeParquet(COMPACT_INTERACTION_COLUMNS, [...shuffled.slice(half), repeat]),
      'silver/_batch/r1/interactions/_SUCCESS': new Uint8Array(),
      'silver/_batch/r1/other/data_0.parquet': new Uint8Array([1, 2, 3]),
    });
    const read = await readCompactInteractions(lake, 'silver/_batch/r1/interactions/');
    expect(read.files).toBe(2);
    expect(read.events).toBe(table.length + 1);
    expect(columnsOf(read.interactions)).toEqual(columnsOf(compactFromSilver(rows)));
  });

  it('sums the optional events column and accepts an integer strength', async () => {
    const columns: ParquetColumns = { ...COMPACT_INTERACTION_COLUMNS, strength: { type: 'INT64' } };
    const lake = memoryLake({
      't/part-0.parquet': await writeParquet(columns, [
        { user_id: 'u', item_id: 'b', strength: 5, first_contact_ms: 20, events: 3 },
        { user_id: 'u', item_id: 'a', strength: 1, first_contact_ms: 10, events: 4 },
      ]),
    });
    const read = await readCompactInteractions(lake, 't/');
    expect(read.events).toBe(7);
    expect(compactToInteractions(read.interactions)).toEqual([
      { userId: 'u', itemId: 'a', rating: 1, timestamp: 10 },
      { userId: 'u', itemId: 'b', rating: 5, timestamp: 20 },
    ]);
  });

  it('names the object that is not Parquet, lacks a column, or holds a row without a user', async () => {
    await expect(readCompactInteractions(memoryLake({ 't/x': new TextEncoder().encode('not parquet') }), 't/')).rejects.toThrow(CorruptObjectError);
    const noStrength = await writeParquet({ user_id: { type: 'UTF8' }, item_id: { type: 'UTF8' }, first_contact_ms: { type: 'INT64' } }, [{ user_id: 'u', item_id: 'i', first_contact_ms: 1 }]);
    await expect(readCompactInteractions(memoryLake({ 't/y.parquet': noStrength }), 't/')).rejects.toThrow(/t\/y\.parquet.*no column strength|no column strength/);
    const nullUser = await writeParquet({ ...COMPACT_INTERACTION_COLUMNS, user_id: { type: 'UTF8', optional: true } }, [{ item_id: 'i', strength: 1, first_contact_ms: 1 }]);
    const err = await readCompactInteractions(memoryLake({ 't/z.parquet': nullUser }), 't/').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toContain('t/z.parquet: row 0');
  });

  it('reads nothing from an empty prefix', async () => {
    const read = await readCompactInteractions(memoryLake({}), 't/');
    expect(read).toMatchObject({ files: 0, events: 0, interactions: { length: 0, users: [], items: [] } });
  });
});

describe('item categories and the catalogue join', () => {
  it('gives itemCatalogue the same items from one stand-in row per item as from the Silver rows', async () => {
    const rows = randomSilver(6).filter((r) => r.event_type !== 'impression');
    const fromEvents = itemCatalogue(rows);
    const lake = memoryLake({ 'c/data_0.parquet': await writeParquet({ item_id: { type: 'UTF8' }, category: { type: 'UTF8', optional: true } }, fromEvents.map((m) => ({ item_id: m.itemId, category: m.genres[0] }))) });
    const categories = await readItemCategories(lake, 'c/');
    const compact = compactFromSilver(rows);
    expect(itemCatalogue(categoryRows(compact.items, categories))).toEqual(fromEvents);
  });
});

describe('usableCompact', () => {
  it('sets aside the rows whose ids the artifact cannot store, without naming the ids', () => {
    const compact = compactFromSilver([
      ...randomSilver(7, 50),
      { ...randomSilver(8, 1)[0]!, event_type: 'view', user_id: 'bad\nuser' },
      { ...randomSilver(9, 1)[0]!, event_type: 'view', item_id: '' },
    ]);
    const log = new SetAsideLog();
    const usable = usableCompact(compact, log);
    expect(log.count).toBe(2);
    expect(JSON.stringify(log.summary())).not.toContain('bad');
    expect(usable.users).not.toContain('bad\nuser');
    expect(usable.items).not.toContain('');
    expect(compactToInteractions(usable)).toEqual(compactToInteractions(compact).filter((i) => i.userId !== 'bad\nuser' && i.itemId !== ''));
    const clean = compactFromSilver(randomSilver(7, 50));
    expect(usableCompact(clean, new SetAsideLog())).toBe(clean);
  });
});
