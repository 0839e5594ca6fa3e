/**
 * The Lambda functions of the nightly retraining: the `${<Name>FunctionArn}` placeholders of
 * statemachines/nightly-retraining.asl.json and their handler files under lambdas/retraining/.
 * CDK and the local runner both build from this list.
 */
export const RETRAINING_FUNCTIONS = {
  EraseUsers: 'erase-users',
  PlanRun: 'plan-run',
  ValidateData: 'validate-data',
  // The Athena engine's steps that are not SQL (statemachines/nightly-retraining.asl.json, README "Scale").
  ValidateReport: 'validate-report',
  WriteFeatureFile: 'write-feature-file',
  FinishExtract: 'finish-extract',
  ExtractFeatures: 'extract-features',
  SnapshotCatalog: 'snapshot-catalog',
  TrainModel: 'train-model',
  // After the Fargate training task (ChooseTrainer): its outcome in the lake as TrainModel's result.
  TrainTaskResult: 'train-task-result',
  EvaluateModel: 'evaluate-model',
  DeployModel: 'deploy-model',
  ReloadApi: 'reload-api',
  RecordRun: 'record-run',
} as const;

export type RetrainingFunction = keyof typeof RETRAINING_FUNCTIONS;

export const RETRAINING_ASL_FILE = 'statemachines/nightly-retraining.asl.json';
