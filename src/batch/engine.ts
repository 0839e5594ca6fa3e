/**
 * The lake engine port: set-based nightly steps run as SQL over the lake's tables. Amazon Athena implements it
 * in AWS, DuckDB locally (src/adapters/duckdb-lake-engine.ts). Queries are the string builders of
 * src/batch/queries/*.ts, written in the SQL both engines accept; every per-engine difference is in
 * src/batch/dialect.ts.
 *
 * Tables a query may name (what the Glue catalogue defines, and what the DuckDB engine creates as views):
 * - `bronze_events`, `bronze_quarantine`: one string column `line` (a raw JSON line, never parsed by the table),
 *   partition column `dt` (arrival date, `YYYY-MM-DD`) and Athena's `"$path"` (`s3://<bucket>/<key>`).
 * - `silver_interactions`: INTERACTION_COLUMNS of src/retraining/silver.ts, partition columns `dt` (event date)
 *   and `arrival_dt` (both strings), and `"$path"`.
 * - any Parquet output of an earlier unload, by a name the caller gives (`tables`).
 */

/** A value in a result row: SQL integers wider than 32 bits come back as bigint, arrays as arrays. */
export type BatchValue = string | number | bigint | boolean | null | readonly BatchValue[];
export type BatchRow = Record<string, BatchValue>;

/** The lake tables every engine knows by name. */
export const LAKE_TABLES = ['bronze_events', 'bronze_quarantine', 'silver_interactions'] as const;
export type LakeTable = (typeof LAKE_TABLES)[number];

export interface QueryOptions {
  /**
   * Extra Parquet tables by name: the lake prefix an earlier `unload` wrote (`silver/_batch/<runId>/<name>/`).
   * Hive folders below it (`k=v/`) become string columns. Names match /^[a-z][a-z0-9_]{0,62}$/.
   */
  tables?: Readonly<Record<string, string>>;
}

export interface UnloadRequest extends QueryOptions {
  /** What is written, for logs and errors (e.g. `user_features`). */
  name: string;
  /** A SELECT (no trailing semicolon); partition columns, when any, are its last columns (Athena's rule). */
  select: string;
  output: {
    /** Lake key prefix ending in `/`, e.g. `silver/_batch/<runId>/user_features/`; must hold no object yet. */
    prefix: string;
    /** Hive partition folders `<col>=<value>/`, in this order; the columns are not stored in the files. */
    partitionedBy?: readonly string[];
  };
}

export interface UnloadResult {
  /** Lake keys of the Parquet (SNAPPY) files written, sorted. Zero rows may write zero files. */
  keys: string[];
  /** Rows written, when the engine reports it (DuckDB does). */
  rows?: number;
}

export interface LakeSqlEngine {
  /** Which engine, for reports: `duckdb` locally, `athena` in AWS. */
  readonly kind: 'duckdb' | 'athena';
  /** Runs a SELECT and returns its rows (for small results: counts, reports, tests). */
  select(sql: string, options?: QueryOptions): Promise<BatchRow[]>;
  /** Runs a SELECT and writes its rows as Parquet (SNAPPY) under `output.prefix` in the lake. */
  unload(request: UnloadRequest): Promise<UnloadResult>;
}

/** A result value as a JS number (integers as bigint or number), or null. */
export function batchNumber(v: BatchValue | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  throw new Error(`not a number: ${JSON.stringify(String(v)).slice(0, 60)}`);
}

/** A result value as a string, or null. */
export function batchString(v: BatchValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new Error('not a string: an array');
}

/** A result value as an array (a list column), or null. */
export function batchArray(v: BatchValue | undefined): readonly BatchValue[] | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v as readonly BatchValue[];
  throw new Error(`not an array: ${typeof v}`);
}
