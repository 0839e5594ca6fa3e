import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { reloadApiStep } from '../../src/retraining/steps';

/** ReloadApi: confirms every API instance reports the deployed version within the refresh bound. */
export const handler = lambdaStep('ReloadApi', reloadApiStep, (r) => [
  ['ReloadSeconds', MetricUnit.Seconds, r.seconds],
  ['ReloadStaleAnswers', MetricUnit.Count, r.staleAnswers],
]);
