import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import { PipelineFunction } from './node-function';
import { consumerDeadLetterQueue, streamConsumerSource } from './stream-consumer';
import { LAKE_AREAS } from '../src/domain/lake-layout';
import { grantLakeAccess } from './data-lake';

export interface EventIngestionProps {
  config: RecsysConfig;
  bucket: s3.IBucket;
  table: dynamodb.ITable;
  metricsNamespace: string;
}

/**
 * Kinesis stream → consumer Lambda → Bronze objects and real-time features. The event source mapping is
 * configured as AWS Solutions Constructs' aws-kinesisstreams-lambda does: partial batch responses, bisect
 * on error, bounded retries and record age, and an SQS queue for what still cannot be processed.
 */
export class EventIngestion extends Construct {
  readonly stream: kinesis.Stream;
  readonly consumer: PipelineFunction;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: EventIngestionProps) {
    super(scope, id);
    const { config } = props;

    this.stream = new kinesis.Stream(this, 'Stream', {
      streamName: config.eventsStreamName,
      encryption: kinesis.StreamEncryption.MANAGED,
      retentionPeriod: Duration.hours(config.streamRetentionHours),
      ...(config.streamShards === 0
        ? { streamMode: kinesis.StreamMode.ON_DEMAND }
        : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: config.streamShards }),
    });

    this.deadLetterQueue = consumerDeadLetterQueue(this, 'ConsumerDlq');

    this.consumer = new PipelineFunction(this, 'Consumer', {
      entry: 'lambdas/consumer/index.ts',
      description: 'Lands Kinesis events in Bronze S3 and keeps real-time features in DynamoDB',
      serviceName: 'event-consumer',
      metricsNamespace: props.metricsNamespace,
      logRetentionDays: config.logRetentionDays,
      memorySize: 1024,
      timeout: Duration.minutes(2),
      environment: {
        LAKE_BUCKET: props.bucket.bucketName,
        FEATURES_TABLE: props.table.tableName,
      },
    });

    // Least privilege: write Bronze objects, read them only to see what a dead-letter replay already holds,
    // and read/write feature rows in batches only.
    grantLakeAccess(props.bucket, this.consumer, { read: [`${LAKE_AREAS.bronze}*`], put: [`${LAKE_AREAS.bronze}*`] });
    this.consumer.addToRolePolicy(
      new iam.PolicyStatement({
        // PutItem: a dead-letter replay's conditional writes (npm run dlq:replay). Query: the event ledger's
        // rows of a shard since the last one this instance holds (src/ingest/event-ledger.ts).
        actions: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query'],
        resources: [props.table.tableArn],
      }),
    );

    this.consumer.addEventSource(streamConsumerSource(this.stream, config, this.deadLetterQueue));
  }
}
