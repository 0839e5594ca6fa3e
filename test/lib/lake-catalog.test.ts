import { describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { readConfig } from '../../lib/config';
import { ATHENA_RESULTS_PREFIX, LAKE_TABLES, LakeCatalog, SILVER_BATCH_PREFIX } from '../../lib/lake-catalog';
import type { NightlyRetraining } from '../../lib/nightly-retraining';
import { INTERACTION_COLUMNS, USER_FEATURE_COLUMNS } from '../../src/retraining/silver';
import { BATCH_TABLES, batchTableOf } from '../../src/batch/dialect';
import { synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
type TableInput = {
  Name: string;
  Parameters: Record<string, string>;
  PartitionKeys: { Name: string; Type: string }[];
  StorageDescriptor: { Columns: { Name: string; Type: string }[]; Location: unknown; InputFormat: string; SerdeInfo: { SerializationLibrary: string; Parameters?: Record<string, string> } };
};
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
/** A CloudFormation expression as text, `<Logical.Arn>` / `<Ref>` for tokens, to compare its shape. */
function render(r: unknown): string {
  if (typeof r === 'string') return r;
  const o = r as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) return (o['Fn::Join'] as [string, unknown[]])[1].map(render).join((o['Fn::Join'] as [string])[0]);
  if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  return JSON.stringify(r);
}

describe('the lake catalogue and the Athena workgroup (lib/lake-catalog.ts)', () => {
  const { template, stack } = synthStack();
  const catalog = stack.node.findChild('LakeCatalog') as LakeCatalog;
  const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
  const bucket = `<${stack.getLogicalId(stack.lake.bucket.node.defaultChild as never)}>`;
  const tables = Object.fromEntries(
    Object.values(template.findResources('AWS::Glue::Table')).map((t) => {
      const input = (t as { Properties: { TableInput: TableInput; DatabaseName: string } }).Properties;
      return [input.TableInput.Name, { ...input.TableInput, database: input.DatabaseName }];
    }),
  ) as Record<string, TableInput & { database: string }>;
  const machineStatements = Object.values(
    template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: stack.getLogicalId(retraining.stateMachine.role.node.defaultChild as never) }]) } }),
  ).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
  const statementsOf = (service: string) => machineStatements.filter((s) => list(s.Action).some((a) => a.startsWith(`${service}:`)));

  it('defines one Glue database with the three lake tables and the batch tables the queries name', () => {
    template.resourceCountIs('AWS::Glue::Database', 1);
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: { Name: catalog.databaseName } });
    expect(Object.keys(tables).sort()).toEqual([...Object.values(LAKE_TABLES), ...Object.keys(BATCH_TABLES).map((n) => `batch_${n}`)].sort());
    for (const t of Object.values(tables)) expect(t.database).toBe(catalog.databaseName);
  });

  it("reads one run's checked Bronze as batch_checked_bronze: the columns the CheckBronze query writes, run_id an injected partition", () => {
    const t = tables.batch_checked_bronze!;
    expect(t.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual(
      BATCH_TABLES.checked_bronze.map(([c, type]) => [c, { VARCHAR: 'string', BIGINT: 'bigint', INTEGER: 'int', DOUBLE: 'double' }[type]]),
    );
    expect(t.PartitionKeys).toEqual([{ Name: 'run_id', Type: 'string' }]);
    expect(t.Parameters).toMatchObject({ 'projection.enabled': 'true', 'projection.run_id.type': 'injected' });
    expect(render(t.Parameters['storage.location.template'])).toBe(`s3://${bucket}/${SILVER_BATCH_PREFIX}\${run_id}/checked_bronze/`);
    // The query that reads it names its run by a literal, as an injected projection requires.
    expect(batchTableOf('checked_bronze', 'run-1')).toContain("WHERE run_id = 'run-1'");
  });

  it('reads each Bronze line whole into one string column, partitioned by arrival date with date projection over all shards', () => {
    for (const [name, prefix] of [[LAKE_TABLES.bronzeEvents, 'bronze/events/'], [LAKE_TABLES.bronzeQuarantine, 'bronze/_quarantine/']] as const) {
      const t = tables[name]!;
      expect(t.StorageDescriptor.Columns).toEqual([expect.objectContaining({ Name: 'line', Type: 'string' })]);
      expect(t.StorageDescriptor.InputFormat).toBe('org.apache.hadoop.mapred.TextInputFormat');
      expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe');
      // A delimiter no JSON text holds unescaped: a line never splits into a second column.
      const delimiter = t.StorageDescriptor.SerdeInfo.Parameters!['field.delim']!;
      expect(delimiter).toBe('\u0001');
      expect(JSON.stringify({ s: `a${delimiter}b` })).not.toContain(delimiter);
      expect(t.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
      expect(t.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': '1990-01-01,NOW+2DAYS',
      });
      // The template ends at the dt= prefix: Athena reads the shard=… objects below it (no shard partition).
      expect(render(t.Parameters['storage.location.template'])).toBe(`s3://${bucket}/${prefix}dt=\${dt}/`);
      expect(render(t.StorageDescriptor.Location)).toBe(`s3://${bucket}/${prefix}`);
    }
  });

  it('reads Silver as Parquet with exactly the columns the engines write, partitioned by event and arrival date', () => {
    const t = tables[LAKE_TABLES.silverInteractions]!;
    const glueTypes: Record<string, string> = { UTF8: 'string', INT64: 'bigint', INT32: 'int', DOUBLE: 'double' };
    expect(t.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual(Object.entries(INTERACTION_COLUMNS).map(([name, def]) => [name, glueTypes[String(def.type)]]));
    expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe');
    expect(t.PartitionKeys.map((p) => p.Name)).toEqual(['dt', 'arrival_dt']);
    for (const column of ['dt', 'arrival_dt']) {
      expect(t.Parameters).toMatchObject({ [`projection.${column}.type`]: 'date', [`projection.${column}.format`]: 'yyyy-MM-dd', [`projection.${column}.range`]: '1990-01-01,NOW+2DAYS' });
    }
    expect(render(t.Parameters['storage.location.template'])).toBe(`s3://${bucket}/silver/interactions/dt=\${dt}/arrival_dt=\${arrival_dt}/`);
  });

  it('runs queries in an enforced engine-3 workgroup with encrypted results in the lake and a per-query scan limit', () => {
    const groups = Object.values(template.findResources('AWS::Athena::WorkGroup')) as { Properties: { Name: string; RecursiveDeleteOption: boolean; WorkGroupConfiguration: Record<string, unknown> & { ResultConfiguration: { OutputLocation: unknown; EncryptionConfiguration: unknown } } } }[];
    expect(groups).toHaveLength(1);
    const { Name, RecursiveDeleteOption, WorkGroupConfiguration: c } = groups[0]!.Properties;
    expect(Name).toBe(catalog.workGroupName);
    expect(RecursiveDeleteOption).toBe(false);
    expect(c).toMatchObject({
      EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
      EnforceWorkGroupConfiguration: true,
      PublishCloudWatchMetricsEnabled: true,
      BytesScannedCutoffPerQuery: 1024 ** 4,
    });
    expect(render(c.ResultConfiguration.OutputLocation)).toBe(`s3://${bucket}/${ATHENA_RESULTS_PREFIX}`);
    // The lake bucket is S3-managed encryption (lib/data-lake.ts), so are the results.
    expect(c.ResultConfiguration.EncryptionConfiguration).toEqual({ EncryptionOption: 'SSE_S3' });
  });

  it('lets the state machine run queries in this workgroup only, on this database and its tables only', () => {
    const athena = statementsOf('athena');
    expect(athena.flatMap((s) => list(s.Action)).sort()).toEqual(['athena:GetDataCatalog', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StartQueryExecution', 'athena:StopQueryExecution']);
    for (const s of athena) {
      const resources = list(s.Resource).map(render);
      if (list(s.Action).includes('athena:GetDataCatalog')) expect(resources).toEqual(['arn:<AWS::Partition>:athena:eu-west-1:123456789012:datacatalog/AwsDataCatalog']);
      else expect(resources).toEqual([`arn:<AWS::Partition>:athena:eu-west-1:123456789012:workgroup/${catalog.workGroupName}`]);
    }
    const glue = statementsOf('glue');
    expect(glue.flatMap((s) => list(s.Action)).every((a) => /^glue:(Get|BatchGet)/.test(a))).toBe(true);
    const glueResources = glue.flatMap((s) => list(s.Resource).map(render));
    const prefix = 'arn:<AWS::Partition>:glue:eu-west-1:123456789012:';
    expect(glueResources.sort()).toEqual([`${prefix}catalog`, `${prefix}database/${catalog.databaseName}`, ...[...Object.values(LAKE_TABLES), ...Object.keys(BATCH_TABLES).map((n) => `batch_${n}`)].map((t) => `${prefix}table/${catalog.databaseName}/${t}`)].sort());
  });

  it('lets the queries read Bronze and Silver, write only Silver interactions, batch outputs and results, and list only those prefixes', () => {
    const s3 = statementsOf('s3');
    const on = (action: string) => s3.filter((s) => list(s.Action).includes(action)).flatMap((s) => list(s.Resource).map(render)).sort();
    expect(on('s3:GetObject')).toEqual([`${bucket.replace('>', '.Arn>')}/bronze/*`, `${bucket.replace('>', '.Arn>')}/${ATHENA_RESULTS_PREFIX}*`, `${bucket.replace('>', '.Arn>')}/silver/*`].sort());
    expect(on('s3:PutObject')).toEqual([`${bucket.replace('>', '.Arn>')}/${ATHENA_RESULTS_PREFIX}*`, `${bucket.replace('>', '.Arn>')}/${SILVER_BATCH_PREFIX}*`, `${bucket.replace('>', '.Arn>')}/silver/interactions/*`].sort());
    expect(s3.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('s3:Delete'))).toEqual([]);
    const listing = s3.filter((s) => list(s.Action).includes('s3:ListBucket'));
    expect(listing).toHaveLength(1);
    expect(listing[0]!.Condition).toEqual({ StringLike: { 's3:prefix': ['bronze/*', 'silver/*', `${ATHENA_RESULTS_PREFIX}*`] } });
    // Nothing Athena, Glue or S3 on Resource "*".
    for (const s of [...s3, ...statementsOf('athena'), ...statementsOf('glue')]) expect(list(s.Resource), list(s.Action).join()).not.toContain('*');
  });

  it('hands the workgroup, database and bucket to the state machine and the engine settings to every retraining function', () => {
    const machine = template.findResources('AWS::StepFunctions::StateMachine')[stack.getLogicalId(retraining.stateMachine.node.defaultChild as never)] as { Properties: { DefinitionSubstitutions: Record<string, unknown> } };
    expect(machine.Properties.DefinitionSubstitutions).toMatchObject({ AthenaWorkGroup: catalog.workGroupName, GlueDatabase: catalog.databaseName });
    for (const fn of Object.values(retraining.functions)) {
      const vars = (template.toJSON().Resources[stack.getLogicalId(fn.node.defaultChild as never)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
      expect(vars, fn.handlerFile).toMatchObject({
        RETRAINING_ENGINE: 'auto',
        ATHENA_MIN_BRONZE_BYTES: String(256 * 1024 * 1024),
        ATHENA_WORKGROUP: catalog.workGroupName,
        GLUE_DATABASE: catalog.databaseName,
        FARGATE_TRAINING: 'false',
        FARGATE_MIN_INTERACTIONS: '20000000',
      });
    }
  });

  it('takes the scan limit, the engine and the projected range from context; a development stack deletes the workgroup whole', () => {
    const custom = synthStack({ athenaBytesScannedCutoffPerQuery: 50_000_000_000, destroyOnRemoval: 'true', retrainingEngine: 'athena', athenaMinBronzeBytes: 1000, eventTimeFloor: '2015-06-01T00:00:00Z', eventMaxFutureSkewSeconds: 3 * 86_400 });
    custom.template.hasResourceProperties('AWS::Athena::WorkGroup', { RecursiveDeleteOption: true, WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 50_000_000_000 }) });
    custom.template.hasResourceProperties('AWS::Glue::Table', { TableInput: Match.objectLike({ Name: LAKE_TABLES.silverInteractions, Parameters: Match.objectLike({ 'projection.dt.range': '2015-06-01,NOW+4DAYS' }) }) });
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'retraining-validate-data', RETRAINING_ENGINE: 'athena', ATHENA_MIN_BRONZE_BYTES: '1000' }) },
    });
  });

  it('adds a Parquet table over one run’s batch output, read by run_id, which the grant names; encrypts results with the lake’s own key when it has one', () => {
    const app = new App();
    const small = new Stack(app, 'Small', { env: { account: '123456789012', region: 'eu-west-1' } });
    const lake = new s3.Bucket(small, 'Lake', { encryption: s3.BucketEncryption.KMS });
    const own = new LakeCatalog(small, 'Catalog', { config: readConfig(app.node), bucket: lake });
    own.addBatchTable('user_features', USER_FEATURE_COLUMNS);
    const role = new iam.Role(small, 'Role', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    own.grantQueries(role);
    expect(() => own.addBatchTable('late', USER_FEATURE_COLUMNS)).toThrow('lake catalog: batch table late added after grantQueries');
    const t = Template.fromStack(small);
    const [batch] = Object.values(t.findResources('AWS::Glue::Table', { Properties: { TableInput: { Name: 'batch_user_features' } } })) as { Properties: { TableInput: TableInput } }[];
    expect(batch!.Properties.TableInput.Parameters).toMatchObject({ 'projection.run_id.type': 'injected' });
    expect(render(batch!.Properties.TableInput.Parameters['storage.location.template'])).toMatch(new RegExp(`/${SILVER_BATCH_PREFIX}\\$\\{run_id\\}/user_features/$`));
    expect(batch!.Properties.TableInput.StorageDescriptor.Columns.map((c) => c.Name)).toEqual(Object.keys(USER_FEATURE_COLUMNS));
    const glueResources = Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) =>
      (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement.filter((st) => list(st.Action).includes('glue:GetTable')).flatMap((st) => list(st.Resource).map(render)),
    );
    expect(glueResources).toContain(`arn:<AWS::Partition>:glue:eu-west-1:123456789012:table/${own.databaseName}/batch_user_features`);
    const keyArn = { 'Fn::GetAtt': [small.getLogicalId(lake.encryptionKey!.node.defaultChild as never), 'Arn'] };
    t.hasResourceProperties('AWS::Athena::WorkGroup', { WorkGroupConfiguration: Match.objectLike({ ResultConfiguration: Match.objectLike({ EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: keyArn } }) }) });
    t.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: keyArn })]) } });
  });
});
