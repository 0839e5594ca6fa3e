import { describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { newRecommendationId } from '../../src/domain/recommendation-id';
import type { BronzeRecord, BronzeWindow } from '../../src/retraining/bronze';
import { exactFeatures } from '../../src/retraining/extract';
import { interactionRows, itemCatalogue, toInteractions } from '../../src/retraining/interactions';
import { parquetColumns, readParquet, writeParquet } from '../../src/retraining/parquet';
import { fromParquetInteraction, INTERACTION_COLUMNS, toParquetRow, toSilverInteraction, toUserEvent, type SilverInteraction } from '../../src/retraining/silver';
import { validateWindow } from '../../src/retraining/validate';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const recommendationId = newRecommendationId({ experimentId: null, variant: 'control', strategy: 'personalized', modelVersion: 'v20261201T020000Z-abc' });
let n = 0;
function record(input: Record<string, unknown>): BronzeRecord {
  const i = n++;
  const r = parseEvent({ eventId: `e${i}`, userId: 'u1', itemId: 'i1', timestamp: '2026-11-21T10:00:00Z', ...input }, { now: NOW });
  if (!r.ok) throw new Error(r.message);
  return { event: r.event, arrivalMs: NOW + i, arrivalDt: '2026-11-21', shardId: 'shardId-000', sequenceNumber: String(1000 + i) };
}

/** A shop history: users u0..u5 interacting with items, and impressions of other items they never touched. */
function history(): { interactions: BronzeRecord[]; impressions: BronzeRecord[] } {
  const interactions: BronzeRecord[] = [];
  const impressions: BronzeRecord[] = [];
  for (let u = 0; u < 6; u++) {
    for (let k = 0; k < 4; k++) {
      const ts = new Date(Date.parse('2026-11-20T00:00:00Z') + (u * 4 + k) * 60_000).toISOString();
      interactions.push(record({ type: k === 3 ? 'purchase' : 'view', userId: `u${u}`, itemId: `i${(u + k) % 7}`, timestamp: ts, category: `c${k}`, ...(k === 3 ? { price: 5, quantity: 1 } : {}) }));
      impressions.push(record({ type: 'impression', userId: `u${u}`, itemId: `shown${k}`, position: k, recommendationId, timestamp: ts, category: 'shown' }));
      impressions.push(record({ type: 'impression', userId: `u${u}`, itemId: `i${(u + k) % 7}`, position: k, recommendationId, timestamp: ts }));
    }
  }
  // A user who was only ever shown items.
  impressions.push(record({ type: 'impression', userId: 'watcher', itemId: 'i1', position: 0, recommendationId }));
  return { interactions, impressions };
}

describe('training ignores impressions', () => {
  const { interactions, impressions } = history();
  const silver = (records: BronzeRecord[]) => records.map(toSilverInteraction);
  const plain = silver(interactions);
  const withImpressions = silver([...interactions, ...impressions]);

  it('interactionRows, toInteractions and itemCatalogue see the same history with or without impressions', () => {
    expect(interactionRows(withImpressions)).toEqual(plain);
    expect(toInteractions(withImpressions)).toEqual(toInteractions(plain));
    expect(itemCatalogue(withImpressions)).toEqual(itemCatalogue(plain));
    expect(toInteractions(withImpressions).some((i) => i.userId === 'watcher' || i.itemId.startsWith('shown'))).toBe(false);
  });

  it('exact features: the same user and item rows, none for a user or item only shown', () => {
    const a = exactFeatures(withImpressions);
    const b = exactFeatures(plain);
    expect(a).toEqual(b);
    expect(a.users.map((u) => u.userId)).not.toContain('watcher');
    expect(a.items.map((i) => i.itemId).some((id) => id.startsWith('shown'))).toBe(false);
  });
});

describe('Silver keeps recommendation_id and position', () => {
  it('an impression and a click with a recommendationId round-trip Bronze → Silver Parquet → event exactly', async () => {
    const shown = record({ type: 'impression', position: 7, recommendationId, category: 'hats', sessionId: 's1' });
    const clicked = record({ type: 'click', recommendationId });
    const bare = record({ type: 'impression' });
    const rows = [shown, clicked, bare].map(toSilverInteraction);
    const back = (await readParquet(await writeParquet(INTERACTION_COLUMNS, rows.map(toParquetRow)))).map(fromParquetInteraction);
    expect(back).toEqual(rows);
    expect(back.map(toUserEvent)).toEqual([shown.event, clicked.event, bare.event]);
    expect(back[0]).toMatchObject({ recommendation_id: recommendationId, position: 7 });
    expect(INTERACTION_COLUMNS.recommendation_id).toEqual({ type: 'UTF8', optional: true });
    expect(INTERACTION_COLUMNS.position).toEqual({ type: 'INT32', optional: true });
  });

  it('a Silver file written before the columns existed still reads, its rows as a new file of the same rows', async () => {
    const { recommendation_id: _r, position: _p, ...oldColumns } = INTERACTION_COLUMNS;
    const old: SilverInteraction = toSilverInteraction(record({ type: 'view', category: 'c1' }));
    const oldFile = await writeParquet(oldColumns, [toParquetRow(old)]);
    const newFile = await writeParquet(INTERACTION_COLUMNS, [toParquetRow(old)]);
    expect(parquetColumns(newFile).map((c) => c.name)).toEqual([...parquetColumns(oldFile).map((c) => c.name), 'recommendation_id', 'position']);
    const back = (await readParquet(oldFile)).map(fromParquetInteraction);
    expect(back).toEqual([old]);
    expect((await readParquet(newFile)).map(fromParquetInteraction)).toEqual(back);
    expect(Object.keys(back[0]!)).not.toContain('recommendation_id');
    expect(toUserEvent(back[0]!)).toEqual(toUserEvent(old));
  });
});

describe('ValidateData counts impressions by type', () => {
  it('reports impressions and interactions apart, and byType per type', () => {
    const records: BronzeRecord[] = [record({ type: 'view' }), record({ type: 'click', recommendationId }), record({ type: 'impression', position: 0, recommendationId }), record({ type: 'impression', position: 1 })];
    const bronze: BronzeWindow = { records, invalid: [], quarantined: 0, objects: 1, lines: records.length, perDay: { '2026-11-21': records.length } };
    const report = validateWindow('r1', { from: '2026-11-21', to: '2026-11-21' }, bronze, null, {}, new Date(NOW));
    expect(report.status).toBe('passed');
    expect(report.stats.byType).toEqual({ view: 1, click: 1, impression: 2 });
    expect(report.stats).toMatchObject({ interactions: 2, impressions: 2 });
    expect(report.checks.find((c) => c.name === 'volume')?.detail).toBe('4 unique valid events (2 interactions, 2 impressions) in 1 Bronze objects');
  });
});
