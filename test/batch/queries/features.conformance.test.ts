import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Lake } from '../../../src/adapters/s3-lake';
import { DuckDbLakeEngine } from '../../../src/adapters/duckdb-lake-engine';
import { EVENT_TYPES, type EventType } from '../../../src/domain/events';
import { partitionDate, silverInteractionsKey } from '../../../src/domain/lake-layout';
import { asOfOf, interactionsSelect, itemCategoriesSelect, itemFeaturesFromRow, itemFeaturesSelect, userFeaturesFromRow, userFeaturesSelect } from '../../../src/batch/queries/features';
import { batchNumber, batchString, type BatchRow } from '../../../src/batch/engine';
import { exactFeatures, readSilverHistory } from '../../../src/retraining/extract';
import { interactionRows, itemCatalogue, toInteractions } from '../../../src/retraining/interactions';
import { writeParquet } from '../../../src/retraining/parquet';
import { SetAsideLog, usableInteractions } from '../../../src/retraining/poison';
import { INTERACTION_COLUMNS, toParquetRow, type SilverInteraction } from '../../../src/retraining/silver';
import { createRng } from '../../../src/recommender/rng';
import { startTestAws, type TestAws } from '../../support/aws-env';

/**
 * The Athena engine's features and compact interactions (SQL, on DuckDB as locally) against the Lambda engine's
 * (exactFeatures, toInteractions, itemCatalogue) over the same Silver files: equal, field for field.
 */

let aws: TestAws;
let lake: S3Lake;
beforeAll(async () => {
  aws = await startTestAws();
  lake = new S3Lake(aws.s3, aws.names.lakeBucket);
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  for (const key of await lake.listKeys('')) await lake.deleteObject(key);
});

const DAY = 86_400_000;
const BASE = Date.parse('2026-03-01T00:00:00Z');

/** A random history: ties in time are common (minutes), categories change, money has cents, ratings are halves. */
function history(seed: number, events: number, users: number, items: number): SilverInteraction[] {
  const rng = createRng(seed);
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const out: SilverInteraction[] = [];
  for (let i = 0; i < events; i++) {
    const type = pick(EVENT_TYPES) as EventType;
    const t = BASE + Math.floor(rng() * 5 * 24 * 12) * 5 * 60_000;
    const arrival = t + Math.floor(rng() * 3) * DAY;
    out.push({
      event_id: `e${String(Math.floor(rng() * 1e9)).padStart(9, '0')}-${i}`,
      event_type: type,
      user_id: `${pick(['u', 'U', 'user_'])}${Math.floor(rng() * users)}`,
      item_id: `${pick(['i', 'I', 'item-'])}${Math.floor(rng() * items)}`,
      event_time_ms: t,
      rating: type === 'rating' ? Math.ceil(rng() * 10) / 2 : null,
      price: type === 'purchase' || type === 'add_to_cart' ? pick([0.1, 0.2, 19.99, 5, 1234.56, 0.07]) : null,
      quantity: type === 'purchase' || type === 'add_to_cart' ? 1 + Math.floor(rng() * 4) : null,
      category: rng() < 0.3 ? null : pick(['books', 'Books', 'garden', 'toys']),
      session_id: null,
      arrival_time_ms: arrival,
      shard_id: 'shardId-000000000000',
      sequence_number: String(i + 1),
      ...(type === 'impression' ? { position: Math.floor(rng() * 10) } : {}),
    });
  }
  return out;
}

/** Writes rows as the Lambda engine lays Silver out: one file per (event date, arrival date), sorted. */
async function putSilver(rows: readonly SilverInteraction[]): Promise<void> {
  const parts = new Map<string, SilverInteraction[]>();
  for (const r of rows) {
    const key = silverInteractionsKey(partitionDate(r.event_time_ms), partitionDate(r.arrival_time_ms));
    parts.set(key, [...(parts.get(key) ?? []), r]);
  }
  for (const [key, list] of parts) {
    list.sort((a, b) => a.event_time_ms - b.event_time_ms || (a.event_id < b.event_id ? -1 : 1));
    await lake.putObject(key, await writeParquet(INTERACTION_COLUMNS, list.map(toParquetRow)), 'application/vnd.apache.parquet');
  }
}

async function lambdaEngine(fromDt?: string) {
  const rows = usableInteractions((await readSilverHistory(lake, fromDt)).rows, new SetAsideLog());
  return { rows, features: exactFeatures(rows, 50) };
}

const byId = <T,>(xs: T[], id: (x: T) => string) => xs.sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));

describe('features and interactions: Athena SQL (DuckDB) = Lambda engine', () => {
  it('gives the same exact user and item features, recent lists and asOf over random histories', async () => {
    for (const seed of [1, 2, 3]) {
      for (const key of await lake.listKeys('')) await lake.deleteObject(key);
      await putSilver(history(seed, 1500, 40, 30));
      const js = (await lambdaEngine()).features;
      const engine = new DuckDbLakeEngine(lake);
      const userRows = await engine.select(userFeaturesSelect(50));
      const itemRows = await engine.select(itemFeaturesSelect());
      expect(byId(userRows.map(userFeaturesFromRow), (u) => u.userId), `seed ${seed}`).toEqual(js.users);
      expect(byId(itemRows.map(itemFeaturesFromRow), (i) => i.itemId), `seed ${seed}`).toEqual(js.items);
      expect(asOfOf(userRows[0]!)).toBe(js.asOf);
    }
  });

  it('cuts the recent list at the limit exactly where the Lambda does, ties included', async () => {
    // One user, 80 events at only 4 distinct times over 6 items: the cut at 50 falls inside a tie.
    const rows = history(9, 400, 1, 6).map((r, i) => ({ ...r, user_id: 'solo', event_time_ms: BASE + (i % 4) * 60_000, arrival_time_ms: BASE + DAY }));
    await putSilver(rows);
    const js = (await lambdaEngine()).features;
    const sql = (await new DuckDbLakeEngine(lake).select(userFeaturesSelect(50))).map(userFeaturesFromRow);
    expect(sql).toEqual(js.users);
    expect(sql[0]!.recent).toHaveLength(50);
  });

  it('leaves out rows the Lambda engine sets aside, and impressions, on both sides', async () => {
    const rows = history(4, 300, 10, 10);
    rows.push({ ...rows[0]!, event_id: 'whale', event_type: 'purchase', user_id: 'whale', price: 1e15, quantity: 100 });
    rows.push({ ...rows[0]!, event_id: 'shown', event_type: 'impression', user_id: 'only-shown', item_id: 'never-used', position: 1 });
    await putSilver(rows);
    const js = (await lambdaEngine()).features;
    const users = (await new DuckDbLakeEngine(lake).select(userFeaturesSelect(50))).map(userFeaturesFromRow);
    expect(users.map((u) => u.userId)).not.toContain('whale');
    expect(users.map((u) => u.userId)).not.toContain('only-shown');
    expect(byId(users, (u) => u.userId)).toEqual(js.users);
  });

  it('gives the compact interaction table toInteractions gives, with the training window cut, and itemCatalogue categories', async () => {
    const rows = history(5, 2000, 50, 40);
    // Equal times for one item in two arrival partitions: the row read last (later arrival, whatever its eventId) wins.
    const tie = { ...rows[0]!, event_type: 'view' as const, item_id: 'tied', event_time_ms: BASE + DAY, rating: null, price: null, quantity: null };
    rows.push({ ...tie, event_id: 'z-first-arrival', category: 'early', arrival_time_ms: BASE + DAY }, { ...tie, event_id: 'a-later-arrival', category: 'late', arrival_time_ms: BASE + 2 * DAY });
    await putSilver(rows);
    const engine = new DuckDbLakeEngine(lake);
    for (const fromDt of [undefined, '2026-03-03']) {
      const js = (await lambdaEngine(fromDt)).rows;
      const expected = toInteractions(interactionRows(js));
      const sql = (await engine.select(interactionsSelect(fromDt)))
        .map((r: BatchRow) => ({ userId: batchString(r.user_id)!, itemId: batchString(r.item_id)!, rating: batchNumber(r.strength)!, timestamp: batchNumber(r.first_contact_ms)! }))
        .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0));
      expect(sql, `fromDt ${fromDt}`).toEqual(expected);
      const categories = (await engine.select(itemCategoriesSelect(fromDt))).map((r) => ({ itemId: batchString(r.item_id)!, genres: [batchString(r.category)!] }));
      expect(byId(categories, (c) => c.itemId)).toEqual(itemCatalogue(js));
    }
  });

  it('answers nothing for an empty history', async () => {
    const engine = new DuckDbLakeEngine(lake);
    expect(await engine.select(userFeaturesSelect(50))).toEqual([]);
    expect(await engine.select(itemFeaturesSelect())).toEqual([]);
    expect(await engine.select(interactionsSelect())).toEqual([]);
  });
});
