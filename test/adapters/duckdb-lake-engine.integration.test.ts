import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Lake } from '../../src/adapters/s3-lake';
import { DuckDbLakeEngine } from '../../src/adapters/duckdb-lake-engine';
import { BATCH_TABLES, batchTableOf } from '../../src/batch/dialect';
import { writeParquet, readParquet } from '../../src/retraining/parquet';
import { INTERACTION_COLUMNS, toParquetRow, type SilverInteraction } from '../../src/retraining/silver';
import { startTestAws, type TestAws } from '../support/aws-env';

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

const row = (over: Partial<SilverInteraction>): SilverInteraction => ({
  event_id: 'e1',
  event_type: 'view',
  user_id: 'u1',
  item_id: 'i1',
  event_time_ms: Date.parse('2026-01-02T10:00:00Z'),
  rating: null,
  price: null,
  quantity: null,
  category: null,
  session_id: null,
  arrival_time_ms: Date.parse('2026-01-03T00:00:01Z'),
  shard_id: 'shardId-000000000000',
  sequence_number: '1',
  ...over,
});

describe('DuckDbLakeEngine over s3rver', () => {
  it('sees an empty lake as empty tables of the Glue columns', async () => {
    const engine = new DuckDbLakeEngine(lake);
    expect(await engine.select('SELECT count(*) AS n FROM silver_interactions')).toEqual([{ n: 0n }]);
    expect(await engine.select('SELECT count(*) AS n, max(line) AS l, max(dt) AS d, max("$path") AS p FROM bronze_events')).toEqual([{ n: 0n, l: null, d: null, p: null }]);
    expect(await engine.select('SELECT event_time_ms, rating, quantity, position, dt, arrival_dt FROM silver_interactions')).toEqual([]);
  });

  it('shows Bronze lines with dt and $path, and Silver of both layouts with dt and arrival_dt from the key', async () => {
    const bronzeKey = 'bronze/events/dt=2026-01-03/shard=shardId-000000000000/49.jsonl';
    await lake.putObject(bronzeKey, '{"a":1}\nnot json\n\n{"b":2}\n', 'application/x-ndjson');
    await lake.putObject('bronze/_quarantine/dt=2026-01-03/shard=shardId-000000000000/7.jsonl', 'x', 'application/x-ndjson');
    const engine = new DuckDbLakeEngine(lake);
    const lines = await engine.select('SELECT line, dt, "$path" AS path FROM bronze_events ORDER BY line');
    const path = `s3://${lake.bucket}/${bronzeKey}`;
    expect(lines).toEqual([
      { line: '', dt: '2026-01-03', path },
      { line: 'not json', dt: '2026-01-03', path },
      { line: '{"a":1}', dt: '2026-01-03', path },
      { line: '{"b":2}', dt: '2026-01-03', path },
    ]);
    expect(await engine.select('SELECT line, dt FROM bronze_quarantine')).toEqual([{ line: 'x', dt: '2026-01-03' }]);

    // New layout (with the impression columns) and a legacy file written before recommendation_id/position existed.
    await lake.putObject('silver/interactions/dt=2026-01-02/arrival_dt=2026-01-03/part-0.parquet', await writeParquet(INTERACTION_COLUMNS, [toParquetRow(row({ event_type: 'impression', recommendation_id: 'r1', position: 3 }))]), 'application/vnd.apache.parquet');
    const legacyColumns = Object.fromEntries(Object.entries(INTERACTION_COLUMNS).filter(([k]) => k !== 'recommendation_id' && k !== 'position'));
    await lake.putObject('silver/interactions/dt=2026-01-01/part-2026-01-04.parquet', await writeParquet(legacyColumns, [toParquetRow(row({ event_id: 'e2', event_type: 'rating', rating: 4.5, event_time_ms: Date.parse('2026-01-01T23:00:00Z') }))]), 'application/vnd.apache.parquet');
    const silver = await engine.select('SELECT event_id, event_type, rating, event_time_ms, recommendation_id, position, dt, arrival_dt, "$path" AS path FROM silver_interactions ORDER BY event_id');
    expect(silver).toEqual([
      { event_id: 'e1', event_type: 'impression', rating: null, event_time_ms: BigInt(Date.parse('2026-01-02T10:00:00Z')), recommendation_id: 'r1', position: 3, dt: '2026-01-02', arrival_dt: '2026-01-03', path: `s3://${lake.bucket}/silver/interactions/dt=2026-01-02/arrival_dt=2026-01-03/part-0.parquet` },
      { event_id: 'e2', event_type: 'rating', rating: 4.5, event_time_ms: BigInt(Date.parse('2026-01-01T23:00:00Z')), recommendation_id: null, position: null, dt: '2026-01-01', arrival_dt: '2026-01-04', path: `s3://${lake.bucket}/silver/interactions/dt=2026-01-01/part-2026-01-04.parquet` },
    ]);
  });

  it('unloads SNAPPY Parquet under the prefix with Hive partition folders, refuses a non-empty prefix, and reads it back as a table', async () => {
    const engine = new DuckDbLakeEngine(lake);
    const select = `SELECT x, CAST(x * 2 AS BIGINT) AS y, CASE WHEN x < 3 THEN 'a' ELSE 'b' END AS part FROM (VALUES (1), (2), (3)) t(x)`;
    const out = await engine.unload({ name: 'demo', select, output: { prefix: 'silver/_batch/run-1/demo/', partitionedBy: ['part'] } });
    expect(out.rows).toBe(3);
    expect(out.keys.map((k) => k.replace(/[^/]+$/, ''))).toEqual(['silver/_batch/run-1/demo/part=a/', 'silver/_batch/run-1/demo/part=b/']);
    const first = await readParquet((await lake.getBytes(out.keys[0]!))!);
    expect(first.map((r) => Object.keys(r).sort())).toEqual([['x', 'y'], ['x', 'y']]);
    await expect(engine.unload({ name: 'demo', select, output: { prefix: 'silver/_batch/run-1/demo/' } })).rejects.toThrow(/is not empty/);
    const back = await engine.select('SELECT part, sum(y) AS s FROM demo GROUP BY part ORDER BY part', { tables: { demo: 'silver/_batch/run-1/demo/' } });
    expect(back).toEqual([{ part: 'a', s: 6n }, { part: 'b', s: 6n }]);
    const plain = await engine.unload({ name: 'plain', select: 'SELECT 1 AS one WHERE false', output: { prefix: 'silver/_batch/run-1/plain/' } });
    expect(plain.rows).toBe(0);
  });

  it("reads a run's batch table only for the run a literal run_id names (Athena's injected projection), with its declared columns even when nothing was written", async () => {
    const engine = new DuckDbLakeEngine(lake);
    const cols = BATCH_TABLES.checked_bronze.map(([c, t]) => (c === 'event_id' ? `CAST(id AS ${t}) AS ${c}` : `CAST(NULL AS ${t}) AS ${c}`)).join(', ');
    for (const [run, ids] of [['run-a', ['a1', 'a2']], ['run-b', ['b1']]] as const) {
      await engine.unload({ name: 'checked', select: `SELECT ${cols} FROM (VALUES ${ids.map((i) => `('${i}')`).join(', ')}) t(id)`, output: { prefix: `silver/_batch/${run}/checked_bronze/` } });
    }
    const ids = async (run: string) => (await engine.select(`SELECT event_id FROM ${batchTableOf('checked_bronze', run)} c ORDER BY event_id`)).map((r) => r.event_id);
    expect(await ids('run-a')).toEqual(['a1', 'a2']);
    expect(await ids('run-b')).toEqual(['b1']);
    expect(await ids('run-none')).toEqual([]);
    await expect(engine.select('SELECT count(*) AS n FROM batch_checked_bronze')).rejects.toThrow(/run_id = '<id>'/);
  });

  it('adds partitions next to the ones a prefix already holds, as Athena does when an UNLOAD writes partitions (the next night into silver/interactions/)', async () => {
    const engine = new DuckDbLakeEngine(lake);
    const night = (part: string) => `SELECT 1 AS x, '${part}' AS part`;
    await engine.unload({ name: 'night1', select: night('d1'), output: { prefix: 'silver/_batch/run-1/nights/', partitionedBy: ['part'] } });
    await engine.unload({ name: 'night2', select: night('d2'), output: { prefix: 'silver/_batch/run-1/nights/', partitionedBy: ['part'] } });
    expect((await lake.listKeys('silver/_batch/run-1/nights/')).map((k) => k.replace(/[^/]+$/, '')).sort()).toEqual(['silver/_batch/run-1/nights/part=d1/', 'silver/_batch/run-1/nights/part=d2/']);
  });
});
