import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import { acknowledge } from './nag';

/**
 * The event source mapping every stream consumer uses, as AWS Solutions Constructs' aws-kinesisstreams-lambda
 * configures it: partial batch responses, bisect on error, bounded retries and record age, an SQS queue for
 * what still cannot be processed. One invocation per shard at a time: each row a consumer writes has a single
 * writer, which is what lets it skip conditional writes. Raise throughput with shards, not parallelization.
 */
export function streamConsumerSource(stream: kinesis.IStream, config: RecsysConfig, deadLetterQueue: sqs.IQueue): sources.KinesisEventSource {
  return new sources.KinesisEventSource(stream, {
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: config.consumerBatchSize,
    maxBatchingWindow: Duration.seconds(config.consumerBatchingWindowSeconds),
    reportBatchItemFailures: true,
    bisectBatchOnError: true,
    retryAttempts: config.consumerMaxRetries,
    maxRecordAge: Duration.hours(config.consumerMaxRecordAgeHours),
    parallelizationFactor: 1,
    onFailure: new sources.SqsDlq(deadLetterQueue),
    metricsConfig: { metrics: [lambda.MetricType.EVENT_COUNT] },
  });
}

/** The dead-letter queue of a stream consumer: encrypted, TLS only, kept 14 days. */
export function consumerDeadLetterQueue(scope: Construct, id: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
  acknowledge(queue, 'AwsSolutions-SQS3', "This queue is the event source mapping's on-failure destination: it is the dead-letter queue");
  return queue;
}

/** A `pk`/`sk` table on demand, encrypted, with point-in-time recovery and TTL on `expiresAt`. */
export function pkSkTable(scope: Construct, id: string, config: RecsysConfig, tableName: string | undefined, options: { deletionProtection?: boolean } = {}): dynamodb.Table {
  return new dynamodb.Table(scope, id, {
    tableName,
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    timeToLiveAttribute: 'expiresAt',
    ...(options.deletionProtection !== undefined ? { deletionProtection: options.deletionProtection } : {}),
    removalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
}
