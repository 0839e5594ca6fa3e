import { describe, expect, it } from 'vitest';
import { athenaUnload } from '../../src/batch/dialect';
import type { LakeSqlEngine, UnloadRequest } from '../../src/batch/engine';
import { localAthenaTask, parseAthenaUnload } from '../../src/local/athena-task';

/** The engine side is exercised for real (DuckDB over s3rver) by test/statemachines/nightly-retraining.athena.integration.test.ts. */
function recordingEngine(fail?: Error): { engine: LakeSqlEngine; requests: UnloadRequest[] } {
  const requests: UnloadRequest[] = [];
  return {
    requests,
    engine: {
      kind: 'duckdb',
      select: async () => [],
      unload: async (r) => {
        requests.push(r);
        if (fail) throw fail;
        return { keys: ['silver/_batch/r1/x/data_0.parquet'], rows: 3 };
      },
    },
  };
}

describe('the local Athena task', () => {
  it('reads back exactly what athenaUnload rendered, partitions included', () => {
    const select = "SELECT a, 'x) TO ''s3://evil/''' AS b, dt FROM t WHERE s = 'WITH (format = ''JSON'')'";
    expect(parseAthenaUnload(athenaUnload(select, 'lake-1', 'silver/interactions/', ['dt', 'arrival_dt']))).toEqual({ select, bucket: 'lake-1', prefix: 'silver/interactions/', partitionedBy: ['dt', 'arrival_dt'] });
    expect(parseAthenaUnload(athenaUnload('SELECT 1 AS one', 'lake-1', 'silver/_batch/r1/x/'))).toEqual({ select: 'SELECT 1 AS one', bucket: 'lake-1', prefix: 'silver/_batch/r1/x/', partitionedBy: [] });
    for (const other of ['SELECT 1', 'DROP TABLE bronze_events', "UNLOAD (SELECT 1) TO 's3://lake-1/x/' WITH (format = 'JSON')"]) expect(parseAthenaUnload(other)).toBeUndefined();
  });

  it("runs the UNLOAD on the engine and answers as Step Functions' .sync integration does", async () => {
    const { engine, requests } = recordingEngine();
    const out = await localAthenaTask(engine, 'lake-1')({ QueryString: athenaUnload('SELECT 1 AS one', 'lake-1', 'silver/_batch/r1/x/'), WorkGroup: 'wg', QueryExecutionContext: { Database: 'db' } });
    expect(requests).toEqual([{ name: out.QueryExecution.QueryExecutionId, select: 'SELECT 1 AS one', output: { prefix: 'silver/_batch/r1/x/' } }]);
    expect(out.QueryExecution).toMatchObject({ Status: { State: 'SUCCEEDED' }, WorkGroup: 'wg', QueryExecutionContext: { Database: 'db' }, ResultConfiguration: { OutputLocation: 's3://lake-1/silver/_batch/r1/x/' } });
    expect(out.Local).toEqual({ engine: 'duckdb', keys: 1, rows: 3 });
  });

  it('fails the Task as States.TaskFailed for a failed query, another statement or another bucket, and runs nothing then', async () => {
    const failing = recordingEngine(new Error('Binder Error: column nope'));
    await expect(localAthenaTask(failing.engine, 'lake-1')({ QueryString: athenaUnload('SELECT nope', 'lake-1', 'silver/_batch/r1/x/') })).rejects.toMatchObject({ name: 'States.TaskFailed', message: expect.stringContaining('column nope') });
    const { engine, requests } = recordingEngine();
    await expect(localAthenaTask(engine, 'lake-1')({ QueryString: 'SELECT 1' })).rejects.toMatchObject({ name: 'States.TaskFailed', message: expect.stringContaining('UNLOAD statements only') });
    await expect(localAthenaTask(engine, 'lake-1')({ QueryString: athenaUnload('SELECT 1 AS one', 'other-bucket', 'x/') })).rejects.toMatchObject({ message: expect.stringContaining('not the lake') });
    await expect(localAthenaTask(engine, 'lake-1')({})).rejects.toMatchObject({ name: 'States.TaskFailed' });
    expect(requests).toEqual([]);
  });
});
