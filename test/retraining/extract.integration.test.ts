import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExactFeatureRow } from '../../src/adapters/dynamo-feature-table';
import { bronzeKeyFor } from '../../src/domain/lake-layout';
import { extractWindow, readSilverHistory, type ExactFeatureWriter } from '../../src/retraining/extract';
import { readParquet } from '../../src/retraining/parquet';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from './support';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

const D1 = '2026-11-10';
const D2 = '2026-11-11';

/** Writes one Bronze object the way the consumer does: raw event lines plus `_ingest`. */
async function putBronze(arrivalDt: string, shardId: string, firstSeq: number, events: { id: string; at: string }[]) {
  const lines = events.map((e, i) =>
    JSON.stringify({
      eventId: e.id,
      type: 'click',
      userId: `u${e.id.length % 3}`,
      itemId: `i${e.id}`,
      timestamp: e.at,
      _ingest: { shardId, sequenceNumber: String(firstSeq + i), arrivalTime: `${arrivalDt}T23:00:00.000Z` },
    }),
  );
  await lakeOf(aws).putObject(bronzeKeyFor({ kind: 'events', dt: arrivalDt, shardId, firstSequenceNumber: String(firstSeq) }), lines.join('\n') + '\n', 'application/x-ndjson');
}

class MemoryTable implements ExactFeatureWriter {
  rows = new Map<string, ExactFeatureRow>();
  failNext = 0;
  async putExactFeatures(rows: readonly ExactFeatureRow[]) {
    const failed = new Set<string>();
    for (const r of rows) {
      if (this.failNext > 0) {
        this.failNext -= 1;
        failed.add(r.pk);
      } else this.rows.set(`${r.pk}|${r.sk}`, r);
    }
    return { failed };
  }
}

async function silverParts(): Promise<Record<string, string[]>> {
  const lake = lakeOf(aws);
  const out: Record<string, string[]> = {};
  for (const key of (await lake.listKeys('silver/interactions/')).sort()) out[key] = (await readParquet((await lake.getBytes(key))!)).map((r) => String(r.event_id)).sort();
  return out;
}

describe('Bronze → Silver across windows', () => {
  it('stores each event once, in the part of its first arrival, whatever order windows run in', async () => {
    const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `e${from + i}`);
    await putBronze(D1, 'shardId-000', 100, ids(1, 10).map((id) => ({ id, at: `${D1}T10:00:00Z` })));
    // e8–e10 are delivered again the next day (producer retry); e16 happened on D2.
    await putBronze(D2, 'shardId-001', 500, [...ids(8, 15).map((id) => ({ id, at: `${D1}T20:00:00Z` })), { id: 'e16', at: `${D2}T01:00:00Z` }]);
    const table = new MemoryTable();

    const later = await extractWindow({ from: D2, to: D2 }, { lake: lakeOf(aws), table });
    expect(later).toMatchObject({ windowInteractions: 9, totalInteractions: 9 });
    const earlier = await extractWindow({ from: D1, to: D1 }, { lake: lakeOf(aws), table });
    expect(earlier).toMatchObject({ windowInteractions: 10, totalInteractions: 16 });

    const parts = await silverParts();
    expect(parts).toEqual({
      [`silver/interactions/dt=${D1}/part-${D1}.parquet`]: ids(1, 10).sort(),
      [`silver/interactions/dt=${D1}/part-${D2}.parquet`]: ids(11, 15),
      [`silver/interactions/dt=${D2}/part-${D2}.parquet`]: ['e16'],
    });

    // Reruns, in either order, change nothing.
    const bytes = async () => Object.fromEntries(await Promise.all(Object.keys(parts).map(async (k) => [k, Buffer.from((await lakeOf(aws).getBytes(k))!).toString('hex')])));
    const before = await bytes();
    const rerun = await extractWindow({ from: D2, to: D2 }, { lake: lakeOf(aws), table });
    expect(rerun).toMatchObject({ windowInteractions: 6, duplicatesDropped: 3, totalInteractions: 16 });
    await extractWindow({ from: D1, to: D2 }, { lake: lakeOf(aws), table });
    expect(await bytes()).toEqual(before);
    expect((await readSilverHistory(lakeOf(aws))).rows).toHaveLength(16);

    // Exact features count every event once.
    const clicks = [...table.rows.values()].filter((r) => r.entity === 'user').reduce((s, r) => s + r.features.counts.click, 0);
    expect(clicks).toBe(16);
  });

  it('fails with a TransientError, to be retried as a whole, when feature rows cannot be written', async () => {
    const table = new MemoryTable();
    table.failNext = 2;
    await expect(extractWindow({ from: D1, to: D1 }, { lake: lakeOf(aws), table })).rejects.toMatchObject({ name: 'TransientError', message: expect.stringContaining('exact feature rows could not be written') });
  });
});
