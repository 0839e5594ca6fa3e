import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler, resetConsumer } from '../../lambdas/consumer/index';
import type { ExactFeatureRow } from '../../src/adapters/dynamo-feature-table';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { applyItemEvents, applyUserEvents } from '../../src/domain/features';
import { isInteraction, parseEvent, type UserEvent } from '../../src/domain/events';
import { partitionDate } from '../../src/domain/lake-layout';
import { newRecommendationId } from '../../src/domain/recommendation-id';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { extractWindow, readSilverHistory, type ExactFeatureWriter } from '../../src/retraining/extract';
import { toUserEvent } from '../../src/retraining/silver';
import { lakeOf } from '../retraining/support';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';
import { linesUnder, snapshotState } from '../support/snapshot';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

class MemoryTable implements ExactFeatureWriter {
  rows = new Map<string, ExactFeatureRow>();
  async putExactFeatures(rows: readonly ExactFeatureRow[]) {
    for (const r of rows) this.rows.set(`${r.pk}|${r.sk}`, r);
    return { failed: new Set<string>() };
  }
}

describe('impressions through the consumer and the nightly extract', () => {
  it('land in Bronze and Silver exactly, create no feature row, and leave the features of the interactions', async () => {
    resetConsumer();
    const now = Date.now();
    const recommendationId = newRecommendationId({ experimentId: null, variant: 'control', strategy: 'personalized', modelVersion: 'v20261201T020000Z-abc' });
    const at = (i: number) => new Date(now - 10 * 60_000 + i * 1000).toISOString();
    const input: Record<string, unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      input.push({ eventId: `imp-${i}`, type: 'impression', userId: `u${i % 4}`, itemId: `shown-${i}`, position: i % 10, recommendationId, timestamp: at(i) });
      if (i % 2 === 0) input.push({ eventId: `clk-${i}`, type: 'click', userId: `u${i % 4}`, itemId: `shown-${i}`, recommendationId, timestamp: at(i) });
    }
    // A user only ever shown items, and an item only ever shown.
    input.push({ eventId: 'imp-watcher', type: 'impression', userId: 'watcher', itemId: 'never-clicked', position: 0, recommendationId, timestamp: at(30) });
    await aws.putRecords(input);
    for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, 7)) {
      expect((await handler(batch, lambdaContext('consumer')))?.batchItemFailures ?? []).toEqual([]);
    }
    const events: UserEvent[] = input.map((e) => {
      const r = parseEvent(e);
      if (!r.ok) throw new Error(r.message);
      return r.event;
    });

    // Bronze keeps every event as sent.
    const { objects, rows } = await snapshotState(aws);
    const lines = linesUnder(objects, 'bronze/events/');
    expect(lines.map((l) => l.eventId).sort()).toEqual(input.map((e) => e.eventId).sort());
    expect(lines.find((l) => l.eventId === 'imp-3')).toMatchObject({ type: 'impression', position: 3, recommendationId });

    // Real-time features: no row for what was only shown; the others are the interactions' alone.
    const pks = new Set(rows.map((r) => String(r.pk)));
    expect(pks.has('U#watcher')).toBe(false);
    expect(pks.has('I#never-clicked')).toBe(false);
    expect(pks.has('I#shown-1')).toBe(false);
    const table = new DynamoFeatureTable(aws.ddb, aws.names.featuresTable);
    const interactions = events.filter(isInteraction);
    for (const userId of ['u0', 'u2']) {
      const f = await table.userFeatures(userId);
      const expected = applyUserEvents(undefined, interactions.filter((e) => e.userId === userId));
      expect(f?.counts).toEqual(expected.counts);
      expect(f?.recent.map((r) => r.itemId).sort()).toEqual(expected.recent.map((r) => r.itemId).sort());
    }
    expect(await table.userFeatures('u1')).toBeUndefined();

    // Nightly: Silver holds every event with recommendation_id and position, and reads back to the same events.
    const today = partitionDate(now);
    const exact = new MemoryTable();
    await extractWindow({ from: today, to: today }, { lake: lakeOf(aws), table: exact });
    const { rows: silver } = await readSilverHistory(lakeOf(aws));
    const byId = new Map(silver.map((s) => [s.event_id, s]));
    expect([...byId.keys()].sort()).toEqual(events.map((e) => e.eventId).sort());
    expect(byId.get('imp-3')).toMatchObject({ event_type: 'impression', recommendation_id: recommendationId, position: 3 });
    for (const e of events) expect(toUserEvent(byId.get(e.eventId)!)).toEqual(e);
    // Exact features: the interactions' alone, nothing for what was only shown.
    const exactPks = [...exact.rows.values()].map((r) => r.pk);
    expect(exactPks).not.toContain('U#watcher');
    expect(exactPks).not.toContain('I#never-clicked');
    expect(exact.rows.get('I#shown-0|EXACT')?.features).toEqual(applyItemEvents(undefined, interactions.filter((e) => e.itemId === 'shown-0')));
  });
});
