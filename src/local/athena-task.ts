import type { LakeSqlEngine, UnloadRequest } from '../batch/engine';

/**
 * The local stand-in for the state machine's `arn:aws:states:::athena:startQueryExecution.sync` Tasks: the same
 * QueryString the deployed state machine sends to Athena (an UNLOAD that src/batch/dialect.ts `athenaUnload`
 * rendered) runs on the DuckDB engine, and the Task gets what Step Functions returns when the query succeeded
 * (`QueryExecution` with `Status.State` SUCCEEDED and `Statistics`,
 * https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryExecution.html). A failed query fails the Task
 * as a failed Athena query fails it in AWS (https://docs.aws.amazon.com/step-functions/latest/dg/connect-athena.html):
 * error `States.TaskFailed`, the cause naming the query's error.
 */

export interface AthenaTaskParameters {
  QueryString?: unknown;
  WorkGroup?: unknown;
  QueryExecutionContext?: { Database?: unknown };
}

export interface AthenaSyncOutput {
  QueryExecution: {
    QueryExecutionId: string;
    Query: string;
    StatementType: 'DML';
    WorkGroup: string;
    QueryExecutionContext: { Database: string };
    Status: { State: 'SUCCEEDED'; SubmissionDateTime: number; CompletionDateTime: number };
    Statistics: { EngineExecutionTimeInMillis: number; TotalExecutionTimeInMillis: number; DataScannedInBytes: number };
    ResultConfiguration: { OutputLocation: string };
  };
  /** Local only: what the engine wrote (Athena reports the files in its manifest, not in the Task output). */
  Local: { engine: string; keys: number; rows: number | null };
}

/** The parts of an UNLOAD statement `athenaUnload` renders; undefined for any other statement. */
export function parseAthenaUnload(sql: string): { select: string; bucket: string; prefix: string; partitionedBy: string[] } | undefined {
  const m = /^UNLOAD \(([\s\S]+)\) TO 's3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/([^'\s]*)' WITH \(format = 'PARQUET', compression = 'SNAPPY'(?:, partitioned_by = ARRAY\[((?:'[a-z_][a-z0-9_]*'(?:, )?)+)\])?\)$/.exec(sql.trim());
  if (!m) return undefined;
  const partitionedBy = m[4] ? [...m[4].matchAll(/'([a-z_][a-z0-9_]*)'/g)].map((p) => p[1]!) : [];
  return { select: m[1]!, bucket: m[2]!, prefix: m[3]!, partitionedBy };
}

export class AthenaTaskError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'States.TaskFailed';
  }
}

let executions = 0;

/** A local handler for athena:startQueryExecution.sync Tasks over `engine`, writing only into `bucket`. */
export function localAthenaTask(engine: LakeSqlEngine, bucket: string): (params: unknown) => Promise<AthenaSyncOutput> {
  return async (params) => {
    const p = (params ?? {}) as AthenaTaskParameters;
    if (typeof p.QueryString !== 'string') throw new AthenaTaskError('startQueryExecution: QueryString must be a string');
    const unload = parseAthenaUnload(p.QueryString);
    if (!unload) throw new AthenaTaskError(`startQueryExecution: the local engine runs the pipeline's UNLOAD statements only (src/batch/dialect.ts athenaUnload), got ${JSON.stringify(p.QueryString.slice(0, 120))}`);
    if (unload.bucket !== bucket) throw new AthenaTaskError(`startQueryExecution: UNLOAD writes to s3://${unload.bucket}/, not the lake s3://${bucket}/`);
    const id = `local-${process.pid}-${++executions}`;
    const submitted = Date.now();
    const request: UnloadRequest = { name: id, select: unload.select, output: { prefix: unload.prefix, ...(unload.partitionedBy.length ? { partitionedBy: unload.partitionedBy } : {}) } };
    let written: { keys: string[]; rows?: number };
    try {
      written = await engine.unload(request);
    } catch (err) {
      throw new AthenaTaskError(`Athena query ${id} FAILED: ${(err as Error).message}`, { cause: err });
    }
    const done = Date.now();
    return {
      QueryExecution: {
        QueryExecutionId: id,
        Query: p.QueryString,
        StatementType: 'DML',
        WorkGroup: typeof p.WorkGroup === 'string' ? p.WorkGroup : 'primary',
        QueryExecutionContext: { Database: typeof p.QueryExecutionContext?.Database === 'string' ? p.QueryExecutionContext.Database : 'default' },
        Status: { State: 'SUCCEEDED', SubmissionDateTime: submitted, CompletionDateTime: done },
        // DuckDB does not count bytes scanned as Athena bills them: 0 here (README "Scale" estimates them).
        Statistics: { EngineExecutionTimeInMillis: done - submitted, TotalExecutionTimeInMillis: done - submitted, DataScannedInBytes: 0 },
        ResultConfiguration: { OutputLocation: `s3://${bucket}/${unload.prefix}` },
      },
      Local: { engine: engine.kind, keys: written.keys.length, rows: written.rows ?? null },
    };
  };
}
