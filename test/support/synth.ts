import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readConfig } from '../../lib/config';
import { RecsysStack } from '../../lib/recsys-stack';

/** Synthesises the stack with the given context, skipping Lambda bundling (fast, no esbuild). */
export function synthStack(context: Record<string, unknown> = {}): { stack: RecsysStack; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const config = readConfig(app.node);
  const stack = new RecsysStack(app, config.stackName, { config, env: { account: '123456789012', region: 'eu-west-1' } });
  return { stack, template: Template.fromStack(stack) };
}
