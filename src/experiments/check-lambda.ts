import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { z } from 'zod';
import { createDynamoDocumentClient, createS3Client } from '../adapters/aws-clients';
import { dynamoAnalyticsReader } from '../adapters/dynamo-analytics-reader';
import { observability } from '../adapters/observability';
import { S3Lake } from '../adapters/s3-lake';
import { parseEnvironment, withoutEmpty, type Env } from '../config/environment';
import { asStepError } from '../retraining/errors';
import { modelRegistryOf, putJson } from '../retraining/lake';
import { checkExperiment, type CheckDeps, type CheckResult } from './check';

/** The check function's environment (CDK sets both; lib/experiments.ts). */
const CheckConfigSchema = z.object({
  LAKE_BUCKET: z.string().min(3, 'LAKE_BUCKET must name the data lake bucket'),
  ANALYTICS_TABLE: z.string().min(3, 'ANALYTICS_TABLE must name the analytics window table (the attribution the check decides on)'),
});

let cached: { signature: string; deps: CheckDeps } | undefined;

/** Registry, experiment log and attribution from the environment, rebuilt only when it changes (tests move emulators). */
export function checkDepsFromEnv(env: Env = process.env): CheckDeps {
  const signature = JSON.stringify(Object.entries(env).filter(([k]) => k.startsWith('AWS_') || k === 'LAKE_BUCKET' || k === 'ANALYTICS_TABLE').sort());
  if (cached?.signature !== signature) {
    const config = parseEnvironment(CheckConfigSchema, withoutEmpty(env), 'experiment check');
    const lake = new S3Lake(createS3Client(env), config.LAKE_BUCKET);
    cached = {
      signature,
      deps: {
        registry: modelRegistryOf(lake),
        log: (key, json) => putJson(lake, key, json),
        attribution: dynamoAnalyticsReader(createDynamoDocumentClient(env), config.ANALYTICS_TABLE),
      },
    };
  }
  return cached.deps;
}

/**
 * The CheckExperiment Lambda: middy + Powertools logger and metrics; transient AWS errors renamed
 * `TransientError` so the state machine's Retry catches them. The state machine publishes the notification.
 */
export function checkExperimentHandler(depsOf: () => CheckDeps = checkDepsFromEnv): (event: unknown) => Promise<CheckResult> {
  const { logger, metrics } = observability('experiment-check');
  const handle = async (): Promise<CheckResult> => {
    try {
      const result = await checkExperiment(depsOf());
      metrics.addMetric(`ExperimentCheck${result.action[0]!.toUpperCase()}${result.action.slice(1)}`, MetricUnit.Count, 1);
      if (result.decision?.pValue !== null && result.decision?.pValue !== undefined) metrics.addMetric('ExperimentPValue', MetricUnit.NoUnit, result.decision.pValue);
      logger.info('experiment check', { result: { ...result } });
      return result;
    } catch (err) {
      const error = asStepError(err);
      metrics.addMetric('ExperimentCheckFailed', MetricUnit.Count, 1);
      logger.error('experiment check failed', error);
      throw error;
    }
  };
  return middy(handle).use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics)) as unknown as (event: unknown) => Promise<CheckResult>;
}
