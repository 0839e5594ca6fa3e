import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { trainTaskResultStep } from '../../src/retraining/steps';

/** TrainTaskResult: the Fargate training task's outcome as TrainModel's result (or its error, by name). */
export const handler = lambdaStep('TrainTaskResult', trainTaskResultStep, (r) => [
  ['TrainingInteractions', MetricUnit.Count, r.interactions],
  ['TrainingUsers', MetricUnit.Count, r.users],
  ['TrainingItems', MetricUnit.Count, r.items],
  ['ModelBytes', MetricUnit.Bytes, r.payloadBytes],
  ['RowsSetAside', MetricUnit.Count, r.setAside.count],
]);
