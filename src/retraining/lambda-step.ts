import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { observability } from '../adapters/observability';
import { retrainingDeps, type RetrainingDeps } from './deps';
import { asStepError } from './errors';

export type MetricPoint = [name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number];

export type StepHandler = (payload: unknown, context: Context) => Promise<unknown>;

/**
 * Wraps one retraining step as a Lambda handler: Powertools logger and EMF metrics through middy, config
 * and clients from the environment, and transient AWS errors renamed `TransientError` so the state
 * machine's Retry catches them (everything else goes to the failure path).
 *
 * @example
 * export const handler = lambdaStep('TrainModel', trainModelStep, (r) => [['TrainingInteractions', MetricUnit.Count, r.interactions]]);
 */
export function lambdaStep<R>(step: string, run: (payload: unknown, deps: RetrainingDeps) => Promise<R>, metricsOf: (result: R) => MetricPoint[] = () => []): StepHandler {
  const service = `retraining-${step.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`;
  const { logger, metrics } = observability(service);
  const handle = async (payload: unknown): Promise<R> => {
    const started = performance.now();
    try {
      const result = await run(payload, retrainingDeps());
      metrics.addMetric('StepDurationMs', MetricUnit.Milliseconds, Math.round(performance.now() - started));
      for (const [name, unit, value] of metricsOf(result)) if (Number.isFinite(value)) metrics.addMetric(name, unit, value);
      logger.info(`${step} succeeded`, { result: result as Record<string, unknown> });
      return result;
    } catch (err) {
      const error = asStepError(err);
      metrics.addMetric('StepFailed', MetricUnit.Count, 1);
      logger.error(`${step} failed`, error);
      throw error;
    }
  };
  return middy(handle)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics)) as unknown as StepHandler;
}

export { MetricUnit };
