import { describe, expect, it } from 'vitest';
import { synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

/** Every IAM statement of the template, with the policy it belongs to. */
function statements(template: ReturnType<typeof synthStack>['template']): { policy: string; statement: Statement }[] {
  return Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, p]) =>
    (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement.map((statement) => ({ policy, statement })),
  );
}

const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
/** Renders a CloudFormation resource expression as text, tokens as `<Logical.Arn>` / `<Ref>`, to check its shape. */
function render(r: unknown): string {
  if (typeof r === 'string') return r;
  const o = r as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) return ((o['Fn::Join'] as [string, unknown[]])[1]).map(render).join((o['Fn::Join'] as [string])[0]);
  if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  return JSON.stringify(r);
}

/**
 * The wildcard actions the stack may use, each for a stated reason: KMS key grants of the encrypted topics
 * (GenerateDataKey* covers the WithoutPlaintext variant SNS may call). Lake access is exact actions
 * (lib/data-lake.ts grantLakeAccess), never CDK's S3 grant groups.
 */
const ALLOWED_WILDCARD_ACTIONS = new Set(['kms:GenerateDataKey*', 'kms:ReEncrypt*']);
/** Actions that take no resource ARN in IAM, so `Resource: "*"` is the only option. */
const RESOURCELESS = /^(xray:|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/;
/** Lake prefixes a function may be granted on (always a prefix, never the whole bucket). */
const LAKE_PREFIXES = /\/(bronze|silver|models|reports|catalog)\//;

describe('security checks on the synthesized stack', () => {
  it.each([
    ['defaults', {}],
    ['analytics off, development stack', { analyticsEnabled: 'false', destroyOnRemoval: 'true' }],
    ['on-demand stream, no schedule', { streamShards: 0, retrainScheduleEnabled: 'false' }],
  ])('passes the AWS Solutions checks with every finding acknowledged (%s)', (_name, context) => {
    const { app } = synthStack(context);
    expect(() => app.synth()).not.toThrow();
  });

  const { template } = synthStack();
  const all = statements(template);

  it('grants no service-wide or unlisted wildcard action', () => {
    const wildcards = all.flatMap(({ statement }) => list(statement.Action)).filter((a) => a.includes('*'));
    expect(wildcards.filter((a) => a === '*' || a.endsWith(':*'))).toEqual([]);
    expect([...new Set(wildcards)].filter((a) => !ALLOWED_WILDCARD_ACTIONS.has(a))).toEqual([]);
  });

  it('uses Resource "*" only for actions that take no resource', () => {
    const offenders = all.filter(({ statement }) => list(statement.Resource).some((r) => r === '*') && !list(statement.Action).every((a) => RESOURCELESS.test(a)));
    expect(offenders.map(({ policy, statement }) => `${policy}: ${list(statement.Action).join(',')}`)).toEqual([]);
  });

  it("scopes every wildcard resource to a lake prefix, a log group, a function version, a key or the retraining state machine's own executions", () => {
    const wildcardResources = all.flatMap(({ statement }) => list(statement.Resource).map(render)).filter((r) => r.includes('*') && r !== '*');
    // The Distributed Map describes and stops the child executions it started: executions of this one state machine.
    const ownExecutions = /:states:[^:]+:[^:]+:execution:[a-z0-9-]+-nightly-retraining\/\*$/;
    const unexplained = wildcardResources.filter(
      (r) => !LAKE_PREFIXES.test(r) && !/^<[A-Za-z0-9]+\.Arn>:\*$/.test(r) && !ownExecutions.test(r),
    );
    expect(unexplained).toEqual([]);
    // Every S3 object pattern is under a lake prefix, never the whole bucket.
    expect(wildcardResources.filter((r) => /\.Arn>\/\*$/.test(r))).toEqual([]);
  });

  it('logs access to the lake into its own access-log bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', { LoggingConfiguration: { LogFilePrefix: 'lake/' } });
  });
});
