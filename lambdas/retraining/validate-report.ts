import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { validateReportStep } from '../../src/retraining/batch-steps';

/** ValidateReport (Athena engine): the validation query's aggregates → the report, with ValidateData's rules and metrics. */
export const handler = lambdaStep('ValidateReport', validateReportStep, ({ validation: v }) => [
  ['EventsValidated', MetricUnit.Count, v.uniqueEvents],
  ['InvalidLines', MetricUnit.Count, v.invalidLines + v.quarantined],
  ['DuplicateEvents', MetricUnit.Count, v.duplicates],
  ['RepeatedStreamRecords', MetricUnit.Count, v.repeatedStreamRecords],
  ['ValidationWarnings', MetricUnit.Count, v.warnings.length],
]);
