import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { ROUTES } from '../../src/serving/routes';
import { synthStack } from '../support/synth';
import type { RecommendApi } from '../../lib/recommend-api';

type Resource = { Properties: Record<string, any> };

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

  it('creates every route of the shared route table, only POST /admin/reload needing IAM', () => {
    for (const route of ROUTES) {
      const m = method(route.method, route.path);
      expect(m, `${route.method} ${route.path}`).toBeDefined();
      expect(m!.Properties.AuthorizationType).toBe(route.auth === 'iam' ? 'AWS_IAM' : 'NONE');
      expect(m!.Properties.Integration).toMatchObject({ Type: 'AWS_PROXY' });
      if (route.path.includes('{')) expect(Object.keys(m!.Properties.RequestParameters)).toEqual([...route.path.matchAll(/\{(\w+)\}/g)].map((x) => `method.request.path.${x[1]}`));
    }
    const iam = methods.filter((m) => m.Properties.AuthorizationType === 'AWS_IAM');
    expect(iam.map((m) => `${m.Properties.HttpMethod} ${pathOf(m.Properties.ResourceId)}`)).toEqual(['POST /admin/reload']);
  });

  it('sends POST /events to the events function and everything else (incl. wrong methods and unknown paths) to the read function', () => {
    const fnOf = (m: Resource) => JSON.stringify(m.Properties.Integration.Uri);
    const events = fnOf(method('POST', '/events')!);
    const read = fnOf(method('GET', '/recommend/{userId}')!);
    expect(events).not.toBe(read);
    for (const m of methods.filter((x) => x.Properties.HttpMethod !== 'OPTIONS')) {
      if (!(m.Properties.HttpMethod === 'POST' && pathOf(m.Properties.ResourceId) === '/events')) expect(fnOf(m)).toBe(read);
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

  it('answers CORS preflights on every resource and puts gateway errors in the API error format', () => {
    expect(method('OPTIONS', '/recommend/{userId}')).toBeDefined();
    expect(method('OPTIONS', '/events')).toBeDefined();
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
    expect(read).not.toMatch(/dynamodb:(Put|BatchWrite|Update|Delete|Scan)/);
    expect(read).not.toContain('kinesis:');
    const events = policyOf(serving.eventsFunction);
    expect(events).toContain('kinesis:PutRecords');
    expect(events).not.toMatch(/s3:|dynamodb:/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recommend-api', MODEL_REFRESH_SECONDS: '30', LAKE_BUCKET: Match.anyValue(), FEATURES_TABLE: Match.anyValue() }) },
    });
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
});
