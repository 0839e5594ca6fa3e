/**
 * The one place where the two lake engines differ. Queries (src/batch/queries/*.ts) are written in SQL that
 * Trino (Amazon Athena engine v3) and DuckDB both accept with the same meaning; what is left is here:
 *
 * 1. The write statement. Athena: `UNLOAD (select) TO 's3://…/' WITH (format = 'PARQUET', compression =
 *    'SNAPPY', partitioned_by = ARRAY[…])` — the target must be empty, partition columns must be the last
 *    columns of the SELECT and are not stored in the files
 *    (https://docs.aws.amazon.com/athena/latest/ug/unload.html). DuckDB: `COPY (select) TO '<dir>' (FORMAT
 *    PARQUET, COMPRESSION SNAPPY, PARTITION_BY (…))`, which writes Hive folders `col=value/` and by default
 *    leaves the partition columns out of the files too (https://duckdb.org/docs/stable/sql/statements/copy,
 *    https://duckdb.org/docs/stable/data/partitioning/partitioned_writes).
 * 2. The tables. Athena reads the Glue tables (CDK); DuckDB gets views over the staged lake objects that show
 *    the same columns, including Athena's hidden `"$path"` column, the object's full S3 URI
 *    (https://trino.io/docs/current/connector/hive.html#metadata-columns — `$path`).
 * 3. Functions. Where a query needs a Trino function DuckDB lacks or treats differently, a DuckDB macro of the
 *    same name supplies Trino's meaning (below, each with its Trino doc).
 *
 * Rules the queries follow instead of shims (both engines give the same answer):
 * - no `/` between integers (Trino divides integers as integers, DuckDB returns a DOUBLE:
 *   https://trino.io/docs/current/functions/math.html, https://duckdb.org/docs/stable/sql/functions/numeric);
 *   cast to DOUBLE first.
 * - decimal literals (`19.99`) are DECIMAL in both engines; multiply DOUBLE columns by integer literals only.
 * - string comparison and ORDER BY on strings: both compare UTF-8 bytes without collation (Trino: varchar
 *   comparison is by code points; DuckDB: binary unless COLLATE). Ids in this lake are ASCII (ID_PATTERN), so
 *   this is also JavaScript's `<` on them.
 * - `round(double)` rounds half away from zero in both (https://trino.io/docs/current/functions/math.html#round,
 *   DuckDB `round`), equal to Math.round for the non-negative values it is used on.
 */

export type EngineKind = 'athena' | 'duckdb';

/** Lake prefixes of the tables every engine knows (Glue table locations; the DuckDB views read the same). */
export const TABLE_PREFIXES = {
  bronze_events: 'bronze/events/',
  bronze_quarantine: 'bronze/_quarantine/',
  silver_interactions: 'silver/interactions/',
} as const;

/** Silver's Parquet columns and their SQL types (INTERACTION_COLUMNS of src/retraining/silver.ts). */
export const SILVER_SQL_COLUMNS: readonly (readonly [string, string])[] = [
  ['event_id', 'VARCHAR'],
  ['event_type', 'VARCHAR'],
  ['user_id', 'VARCHAR'],
  ['item_id', 'VARCHAR'],
  ['event_time_ms', 'BIGINT'],
  ['rating', 'DOUBLE'],
  ['price', 'DOUBLE'],
  ['quantity', 'INTEGER'],
  ['category', 'VARCHAR'],
  ['session_id', 'VARCHAR'],
  ['arrival_time_ms', 'BIGINT'],
  ['shard_id', 'VARCHAR'],
  ['sequence_number', 'VARCHAR'],
  ['recommendation_id', 'VARCHAR'],
  ['position', 'INTEGER'],
];

/**
 * The batch tables one query of a run writes and a later query of the same run reads (Glue tables `batch_<name>`
 * over `silver/_batch/<run_id>/<name>/`, lib/lake-catalog.ts `addBatchTable`; the DuckDB views of the same name):
 * name → columns and SQL types, in the order the writing SELECT lists them. `run_id` is their injected partition
 * column: Athena requires a literal `run_id = '<id>'` in every query of such a table
 * (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html), and so does the
 * local engine.
 */
export const BATCH_TABLES = {
  /** Every non-blank Bronze line of the window, parsed and judged once (src/batch/queries/bronze.ts checkedBronzeSelect). */
  checked_bronze: [
    ['object_path', 'VARCHAR'],
    ['dt', 'VARCHAR'],
    ['line', 'VARCHAR'],
    ['kind', 'VARCHAR'],
    ['reason', 'VARCHAR'],
    ['raw_event_id', 'VARCHAR'],
    ['shard_id', 'VARCHAR'],
    ['sequence_number', 'VARCHAR'],
    ['arrival_ms', 'BIGINT'],
    ['arrival_dt', 'VARCHAR'],
    ['event_id', 'VARCHAR'],
    ['event_type', 'VARCHAR'],
    ['user_id', 'VARCHAR'],
    ['item_id', 'VARCHAR'],
    ['event_time_ms', 'BIGINT'],
    ['rating', 'DOUBLE'],
    ['price', 'DOUBLE'],
    ['quantity', 'INTEGER'],
    ['category', 'VARCHAR'],
    ['session_id', 'VARCHAR'],
    ['recommendation_id', 'VARCHAR'],
    ['position', 'INTEGER'],
  ],
} as const satisfies Record<string, readonly (readonly [string, string])[]>;
export type BatchTableName = keyof typeof BATCH_TABLES;

/** The SQL that reads one run's batch table (the injected partition named by a literal, as Athena requires). */
export function batchTableOf(name: BatchTableName, runId: string): string {
  return `(SELECT ${BATCH_TABLES[name].map(([c]) => c).join(', ')} FROM batch_${name} WHERE run_id = '${checkRunId(runId)}')`;
}

/** The run ids a query reads batch table `name` for: its literal `run_id = '<id>'` conditions. */
export function batchRunIdsOf(sql: string, name: string): string[] {
  if (!new RegExp(`(^|[^A-Za-z0-9_])batch_${name}([^A-Za-z0-9_]|$)`).test(sql)) return [];
  return [...new Set([...sql.matchAll(/\brun_id = '([A-Za-z0-9._-]{1,80})'/g)].map((m) => m[1]!))].sort();
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const RUN_ID = /^[A-Za-z0-9._-]{1,80}$/;
const COLUMN = /^[a-z_][a-z0-9_]{0,62}$/;

/** A validated calendar date `YYYY-MM-DD` as a SQL string literal. */
export function sqlDate(dt: string): string {
  if (!DATE.test(dt) || Number.isNaN(Date.parse(`${dt}T00:00:00Z`)) || new Date(`${dt}T00:00:00Z`).toISOString().slice(0, 10) !== dt) {
    throw new Error(`not a date YYYY-MM-DD: ${JSON.stringify(String(dt).slice(0, 40))}`);
  }
  return `'${dt}'`;
}

/** A validated run id (letters, digits, `.`, `_`, `-`; not `.` or `..`), returned as is. */
export function checkRunId(runId: string): string {
  if (!RUN_ID.test(runId) || runId === '.' || runId === '..') throw new Error(`not a run id: ${JSON.stringify(String(runId).slice(0, 100))}`);
  return runId;
}

/** A validated integer as SQL text. */
export function sqlInteger(n: number, min = 0, max = Number.MAX_SAFE_INTEGER): string {
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`not an integer in ${min}..${max}: ${String(n)}`);
  return String(n);
}

/** A validated lower-case SQL identifier (column or table name), returned as is. */
export function checkIdentifier(name: string): string {
  if (!COLUMN.test(name)) throw new Error(`not a plain identifier: ${JSON.stringify(String(name).slice(0, 80))}`);
  return name;
}

/** A lake key prefix (what unload writes under), checked: relative, ends in `/`, no `..`, no quotes. */
export function checkPrefix(prefix: string): string {
  if (!/^[A-Za-z0-9._=\-/]{1,900}\/$/.test(prefix) || prefix.startsWith('/') || prefix.split('/').some((p) => p === '..' || p === '.')) {
    throw new Error(`not a lake prefix: ${JSON.stringify(String(prefix).slice(0, 100))}`);
  }
  return prefix;
}

/** Athena's write statement for `select` into `s3://bucket/prefix` (SNAPPY Parquet, optional Hive partitions). */
export function athenaUnload(select: string, bucket: string, prefix: string, partitionedBy: readonly string[] = []): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`not a bucket name: ${JSON.stringify(bucket.slice(0, 80))}`);
  const props = [`format = 'PARQUET'`, `compression = 'SNAPPY'`];
  if (partitionedBy.length > 0) props.push(`partitioned_by = ARRAY[${partitionedBy.map((c) => `'${checkIdentifier(c)}'`).join(', ')}]`);
  return `UNLOAD (${select}) TO 's3://${bucket}/${checkPrefix(prefix)}' WITH (${props.join(', ')})`;
}

/** DuckDB's write statement for `select` into the local folder `dir` (its own temp dir, no quote in it). */
export function duckdbCopy(select: string, dir: string, partitionedBy: readonly string[] = []): string {
  const options = ['FORMAT PARQUET', 'COMPRESSION SNAPPY'];
  // Unpartitioned output goes to one file in the folder, as Athena writes files (not a single object) under the prefix.
  if (partitionedBy.length > 0) options.push(`PARTITION_BY (${partitionedBy.map(checkIdentifier).join(', ')})`);
  const target = partitionedBy.length > 0 ? dir : `${dir}/data_0.parquet`;
  return `COPY (${select}) TO ${duckdbString(target)} (${options.join(', ')})`;
}

/** A DuckDB string literal (for local paths the engine itself chose). */
export function duckdbString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * DuckDB macros that give Trino's functions Trino's meaning. Each is used by a query module; add one here (with
 * its source) before a query uses a function DuckDB lacks.
 */
export const DUCKDB_MACROS: readonly string[] = [
  // Trino json_extract_scalar: the scalar at the path as varchar, NULL for a missing path, a non-scalar (object,
  // array) or JSON null, and NULL (not an error) for malformed JSON
  // (https://trino.io/docs/current/functions/json.html#json-extract-scalar). DuckDB's json_extract_string throws
  // on malformed input and returns objects as text, so guard both.
  `CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS (
     CASE WHEN json_valid(j) AND json_type(j, p) NOT IN ('OBJECT', 'ARRAY', 'NULL') THEN json_extract_string(j, p) END)`,
  // Trino array_join(array, delimiter): elements joined, NULL elements skipped
  // (https://trino.io/docs/current/functions/array.html#array_join); DuckDB calls it array_to_string.
  `CREATE OR REPLACE MACRO array_join(a, d) AS array_to_string(list_filter(a, x -> x IS NOT NULL), d)`,
  // Trino json_parse(varchar) -> json, an error for text that is not JSON (the Bronze view calls try(json_parse(line)))
  // (https://trino.io/docs/current/functions/json.html#json_parse); DuckDB's json() casts the same way.
  `CREATE OR REPLACE MACRO json_parse(s) AS json(s)`,
  // Trino json_format(json) -> varchar, the JSON text (https://trino.io/docs/current/functions/json.html#json_format).
  `CREATE OR REPLACE MACRO json_format(j) AS CAST(j AS VARCHAR)`,
  // Trino json_size(json, path): members of an object, elements of an array, 0 for a scalar
  // (https://trino.io/docs/current/functions/json.html#json_size).
  `CREATE OR REPLACE MACRO json_size(j, p) AS CASE json_type(j, p) WHEN 'OBJECT' THEN len(json_keys(j, p)) WHEN 'ARRAY' THEN json_array_length(j, p) ELSE 0 END`,
  // Trino regexp_like(string, pattern): a match anywhere (https://trino.io/docs/current/functions/regexp.html#regexp_like),
  // DuckDB's regexp_matches has the same meaning.
  `CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)`,
];

/** The typed empty SELECT of Silver's columns (a view over zero files). */
function emptySilver(): string {
  return `SELECT ${SILVER_SQL_COLUMNS.map(([c, t]) => `CAST(NULL AS ${t}) AS ${c}`).join(', ')}, CAST(NULL AS VARCHAR) AS filename WHERE false`;
}

export interface StagedFiles {
  /** Local root the lake keys were staged under (`<root>/<key>`). */
  root: string;
  bucket: string;
  /** Local paths of the staged objects, per table. */
  files: Readonly<Partial<Record<keyof typeof TABLE_PREFIXES, readonly string[]>>>;
  /** Extra Parquet tables: name → local paths of its files and the local folder they sit under. */
  extra?: Readonly<Record<string, { dir: string; files: readonly string[] }>>;
  /** How many parallel readers the Bronze views split their objects over (default 1; the engine passes its threads). */
  parallel?: number;
  /** Batch tables (BATCH_TABLES): name → run id → local paths of that run's files. */
  batch?: Readonly<Partial<Record<BatchTableName, Readonly<Record<string, readonly string[]>>>>>;
}

/** `files` dealt into at most `n` non-empty groups (round robin, so each group gets objects of every partition). */
function groups(files: readonly string[], n: number): string[][] {
  const k = Math.max(1, Math.min(Math.floor(n), files.length));
  return Array.from({ length: k }, (_, i) => files.filter((_f, j) => j % k === i));
}

const listLiteral = (paths: readonly string[]) => `[${paths.map(duckdbString).join(', ')}]`;
/** Athena's `"$path"` from a staged file's local path. */
const pathColumn = (root: string, bucket: string) => `'s3://${bucket}/' || substr(filename, ${root.length + 2})`;

/**
 * The DuckDB views that show staged lake objects as the Glue tables show them.
 * - Bronze (TEXTFILE, one string column): one row per `\n`-separated line, the `\n` removed, nothing else
 *   touched, the empty string after a final `\n` not a row — what src/retraining/bronze.ts reads as lines.
 *   `dt` from the `dt=` folder of the key.
 * - Silver: Parquet files of both layouts (`dt=E/arrival_dt=A/*.parquet`, legacy `dt=E/part-A.parquet`),
 *   columns by name (files written before recommendation_id/position lack them: NULL), `dt` and `arrival_dt`
 *   from the key, as Glue's partition projection gives them.
 */
export function duckdbViews(staged: StagedFiles): string[] {
  const { root, bucket } = staged;
  const out: string[] = [];
  for (const table of ['bronze_events', 'bronze_quarantine'] as const) {
    const files = staged.files[table] ?? [];
    const body =
      files.length === 0
        ? `SELECT CAST(NULL AS VARCHAR) AS line, CAST(NULL AS VARCHAR) AS dt, CAST(NULL AS VARCHAR) AS "$path" WHERE false`
        : // unnest in the select list, not a LATERAL join: the join kept every object's whole text beside each of its
          // lines (300k lines of 85 MiB ran out of a 3 GB limit; this form reads them in 0.2 s and 0.3 GB). One
          // read_text per group of files, UNION ALL: DuckDB runs one read_text's lines on one thread, the groups in
          // parallel (1.6× on 2 cores, measured).
          `SELECT line, regexp_extract(filename, '/dt=([^/]+)/', 1) AS dt, ${pathColumn(root, bucket)} AS "$path"
           FROM (${groups(files, staged.parallel ?? 1)
             .map((g) => `SELECT filename, unnest(CASE WHEN ends_with(content, chr(10)) THEN string_split(content, chr(10))[1:-2] ELSE string_split(content, chr(10)) END) AS line
                 FROM read_text(${listLiteral(g)}) WHERE content <> ''`)
             .join('\n                 UNION ALL ')}) l`;
    out.push(`CREATE OR REPLACE VIEW ${table} AS ${body}`);
  }
  const silverFiles = staged.files.silver_interactions ?? [];
  const source =
    silverFiles.length === 0
      ? emptySilver()
      : `${emptySilver()} UNION ALL BY NAME SELECT * FROM read_parquet(${listLiteral(silverFiles)}, union_by_name = true, filename = true, hive_partitioning = false)`;
  out.push(`CREATE OR REPLACE VIEW silver_interactions AS
    SELECT ${SILVER_SQL_COLUMNS.map(([c, t]) => `CAST(${c} AS ${t}) AS ${c}`).join(', ')},
           regexp_extract(filename, '/dt=(\\d{4}-\\d{2}-\\d{2})/', 1) AS dt,
           coalesce(nullif(regexp_extract(filename, '/arrival_dt=(\\d{4}-\\d{2}-\\d{2})/', 1), ''), regexp_extract(filename, '/part-(\\d{4}-\\d{2}-\\d{2})\\.parquet$', 1)) AS arrival_dt,
           ${pathColumn(root, bucket)} AS "$path"
    FROM (${source}) s`);
  for (const [name, runs] of Object.entries(staged.batch ?? {}) as [BatchTableName, Readonly<Record<string, readonly string[]>>][]) {
    const columns = BATCH_TABLES[name];
    const typed = () => columns.map(([c, t]) => `CAST(${c} AS ${t}) AS ${c}`).join(', ');
    // The declared columns whatever was written: an UNLOAD of zero rows may write no file (the view is still queryable).
    const parts = [`SELECT ${columns.map(([c, t]) => `CAST(NULL AS ${t}) AS ${c}`).join(', ')}, CAST(NULL AS VARCHAR) AS run_id WHERE false`];
    for (const [runId, files] of Object.entries(runs)) {
      if (files.length > 0) parts.push(`SELECT ${typed()}, '${checkRunId(runId)}' AS run_id FROM read_parquet(${listLiteral(files)}, hive_partitioning = false)`);
    }
    out.push(`CREATE OR REPLACE VIEW batch_${name} AS ${parts.join(' UNION ALL ')}`);
  }
  for (const [name, t] of Object.entries(staged.extra ?? {})) {
    checkIdentifier(name);
    // An earlier unload that wrote no file: a view with no columns cannot be queried, so fail clearly instead.
    if (t.files.length === 0) out.push(`CREATE OR REPLACE VIEW ${name} AS SELECT NULL AS _empty WHERE false`);
    else out.push(`CREATE OR REPLACE VIEW ${name} AS SELECT * FROM read_parquet(${listLiteral(t.files)}, hive_partitioning = true, hive_types_autocast = false)`);
  }
  return out;
}
