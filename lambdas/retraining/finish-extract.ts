import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { finishExtractStep } from '../../src/retraining/batch-steps';

/** FinishExtract (Athena engine): what the queries and writers wrote, in ExtractFeatures' shape. */
export const handler = lambdaStep('FinishExtract', finishExtractStep, ({ extract: r }) => [
  ['SilverInteractionsWritten', MetricUnit.Count, r.windowInteractions],
  ['SilverInteractionsTotal', MetricUnit.Count, r.totalInteractions],
  ['ExactFeatureRowsWritten', MetricUnit.Count, r.featureRowsWritten],
  ['RowsSetAside', MetricUnit.Count, r.setAside.count],
]);
