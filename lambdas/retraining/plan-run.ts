import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { planRunStep } from '../../src/retraining/batch-steps';

/** PlanRun: the run's window, its Bronze size and the batch engine (lambda or athena). */
export const handler = lambdaStep('PlanRun', planRunStep, (r) => [
  ['WindowBronzeBytes', MetricUnit.Bytes, r.bronze.bytes],
  ['AthenaEngine', MetricUnit.Count, r.engine === 'athena' ? 1 : 0],
]);
