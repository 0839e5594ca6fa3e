import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import { PipelineFunction } from './node-function';
import { consumerDeadLetterQueue, pkSkTable, streamConsumerSource } from './stream-consumer';

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

    this.table = pkSkTable(this, 'Table', config, config.analyticsTableName);

    this.deadLetterQueue = consumerDeadLetterQueue(this, 'ConsumerDlq');

    this.consumer = new PipelineFunction(this, 'Consumer', {
      entry: 'lambdas/analytics-consumer/index.ts',
      description: 'Folds the event stream into minute/hour/day shop analytics windows',
      serviceName: 'analytics-consumer',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: 1024,
      timeout: Duration.minutes(2),
      environment: {
        ANALYTICS_TABLE: this.table.tableName,
        // Implicit attribution (README "Attribution"): set only when on, so the default template is unchanged.
        ...(config.attributionWindowMinutes > 0 ? { ATTRIBUTION_WINDOW_MINUTES: String(config.attributionWindowMinutes) } : {}),
      },
    });
    this.consumer.addToRolePolicy(
      // PutItem: a dead-letter replay's conditional writes (npm run dlq:replay). Query: the event ledger's rows.
      new iam.PolicyStatement({ actions: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query'], resources: [this.table.tableArn] }),
    );
    this.consumer.addEventSource(streamConsumerSource(props.stream, config, this.deadLetterQueue));
  }
}
