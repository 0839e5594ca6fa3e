import { describe, expect, it } from 'vitest';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ROUTES } from '../../src/serving/routes';
import { loadReadApiConfig } from '../../src/config/serving';
import { App } from 'aws-cdk-lib';
import { readConfig } from '../../lib/config';
import { RecsysStack } from '../../lib/recsys-stack';
import { CDK_JSON_CONTEXT, synthStack } from '../support/synth';
import { CATALOG_WRITE_ACTIONS, type RecommendApi } from '../../lib/recommend-api';
import type { ItemCatalogue } from '../../lib/item-catalogue';
import { TemplateIam } from '../support/iam-check';
import type { CfnTemplate } from '../support/cfn-template';

type Resource = { Properties: Record<string, any> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const listOf = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('recommend API infrastructure', () => {
  const { template, stack } = synthStack();
  const serving = stack.node.findChild('Serving') as RecommendApi;
  const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as Resource[];
  const resources = template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>;
  /** Full path of an API Gateway resource, from its PathPart chain. */
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (!id || !resources[id]) return '';
    const r = resources[id]!.Properties;
    return `${pathOf(r.ParentId)}/${r.PathPart as string}`;
  };
  const method = (verb: string, path: string) => methods.find((m) => m.Properties.HttpMethod === verb && pathOf(m.Properties.ResourceId) === path);
  const catalogue = stack.node.findChild('Catalogue') as ItemCatalogue;
  const catalogueId = stack.getLogicalId(catalogue.table.node.defaultChild as never);
  const roleRef = (fn: typeof serving.readFunction) => stack.resolve((fn.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string };
  /** Every (action, resource) pair a function's role is allowed, resources as the template writes them (JSON). */
  const grantsOf = (fn: typeof serving.readFunction): { action: string; resource: string }[] =>
    Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([roleRef(fn)]) } }))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement)
      .filter((st) => st.Effect === 'Allow')
      .flatMap((st) => listOf(st.Action).flatMap((action) => listOf(st.Resource).map((r) => ({ action, resource: JSON.stringify(r) }))));
  const catalogueArn = JSON.stringify({ 'Fn::GetAtt': [catalogueId, 'Arn'] });
  const feedIndexArn = JSON.stringify({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [catalogueId, 'Arn'] }, '/index/byUpdate']] });

  it('is a REST API (LocalStack free tier) with throttling, JSON access logs, tracing on its stage', () => {
    template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"status":"\\$context.status"') },
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400, MetricsEnabled: true })]),
    });
  });

  it('creates every route of the shared route table, only the admin routes and the catalogue writes needing IAM', () => {
    for (const route of ROUTES) {
      const m = method(route.method, route.path);
      expect(m, `${route.method} ${route.path}`).toBeDefined();
      expect(m!.Properties.AuthorizationType).toBe(route.auth === 'iam' ? 'AWS_IAM' : 'NONE');
      expect(m!.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY' });
      if (route.path.includes('{')) expect(Object.keys(m!.Properties.RequestParameters)).toEqual([...route.path.matchAll(/\{(\w+)\}/g)].map((x) => `method.request.path.${x[1]}`));
    }
    const iam = methods.filter((m) => m.Properties.AuthorizationType === 'AWS_IAM');
    expect(iam.map((m) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`).sort()).toEqual(['DELETE /admin/users/{userId}', 'DELETE /items/{itemId}', 'GET /admin/experiment', 'POST /admin/experiment/{action}', 'POST /admin/reload', 'PUT /items']);
  });

  it('PUT /items and DELETE /items/{itemId} are IAM-authorised and reach the catalogue function, nothing else does', () => {
    const fnOf = (m: Resource) => JSON.stringify(m.Properties.Integration.Uri);
    const catalogUri = JSON.stringify({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:eu-west-1:lambda:path/2015-03-31/functions/', { 'Fn::GetAtt': [stack.getLogicalId(serving.catalogFunction.node.defaultChild as never), 'Arn'] }, '/invocations']],
    });
    for (const [verb, path] of [['PUT', '/items'], ['DELETE', '/items/{itemId}']] as const) {
      const m = method(verb, path);
      expect(m, `${verb} ${path}`).toBeDefined();
      expect(m!.Properties).toMatchObject({ AuthorizationType: 'AWS_IAM', Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' } });
      expect(fnOf(m!), `${verb} ${path}`).toBe(catalogUri);
    }
    // The item id is a required path parameter, checked by the gateway before the function runs.
    expect(method('DELETE', '/items/{itemId}')!.Properties.RequestParameters).toEqual({ 'method.request.path.itemId': true });
    const toCatalog = methods.filter((m) => m.Properties.Integration?.Uri && fnOf(m) === catalogUri).map((m) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`);
    expect(toCatalog.sort()).toEqual(['DELETE /items/{itemId}', 'PUT /items']);
    // Other methods on those resources stay with the read function (405 in the API's format), unauthenticated.
    expect(method('ANY', '/items')!.Properties.AuthorizationType).toBe('NONE');
    expect(fnOf(method('ANY', '/items/{itemId}')!)).toBe(fnOf(method('GET', '/recommend/{userId}')!));
    // API Gateway may invoke the catalogue function from this API only.
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [stack.getLogicalId(serving.catalogFunction.node.defaultChild as never), 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceArn: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp(':execute-api:')])]) }),
    });
  });

  it('the catalogue function: its own service name, the table in CATALOG_TABLE, the CORS origin, a timeout within API Gateway\'s 29 s', () => {
    const fn = template.toJSON().Resources[stack.getLogicalId(serving.catalogFunction.node.defaultChild as never)] as Resource;
    expect(fn.Properties.Environment.Variables).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'catalog-api', CATALOG_TABLE: { Ref: catalogueId }, CORS_ALLOW_ORIGIN: '*' });
    expect(Object.keys(fn.Properties.Environment.Variables)).not.toContain('LAKE_BUCKET');
    expect(fn.Properties.Timeout).toBeLessThan(29);
    expect(serving.catalogFunction.handlerFile).toBe('lambdas/catalog-api/index.ts');
  });

  it('sends POST /events to the events function, the catalogue writes to the catalogue function, experiment control to the admin function and everything else (incl. wrong methods and unknown paths) to the read function', () => {
    const fnOf = (m: Resource) => JSON.stringify(m.Properties.Integration.Uri);
    const events = fnOf(method('POST', '/events')!);
    const read = fnOf(method('GET', '/recommend/{userId}')!);
    const catalog = fnOf(method('PUT', '/items')!);
    expect(new Set([events, read, catalog]).size).toBe(3);
    const admin = fnOf(method('GET', '/admin/experiment')!);
    expect(new Set([events, read, catalog, admin]).size).toBe(4);
    expect(fnOf(method('POST', '/admin/experiment/{action}')!)).toBe(admin);
    expect(fnOf(method('DELETE', '/admin/users/{userId}')!)).toBe(admin);
    const elsewhere = new Set(['POST /events', 'PUT /items', 'DELETE /items/{itemId}', 'GET /admin/experiment', 'POST /admin/experiment/{action}', 'DELETE /admin/users/{userId}']);
    for (const m of methods.filter((x) => x.Properties.HttpMethod !== 'OPTIONS')) {
      if (!elsewhere.has(`${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`)) expect(fnOf(m)).toBe(read);
    }
    expect(method('ANY', '/events')).toBeDefined();
    expect(method('ANY', '/admin/reload')!.Properties.AuthorizationType).toBe('NONE');
    expect(method('ANY', '/{proxy+}')).toBeDefined();
  });

  it('/admin/reload: only POST is IAM-authorised; its other methods are unauthenticated and reach the read function, which must check the caller itself', () => {
    const onReload = methods.filter((m) => pathOf(m.Properties.ResourceId) === '/admin/reload');
    const byVerb = Object.fromEntries(onReload.map((m) => [m.Properties.HttpMethod as string, m.Properties]));
    expect(Object.keys(byVerb).sort()).toEqual(['ANY', 'OPTIONS', 'POST']);
    expect(byVerb.POST).toMatchObject({ AuthorizationType: 'AWS_IAM', Integration: { Type: 'AWS_PROXY' } });
    // `ANY` carries no identity: the handler's IAM check (test/serving/api-handler.admin-guard.test.ts) is what refuses it.
    expect(byVerb.ANY).toMatchObject({ AuthorizationType: 'NONE', Integration: { Type: 'AWS_PROXY' } });
    expect(JSON.stringify(byVerb.ANY!.Integration.Uri)).toBe(JSON.stringify(method('GET', '/recommend/{userId}')!.Properties.Integration.Uri));
    expect(byVerb.OPTIONS).toMatchObject({ Integration: { Type: 'MOCK' } });
    // The grant for the retraining job names the POST method only.
    expect(JSON.stringify(stack.resolve(serving.reloadArn))).not.toMatch(/\/\*\/admin|\/ANY\//);
  });

  it('answers CORS preflights on every resource (allowing PUT and DELETE for the catalogue) and puts gateway errors in the API error format', () => {
    expect(method('OPTIONS', '/recommend/{userId}')).toBeDefined();
    expect(method('OPTIONS', '/events')).toBeDefined();
    for (const path of ['/items', '/items/{itemId}']) {
      const preflight = method('OPTIONS', path);
      expect(preflight, path).toBeDefined();
      const allow = preflight!.Properties.Integration.IntegrationResponses[0].ResponseParameters['method.response.header.Access-Control-Allow-Methods'] as string;
      expect(allow.replace(/'/g, '').split(',').sort(), path).toEqual(['DELETE', 'GET', 'OPTIONS', 'POST', 'PUT']);
    }
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'THROTTLED',
      StatusCode: '429',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('"error":\\{"code":"THROTTLED"') },
    });
  });

  it('grants least privilege: the read function reads models/* and queries the table; the events function only puts records', () => {
    const policyOf = (fn: typeof serving.readFunction) => {
      const role = stack.resolve((fn.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string };
      return JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([role]) } })));
    };
    const read = policyOf(serving.readFunction);
    expect(read).toContain('"s3:GetObject"');
    expect(read).toContain('/models/*');
    expect(read).not.toMatch(/s3:(Put|Delete|Abort|GetBucket)/);
    // Listing only so that a missing production pointer answers 404, not 403 (before the first deploy).
    expect(read.match(/s3:List\w*/g)).toEqual(['s3:ListBucket']);
    expect(read).toContain('dynamodb:Query');
    expect(read).toContain('dynamodb:BatchGetItem');
    expect(read).not.toMatch(/dynamodb:(Put|BatchWrite|Update|Delete)/);
    expect(read).not.toContain('kinesis:');
    const events = policyOf(serving.eventsFunction);
    expect(events).toContain('kinesis:PutRecords');
    expect(events).not.toMatch(/s3:|dynamodb:/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recommend-api', MODEL_REFRESH_SECONDS: '30', LAKE_BUCKET: Match.anyValue(), FEATURES_TABLE: Match.anyValue() }) },
    });
  });

  it('the catalogue function may make exactly the catalogue writes, on the catalogue table only, and nothing else', () => {
    const grants = grantsOf(serving.catalogFunction);
    const aws = grants.filter((g) => !g.action.startsWith('logs:') && !g.action.startsWith('xray:'));
    expect(aws.map((g) => g.action).sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']);
    expect([...CATALOG_WRITE_ACTIONS].sort()).toEqual(['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']);
    for (const g of aws) expect(g.resource, g.action).toBe(catalogueArn);
    // Logs only to its own log group, traces (which take no resource).
    const logGroup = JSON.stringify({ 'Fn::GetAtt': [stack.getLogicalId(serving.catalogFunction.logGroup.node.defaultChild as never), 'Arn'] });
    for (const g of grants.filter((x) => x.action.startsWith('logs:'))) expect(g.resource).toBe(logGroup);
    for (const g of grants.filter((x) => x.action.startsWith('xray:'))) expect(g.resource).toBe('"*"');
    // No other function may write the catalogue.
    for (const fn of [serving.readFunction, serving.eventsFunction]) {
      expect(grantsOf(fn).filter((g) => g.resource.includes(catalogueId) && !['dynamodb:Scan', 'dynamodb:Query'].includes(g.action))).toEqual([]);
    }
  });

  it('the read function may only Scan the catalogue table and Query its change-feed index: the table in CATALOG_TABLE, the refresh in CATALOG_REFRESH_MS', () => {
    const onCatalogue = grantsOf(serving.readFunction).filter((g) => g.resource.includes(catalogueId));
    expect(onCatalogue.sort((a, b) => a.action.localeCompare(b.action))).toEqual([
      { action: 'dynamodb:Query', resource: feedIndexArn },
      { action: 'dynamodb:Scan', resource: catalogueArn },
    ]);
    const fn = template.toJSON().Resources[stack.getLogicalId(serving.readFunction.node.defaultChild as never)] as Resource;
    expect(fn.Properties.Environment.Variables).toMatchObject({ CATALOG_TABLE: { Ref: catalogueId }, CATALOG_REFRESH_MS: '2000' });
  });

  it('least privilege on the catalogue, decided by the IAM policy simulator on the physical ARNs', async () => {
    const iam = new TemplateIam(template.toJSON() as CfnTemplate);
    const role = (fn: typeof serving.readFunction) => roleRef(fn).Ref;
    const tableArn = iam.t.physical[catalogueId]!.attributes.Arn!;
    const decide = async (fn: typeof serving.readFunction, action: string, resource: string) => (await iam.evaluate({ role: role(fn), action, resource, origin: 'test' })).decision;
    const otherTable = iam.t.physical[stack.getLogicalId(stack.features.table.node.defaultChild as never)]!.attributes.Arn!;
    // The catalogue function: its two writes on the table; no read, no delete, no other table, not the index.
    expect(await decide(serving.catalogFunction, 'dynamodb:BatchWriteItem', tableArn)).toBe('Allowed');
    expect(await decide(serving.catalogFunction, 'dynamodb:UpdateItem', tableArn)).toBe('Allowed');
    for (const action of ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:Query', 'dynamodb:DeleteTable']) {
      expect(await decide(serving.catalogFunction, action, tableArn), action).toBe('ImplicitlyDenied');
    }
    expect(await decide(serving.catalogFunction, 'dynamodb:BatchWriteItem', otherTable)).toBe('ImplicitlyDenied');
    expect(await decide(serving.catalogFunction, 'dynamodb:Query', `${tableArn}/index/byUpdate`)).toBe('ImplicitlyDenied');
    // The read function: Scan the table, Query the index; not Query the table itself, never write.
    expect(await decide(serving.readFunction, 'dynamodb:Scan', tableArn)).toBe('Allowed');
    expect(await decide(serving.readFunction, 'dynamodb:Query', `${tableArn}/index/byUpdate`)).toBe('Allowed');
    expect(await decide(serving.readFunction, 'dynamodb:Query', tableArn)).toBe('ImplicitlyDenied');
    expect(await decide(serving.readFunction, 'dynamodb:Query', `${tableArn}/index/other`)).toBe('ImplicitlyDenied');
    expect(await decide(serving.readFunction, 'dynamodb:Scan', `${tableArn}/index/byUpdate`)).toBe('ImplicitlyDenied');
    for (const action of ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:GetItem']) {
      expect(await decide(serving.readFunction, action, tableArn), action).toBe('ImplicitlyDenied');
    }
    expect(await decide(serving.eventsFunction, 'dynamodb:Scan', tableArn)).toBe('ImplicitlyDenied');
  });

  it('grantCatalogWrite lets a principal invoke exactly PUT /items and DELETE /items/* on the stage, and the ARNs are an output', () => {
    const arns = serving.catalogWriteArns.map((a) => JSON.stringify(stack.resolve(a)));
    expect(arns).toHaveLength(2);
    expect(arns[0]).toContain('/PUT/items"');
    expect(arns[1]).toContain('/DELETE/items/*"');
    // On the deployed stage (its Ref), not on every stage (`*`).
    for (const a of arns) expect(a).toMatch(/\{"Ref":"ServingApiDeploymentStageprod\w+"\},"\/(PUT|DELETE)\/items/);
    template.hasOutput('CatalogWriteArns', { Value: { 'Fn::Join': [',', Match.arrayWith([Match.objectLike({ 'Fn::Join': Match.anyValue() })])] } });

    const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const config = readConfig(app.node);
    const other = new RecsysStack(app, config.stackName, { config, env: { account: '123456789012', region: 'eu-west-1' } });
    const api = other.node.findChild('Serving') as RecommendApi;
    const operator = new iam.Role(other, 'CatalogueOperator', { assumedBy: new iam.AccountPrincipal('123456789012') });
    api.grantCatalogWrite(operator);
    const statements = Object.values(Template.fromStack(other).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: other.getLogicalId(operator.node.defaultChild as never) }] } }))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
    expect(statements.flatMap((st) => listOf(st.Action))).toEqual(['execute-api:Invoke']);
    const resources = statements.flatMap((st) => listOf(st.Resource)).map((r) => JSON.stringify(other.resolve(r)));
    expect(resources).toHaveLength(2);
    expect(resources.sort()).toEqual([...arns].sort());
    expect(resources.join(' ')).not.toMatch(/\/\*\/\*|\/ANY\/|admin/);
  });

  it('exposes the API URL as an output and lets the retraining job be granted the reload call', () => {
    template.hasOutput('ApiUrl', { Value: Match.anyValue() });
    expect(serving.apiUrl).toEqual(expect.any(String));
    expect(stack.resolve(serving.reloadArn)).toMatchObject({ 'Fn::Join': expect.anything() });
    expect(JSON.stringify(stack.resolve(serving.reloadArn))).toContain('/POST/admin/reload');
  });

  it('takes throttling, CORS origins and the staleness bound from context', () => {
    const { template: custom } = synthStack({ apiThrottlingRateLimit: 50, apiThrottlingBurstLimit: 80, apiCorsAllowOrigins: 'https://shop.example', modelRefreshSeconds: 5 });
    custom.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: Match.arrayWith([Match.objectLike({ ThrottlingRateLimit: 50, ThrottlingBurstLimit: 80 })]),
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MODEL_REFRESH_SECONDS: '5', CORS_ALLOW_ORIGIN: 'https://shop.example' }) },
    });
    expect(() => synthStack({ modelRefreshSeconds: -1 })).toThrow(/modelRefreshSeconds/);
  });

  it('takes the catalogue refresh period from context catalogRefreshMs, within the bounds the read function accepts', () => {
    const { template: custom } = synthStack({ catalogRefreshMs: 500 });
    custom.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recommend-api', CATALOG_REFRESH_MS: '500' }) } });
    expect(() => synthStack({ catalogRefreshMs: 99 })).toThrow('context catalogRefreshMs must be a number from 100 to 60000 (got 99)');
    expect(() => synthStack({ catalogRefreshMs: 60_001 })).toThrow(/catalogRefreshMs must be a number from 100 to 60000/);
    expect(() => synthStack({ catalogRefreshMs: 'soon' })).toThrow(/catalogRefreshMs .*\(got soon\)/);
    // The same bounds the handler's environment parser enforces (src/config/serving.ts).
    for (const ms of [100, 60_000]) expect(loadReadApiConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features', CATALOG_REFRESH_MS: String(ms) }).CATALOG_REFRESH_MS).toBe(ms);
    for (const ms of [99, 60_001]) expect(() => loadReadApiConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features', CATALOG_REFRESH_MS: String(ms) })).toThrow(/CATALOG_REFRESH_MS/);
  });

  it('answers users without history with trending items only when asked, and only where analytics runs', () => {
    synthStack().template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recommend-api', COLD_START_STRATEGY: 'popular' }) } });
    synthStack({ coldStartStrategy: 'trending' }).template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recommend-api', COLD_START_STRATEGY: 'trending' }) } });
    expect(() => synthStack({ coldStartStrategy: 'random' })).toThrow('context coldStartStrategy must be one of popular, trending (got random)');
    expect(() => synthStack({ coldStartStrategy: 'trending', analyticsEnabled: false })).toThrow(/needs the shop analytics/);
    expect(loadReadApiConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features', COLD_START_STRATEGY: 'trending' }).COLD_START_STRATEGY).toBe('trending');
    expect(() => loadReadApiConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features', COLD_START_STRATEGY: 'random' })).toThrow(/COLD_START_STRATEGY/);
  });
});
