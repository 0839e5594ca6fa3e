import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { trainModelStep } from '../../src/retraining/steps';

/** TrainModel: a new versioned model artifact from Silver. */
export const handler = lambdaStep('TrainModel', trainModelStep, (r) => [
  ['TrainingInteractions', MetricUnit.Count, r.interactions],
  ['TrainingUsers', MetricUnit.Count, r.users],
  ['TrainingItems', MetricUnit.Count, r.items],
  ['ModelBytes', MetricUnit.Bytes, r.payloadBytes],
  ['RowsSetAside', MetricUnit.Count, r.setAside.count],
]);
