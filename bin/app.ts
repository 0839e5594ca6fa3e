#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { readConfig } from '../lib/config';
import { RecsysStack } from '../lib/recsys-stack';

const app = new App();
const config = readConfig(app.node);
new RecsysStack(app, config.stackName, {
  config,
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Serverless recommendation pipeline: ingestion, lake, features, retraining, serving',
});
