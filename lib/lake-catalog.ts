import { Aws, Stack } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { DEFAULT_EVENT_TIME_FLOOR, DEFAULT_MAX_FUTURE_SKEW_SECONDS } from '../src/domain/events';
import { BRONZE_EVENTS_PREFIX, BRONZE_QUARANTINE_PREFIX, LAKE_AREAS, SILVER_INTERACTIONS_PREFIX, SILVER_BATCH_PREFIX, ATHENA_RESULTS_PREFIX } from '../src/domain/lake-layout';
import type { ParquetColumns } from '../src/retraining/parquet';
import { BATCH_TABLES } from '../src/batch/dialect';
import { INTERACTION_COLUMNS } from '../src/retraining/silver';
import type { RecsysConfig } from './config';
import { acknowledge, arnToken } from './nag';

export { ATHENA_RESULTS_PREFIX, SILVER_BATCH_PREFIX };

/** The Glue table names the engine's queries use (src/batch/queries/*). */
export const LAKE_TABLES = { bronzeEvents: 'bronze_events', bronzeQuarantine: 'bronze_quarantine', silverInteractions: 'silver_interactions' } as const;

/** The Glue (Hive) type of each Parquet type the lake writes; a column of any other type fails the synth. */
const GLUE_TYPES: Readonly<Record<string, string>> = { UTF8: 'string', INT64: 'bigint', INT32: 'int', DOUBLE: 'double', FLOAT: 'float', BOOLEAN: 'boolean' };

/** Glue columns of a Parquet schema, in its order: one home for the Silver schema (src/retraining/silver.ts). */
export function glueColumns(columns: ParquetColumns): glue.CfnTable.ColumnProperty[] {
  return Object.entries(columns).map(([name, def]) => {
    const type = GLUE_TYPES[String(def.type)];
    if (!type) throw new Error(`lake catalog: no Glue type for Parquet column ${name} of type ${String(def.type)}`);
    return { name, type };
  });
}

/** The Glue (Hive) type of each SQL type the batch tables declare (src/batch/dialect.ts BATCH_TABLES). */
const GLUE_TYPES_OF_SQL: Readonly<Record<string, string>> = { VARCHAR: 'string', BIGINT: 'bigint', INTEGER: 'int', DOUBLE: 'double', BOOLEAN: 'boolean' };
function glueTypeOfSql(type: string): string {
  const glueType = GLUE_TYPES_OF_SQL[type];
  if (!glueType) throw new Error(`lake catalog: no Glue type for SQL type ${type}`);
  return glueType;
}

const TEXT_FORMAT = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  // One column per line: the field delimiter is U+0001, a control character that JSON text never holds unescaped
  // (RFC 8259 §7; JSON.stringify escapes it), so a whole Bronze line, malformed or not, lands in `line`.
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', parameters: { 'field.delim': '\u0001', 'serialization.format': '\u0001' } },
} as const;
const PARQUET_FORMAT = {
  inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
  serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
} as const;

export interface LakeCatalogProps {
  config: RecsysConfig;
  bucket: s3.IBucket;
}

/**
 * The lake as Athena sees it: a Glue database with the Bronze and Silver tables (partition projection, so no crawler
 * and no partition to register), and the Athena workgroup the retraining's queries run in: engine version 3,
 * settings enforced, results encrypted under `reports/athena/`, a per-query scan limit.
 *
 * Bronze objects sit one level below their `dt=` partition (`dt=<d>/shard=<shardId>/<seq>.jsonl`). The tables
 * still partition on `dt` only: Athena reads every object under a partition's location, sub-prefixes included —
 * "Athena reads all data stored in the Amazon S3 folder that you specify"
 * (https://docs.aws.amazon.com/athena/latest/ug/tables-location-format.html), and the CloudTrail tables read
 * `…/CloudTrail/<region>/<yyyy>/<mm>/<dd>/` objects from a LOCATION at any level above them
 * (https://docs.aws.amazon.com/athena/latest/ug/create-cloudtrail-table-understanding.html). A `shard` partition
 * would not work: an `injected` projection needs a literal `shard = …` in every query
 * (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-dynamic-id-partitioning.html), and shard ids
 * are not known in advance for an `enum`. The shard is still in `"$path"`.
 */
export class LakeCatalog extends Construct {
  readonly databaseName: string;
  readonly database: glue.CfnDatabase;
  readonly tables: Record<keyof typeof LAKE_TABLES, glue.CfnTable>;
  readonly batchTables: Record<string, glue.CfnTable> = {};
  readonly workGroupName: string;
  readonly workGroup: athena.CfnWorkGroup;
  /** `s3://<lake>/reports/athena/`: where every query's result lands (enforced by the workgroup). */
  readonly outputLocation: string;
  private readonly bucket: s3.IBucket;
  private readonly projectedDates: { range: string };
  /** Set once a grant names the tables: a table added later would not be readable by the grantee. */
  private granted = false;

  constructor(scope: Construct, id: string, props: LakeCatalogProps) {
    super(scope, id);
    const { config, bucket } = props;
    this.bucket = bucket;
    // Glue names are lower-case letters, digits and underscores (Athena reads nothing else unquoted).
    this.databaseName = `${config.namePrefix.toLowerCase().replace(/[^a-z0-9_]/g, '_')}_lake`;
    this.workGroupName = `${config.namePrefix}-retraining`;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'The recsys data lake: Bronze JSON lines and Silver Parquet (partition projection)' },
    });

    // The projected date range: from the event-time floor (Silver dt is the *event* date; nothing older is accepted)
    // to a day past now plus the accepted future skew (an event stamped just ahead lands in tomorrow's partition).
    const floor = (config.eventTimeFloor ?? DEFAULT_EVENT_TIME_FLOOR).slice(0, 10);
    const aheadDays = 1 + Math.ceil((config.eventMaxFutureSkewSeconds ?? DEFAULT_MAX_FUTURE_SKEW_SECONDS) / 86_400);
    this.projectedDates = { range: `${floor},NOW+${aheadDays}DAYS` };

    const bronze = (name: string, prefix: string, description: string) =>
      this.table(name, {
        description,
        location: this.s3Url(prefix),
        columns: [{ name: 'line', type: 'string', comment: 'The raw JSON line, parsed in SQL so a malformed line never fails a query' }],
        format: TEXT_FORMAT,
        partitions: ['dt'],
        template: this.s3Url(`${prefix}dt=\${dt}/`),
      });
    this.tables = {
      bronzeEvents: bronze(LAKE_TABLES.bronzeEvents, BRONZE_EVENTS_PREFIX, 'Bronze events by arrival date, one raw JSON line per row (all shards of a day)'),
      bronzeQuarantine: bronze(LAKE_TABLES.bronzeQuarantine, BRONZE_QUARANTINE_PREFIX, 'Quarantined Bronze lines by arrival date'),
      silverInteractions: this.table(LAKE_TABLES.silverInteractions, {
        description: 'Deduplicated events by event date (dt) and Bronze arrival date (arrival_dt)',
        location: this.s3Url(SILVER_INTERACTIONS_PREFIX),
        columns: glueColumns(INTERACTION_COLUMNS),
        format: PARQUET_FORMAT,
        partitions: ['dt', 'arrival_dt'],
        template: this.s3Url(`${SILVER_INTERACTIONS_PREFIX}dt=\${dt}/arrival_dt=\${arrival_dt}/`),
      }),
    };

    // The tables one query of a run writes and a later one reads (src/batch/dialect.ts BATCH_TABLES).
    for (const [name, columns] of Object.entries(BATCH_TABLES)) this.addBatchTable(name, columns.map(([c, t]) => ({ name: c, type: glueTypeOfSql(t) })));

    this.outputLocation = this.s3Url(ATHENA_RESULTS_PREFIX);
    const key = bucket.encryptionKey;
    this.workGroup = new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: this.workGroupName,
      description: 'Nightly retraining: the set-based steps as SQL over the lake',
      state: 'ENABLED',
      // Deletes the workgroup's saved queries with it, as destroyOnRemoval deletes the lake's data.
      recursiveDeleteOption: config.destroyOnRemoval,
      workGroupConfiguration: {
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        // Queries cannot pick another output location, unencrypted results or a higher scan limit.
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoffPerQuery,
        resultConfiguration: {
          outputLocation: this.outputLocation,
          expectedBucketOwner: Aws.ACCOUNT_ID,
          encryptionConfiguration: key ? { encryptionOption: 'SSE_KMS', kmsKey: key.keyArn } : { encryptionOption: 'SSE_S3' },
        },
      },
    });
  }

  /**
   * A Parquet table over one batch output, `silver/_batch/<run_id>/<name>/`, for a query that reads its predecessor's
   * output. `run_id` is an injected projection: every query of it must say `run_id = '<id>'`, which the engine's
   * queries do (they read their own run only). Add batch tables before `grantQueries`.
   */
  addBatchTable(name: string, columns: ParquetColumns | glue.CfnTable.ColumnProperty[]): glue.CfnTable {
    if (this.granted) throw new Error(`lake catalog: batch table ${name} added after grantQueries; add it first so the grant names it`);
    if (!/^[a-z][a-z0-9_]{0,60}$/.test(name)) throw new Error(`lake catalog: not a batch table name: ${name}`);
    const table = this.table(`batch_${name}`, {
      description: `Batch output ${name} of one retraining run (silver/_batch/<run_id>/${name}/)`,
      location: this.s3Url(SILVER_BATCH_PREFIX),
      columns: Array.isArray(columns) ? columns : glueColumns(columns),
      format: PARQUET_FORMAT,
      partitions: ['run_id'],
      template: this.s3Url(`${SILVER_BATCH_PREFIX}\${run_id}/${name}/`),
    });
    this.batchTables[name] = table;
    return table;
  }

  /**
   * Lets `grantee` (the state machine, through `athena:startQueryExecution.sync`) run the engine's queries, and
   * nothing else: Athena queries run with the caller's credentials, so the caller needs the workgroup, the catalog
   * entries and the S3 objects the queries read and write
   * (https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html;
   * https://docs.aws.amazon.com/athena/latest/ug/access.html). Reads Bronze and Silver; writes Silver interactions,
   * the batch outputs and the query results; never deletes.
   */
  grantQueries(grantee: iam.IGrantable): void {
    this.granted = true;
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    const stack = Stack.of(this);
    const arn = (service: string, resource: string, resourceName?: string) => stack.formatArn({ service, resource, resourceName });
    // StopQueryExecution: the .sync integration stops the query when the execution is stopped or times out.
    add(new iam.PolicyStatement({
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'],
      resources: [arn('athena', 'workgroup', this.workGroupName)],
    }));
    // The policy Step Functions generates for .sync reads the data catalog too (athena-iam.html).
    add(new iam.PolicyStatement({ actions: ['athena:GetDataCatalog'], resources: [arn('athena', 'datacatalog', 'AwsDataCatalog')] }));
    const tables = [...Object.values(this.tables), ...Object.values(this.batchTables)].map((t) => arn('glue', 'table', `${this.databaseName}/${(t.tableInput as glue.CfnTable.TableInputProperty).name!}`));
    add(new iam.PolicyStatement({
      actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables', 'glue:GetPartition', 'glue:GetPartitions', 'glue:BatchGetPartition'],
      resources: [arn('glue', 'catalog'), arn('glue', 'database', this.databaseName), ...tables],
    }));

    const reads = [`${LAKE_AREAS.bronze}*`, `${LAKE_AREAS.silver}*`, `${ATHENA_RESULTS_PREFIX}*`];
    const writes = [`${SILVER_INTERACTIONS_PREFIX}*`, `${SILVER_BATCH_PREFIX}*`, `${ATHENA_RESULTS_PREFIX}*`];
    const bucket = this.bucket;
    add(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: reads.map((p) => bucket.arnForObjects(p)) }));
    // Athena writes results and UNLOAD files with multipart uploads, and aborts them on failure.
    add(new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'], resources: writes.map((p) => bucket.arnForObjects(p)) }));
    // Listing only below the prefixes the queries read (table locations, UNLOAD's empty-destination check).
    add(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn], conditions: { StringLike: { 's3:prefix': reads } } }));
    add(new iam.PolicyStatement({ actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'], resources: [bucket.bucketArn] }));
    bucket.encryptionKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');

    const scope: IConstruct | undefined = Construct.isConstruct(grantee) ? grantee : Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : undefined;
    if (scope) {
      for (const pattern of new Set([...reads, ...writes])) {
        acknowledge(scope, `AwsSolutions-IAM5[Resource::${arnToken(bucket)}/${pattern}]`, `Athena queries read Bronze and Silver and write only ${writes.join(', ')}: S3 access is limited to those lake prefixes`);
      }
    }
  }

  private s3Url(prefix: string): string {
    return `s3://${this.bucket.bucketName}/${prefix}`;
  }

  private table(
    name: string,
    t: { description: string; location: string; columns: glue.CfnTable.ColumnProperty[]; format: typeof TEXT_FORMAT | typeof PARQUET_FORMAT; partitions: string[]; template: string },
  ): glue.CfnTable {
    const projection: Record<string, string> = { 'projection.enabled': 'true', 'storage.location.template': t.template };
    for (const column of t.partitions) {
      if (column === 'run_id') {
        projection[`projection.${column}.type`] = 'injected';
        continue;
      }
      // Date projection (https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html).
      Object.assign(projection, {
        [`projection.${column}.type`]: 'date',
        [`projection.${column}.format`]: 'yyyy-MM-dd',
        [`projection.${column}.range`]: this.projectedDates.range,
        [`projection.${column}.interval`]: '1',
        [`projection.${column}.interval.unit`]: 'DAYS',
      });
    }
    const table = new glue.CfnTable(this, name.replace(/(^|_)([a-z])/g, (_m, _s: string, c: string) => c.toUpperCase()), {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name,
        description: t.description,
        tableType: 'EXTERNAL_TABLE',
        parameters: { EXTERNAL: 'TRUE', classification: t.format === TEXT_FORMAT ? 'text' : 'parquet', ...projection },
        partitionKeys: t.partitions.map((p) => ({ name: p, type: 'string' })),
        storageDescriptor: { columns: t.columns, location: t.location, ...t.format, compressed: false },
      },
    });
    table.node.addDependency(this.database);
    return table;
  }
}
