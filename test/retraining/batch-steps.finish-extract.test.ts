import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { silverBatchPrefix, silverInteractionsPartitionPrefix } from '../../src/domain/lake-layout';
import { finishExtractStep } from '../../src/retraining/batch-steps';
import type { RetrainingDeps } from '../../src/retraining/deps';
import { writeParquet } from '../../src/retraining/parquet';
import { INTERACTION_COLUMNS } from '../../src/retraining/silver';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from './support';

/**
 * FinishExtract on an s3rver lake laid out by hand: it hands on what the Athena steps wrote only when the window's
 * Silver partitions (written by one query per chunk of partitions) hold the rows the Silver counts query promised.
 */
let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  const keys = await lakeOf(aws).listKeys('');
  if (keys.length > 0) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
});

const RUN = { runId: 'finish-1', window: { from: '2026-12-02', to: '2026-12-02' }, trigger: 'manual', startedAt: '2026-12-03T02:00:00.000Z', modelConfig: {} };
const row = (n: number) => ({ event_id: `e${n}`, event_type: 'view', user_id: 'u1', item_id: `i${n}`, event_time_ms: Date.parse('2026-11-20T10:00:00Z') + n, arrival_time_ms: Date.parse('2026-12-02T10:00:00Z') + n, shard_id: 's0', sequence_number: String(n) });

async function layOut(silverRowsPromised: number, partitions: number[][]): Promise<RetrainingDeps> {
  const lake = lakeOf(aws);
  const counts = { window_events: silverRowsPromised, duplicates: 0, set_aside: 0, stored_earlier: 0, silver_rows: silverRowsPromised, event_dates: partitions.length };
  await lake.putObject(`${silverBatchPrefix(RUN.runId, 'silver_counts')}data_0.parquet`, await writeParquet({ window_events: { type: 'INT64' }, duplicates: { type: 'INT64' }, set_aside: { type: 'INT64' }, stored_earlier: { type: 'INT64' }, silver_rows: { type: 'INT64' }, event_dates: { type: 'INT64' } }, [counts]), 'application/vnd.apache.parquet');
  for (const [i, ids] of partitions.entries()) {
    await lake.putObject(`${silverInteractionsPartitionPrefix(`2026-11-${String(10 + i)}`, RUN.window.to)}part-0.parquet`, await writeParquet(INTERACTION_COLUMNS, ids.map(row)), 'application/vnd.apache.parquet');
  }
  return { lake, config: { FARGATE_TRAINING: false, FARGATE_MIN_INTERACTIONS: 20_000_000 } } as unknown as RetrainingDeps;
}

const payload = { run: RUN, validation: { duplicates: 0 }, batch: { silverFilesDeleted: 0 } };

describe('FinishExtract (the Athena path)', () => {
  it("hands on the window's counts when its Silver partitions hold the rows the counts query promised", async () => {
    const deps = await layOut(3, [[1, 2], [3]]);
    const out = await finishExtractStep(payload, deps);
    expect(out.extract).toMatchObject({ windowInteractions: 3, silverFilesWritten: 2 });
  });

  it('stops the run when a Silver query wrote fewer rows than promised (a chunk of partitions lost), before the run is marked extracted', async () => {
    const deps = await layOut(3, [[1, 2]]);
    await expect(finishExtractStep(payload, deps)).rejects.toThrow(/hold 2 rows, the Silver counts query expected 3/);
    expect(await deps.lake.listKeys('reports/')).toEqual([]);
  });
});
