import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import { PipelineFunction } from './node-function';

export interface ShopAnalyticsProps {
  config: RecsysConfig;
  stream: kinesis.IStream;
  metricsNamespace: string;
}

/**
 * Real-time shop analytics: a second consumer of the event stream with its own event source mapping (so it
 * can never slow ingestion) and its own table of minute/hour/day windows, which expire through TTL.
 */
export class ShopAnalytics extends Construct {
  readonly table: dynamodb.Table;
  readonly consumer: PipelineFunction;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: ShopAnalyticsProps) {
    super(scope, id);
    const { config } = props;

    this.table = new dynamodb.Table(this, 'Table', {
      tableName: config.analyticsTableName,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    this.deadLetterQueue = new sqs.Queue(this, 'ConsumerDlq', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.consumer = new PipelineFunction(this, 'Consumer', {
      entry: 'lambdas/analytics-consumer/index.ts',
      description: 'Folds the event stream into minute/hour/day shop analytics windows',
      serviceName: 'analytics-consumer',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: 1024,
      timeout: Duration.minutes(2),
      environment: { ANALYTICS_TABLE: this.table.tableName },
    });
    this.consumer.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'], resources: [this.table.tableArn] }),
    );
    this.consumer.addEventSource(
      new sources.KinesisEventSource(props.stream, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: config.consumerBatchSize,
        maxBatchingWindow: Duration.seconds(config.consumerBatchingWindowSeconds),
        reportBatchItemFailures: true,
        bisectBatchOnError: true,
        retryAttempts: config.consumerMaxRetries,
        maxRecordAge: Duration.hours(config.consumerMaxRecordAgeHours),
        // Single writer per window row and shard, as for the feature rows.
        parallelizationFactor: 1,
        onFailure: new sources.SqsDlq(this.deadLetterQueue),
      }),
    );
  }
}
