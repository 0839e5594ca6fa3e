import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges an AWS Solutions (cdk-nag) finding on a construct and everything below it, with the reason
 * it is acceptable here. `rule` is e.g. `AwsSolutions-SQS3` or a single finding such as
 * `AwsSolutions-IAM5[Resource::*]`.
 */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${rule}`, reason });
}

/** How cdk-nag names a resource's ARN inside a finding: `<LogicalId.Arn>`. */
export function arnToken(resource: IConstruct): string {
  const cfn = (resource.node.defaultChild ?? resource) as CfnElement;
  return `<${Stack.of(resource).getLogicalId(cfn)}.Arn>`;
}

/** The action groups CDK's S3 grants use (grantRead, grantPut, grantDelete). */
const S3_GRANT_ACTION_GROUPS = ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:Abort*', 's3:DeleteObject*'];

/**
 * Acknowledges exactly the wildcards that prefix-scoped S3 grants carry: the object-key patterns
 * (`<lake>/bronze/*`) and CDK's grant action groups. Anything broader still fails the synthesis, and
 * test/infra/security.test.ts fails on any wildcard outside the lake prefixes.
 */
export function acknowledgeLakeGrants(scope: IConstruct, bucket: IConstruct, patterns: readonly string[]): void {
  const reason = `S3 access is limited to the lake objects ${patterns.join(', ')} through CDK grants`;
  for (const pattern of patterns) if (pattern.includes('*')) acknowledge(scope, `AwsSolutions-IAM5[Resource::${arnToken(bucket)}/${pattern}]`, reason);
  for (const action of S3_GRANT_ACTION_GROUPS) acknowledge(scope, `AwsSolutions-IAM5[Action::${action}]`, `${reason} (${action} is the action group CDK grants use)`);
}
