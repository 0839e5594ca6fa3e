import { Duration, TimeZone } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { join } from 'node:path';
import { EXPERIMENTS_PREFIX, MODEL_KEY_PATTERNS, PRODUCTION_POINTER_KEY } from '../src/domain/lake-layout';
import type { RecsysConfig } from './config';
import { alarmOnFailedExecutions } from './monitoring';
import { grantLakeAccess } from './data-lake';
import { acknowledge, arnToken } from './nag';
import { PipelineFunction, PROJECT_ROOT } from './node-function';

/** The definition CDK deploys and src/local/experiment-check-runner.ts runs locally. */
export const EXPERIMENT_CHECK_ASL_FILE = 'statemachines/experiment-check.asl.json';

export interface ExperimentsProps {
  config: RecsysConfig;
  bucket: s3.IBucket;
  /** The analytics window table: the attribution the check decides on. */
  analyticsTable: dynamodb.ITable;
  /** Where decisions are published: the retraining construct's (encrypted) topic. */
  topic: sns.ITopic;
  metricsNamespace: string;
}

/**
 * The experiment check: the CheckExperiment Lambda, the Step Functions state machine of
 * statemachines/experiment-check.asl.json (Standard), an EventBridge Scheduler schedule (hourly by default,
 * context `experimentCheckSchedule`) and an alarm on failed executions. Least privilege: the pointer read and
 * write, the model manifests and payloads read (a promote checks the challenger's artifact is still there), the
 * experiment log written, the analytics table queried; the state machine publishes to the topic.
 */
export class Experiments extends Construct {
  readonly checkFunction: PipelineFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: ExperimentsProps) {
    super(scope, id);
    const { config } = props;

    this.checkFunction = new PipelineFunction(this, 'CheckExperiment', {
      entry: 'lambdas/experiments/check-experiment.ts',
      serviceName: 'experiment-check',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: 512,
      timeout: Duration.minutes(2),
      description: 'Experiment check: decides the running experiment (promote, rollback, continue) from attribution',
      environment: { LAKE_BUCKET: props.bucket.bucketName, ANALYTICS_TABLE: props.analyticsTable.tableName },
    });
    grantLakeAccess(props.bucket, this.checkFunction, {
      read: [PRODUCTION_POINTER_KEY, MODEL_KEY_PATTERNS.manifest, MODEL_KEY_PATTERNS.payload],
      put: [PRODUCTION_POINTER_KEY, `${EXPERIMENTS_PREFIX}*`],
    });
    // The attribution reader queries window rows by partition; it never scans, writes or reads the ledger by key.
    this.checkFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [props.analyticsTable.tableArn] }));

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      comment: 'Experiment check: decide, apply promote/rollback, notify',
      definitionBody: sfn.DefinitionBody.fromFile(join(PROJECT_ROOT, EXPERIMENT_CHECK_ASL_FILE)),
      definitionSubstitutions: { CheckExperimentFunctionArn: this.checkFunction.functionArn, NotificationTopicArn: props.topic.topicArn },
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      timeout: Duration.minutes(15),
      logs: {
        destination: new logs.LogGroup(this, 'StateMachineLogs', { retention: config.logRetentionDays as logs.RetentionDays }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    this.checkFunction.grantInvoke(this.stateMachine);
    props.topic.grantPublish(this.stateMachine);
    acknowledge(this.stateMachine, `AwsSolutions-IAM5[Resource::${arnToken(this.checkFunction)}:*]`, 'The state machine invokes its own check function, any version or alias of it (<function>:*)');
    acknowledge(this.stateMachine, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray traces and CloudWatch log deliveries of the state machine take no resource ARN');
    acknowledge(this.stateMachine, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'Publishing to the encrypted topic encrypts with its own key only');

    this.schedule = new scheduler.Schedule(this, 'CheckSchedule', {
      description: 'Starts the experiment check',
      schedule: scheduler.ScheduleExpression.expression(config.experimentCheckSchedule, TimeZone.ETC_UTC),
      target: new targets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'schedule', scheduledTime: scheduler.ContextAttribute.scheduledTime }),
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
      }),
      enabled: config.experimentCheckScheduleEnabled,
    });

    alarmOnFailedExecutions(this, this.stateMachine, 'An experiment check failed, timed out or was aborted: the running experiment was not decided.', props.topic);
  }
}
