import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../src/adapters/metrics-namespace';
import { PipelineFunction } from './node-function';
import { eventContractEnvironment, type RecsysConfig } from './config';
import { DataLake } from './data-lake';
import { EventIngestion } from './event-ingestion';
import { FeatureStore } from './feature-store';
import { ItemCatalogue } from './item-catalogue';
import { RecommendApi } from './recommend-api';
import { ShopAnalytics } from './shop-analytics';
import { Monitoring } from './monitoring';
import { NightlyRetraining } from './nightly-retraining';
import { LakeCatalog } from './lake-catalog';
import { TrainingTask } from './training-task';
import { Experiments } from './experiments';

export interface RecsysStackProps extends StackProps {
  config: RecsysConfig;
}

/** The whole pipeline, read top to bottom like the architecture diagram. */
export class RecsysStack extends Stack {
  readonly lake: DataLake;
  readonly features: FeatureStore;
  readonly catalogue: ItemCatalogue;
  readonly ingestion: EventIngestion;
  readonly analytics?: ShopAnalytics;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: RecsysStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.lake = new DataLake(this, 'DataLake', config);
    this.features = new FeatureStore(this, 'FeatureStore', config);
    this.catalogue = new ItemCatalogue(this, 'Catalogue', config);
    this.ingestion = new EventIngestion(this, 'Ingestion', {
      config,
      bucket: this.lake.bucket,
      table: this.features.table,
      metricsNamespace: METRICS_NAMESPACE,
    });

    if (config.analyticsEnabled) {
      this.analytics = new ShopAnalytics(this, 'Analytics', { config, stream: this.ingestion.stream, metricsNamespace: METRICS_NAMESPACE });
      new CfnOutput(this, 'AnalyticsTableName', { value: this.analytics.table.tableName });
      new CfnOutput(this, 'AnalyticsDeadLetterQueueUrl', { value: this.analytics.deadLetterQueue.queueUrl, description: 'npm run dlq:replay -- --outputs cdk-outputs.json --consumer analytics' });
      new CfnOutput(this, 'AnalyticsConsumerFunctionName', { value: this.analytics.consumer.functionName });
    }

    // [serving] the recommend API construct is added here (lib/recommend-api.ts).
    const recommendApi = new RecommendApi(this, 'Serving', {
      config,
      bucket: this.lake.bucket,
      table: this.features.table,
      stream: this.ingestion.stream,
      metricsNamespace: METRICS_NAMESPACE,
      analyticsTable: this.analytics?.table,
      catalogTable: this.catalogue.table,
    });
    new CfnOutput(this, 'ApiUrl', { value: recommendApi.apiUrl, description: 'Recommend API base URL (GET recommend/{userId}, POST events, ...)' });
    new CfnOutput(this, 'CatalogWriteArns', {
      value: Fn.join(',', recommendApi.catalogWriteArns),
      description: 'execute-api ARNs of PUT /items and DELETE /items/{itemId} (IAM/SigV4): allow execute-api:Invoke on these to whoever maintains the catalogue',
    });

    // [retraining] the nightly retraining construct is added here (lib/nightly-retraining.ts), with the Athena
    // engine's catalogue and workgroup, and the Fargate training task when enabled (nothing of it otherwise).
    const lakeCatalog = new LakeCatalog(this, 'LakeCatalog', { config, bucket: this.lake.bucket });
    const trainingTask = config.fargateTraining.enabled ? new TrainingTask(this, 'Training', { config }) : undefined;
    const retraining = new NightlyRetraining(this, 'Retraining', {
      config,
      bucket: this.lake.bucket,
      table: this.features.table,
      metricsNamespace: METRICS_NAMESPACE,
      apiUrl: recommendApi.apiUrl,
      catalogTable: this.catalogue.table,
      lakeCatalog,
      trainingTask,
    });
    new CfnOutput(this, 'AthenaWorkGroupName', { value: lakeCatalog.workGroupName, description: 'The retraining queries: aws athena list-query-executions --work-group <this>' });
    new CfnOutput(this, 'RetrainingStateMachineArn', { value: retraining.stateMachine.stateMachineArn, description: 'aws stepfunctions start-execution --state-machine-arn <this>' });
    new CfnOutput(this, 'DeployModelFunctionName', { value: retraining.functions.DeployModel.functionName, description: 'Rollback: aws lambda invoke --function-name <this> --payload {"action":"rollback"}' });
    new CfnOutput(this, 'RetrainingFailureTopicArn', { value: retraining.failureTopic.topicArn });

    // [experiments] the hourly experiment check (lib/experiments.ts); it decides on the analytics attribution.
    if (this.analytics) {
      const experiments = new Experiments(this, 'Experiments', { config, bucket: this.lake.bucket, analyticsTable: this.analytics.table, topic: retraining.failureTopic, metricsNamespace: METRICS_NAMESPACE });
      new CfnOutput(this, 'ExperimentCheckStateMachineArn', { value: experiments.stateMachine.stateMachineArn, description: 'aws stepfunctions start-execution --state-machine-arn <this> (checks the running experiment now)' });
    }

    this.monitoring = new Monitoring(this, 'Monitoring', {
      config,
      stream: this.ingestion.stream,
      consumers: [
        { name: 'Consumer', fn: this.ingestion.consumer, deadLetterQueue: this.ingestion.deadLetterQueue, service: 'event-consumer' },
        ...(this.analytics ? [{ name: 'AnalyticsConsumer', fn: this.analytics.consumer, deadLetterQueue: this.analytics.deadLetterQueue, service: 'analytics-consumer' }] : []),
      ],
      api: recommendApi,
      metricsNamespace: METRICS_NAMESPACE,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn, description: 'Subscribe to get the pipeline alarms' });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName });

    new CfnOutput(this, 'LakeBucketName', { value: this.lake.bucket.bucketName });
    new CfnOutput(this, 'FeaturesTableName', { value: this.features.table.tableName });
    new CfnOutput(this, 'CatalogTableName', { value: this.catalogue.table.tableName, description: 'The live item catalogue (PUT /items, DELETE /items/{itemId}; npm run cli -- catalog import)' });
    new CfnOutput(this, 'EventsStreamName', { value: this.ingestion.stream.streamName });
    new CfnOutput(this, 'ConsumerDeadLetterQueueUrl', { value: this.ingestion.deadLetterQueue.queueUrl, description: 'npm run dlq:replay -- --outputs cdk-outputs.json' });
    new CfnOutput(this, 'ConsumerFunctionName', { value: this.ingestion.consumer.functionName });
    // One event contract for every entry point: the same bounds wherever an event is validated.
    const contract = eventContractEnvironment(config);
    for (const fn of this.node.findAll().filter((c): c is PipelineFunction => c instanceof PipelineFunction)) {
      for (const [key, value] of Object.entries(contract)) fn.addEnvironment(key, value);
    }
  }
}
