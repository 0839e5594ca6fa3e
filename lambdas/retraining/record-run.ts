import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { recordRun } from '../../src/retraining/record';

/** RecordRun: the run's summary in the lake and its CloudWatch metrics (duration, rows, candidate metrics). */
export const handler = lambdaStep('RecordRun', (payload, deps) => recordRun(payload, deps.lake), (s) => [
  ['RunDurationSeconds', MetricUnit.Seconds, s.durationSeconds],
  ['RunDeployed', MetricUnit.Count, s.status === 'deployed' ? 1 : 0],
  ['RunNotDeployed', MetricUnit.Count, s.status === 'not-deployed' ? 1 : 0],
  ['RunFailed', MetricUnit.Count, s.status === 'failed' ? 1 : 0],
  ...Object.entries(s.steps).map(([step, f]): [string, typeof MetricUnit.Count, number] => [`${step}Rows`, MetricUnit.Count, f.rows ?? NaN]),
  ...Object.entries(s.candidate ?? {}).map(([name, v]): [string, typeof MetricUnit.NoUnit, number] => [`Candidate_${name.replace('@', 'At')}`, MetricUnit.NoUnit, v]),
]);
