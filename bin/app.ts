#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../lib/config';
import { RecsysStack } from '../lib/recsys-stack';

const app = new App();
const config = readConfig(app.node);
new RecsysStack(app, config.stackName, {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Serverless recommendation pipeline: ingestion, lake, features, retraining, serving',
});
// AWS Solutions checks on every synth: an unacknowledged finding stops it (acknowledgements live in lib/, with reasons).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
