import { describe, expect, it } from 'vitest';
import * as iam from 'aws-cdk-lib/aws-iam';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import type { RecommendApi } from '../../lib/recommend-api';
import { RecsysStack } from '../../lib/recsys-stack';
import { EXPERIMENTS_PREFIX, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { ROUTES } from '../../src/serving/routes';
import type { CfnTemplate } from '../support/cfn-template';
import { TemplateIam } from '../support/iam-check';
import { CDK_JSON_CONTEXT, synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const listOf = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

/** The experiment control function (`admin`) and its routes. */
describe('recommend API: experiment control', () => {
  const { template, stack } = synthStack();
  const serving = stack.node.findChild('Serving') as RecommendApi;
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const adminId = stack.getLogicalId(serving.adminFunction.node.defaultChild as never);

  it('serves the admin routes from its own function, IAM-authorised, with the lake, refresh bound and (only when analytics runs) the analytics table in its environment', () => {
    expect(serving.adminFunction.handlerFile).toBe('lambdas/admin-api/index.ts');
    const integrationOf = (uri: unknown) => JSON.stringify(uri ?? null).includes(adminId);
    const methods = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGateway::Method');
    const adminMethods = methods.filter((m) => integrationOf(m.Properties.Integration?.Uri));
    const adminRoutes = ROUTES.filter((r) => r.function === 'admin');
    expect(adminRoutes.map((r) => r.id).sort()).toEqual(['experimentAction', 'experimentStatus']);
    expect(adminMethods.map((m) => m.Properties.HttpMethod).sort()).toEqual(adminRoutes.map((r) => r.method).sort());
    for (const m of adminMethods) expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
    expect(resources[adminId]!.Properties.Environment.Variables).toMatchObject({
      LAKE_BUCKET: { Ref: expect.stringMatching(/^DataLakeBucket/) },
      MODEL_REFRESH_SECONDS: '30',
      POWERTOOLS_SERVICE_NAME: 'admin-api',
      ANALYTICS_TABLE: { Ref: stack.getLogicalId(stack.analytics!.table.node.defaultChild as never) },
    });
    // Without the shop analytics: no analytics table in its environment, no DynamoDB grant at all.
    const off = synthStack({ analyticsEnabled: false });
    const api = off.stack.node.findChild('Serving') as RecommendApi;
    const id = off.stack.getLogicalId(api.adminFunction.node.defaultChild as never);
    const offResources = off.template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
    expect(Object.keys(offResources[id]!.Properties.Environment.Variables)).not.toContain('ANALYTICS_TABLE');
    const roleId = (off.stack.resolve((api.adminFunction.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string }).Ref;
    const actions = Object.values(offResources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).flatMap((s) => listOf(s.Action)));
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([]);
    expect(actions).toContain('s3:PutObject');
  });

  it('least privilege, decided by the IAM policy simulator: read models/*, write only the pointer and the experiment log, Query the analytics table', async () => {
    const sim = new TemplateIam(template.toJSON() as CfnTemplate);
    const roleId = (stack.resolve((serving.adminFunction.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string }).Ref;
    const bucketArn = sim.t.physical[stack.getLogicalId(stack.lake.bucket.node.defaultChild as never)]!.attributes.Arn!;
    const decide = async (action: string, key: string) => (await sim.evaluate({ role: roleId, action, resource: `${bucketArn}/${key}`, origin: 'test' })).decision;
    expect(await decide('s3:GetObject', PRODUCTION_POINTER_KEY)).toBe('Allowed');
    expect(await decide('s3:GetObject', 'models/v20261201T020000Z/manifest.json')).toBe('Allowed');
    expect(await decide('s3:PutObject', PRODUCTION_POINTER_KEY)).toBe('Allowed');
    expect(await decide('s3:PutObject', `${EXPERIMENTS_PREFIX}xabc/2026-started.json`)).toBe('Allowed');
    expect(await decide('s3:PutObject', 'models/v20261201T020000Z/manifest.json')).toBe('ImplicitlyDenied');
    expect(await decide('s3:PutObject', 'reports/runs/r1.json')).toBe('ImplicitlyDenied');
    expect(await decide('s3:DeleteObject', PRODUCTION_POINTER_KEY)).toBe('ImplicitlyDenied');
    expect(await decide('s3:GetObject', 'silver/events/dt=2026-12-01/part.parquet')).toBe('ImplicitlyDenied');
    expect(await decide('s3:GetObject', 'bronze/events/x.json')).toBe('ImplicitlyDenied');
    // The attribution of GET /admin/experiment: Query on the analytics table only; no write, no scan, no other table.
    const tableArn = (of: { node: { defaultChild?: unknown } }) => sim.t.physical[stack.getLogicalId(of.node.defaultChild as never)]!.attributes.Arn!;
    const analyticsArn = tableArn(stack.analytics!.table);
    const onTable = async (action: string, resource: string) => (await sim.evaluate({ role: roleId, action, resource, origin: 'test' })).decision;
    expect(await onTable('dynamodb:Query', analyticsArn)).toBe('Allowed');
    for (const action of ['dynamodb:Scan', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:BatchWriteItem', 'dynamodb:DeleteItem']) {
      expect(await onTable(action, analyticsArn), action).toBe('ImplicitlyDenied');
    }
    expect(await onTable('dynamodb:Query', tableArn(stack.features.table))).toBe('ImplicitlyDenied');
    expect(await onTable('dynamodb:Query', tableArn(stack.catalogue.table))).toBe('ImplicitlyDenied');
    // Nothing but S3 on the lake, Query on the analytics table, its logs and traces.
    const statements = Object.values(resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(roleId))
      .flatMap((p) => (p.Properties.PolicyDocument.Statement as Statement[]).filter((s) => s.Effect === 'Allow'));
    const actions = new Set(statements.flatMap((s) => listOf(s.Action)).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:')));
    expect([...actions].sort()).toEqual(['dynamodb:Query', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const queried = statements.filter((s) => listOf(s.Action).includes('dynamodb:Query')).flatMap((s) => listOf(s.Resource));
    expect(queried.map((r) => JSON.stringify(r))).toEqual([JSON.stringify({ 'Fn::GetAtt': [stack.getLogicalId(stack.analytics!.table.node.defaultChild as never), 'Arn'] })]);
  });

  it('no other API function may write the pointer', async () => {
    const sim = new TemplateIam(template.toJSON() as CfnTemplate);
    const bucketArn = sim.t.physical[stack.getLogicalId(stack.lake.bucket.node.defaultChild as never)]!.attributes.Arn!;
    for (const fn of [serving.readFunction, serving.eventsFunction, serving.catalogFunction]) {
      const roleId = (stack.resolve((fn.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string }).Ref;
      expect((await sim.evaluate({ role: roleId, action: 's3:PutObject', resource: `${bucketArn}/${PRODUCTION_POINTER_KEY}`, origin: 'test' })).decision).toBe('ImplicitlyDenied');
    }
  });

  it('grantExperimentControl lets a principal invoke exactly the experiment routes on the stage', () => {
    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const config = readConfig(app.node);
    const other = new RecsysStack(app, config.stackName, { config, env: { account: '123456789012', region: 'eu-west-1' } });
    const api = other.node.findChild('Serving') as RecommendApi;
    const operator = new iam.Role(other, 'ExperimentOperator', { assumedBy: new iam.AccountPrincipal('123456789012') });
    api.grantExperimentControl(operator);
    const statements = Object.values(Template.fromStack(other).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: other.getLogicalId(operator.node.defaultChild as never) }] } }))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
    expect(statements.flatMap((st) => listOf(st.Action))).toEqual(['execute-api:Invoke']);
    const arns = statements.flatMap((st) => listOf(st.Resource)).map((r) => JSON.stringify(other.resolve(r)));
    expect(arns).toHaveLength(2);
    expect(arns.join(' ')).toContain('/GET/admin/experiment"');
    expect(arns.join(' ')).toContain('/POST/admin/experiment/*"');
    expect(arns.join(' ')).not.toMatch(/reload|items/);
  });
});
