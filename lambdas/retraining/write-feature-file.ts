import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { writeFeatureFileStep } from '../../src/retraining/batch-steps';

/** WriteFeatureFile (Athena engine, one per file of the Distributed Map): exact feature rows into DynamoDB. */
export const handler = lambdaStep('WriteFeatureFile', writeFeatureFileStep, (r) => [
  ['ExactFeatureRowsWritten', MetricUnit.Count, r.rows],
  ['RowsSetAside', MetricUnit.Count, r.setAside.count],
]);
