import { readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../../lib/config';
import { RecsysStack } from '../../lib/recsys-stack';

/** The feature flags `cdk synth` applies from cdk.json, so tests synthesise what users deploy. */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> }).context;

/**
 * Synthesises the stack with the given context, skipping Lambda bundling (fast, no esbuild), with the
 * AWS Solutions checks of `cdk synth` on: a finding nobody acknowledged fails the synthesis.
 */
export function synthStack(context: Record<string, unknown> = {}): { app: App; stack: RecsysStack; template: Template } {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
  const config = readConfig(app.node);
  const stack = new RecsysStack(app, config.stackName, { config, env: { account: '123456789012', region: 'eu-west-1' } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, template: Template.fromStack(stack) };
}
