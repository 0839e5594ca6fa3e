import { describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { featureRowKeys, foldFeatures } from '../../src/ingest/feature-fold';
import type { Positioned } from '../../src/stream/watermarked-rows';

let seq = 100;
const at = (input: Record<string, unknown>): Positioned<UserEvent> => {
  const r = parseEvent({ eventId: `e${seq}`, userId: 'u1', itemId: 'i1', timestamp: '2026-11-01T10:00:00Z', ...input }, { now: Date.parse('2026-11-02T00:00:00Z') });
  if (!r.ok) throw new Error(r.message);
  return { shardId: 'shardId-000', sequenceNumber: String(seq++), value: r.event };
};

describe('the real-time feature fold and impressions', () => {
  it('an impression-only batch reads no row, writes no row and sets nothing aside', () => {
    const batch = [at({ type: 'impression', position: 0, recommendationId: 'r1' }), at({ type: 'impression', itemId: 'i2', position: 1, recommendationId: 'r1' })];
    expect(featureRowKeys(batch)).toEqual([]);
    const setAside = new Map<string, string>();
    const folded = foldFeatures(batch, new Map(), 50, setAside);
    expect(folded.rows).toEqual([]);
    expect(setAside.size).toBe(0);
  });

  it('a mixed batch folds exactly the rows of its interactions', () => {
    const click = at({ type: 'click', recommendationId: 'r1' });
    const shown = at({ type: 'impression', itemId: 'i9', position: 2 });
    const view = at({ type: 'view', itemId: 'i2' });
    const withImpressions = foldFeatures([click, shown, view], new Map(), 50, new Map());
    const without = foldFeatures([click, view], new Map(), 50, new Map());
    expect(withImpressions.rows.map((r) => ({ ...r, wm: undefined }))).toEqual(without.rows.map((r) => ({ ...r, wm: undefined })));
    expect(withImpressions.rows.map((r) => r.pk).sort()).toEqual(without.rows.map((r) => r.pk).sort());
    expect(featureRowKeys([click, shown, view])).toEqual(featureRowKeys([click, view]));
  });
});
