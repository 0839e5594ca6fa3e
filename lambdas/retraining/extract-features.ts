import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { extractFeaturesStep } from '../../src/retraining/steps';

/** ExtractFeatures: Bronze → Silver Parquet and the exact features in DynamoDB. */
export const handler = lambdaStep('ExtractFeatures', extractFeaturesStep, (r) => [
  ['SilverInteractionsWritten', MetricUnit.Count, r.windowInteractions],
  ['SilverInteractionsTotal', MetricUnit.Count, r.totalInteractions],
  ['ExactFeatureRowsWritten', MetricUnit.Count, r.featureRowsWritten],
  // Rows no store could hold, left out and reported in the step's result (never retried).
  ['RowsSetAside', MetricUnit.Count, r.setAside.count],
]);
