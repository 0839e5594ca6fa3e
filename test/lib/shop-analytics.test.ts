import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from '../support/synth';

describe('shop analytics infrastructure', () => {
  const { template, stack } = synthStack();

  it('consumes the same stream through its own event source mapping, into its own table', () => {
    const mappings = template.findResources('AWS::Lambda::EventSourceMapping');
    expect(Object.keys(mappings)).toHaveLength(2);
    const streams = new Set(Object.values(mappings).map((m) => JSON.stringify((m as { Properties: { EventSourceArn: unknown } }).Properties.EventSourceArn)));
    expect(streams.size).toBe(1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ANALYTICS_TABLE: Match.anyValue(), POWERTOOLS_SERVICE_NAME: 'analytics-consumer' }) },
    });
    template.resourcePropertiesCountIs('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } }, 2);
  });

  it('lets the analytics consumer touch only its window table', () => {
    const role = stack.resolve((stack.analytics!.consumer.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string };
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([role]) } }));
    const text = JSON.stringify(policies);
    expect(text).toContain('dynamodb:BatchWriteItem');
    expect(text).not.toContain('s3:');
    expect(text).toContain(stack.resolve(stack.analytics!.table.tableArn)['Fn::GetAtt'][0]);
    expect(text).not.toContain(stack.resolve(stack.features.table.tableArn)['Fn::GetAtt'][0]);
  });

  it('passes the implicit attribution window to the consumer only when set (context attributionWindowMinutes, validated)', () => {
    const consumerEnv = (t: ReturnType<typeof synthStack>['template']) =>
      (Object.values(t.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[])
        .map((f) => f.Properties.Environment?.Variables ?? {})
        .find((v) => v.POWERTOOLS_SERVICE_NAME === 'analytics-consumer')!;
    expect(consumerEnv(template)).not.toHaveProperty('ATTRIBUTION_WINDOW_MINUTES');
    expect(consumerEnv(synthStack({ attributionWindowMinutes: 30 }).template)).toMatchObject({ ATTRIBUTION_WINDOW_MINUTES: '30' });
    expect(consumerEnv(synthStack({ attributionWindowMinutes: 0 }).template)).not.toHaveProperty('ATTRIBUTION_WINDOW_MINUTES');
    for (const bad of [-1, 1.5, 10_081, 'soon']) expect(() => synthStack({ attributionWindowMinutes: bad })).toThrow(/context attributionWindowMinutes must be a (whole )?number from 0 to 10080/);
    expect(() => synthStack({ attributionWindowMinutes: 30, analyticsEnabled: 'false' })).toThrow(/attributionWindowMinutes needs the shop analytics/);
  });

  it('can be switched off', () => {
    const { template: without } = synthStack({ analyticsEnabled: 'false' });
    expect(Object.keys(without.findResources('AWS::Lambda::EventSourceMapping'))).toHaveLength(1);
  });
});

describe('analytics routes on the API', () => {
  const { template, stack } = synthStack();

  it('serves /analytics from the read function, which may only Query the window table', () => {
    for (const path of ['realtime', 'trends', 'popular']) template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: path });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'recommend-api', ANALYTICS_TABLE: Match.anyValue() }) },
    });
    const role = stack.resolve((stack.node.findChild('Serving') as unknown as { readFunction: { role: { node: { defaultChild: { ref: string } } } } }).readFunction.role.node.defaultChild.ref) as { Ref: string };
    const statements = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([role]) } })).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    const onAnalytics = statements.filter((s) => JSON.stringify(s.Resource).includes(stack.resolve(stack.analytics!.table.tableArn)['Fn::GetAtt'][0]));
    expect(onAnalytics.map((s) => s.Action)).toEqual(['dynamodb:Query']);
  });
});
