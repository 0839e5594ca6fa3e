import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { validateDataStep } from '../../src/retraining/steps';

/** ValidateData: the Bronze window is usable, or the run fails with a readable report. */
export const handler = lambdaStep('ValidateData', validateDataStep, ({ validation: v }) => [
  ['EventsValidated', MetricUnit.Count, v.uniqueEvents],
  ['InvalidLines', MetricUnit.Count, v.invalidLines + v.quarantined],
  ['DuplicateEvents', MetricUnit.Count, v.duplicates],
  ['RepeatedStreamRecords', MetricUnit.Count, v.repeatedStreamRecords],
  ['ValidationWarnings', MetricUnit.Count, v.warnings.length],
]);
