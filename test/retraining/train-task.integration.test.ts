import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { catalogSnapshotKey, modelKeys, silverBatchPrefix, silverInteractionsKey } from '../../src/domain/lake-layout';
import { createRng } from '../../src/recommender/rng';
import { COMPACT_INTERACTION_COLUMNS, ITEM_CATEGORY_COLUMNS } from '../../src/retraining/compact-interactions';
import { itemCatalogue, toInteractions } from '../../src/retraining/interactions';
import { writeParquet } from '../../src/retraining/parquet';
import { INTERACTION_COLUMNS, toParquetRow, type SilverInteraction } from '../../src/retraining/silver';
import { trainCandidate, trainFromCompact, type TrainingRecord } from '../../src/retraining/train-candidate';
import { EXIT, runTrainTask, trainTaskResult, trainTaskResultKey, type TrainTaskOutcome } from '../../src/retraining/train-task';
import type { RetrainingLake } from '../../src/retraining/lake';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from './support';

let aws: TestAws;
let lake: RetrainingLake;
const RUN = 'run-7';
const window = { from: '2026-01-10', to: '2026-01-10' };

beforeAll(async () => {
  aws = await startTestAws();
  lake = lakeOf(aws);
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  const keys = await lake.listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
});

/** A Silver day of random events (impressions too) and categories. */
function silverRows(n = 1_200): SilverInteraction[] {
  const rng = createRng(3);
  const pick = (k: number) => Math.floor(rng() * k);
  const types: SilverInteraction['event_type'][] = ['view', 'click', 'add_to_cart', 'purchase', 'rating', 'impression'];
  return Array.from({ length: n }, (_, r) => {
    const type = types[pick(types.length)]!;
    return {
      event_id: `e${r}`,
      event_type: type,
      user_id: `u${pick(80)}`,
      item_id: `i${pick(60)}`,
      event_time_ms: Date.UTC(2026, 0, 10) + pick(80_000) * 1_000,
      rating: type === 'rating' ? 1 + pick(5) : null,
      price: null,
      quantity: null,
      category: rng() < 0.3 ? `c${pick(5)}` : null,
      session_id: null,
      arrival_time_ms: Date.UTC(2026, 0, 10),
      shard_id: 'shard-0',
      sequence_number: String(r),
    };
  });
}

/** The lake as both engines leave it: Silver (the Lambda engine's input) and the run's compact tables (the lake engine's output). */
async function fillLake(rows: SilverInteraction[]): Promise<void> {
  await lake.putObject(silverInteractionsKey('2026-01-10', '2026-01-10'), await writeParquet(INTERACTION_COLUMNS, rows.map(toParquetRow)), 'application/octet-stream');
  const interactions = rows.filter((r) => r.event_type !== 'impression');
  const table = toInteractions(interactions).map((i) => ({ user_id: i.userId, item_id: i.itemId, strength: i.rating, first_contact_ms: i.timestamp }));
  const half = Math.floor(table.length / 2);
  // Two files in reverse halves: the reader must not depend on file order or row order.
  await lake.putObject(`${silverBatchPrefix(RUN, 'interactions')}20260110_000001_b`, await writeParquet(COMPACT_INTERACTION_COLUMNS, table.slice(0, half).reverse()), 'application/octet-stream');
  await lake.putObject(`${silverBatchPrefix(RUN, 'interactions')}20260110_000001_a`, await writeParquet(COMPACT_INTERACTION_COLUMNS, table.slice(half)), 'application/octet-stream');
  const categories = itemCatalogue(interactions).map((m) => ({ item_id: m.itemId, category: m.genres[0] }));
  await lake.putObject(`${silverBatchPrefix(RUN, 'item_categories')}data_0.parquet`, await writeParquet(ITEM_CATEGORY_COLUMNS, categories), 'application/octet-stream');
  await lake.putObject(catalogSnapshotKey(RUN), JSON.stringify([{ itemId: 'i1', title: 'One', genres: ['g'] }, { itemId: 'i2', title: 'Two' }, { itemId: 'nope', title: 'never seen' }]), 'application/json');
}

const request = { runId: RUN, window, modelConfig: { neighbors: 20 }, trainingWindowDays: 0, catalogKey: catalogSnapshotKey(RUN) };
const readJson = async <T>(key: string) => JSON.parse((await lake.getText(key))!) as T;

describe('the Fargate TrainModel task on s3rver', () => {
  it('trains from the compact table the model TrainModel trains from Silver, byte for byte, and records it alike', async () => {
    await fillLake(silverRows());
    const fromSilver = await trainCandidate(request, lake, new Date('2026-01-11T02:00:00Z'));
    const fromCompact = await trainFromCompact(
      { ...request, interactionsPrefix: silverBatchPrefix(RUN, 'interactions'), itemCategoriesPrefix: silverBatchPrefix(RUN, 'item_categories') },
      lake,
      new Date('2026-01-11T03:00:00Z'),
    );
    expect(fromCompact.version).not.toBe(fromSilver.version);
    const payload = async (version: string) => Buffer.from((await lake.getBytes(modelKeys(version).payload))!);
    expect((await payload(fromCompact.version)).equals(await payload(fromSilver.version))).toBe(true);
    expect({ ...fromCompact, version: '', trainingKey: '', manifestKey: '', trainingSeconds: 0, events: 0 }).toEqual({ ...fromSilver, version: '', trainingKey: '', manifestKey: '', trainingSeconds: 0, events: 0 });
    // Without an events column the task counts pairs (the Silver path counts events).
    expect(fromCompact.events).toBe(fromCompact.interactions);
    const a = await readJson<TrainingRecord>(fromSilver.trainingKey);
    const b = await readJson<TrainingRecord>(fromCompact.trainingKey);
    expect(b.interactions).toEqual(a.interactions);
    expect(b.catalogue).toEqual(a.catalogue);
    expect(b.catalogue.joinedItems).toBe(2);
    expect(b.silver).toEqual({ fromDt: null, files: 2, events: fromCompact.interactions });
  });

  it('runs from TRAIN_REQUEST, writes models/_tasks/<runId>/train-result.json and exits 0', async () => {
    await fillLake(silverRows(400));
    const out: string[] = [];
    const code = await runTrainTask({ ...process.env, TRAIN_REQUEST: JSON.stringify({ runId: RUN, window, modelConfig: null, catalogKey: catalogSnapshotKey(RUN) }) }, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
    expect(code).toBe(EXIT.ok);
    const outcome = await readJson<TrainTaskOutcome>(trainTaskResultKey(RUN));
    expect(outcome.status).toBe('succeeded');
    if (outcome.status !== 'succeeded') return;
    expect(await lake.getBytes(outcome.result.manifestKey)).toBeDefined();
    expect(outcome.result.interactions).toBeGreaterThan(0);
    expect(out.join('\n')).toContain('succeeded');
    // The state after the task returns what TrainModel returns.
    expect(await trainTaskResult(lake, RUN)).toEqual(outcome.result);
  });

  it('fails with exit 2 and a NoTrainingDataError outcome when the compact table is empty, naming it on stderr', async () => {
    const err: string[] = [];
    const code = await runTrainTask({ ...process.env, TRAIN_REQUEST: JSON.stringify({ runId: RUN, window }) }, { stdout: () => {}, stderr: (l) => err.push(l) });
    expect(code).toBe(EXIT.dataError);
    expect(await readJson<TrainTaskOutcome>(trainTaskResultKey(RUN))).toMatchObject({ status: 'failed', runId: RUN, error: { name: 'NoTrainingDataError' }, retryable: false });
    expect(err.join('\n')).toContain(`silver/_batch/${RUN}/interactions/`);
    // …and the state after it fails with the name the Lambda step would have thrown.
    await expect(trainTaskResult(lake, RUN)).rejects.toMatchObject({ name: 'NoTrainingDataError' });
  });

  it('turns a missing outcome into a DataError, and a retry replaces a failed attempt’s outcome with its own', async () => {
    await expect(trainTaskResult(lake, RUN)).rejects.toThrow('left no outcome');
    await lake.putObject(trainTaskResultKey(RUN), JSON.stringify({ status: 'failed', runId: RUN, error: { name: 'TransientError', message: 'throttled' }, retryable: true }), 'application/json');
    await expect(trainTaskResult(lake, RUN)).rejects.toMatchObject({ name: 'TransientError' });
    await fillLake(silverRows(300));
    expect(await runTrainTask({ ...process.env, TRAIN_REQUEST: JSON.stringify({ runId: RUN, window, catalogKey: catalogSnapshotKey(RUN) }) }, { stdout: () => {}, stderr: () => {} })).toBe(EXIT.ok);
    expect((await trainTaskResult(lake, RUN)).interactions).toBeGreaterThan(0);
  });

  it('fails with exit 2 and a DataError outcome for a request that reads another run’s table or a missing snapshot', async () => {
    const code = await runTrainTask({ ...process.env, TRAIN_REQUEST: JSON.stringify({ runId: RUN, window, interactionsPrefix: 'silver/_batch/other-run/interactions/' }) }, { stdout: () => {}, stderr: () => {} });
    expect(code).toBe(EXIT.dataError);
    expect(await readJson<TrainTaskOutcome>(trainTaskResultKey(RUN))).toMatchObject({ status: 'failed', error: { name: 'DataError', message: expect.stringContaining('interactionsPrefix') } });

    await fillLake(silverRows(300));
    await lake.deleteObject(catalogSnapshotKey(RUN));
    const missing = await runTrainTask({ ...process.env, TRAIN_REQUEST: JSON.stringify({ runId: RUN, window, catalogKey: catalogSnapshotKey(RUN) }) }, { stdout: () => {}, stderr: () => {} });
    expect(missing).toBe(EXIT.dataError);
    expect(await readJson<TrainTaskOutcome>(trainTaskResultKey(RUN))).toMatchObject({ status: 'failed', error: { name: 'DataError', message: expect.stringContaining('missing') } });
  });

  it('fails with exit 2 when TRAIN_REQUEST is missing, writing nothing (no run to write for)', async () => {
    const err: string[] = [];
    const env = { ...process.env };
    delete env.TRAIN_REQUEST;
    expect(await runTrainTask(env, { stdout: () => {}, stderr: (l) => err.push(l) })).toBe(EXIT.dataError);
    expect(err.join('\n')).toContain('TRAIN_REQUEST is not set');
    expect(await lake.listKeys('models/_tasks/')).toEqual([]);
  });
});
