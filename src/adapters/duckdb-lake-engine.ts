import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { BatchRow, BatchValue, LakeSqlEngine, QueryOptions, UnloadRequest, UnloadResult } from '../batch/engine';
import { BATCH_TABLES, batchRunIdsOf, checkIdentifier, checkPrefix, DUCKDB_MACROS, duckdbCopy, duckdbViews, TABLE_PREFIXES, type BatchTableName, type StagedFiles } from '../batch/dialect';
import { silverBatchPrefix } from '../domain/lake-layout';
import type { S3Lake } from './s3-lake';

export interface DuckDbLakeEngineOptions {
  /** DuckDB worker threads (default: DuckDB's, one per core). */
  threads?: number;
  /**
   * DuckDB's memory limit, e.g. `2GB`; it spills to its temp dir beyond it. Default `DUCKDB_MEMORY_LIMIT` or 3GB, not
   * DuckDB's 80 % of RAM: the engine shares its process with the local pipeline (a Bronze view over 300k lines once
   * held 19 GB without a limit).
   */
  memoryLimit?: string;
  /** Where temp folders are made (default: the OS temp dir). */
  tempRoot?: string;
  /** Parallel downloads and uploads (default 8). */
  ioConcurrency?: number;
}

type LakePort = Pick<S3Lake, 'bucket' | 'listKeys' | 'getBytes' | 'putObject'>;

/**
 * Athena's stand-in for local runs and tests: an in-memory DuckDB over the lake. Each call stages the objects
 * of the tables the SQL names (through the S3Lake port, keys preserved) into a temp folder, creates the views of
 * src/batch/dialect.ts, runs the statement, uploads what an unload wrote, and removes the folder. Nothing is
 * cached between calls, so every query sees the lake as it is (as Athena does).
 */
export class DuckDbLakeEngine implements LakeSqlEngine {
  readonly kind = 'duckdb' as const;

  constructor(
    private readonly lake: LakePort,
    private readonly options: DuckDbLakeEngineOptions = {},
  ) {}

  async select(sql: string, options: QueryOptions = {}): Promise<BatchRow[]> {
    return this.withStaged(sql, options, async (run) => {
      const rows = await run(sql);
      return rows.map(toBatchRow);
    });
  }

  async unload(request: UnloadRequest): Promise<UnloadResult> {
    const prefix = checkPrefix(request.output.prefix);
    const partitionedBy = (request.output.partitionedBy ?? []).map(checkIdentifier);
    // Athena's UNLOAD refuses a non-empty target (HIVE_PATH_ALREADY_EXISTS) except when it writes partitions, where it
    // adds its files to the partitions' folders (https://docs.aws.amazon.com/athena/latest/ug/unload.html); so does this
    // engine, so a rerun that forgot to clear its prefix fails locally too.
    if (partitionedBy.length === 0 && (await this.lake.listKeys(prefix)).length > 0) throw new Error(`unload ${request.name}: s3://${this.lake.bucket}/${prefix} is not empty`);
    return this.withStaged(request.select, request, async (run, work) => {
      const out = join(work, 'out');
      if (partitionedBy.length === 0) await mkdir(out, { recursive: true });
      const counted = await run(duckdbCopy(request.select, out, partitionedBy));
      const files = await listFiles(out);
      const keys = files.map((f) => prefix + relative(out, f).split(sep).join('/')).sort();
      await mapLimit(files, this.io, async (f) => {
        await this.lake.putObject(prefix + relative(out, f).split(sep).join('/'), await readFile(f), 'application/vnd.apache.parquet');
      });
      const count = counted[0] ? Object.values(counted[0])[0] : undefined;
      return { keys, ...(count !== undefined ? { rows: Number(count) } : {}) };
    });
  }

  private get io(): number {
    return this.options.ioConcurrency ?? 8;
  }

  private async withStaged<T>(sql: string, options: QueryOptions, body: (run: (statement: string) => Promise<Record<string, unknown>[]>, work: string) => Promise<T>): Promise<T> {
    const work = await mkdtemp(join(this.options.tempRoot ?? tmpdir(), 'recsys-duckdb-'));
    const instance = await DuckDBInstance.create(':memory:', {
      ...(this.options.threads !== undefined ? { threads: String(this.options.threads) } : {}),
      memory_limit: this.options.memoryLimit ?? process.env.DUCKDB_MEMORY_LIMIT ?? '3GB',
      // Where it spills past the limit (an in-memory database has no spill folder of its own).
      temp_directory: join(work, 'spill'),
    });
    const connection = await instance.connect();
    try {
      const root = join(work, 'lake');
      const staged: StagedFiles = { root, bucket: this.lake.bucket, files: {}, extra: {} };
      const files: Record<string, readonly string[]> = {};
      for (const [table, prefix] of Object.entries(TABLE_PREFIXES)) {
        if (mentions(sql, table)) files[table] = await this.stage(prefix, root, table === 'silver_interactions' ? '.parquet' : '');
      }
      const extra: Record<string, { dir: string; files: readonly string[] }> = {};
      for (const [name, prefix] of Object.entries(options.tables ?? {})) {
        checkIdentifier(name);
        if (!mentions(sql, name)) continue;
        extra[name] = { dir: join(root, checkPrefix(prefix)), files: await this.stage(prefix, root, '.parquet') };
      }
      const batch: Partial<Record<BatchTableName, Record<string, readonly string[]>>> = {};
      for (const name of Object.keys(BATCH_TABLES) as BatchTableName[]) {
        if (!mentions(sql, `batch_${name}`)) continue;
        const runIds = batchRunIdsOf(sql, name);
        // Athena refuses a query of an injected-projection table without a literal equality on the column.
        if (runIds.length === 0) throw new Error(`batch_${name}: the query must say run_id = '<id>' (an injected partition, as Athena requires)`);
        const runs: Record<string, readonly string[]> = {};
        for (const runId of runIds) runs[runId] = await this.stage(silverBatchPrefix(runId, name), root, '.parquet');
        batch[name] = runs;
      }
      const run = async (statement: string) => (await connection.runAndReadAll(statement)).getRowObjectsJS() as Record<string, unknown>[];
      for (const macro of DUCKDB_MACROS) await run(macro);
      for (const view of duckdbViews({ ...staged, files, extra, batch, parallel: this.options.threads ?? availableParallelism() })) await run(view);
      return await body(run, work);
    } finally {
      connection.closeSync();
      instance.closeSync();
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Downloads every object under `prefix` whose key ends with `suffix` to `<root>/<key>`; returns the local paths, sorted by key. */
  private async stage(prefix: string, root: string, suffix: string): Promise<string[]> {
    const keys = (await this.lake.listKeys(prefix)).filter((k) => k.endsWith(suffix) && !k.endsWith('/') && safeKey(k)).sort();
    await mapLimit(keys, this.io, async (key) => {
      const bytes = await this.lake.getBytes(key);
      if (bytes === undefined) return; // removed between list and get: Athena would not see it either
      const path = join(root, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, bytes);
    });
    return keys.map((k) => join(root, k));
  }
}

/** True when the SQL names the table (a whole word): the engine stages only what the query reads. */
function mentions(sql: string, table: string): boolean {
  return new RegExp(`(^|[^A-Za-z0-9_])${table}([^A-Za-z0-9_]|$)`).test(sql);
}

/** Keys that map to a path inside the staging folder and can sit in a DuckDB string literal. */
function safeKey(key: string): boolean {
  return !key.includes("'") && !key.split('/').some((p) => p === '..' || p === '.' || p === '');
}

function toBatchValue(v: unknown): BatchValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toBatchValue);
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

function toBatchRow(row: Record<string, unknown>): BatchRow {
  const out: BatchRow = {};
  for (const [k, v] of Object.entries(row)) out[k] = toBatchValue(v);
  return out;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  // A partitioned COPY of zero rows creates no folder at all.
  const entries = await readdir(dir, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

async function mapLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
