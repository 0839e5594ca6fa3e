import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { evaluateModelStep } from '../../src/retraining/steps';

/** EvaluateModel: candidate vs production vs popularity on one temporal hold-out. */
export const handler = lambdaStep('EvaluateModel', evaluateModelStep, (r) => [
  ...Object.entries(r.headline).map(([name, value]): [string, typeof MetricUnit.NoUnit, number] => [`Candidate_${name.replace('@', 'At')}`, MetricUnit.NoUnit, value]),
  ['PopularityGateMetric', MetricUnit.NoUnit, r.gate.popularity],
  ['CandidateGateMetric', MetricUnit.NoUnit, r.gate.candidate],
]);
