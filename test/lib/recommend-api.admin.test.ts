import { describe, expect, it } from 'vitest';
import * as iam from 'aws-cdk-lib/aws-iam';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import type { RecommendApi } from '../../lib/recommend-api';
import { RecsysStack } from '../../lib/recsys-stack';
import { ERASURE_REQUESTS_PREFIX, EXPERIMENTS_PREFIX, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { ROUTES } from '../../src/serving/routes';
import type { CfnTemplate } from '../support/cfn-template';
import { TemplateIam } from '../support/iam-check';
import { CDK_JSON_CONTEXT, synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const listOf = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The experiment control and user erasure function (`admin`) and its routes. */
describe('recommend API: experiment control and user erasure', () => {
  const { template, stack } = synthStack();
  const serving = stack.node.findChild('Serving') as RecommendApi;
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const adminId = stack.getLogicalId(serving.adminFunction.node.defaultChild as never);

  it('serves the admin routes from its own function, IAM-authorised, with the lake, refresh bound, feature table and (only when analytics runs) the analytics table in its environment', () => {
    expect(serving.adminFunction.handlerFile).toBe('lambdas/admin-api/index.ts');
    const integrationOf = (uri: unknown) => JSON.stringify(uri ?? null).includes(adminId);
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    const adminMethods = methods.filter((m) => integrationOf(m.Properties.Integration?.Uri));
    const adminRoutes = ROUTES.filter((r) => r.function === 'admin');
    expect(adminRoutes.map((r) => r.id).sort()).toEqual(['eraseUser', 'experimentAction', 'experimentStatus']);
    expect(adminMethods.map((m) => m.Properties.HttpMethod).sort()).toEqual(adminRoutes.map((r) => r.method).sort());
    for (const m of adminMethods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
    expect(resources[adminId]!.Properties.Environment.Variables).toMatchObject({
      LAKE_BUCKET: { Ref: expect.stringMatching(/^DataLakeBucket/) },
      MODEL_REFRESH_SECONDS: '30',
      POWERTOOLS_SERVICE_NAME: 'admin-api',
      ANALYTICS_TABLE: { Ref: stack.getLogicalId(stack.analytics!.table.node.defaultChild as never) },
      FEATURES_TABLE: { Ref: stack.getLogicalId(stack.features.table.node.defaultChild as never) },
    });
    // Without the shop analytics: no analytics table in its environment; DynamoDB only for the erasure, on the feature table.
    const off = synthStack({ analyticsEnabled: false });
    const api = off.stack.node.findChild('Serving') as RecommendApi;
    const id = off.stack.getLogicalId(api.adminFunction.node.defaultChild as never);
    const offResources = off.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    expect(Object.keys(offResources[id]!.Properties.Environment.Variables)).not.toContain('ANALYTICS_TABLE');
    const roleId = (off.stack.resolve((api.adminFunction.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string }).Ref;
    const offStatements = Object.values(offResources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const dynamo = offStatements.filter((s) => listOf(s.Action).some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.flatMap((s) => listOf(s.Action)).sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:Query']);
    expect(dynamo.flatMap((s) => listOf(s.Resource)).map((r) => JSON.stringify(r))).toEqual([
      JSON.stringify({ 'Fn::GetAtt': [off.stack.getLogicalId(off.stack.features.table.node.defaultChild as never), 'Arn'] }),
    ]);
    expect(offStatements.flatMap((s) => listOf(s.Action))).toContain('s3:PutObject');
  });

  it('least privilege, decided by the IAM policy simulator: read models/*, write only the pointer, the experiment log and erasure requests, Query and batch-delete on the feature and analytics tables', async () => {
    const sim = new TemplateIam(template.toJSON() as CfnTemplate);
    const roleId = (stack.resolve((serving.adminFunction.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string }).Ref;
    const bucketArn = sim.t.physical[stack.getLogicalId(stack.lake.bucket.node.defaultChild as never)]!.attributes.Arn!;
    const decide = async (action: string, key: string) => (await sim.evaluate({ role: roleId, action, resource: `${bucketArn}/${key}`, origin: 'test' })).decision;
    expect(await decide('s3:GetObject', PRODUCTION_POINTER_KEY)).toBe('Allowed');
    expect(await decide('s3:GetObject', 'models/v20261201T020000Z/manifest.json')).toBe('Allowed');
    expect(await decide('s3:PutObject', PRODUCTION_POINTER_KEY)).toBe('Allowed');
    expect(await decide('s3:PutObject', `${EXPERIMENTS_PREFIX}xabc/2026-started.json`)).toBe('Allowed');
    expect(await decide('s3:PutObject', `${ERASURE_REQUESTS_PREFIX}20261203T160000000Z-${'a'.repeat(64)}.json`)).toBe('Allowed');
    expect(await decide('s3:PutObject', 'reports/erasure/done/x.json')).toBe('ImplicitlyDenied');
    expect(await decide('s3:DeleteObject', `${ERASURE_REQUESTS_PREFIX}20261203T160000000Z-${'a'.repeat(64)}.json`)).toBe('ImplicitlyDenied');
    expect(await decide('s3:PutObject', 'models/v20261201T020000Z/manifest.json')).toBe('ImplicitlyDenied');
    expect(await decide('s3:PutObject', 'reports/runs/r1.json')).toBe('ImplicitlyDenied');
    expect(await decide('s3:DeleteObject', PRODUCTION_POINTER_KEY)).toBe('ImplicitlyDenied');
    expect(await decide('s3:GetObject', 'silver/events/dt=2026-12-01/part.parquet')).toBe('ImplicitlyDenied');
    expect(await decide('s3:GetObject', 'bronze/events/x.json')).toBe('ImplicitlyDenied');
    // The attribution of GET /admin/experiment queries the analytics table; the erasure queries a user's partition and
    // batch-deletes what it found, in the feature and analytics tables. No scan, no single-item write, no other table.
    const tableArn = (of: { node: { defaultChild?: unknown } }) => sim.t.physical[stack.getLogicalId(of.node.defaultChild as never)]!.attributes.Arn!;
    const onTable = async (action: string, resource: string) => (await sim.evaluate({ role: roleId, action, resource, origin: 'test' })).decision;
    for (const table of [tableArn(stack.analytics!.table), tableArn(stack.features.table)]) {
      for (const action of ['dynamodb:Query', 'dynamodb:BatchWriteItem']) expect(await onTable(action, table), action).toBe('Allowed');
      for (const action of ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:DeleteTable']) {
        expect(await onTable(action, table), action).toBe('ImplicitlyDenied');
      }
    }
    expect(await onTable('dynamodb:Query', tableArn(stack.catalogue.table))).toBe('ImplicitlyDenied');
    expect(await onTable('dynamodb:BatchWriteItem', tableArn(stack.catalogue.table))).toBe('ImplicitlyDenied');
    // Nothing but S3 on the lake, Query and BatchWriteItem on the two tables, its logs and traces.
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow'));
    const actions = new Set(statements.flatMap((s) => listOf(s.Action)).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:')));
    expect([...actions].sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:Query', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const arnOf = (of: { node: { defaultChild?: unknown } }) => JSON.stringify({ 'Fn::GetAtt': [stack.getLogicalId(of.node.defaultChild as never), 'Arn'] });
    const tables = [arnOf(stack.analytics!.table), arnOf(stack.features.table)].sort();
    for (const action of ['dynamodb:Query', 'dynamodb:BatchWriteItem']) {
      const on = statements.filter((s) => listOf(s.Action).includes(action)).flatMap((s) => listOf(s.Resource));
      expect(on.map((r) => JSON.stringify(r)).sort(), action).toEqual(tables);
    }
  });

  it('no other API function may write the pointer', async () => {
    const sim = new TemplateIam(template.toJSON() as CfnTemplate);
    const bucketArn = sim.t.physical[stack.getLogicalId(stack.lake.bucket.node.defaultChild as never)]!.attributes.Arn!;
    for (const fn of [serving.readFunction, serving.eventsFunction, serving.catalogFunction]) {
      const roleId = (stack.resolve((fn.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string }).Ref;
      expect((await sim.evaluate({ role: roleId, action: 's3:PutObject', resource: `${bucketArn}/${PRODUCTION_POINTER_KEY}`, origin: 'test' })).decision).toBe('ImplicitlyDenied');
    }
  });

  /** The execute-api actions and ARNs a fresh operator role gets from one grant. */
  const granted = (grant: (api: RecommendApi, operator: iam.Role) => void) => {
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const config = readConfig(app.node);
    const other = new RecsysStack(app, config.stackName, { config, env: { account: '123456789012', region: 'eu-west-1' } });
    const api = other.node.findChild('Serving') as RecommendApi;
    const operator = new iam.Role(other, 'Operator', { assumedBy: new iam.AccountPrincipal('123456789012') });
    grant(api, operator);
    const statements = Object.values(Template.fromStack(other).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: other.getLogicalId(operator.node.defaultChild as never) }] } }))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
    return { actions: statements.flatMap((st) => listOf(st.Action)), arns: statements.flatMap((st) => listOf(st.Resource)).map((r) => JSON.stringify(other.resolve(r))) };
  };

  it('grantExperimentControl lets a principal invoke exactly the experiment routes on the stage, never the user erasure', () => {
    const { actions, arns } = granted((api, operator) => api.grantExperimentControl(operator));
    expect(actions).toEqual(['execute-api:Invoke']);
    expect(arns).toHaveLength(2);
    expect(arns.join(' ')).toContain('/GET/admin/experiment"');
    expect(arns.join(' ')).toContain('/POST/admin/experiment/*"');
    expect(arns.join(' ')).not.toMatch(/reload|items|users|DELETE/);
  });

  it('grantUserErasure lets a principal invoke exactly DELETE /admin/users/* on the stage', () => {
    const { actions, arns } = granted((api, operator) => api.grantUserErasure(operator));
    expect(actions).toEqual(['execute-api:Invoke']);
    expect(arns).toHaveLength(1);
    expect(arns[0]).toContain('/DELETE/admin/users/*"');
    expect(arns[0]).not.toMatch(/experiment|reload|items/);
  });
});
