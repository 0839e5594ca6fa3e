import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { DuckDbLakeEngine } from '../../../src/adapters/duckdb-lake-engine';
import { DUCKDB_MACROS } from '../../../src/batch/dialect';
import type { BatchRow, LakeSqlEngine, UnloadRequest, UnloadResult } from '../../../src/batch/engine';
import type { RetrainingLake } from '../../../src/retraining/lake';

/**
 * A small stand-in for the DuckDB lake engine (src/adapters/duckdb-lake-engine.ts, package A) while it is being
 * written: the lake's Bronze and Silver objects staged to a temporary folder (keys preserved), seen through
 * views shaped like the Glue tables (`line`, `dt`, `"$path"` = s3://<bucket>/<key>), and the Trino functions
 * the queries call as DuckDB macros (what src/batch/dialect.ts provides).
 */
export const TRINO_MACROS = [
  // Trino json_parse fails on text that is not JSON; the queries wrap it in try().
  `CREATE OR REPLACE MACRO json_parse(s) AS json(s)`,
  `CREATE OR REPLACE MACRO json_format(j) AS CAST(j AS VARCHAR)`,
  // Trino json_extract_scalar: NULL for objects, arrays and JSON null.
  `CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY', 'NULL') THEN NULL ELSE json_extract_string(j, p) END`,
  // Trino json_size: members of an object or elements of an array, 0 for a scalar.
  `CREATE OR REPLACE MACRO json_size(j, p) AS CASE json_type(j, p) WHEN 'OBJECT' THEN len(json_keys(j, p)) WHEN 'ARRAY' THEN json_array_length(j, p) ELSE 0 END`,
  // Trino regexp_like: true when the pattern matches anywhere (DuckDB regexp_matches, same semantics).
  `CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)`,
];

export interface StagedLake {
  select(sql: string): Promise<BatchRow[]>;
  /** Runs `select` and writes Parquet under `<dir>/<prefix>` partitioned by `partitionBy`; returns the local files. */
  copyTo(select: string, prefix: string, partitionBy: readonly string[]): Promise<string>;
  dir: string;
  close(): Promise<void>;
}

const INTERACTIONS_SCHEMA = `event_id VARCHAR, event_type VARCHAR, user_id VARCHAR, item_id VARCHAR, event_time_ms BIGINT, rating DOUBLE, price DOUBLE,
  quantity INTEGER, category VARCHAR, session_id VARCHAR, arrival_time_ms BIGINT, shard_id VARCHAR, sequence_number VARCHAR,
  recommendation_id VARCHAR, position INTEGER, dt VARCHAR, arrival_dt VARCHAR`;

/** Stages `bronze/` and `silver/interactions/` of the lake and opens DuckDB over them. */
export async function stageLake(lake: Pick<RetrainingLake, 'listKeys' | 'getBytes'>, bucket: string): Promise<StagedLake> {
  const dir = await mkdtemp(join(tmpdir(), 'i17b-'));
  const staged: Record<string, number> = { events: 0, quarantine: 0, silver: 0 };
  for (const [prefix, kind] of [['bronze/events/', 'events'], ['bronze/_quarantine/', 'quarantine'], ['silver/interactions/', 'silver']] as const) {
    for (const key of await lake.listKeys(prefix)) {
      if (kind === 'silver' && !/\/arrival_dt=[^/]+\/[^/]+\.parquet$/.test(key)) continue;
      const bytes = await lake.getBytes(key);
      if (!bytes) continue;
      await mkdir(dirname(join(dir, key)), { recursive: true });
      await writeFile(join(dir, key), bytes);
      staged[kind]! += 1;
    }
  }
  const db = await DuckDBInstance.create(':memory:');
  const c: DuckDBConnection = await db.connect();
  for (const m of TRINO_MACROS) await c.run(m);
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const lines = (sub: string, view: string) =>
    staged[sub === 'bronze/events/' ? 'events' : 'quarantine']! > 0
      ? `CREATE VIEW ${view} AS SELECT line, regexp_extract(filename, '/dt=([0-9-]{10})/', 1) AS dt, concat('s3://${bucket}/', substr(filename, ${dir.length + 2})) AS "$path"
          FROM (SELECT filename, unnest(string_split(content, chr(10))) AS line FROM read_text(${q(`${dir}/${sub}**`)}))`
      : `CREATE VIEW ${view} AS SELECT CAST(NULL AS VARCHAR) AS line, CAST(NULL AS VARCHAR) AS dt, CAST(NULL AS VARCHAR) AS "$path" WHERE false`;
  await c.run(lines('bronze/events/', 'bronze_events'));
  await c.run(lines('bronze/_quarantine/', 'bronze_quarantine'));
  await c.run(
    staged.silver! > 0
      ? `CREATE VIEW silver_interactions AS SELECT * FROM read_parquet(${q(`${dir}/silver/interactions/**/*.parquet`)}, hive_partitioning = true, hive_types_autocast = false)`
      : `CREATE TABLE silver_interactions (${INTERACTIONS_SCHEMA})`,
  );
  return {
    dir,
    async select(sql) {
      const reader = await c.runAndReadAll(sql);
      return reader.getRowObjectsJS() as BatchRow[];
    },
    async copyTo(select, prefix, partitionBy) {
      const out = join(dir, 'out', prefix);
      await mkdir(out, { recursive: true });
      const target = partitionBy.length > 0 ? q(out) : q(join(out, 'data_0.parquet'));
      await c.run(`COPY (${select}) TO ${target} (FORMAT PARQUET, COMPRESSION SNAPPY${partitionBy.length > 0 ? `, PARTITION_BY (${partitionBy.join(', ')}), OVERWRITE_OR_IGNORE` : ''})`);
      return out;
    },
    async close() {
      c.closeSync();
      db.closeSync();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An in-memory lake for the Lambda engine's readers (readBronzeWindow lists and reads text). */
export class MemoryLake {
  readonly objects = new Map<string, string>();
  put(key: string, text: string): void {
    this.objects.set(key, text);
  }
  async listKeys(prefix: string): Promise<string[]> {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
  async getText(key: string): Promise<string | undefined> {
    return this.objects.get(key);
  }
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const t = this.objects.get(key);
    return t === undefined ? undefined : Buffer.from(t, 'utf8');
  }
  asRetrainingLake(): RetrainingLake {
    return this as unknown as RetrainingLake;
  }
}

type EngineLake = Pick<RetrainingLake, 'bucket' | 'listKeys' | 'getBytes' | 'putObject'>;

/** The stand-in as a LakeSqlEngine: stages the lake afresh for every call, as DuckDbLakeEngine does. */
export class StagedDuckDbEngine implements LakeSqlEngine {
  readonly kind = 'duckdb' as const;
  constructor(private readonly lake: EngineLake) {}

  async select(sql: string): Promise<BatchRow[]> {
    const staged = await stageLake(this.lake, this.lake.bucket);
    try {
      return await staged.select(sql);
    } finally {
      await staged.close();
    }
  }

  async unload(request: UnloadRequest): Promise<UnloadResult> {
    if ((await this.lake.listKeys(request.output.prefix)).length > 0) throw new Error(`unload ${request.name}: ${request.output.prefix} is not empty`);
    const staged = await stageLake(this.lake, this.lake.bucket);
    try {
      const out = await staged.copyTo(request.select, 'unload', request.output.partitionedBy ?? []);
      const keys: string[] = [];
      for (const file of await filesUnder(out)) {
        const key = request.output.prefix + relative(out, file).split(sep).join('/');
        await this.lake.putObject(key, await readFile(file), 'application/vnd.apache.parquet');
        keys.push(key);
      }
      return { keys: keys.sort() };
    } finally {
      await staged.close();
    }
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...(await filesUnder(join(dir, e.name))));
    else out.push(join(dir, e.name));
  }
  return out;
}

/** The functions src/batch/queries/bronze.ts calls that dialect.ts must provide as DuckDB macros. */
const NEEDED = ['json_parse', 'json_format', 'json_size', 'regexp_like', 'json_extract_scalar'];

/**
 * The real DuckDB lake engine once its dialect provides every function the Bronze view calls; until then the
 * stand-in above (same views, TRINO_MACROS).
 */
export function lakeEngine(lake: EngineLake): LakeSqlEngine {
  const ready = NEEDED.every((f) => DUCKDB_MACROS.some((m) => new RegExp(`MACRO ${f}\\(`).test(m)));
  return ready ? new DuckDbLakeEngine(lake) : new StagedDuckDbEngine(lake);
}
