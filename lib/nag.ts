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
