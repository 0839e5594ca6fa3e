import { ArnFormat, Duration, Stack, TimeZone, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { CATALOG_KEY, CATALOG_SNAPSHOTS_PREFIX, DEPLOYMENTS_PREFIX, ERASURE_REQUESTS_PREFIX, EXPERIMENTS_PREFIX, LAKE_AREAS, MODEL_KEY_PATTERNS, PRODUCTION_POINTER_KEY, SILVER_BATCH_PREFIX, SILVER_INTERACTIONS_PREFIX, SILVER_STATE_PREFIX } from '../src/domain/lake-layout';
import { RETRAINING_ASL_FILE, RETRAINING_FUNCTIONS, type RetrainingFunction } from '../src/retraining/functions';
import { rolloutEnvironment, type RecsysConfig } from './config';
import { alarmOnFailedExecutions } from './monitoring';
import { grantLakeAccess, type LakeAccess } from './data-lake';
import type { LakeCatalog } from './lake-catalog';
import type { TrainingTask } from './training-task';
import { acknowledge, arnToken } from './nag';
import { PipelineFunction, PROJECT_ROOT } from './node-function';

export interface NightlyRetrainingProps {
  config: RecsysConfig;
  bucket: s3.IBucket;
  table: dynamodb.ITable;
  metricsNamespace: string;
  /** Base URL of the recommend API; ReloadApi confirms the new version there. Without it, ReloadApi is skipped. */
  apiUrl?: string;
  /**
   * The live item catalogue: SnapshotCatalog scans it into the run's lake snapshot. Without it the snapshot is a
   * copy of catalog/items.json (when uploaded).
   */
  catalogTable?: dynamodb.ITable;
  /** The Glue tables and the Athena workgroup of the Athena engine: the state machine may run its queries. */
  lakeCatalog?: LakeCatalog;
  /** The Fargate training task (only when `fargateTraining.enabled`): the state machine may run it. */
  trainingTask?: TrainingTask;
}

/** What each step may touch in the lake: reads, writes and deletes by key pattern. */
const { bronze, silver, models, reports } = LAKE_AREAS;
const CATALOG_SNAPSHOTS = `${CATALOG_SNAPSHOTS_PREFIX}*`;
/** Where the Fargate training task writes its outcome (TRAIN_TASKS_PREFIX of src/retraining/train-task.ts). */
export const TRAIN_TASK_OUTCOMES = `${models}_tasks/*`;
const LAKE_ACCESS: Record<RetrainingFunction, LakeAccess> = {
  // Erasure rewrites Bronze and Silver objects in place, redacts reports, deletes model versions and finished requests.
  EraseUsers: {
    read: [`${bronze}*`, `${silver}*`, `${reports}*`, `${models}*`],
    put: [`${bronze}*`, `${silver}*`, `${reports}*`],
    delete: [`${bronze}*`, `${silver}*`, `${ERASURE_REQUESTS_PREFIX}*`, ...Object.values(MODEL_KEY_PATTERNS).filter((k) => !k.endsWith('/'))],
  },
  // Resolves the run and measures the window's Bronze; for Athena it empties the run's batch location.
  PlanRun: { read: [`${bronze}*`, `${SILVER_STATE_PREFIX}*`, `${SILVER_BATCH_PREFIX}*`], delete: [`${SILVER_BATCH_PREFIX}*`] },
  ValidateData: { read: [`${bronze}*`, `${reports}*`, `${SILVER_STATE_PREFIX}*`], put: [`${reports}*`] },
  // Reads the validation aggregates, writes the report, empties the window's Silver partitions for the UNLOADs.
  ValidateReport: { read: [`${SILVER_BATCH_PREFIX}*`, `${reports}*`, `${SILVER_INTERACTIONS_PREFIX}*`], put: [`${reports}*`], delete: [`${SILVER_INTERACTIONS_PREFIX}*`] },
  // One feature file in, its write summary out.
  WriteFeatureFile: { read: [`${SILVER_BATCH_PREFIX}*`], put: [`${SILVER_BATCH_PREFIX}*`] },
  FinishExtract: { read: [`${SILVER_BATCH_PREFIX}*`, `${SILVER_INTERACTIONS_PREFIX}*`, `${SILVER_STATE_PREFIX}*`], put: [`${SILVER_STATE_PREFIX}*`] },
  ExtractFeatures: { read: [`${bronze}*`, `${silver}*`], put: [`${silver}*`], delete: [`${silver}*`] },
  // Writes only the run's catalogue snapshot; reads catalog/items.json, the fallback import path (the table is granted apart).
  SnapshotCatalog: { read: [CATALOG_KEY], put: [CATALOG_SNAPSHOTS] },
  TrainModel: { read: [`${silver}*`, CATALOG_SNAPSHOTS], put: [MODEL_KEY_PATTERNS.payload, MODEL_KEY_PATTERNS.manifest, MODEL_KEY_PATTERNS.training] },
  // After the Fargate task: reads the outcome the task wrote, nothing else.
  TrainTaskResult: { read: [TRAIN_TASK_OUTCOMES] },
  // The run's catalogue snapshot joins titles and categories to the evaluation, as to training.
  EvaluateModel: { read: [`${silver}*`, `${models}*`, CATALOG_SNAPSHOTS], put: [MODEL_KEY_PATTERNS.evaluation] },
  // The nightly writer of the production pointer; a canary deploy also writes the experiment's `started` log object.
  DeployModel: { read: [`${models}*`], put: [PRODUCTION_POINTER_KEY, `${DEPLOYMENTS_PREFIX}*`, `${EXPERIMENTS_PREFIX}*`], delete: [PRODUCTION_POINTER_KEY] },
  ReloadApi: {},
  RecordRun: { put: [`${reports}*`] },
};

/**
 * The `${Training…}` placeholders of the ASL's TrainTask when the Fargate task is not deployed: well-formed values in
 * this stack's partition, region and account that name no cluster, task definition, security group or subnet.
 */
export const NO_TRAINING_TASK = (stack: Stack): Record<string, string> => ({
  TrainingClusterArn: stack.formatArn({ service: 'ecs', resource: 'cluster', resourceName: 'fargate-training-not-deployed' }),
  TrainingTaskDefinitionArn: stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: 'fargate-training-not-deployed:1' }),
  TrainingContainerName: 'training',
  TrainingSecurityGroupId: 'sg-00000000000000000',
  TrainingSubnet1: 'subnet-00000000000000000',
  TrainingSubnet2: 'subnet-00000000000000001',
});

/**
 * The nightly retraining: one Lambda per step, the Step Functions state machine from
 * statemachines/nightly-retraining.asl.json (Standard workflow), an EventBridge Scheduler schedule
 * (02:00 UTC by default), an encrypted TLS-only SNS topic for failures, and alarms.
 */
export class NightlyRetraining extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<RetrainingFunction, PipelineFunction>;
  readonly failureTopic: sns.Topic;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: NightlyRetrainingProps) {
    super(scope, id);
    const { config } = props;

    const environment: Record<string, string> = {
      LAKE_BUCKET: props.bucket.bucketName,
      FEATURES_TABLE: props.table.tableName,
      TRAINING_WINDOW_DAYS: String(config.trainingWindowDays),
      DEPLOY_TOLERANCE: String(config.deployTolerance),
      MODEL_REFRESH_SECONDS: String(config.modelRefreshSeconds),
      RELOAD_MARGIN_SECONDS: String(config.reloadMarginSeconds),
      // The batch engine and the training path (src/config/retraining.ts): which one runs is decided per run.
      RETRAINING_ENGINE: config.retrainingEngine,
      ATHENA_MIN_BRONZE_BYTES: String(config.athenaMinBronzeBytes),
      FARGATE_TRAINING: String(props.trainingTask !== undefined),
      FARGATE_MIN_INTERACTIONS: String(config.fargateTraining.minInteractions),
      ...(props.lakeCatalog ? { ATHENA_WORKGROUP: props.lakeCatalog.workGroupName, GLUE_DATABASE: props.lakeCatalog.databaseName } : {}),
    };
    const reloadTimeout = Duration.seconds(Math.min(900, config.modelRefreshSeconds + config.reloadMarginSeconds + 60));
    const sizing: Record<RetrainingFunction, { memorySize: number; timeout: Duration; description: string }> = {
      EraseUsers: { memorySize: 1769, timeout: Duration.minutes(15), description: "Nightly retraining: erases requested users' data from Bronze, Silver, reports and models" },
      PlanRun: { memorySize: 512, timeout: Duration.minutes(5), description: 'Nightly retraining: resolves the run and picks the batch engine' },
      ValidateData: { memorySize: 1769, timeout: Duration.minutes(15), description: 'Nightly retraining: validates the Bronze window' },
      ValidateReport: { memorySize: 1024, timeout: Duration.minutes(15), description: "Nightly retraining (Athena engine): the validation report from the query's aggregates" },
      WriteFeatureFile: { memorySize: 1769, timeout: Duration.minutes(15), description: 'Nightly retraining (Athena engine): writes one file of exact features to DynamoDB' },
      FinishExtract: { memorySize: 512, timeout: Duration.minutes(5), description: 'Nightly retraining (Athena engine): counts what the queries wrote' },
      ExtractFeatures: { memorySize: config.retrainMemorySize, timeout: Duration.minutes(15), description: 'Nightly retraining: Bronze to Silver Parquet and exact features' },
      SnapshotCatalog: { memorySize: 1024, timeout: Duration.minutes(15), description: 'Nightly retraining: snapshots the item catalogue into the lake for training and evaluation' },
      TrainModel: { memorySize: config.retrainMemorySize, timeout: Duration.minutes(15), description: 'Nightly retraining: trains a new model version from Silver' },
      TrainTaskResult: { memorySize: 256, timeout: Duration.minutes(2), description: "Nightly retraining: the Fargate training task's outcome as TrainModel's result" },
      EvaluateModel: { memorySize: config.retrainMemorySize, timeout: Duration.minutes(15), description: 'Nightly retraining: temporal hold-out evaluation and gate figures' },
      DeployModel: { memorySize: 256, timeout: Duration.minutes(1), description: 'Nightly retraining: moves, restores or rolls back models/production.json' },
      ReloadApi: { memorySize: 256, timeout: reloadTimeout, description: 'Nightly retraining: confirms the API serves the deployed version' },
      RecordRun: { memorySize: 256, timeout: Duration.minutes(1), description: 'Nightly retraining: run summary and metrics' },
    };

    this.functions = {} as Record<RetrainingFunction, PipelineFunction>;
    for (const [name, file] of Object.entries(RETRAINING_FUNCTIONS) as [RetrainingFunction, string][]) {
      const fn = new PipelineFunction(this, name, {
        entry: `lambdas/retraining/${file}.ts`,
        serviceName: `retraining-${file}`,
        metricsNamespace: props.metricsNamespace,
        logRetentionDays: config.logRetentionDays,
        // Only ReloadApi calls the API; only SnapshotCatalog reads the catalogue table.
        environment:
          name === 'ReloadApi' && props.apiUrl ? { ...environment, API_BASE_URL: props.apiUrl }
          : name === 'SnapshotCatalog' && props.catalogTable ? { ...environment, CATALOG_TABLE: props.catalogTable.tableName }
          : environment,
        ...sizing[name],
      });
      grantLakeAccess(props.bucket, fn, LAKE_ACCESS[name]);
      this.functions[name] = fn;
    }
    // Only DeployModel rolls out: replace production, or start a canary experiment (README "Experiments and canary rollout").
    for (const [key, value] of Object.entries(rolloutEnvironment(config))) this.functions.DeployModel.addEnvironment(key, value);
    // Exact features are written in batches; the nightly job never reads or deletes rows.
    this.functions.ExtractFeatures.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:BatchWriteItem'], resources: [props.table.tableArn] }));
    this.functions.WriteFeatureFile.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:BatchWriteItem'], resources: [props.table.tableArn] }));
    // Erasure finds a user's rows with one Query on U#<userId> and deletes them in batches (nothing else of the table).
    this.functions.EraseUsers.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query', 'dynamodb:BatchWriteItem'], resources: [props.table.tableArn] }));
    // Only EraseUsers deletes model versions that hold an erased user, after this many days.
    this.functions.EraseUsers.addEnvironment('ERASURE_MODEL_RETENTION_DAYS', String(config.erasureModelRetentionDays));
    // The snapshot reads the whole catalogue with Scan, on the table only (not its change-feed index), and writes nothing to it.
    if (props.catalogTable) this.functions.SnapshotCatalog.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan'], resources: [props.catalogTable.tableArn] }));

    const topicKey = new kms.Key(this, 'FailureTopicKey', { enableKeyRotation: true, description: 'Encrypts the nightly retraining failure topic' });
    // CloudWatch alarms publish to the encrypted topic too.
    topicKey.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.failureTopic = new sns.Topic(this, 'FailureTopic', { displayName: 'Nightly retraining failures', masterKey: topicKey, enforceSSL: true });
    if (config.retrainNotificationEmail) this.failureTopic.addSubscription(new subscriptions.EmailSubscription(config.retrainNotificationEmail));

    const stack = Stack.of(this);
    const substitutions: Record<string, string> = { FailureTopicArn: this.failureTopic.topicArn };
    for (const [name, fn] of Object.entries(this.functions)) substitutions[`${name}FunctionArn`] = fn.functionArn;
    if (props.lakeCatalog) {
      Object.assign(substitutions, { AthenaWorkGroup: props.lakeCatalog.workGroupName, GlueDatabase: props.lakeCatalog.databaseName });
    }
    if (props.trainingTask) {
      Object.assign(substitutions, props.trainingTask.substitutions);
      // The task runs TrainModel's code: the same environment and the same part of the lake, plus its outcome object
      // (models/_tasks/<runId>/train-result.json: it deletes an earlier attempt's, then writes its own).
      for (const [key, value] of Object.entries(environment)) props.trainingTask.container.addEnvironment(key, value);
      const train = LAKE_ACCESS.TrainModel;
      grantLakeAccess(props.bucket, { grantPrincipal: props.trainingTask.taskDefinition.taskRole, role: props.trainingTask.taskDefinition.taskRole }, { ...train, put: [...(train.put ?? []), TRAIN_TASK_OUTCOMES], delete: [TRAIN_TASK_OUTCOMES] });
    } else {
      // No task deployed: FARGATE_TRAINING is false, so ChooseTrainer never routes to TrainTask; its placeholders get
      // values that name nothing (and the role has no ECS grant), so the one ASL file stays valid and deployable.
      Object.assign(substitutions, NO_TRAINING_TASK(stack));
    }
    // Named, so the Distributed Map's grant to start its own child executions can name it without a dependency cycle.
    const stateMachineName = `${config.namePrefix}-nightly-retraining`;
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: 'Nightly retraining: validate, extract, train, evaluate, gate, deploy, reload',
      definitionBody: sfn.DefinitionBody.fromFile(join(PROJECT_ROOT, RETRAINING_ASL_FILE)),
      definitionSubstitutions: substitutions,
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', { retention: config.logRetentionDays as logs.RetentionDays }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    for (const fn of Object.values(this.functions)) fn.grantInvoke(this.stateMachine);
    this.failureTopic.grantPublish(this.stateMachine);
    props.lakeCatalog?.grantQueries(this.stateMachine);
    // WriteFeatures is a Distributed Map: each file is a child execution of this state machine
    // (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${stateMachineName}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME })] }));
    // cdk-nag names a finding's ARN with the stack's region and account when they are known, as pseudo-parameters otherwise.
    const token = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<${pseudo}>` : v);
    acknowledge(
      this.stateMachine,
      `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${token(stack.region, 'AWS::Region')}:${token(stack.account, 'AWS::AccountId')}:execution:${stateMachineName}/*]`,
      "The Distributed Map describes and stops its own child executions, any of this state machine's",
    );
    props.trainingTask?.grantRun(this.stateMachine);
    for (const fn of Object.values(this.functions)) {
      acknowledge(this.stateMachine, `AwsSolutions-IAM5[Resource::${arnToken(fn)}:*]`, 'The state machine invokes its own step functions, any version or alias of each (<function>:*)');
    }
    acknowledge(this.stateMachine, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray traces and CloudWatch log deliveries of the state machine take no resource ARN');
    acknowledge(this.stateMachine, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'Publishing to the failure topic encrypts with its own key only');

    this.schedule = new scheduler.Schedule(this, 'NightlySchedule', {
      description: 'Starts the nightly retraining',
      schedule: scheduler.ScheduleExpression.expression(config.retrainSchedule, TimeZone.ETC_UTC),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'schedule', scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
      }),
      enabled: config.retrainScheduleEnabled,
    });

    // Failures the state machine's own failure path cannot report (an execution timeout, a broken Catch).
    const alarmAction = new cwActions.SnsAction(this.failureTopic);
    alarmOnFailedExecutions(this, this.stateMachine, 'A nightly retraining execution failed, timed out or was aborted; production was left as it was.', this.failureTopic);
    if (config.retrainScheduleEnabled) {
      new cloudwatch.Alarm(this, 'NoSuccessfulRunAlarm', {
        alarmDescription: 'No nightly retraining execution succeeded in the last 24 hours.',
        metric: this.stateMachine.metricSucceeded({ statistic: 'Sum', period: Duration.days(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }).addAlarmAction(alarmAction);
    }
  }
}
