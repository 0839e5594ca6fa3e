import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import type { RecommendApi } from './recommend-api';

/**
 * An alarm on a state machine's failed, timed-out and aborted executions (what its own failure path cannot
 * report), notifying `topic`. One definition for every state machine of the stack.
 */
export function alarmOnFailedExecutions(scope: Construct, stateMachine: sfn.StateMachine, description: string, topic: sns.ITopic): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, 'ExecutionsFailedAlarm', {
    alarmDescription: description,
    metric: new cloudwatch.MathExpression({
      expression: 'failed + timedOut + aborted',
      usingMetrics: {
        failed: stateMachine.metricFailed({ statistic: 'Sum' }),
        timedOut: stateMachine.metricTimedOut({ statistic: 'Sum' }),
        aborted: stateMachine.metricAborted({ statistic: 'Sum' }),
      },
      period: Duration.minutes(5),
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cwActions.SnsAction(topic));
  return alarm;
}

export interface StreamConsumer {
  name: string;
  fn: lambda.IFunction;
  deadLetterQueue: sqs.IQueue;
  /** Powertools service name of the function (the `service` dimension of its metrics). */
  service: string;
}

export interface MonitoringProps {
  config: RecsysConfig;
  stream: kinesis.IStream;
  consumers: StreamConsumer[];
  api: RecommendApi;
  metricsNamespace: string;
}

/**
 * Operations: one encrypted SNS topic for every alarm of the pipeline, alarms on what users would notice
 * (ingestion falling behind or failing, events parked in a DLQ, the model going stale, the API failing or
 * slowing down), and a dashboard of ingestion, lake writes, retraining history and API latency.
 * The nightly retraining keeps its own failure topic and alarms (lib/nightly-retraining.ts).
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, stream, consumers, api, metricsNamespace } = props;

    const key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'Encrypts the pipeline alarm topic' });
    // CloudWatch alarms publish to the encrypted topic.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'Recommendation pipeline alarms', masterKey: key, enforceSSL: true });
    if (config.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarmEmail));
    const action = new cwActions.SnsAction(this.topic);
    const alarm = (alarmId: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, alarmId, { treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, ...props });
      a.addAlarmAction(action);
      a.addOkAction(action);
      this.alarms.push(a);
      return a;
    };
    const five = Duration.minutes(5);

    alarm('StreamIteratorAge', {
      alarmDescription: 'Events wait in Kinesis for more than an hour: the consumers are falling behind (records expire after the retention period)',
      metric: stream.metricGetRecordsIteratorAgeMilliseconds({ period: five, statistic: 'Maximum' }),
      threshold: config.iteratorAgeAlarmMinutes * 60_000,
      evaluationPeriods: 3,
    });
    if (config.streamShards > 0) {
      alarm('StreamWriteThrottled', {
        alarmDescription: 'Producers are throttled by the provisioned shards for 15 minutes: add shards (streamShards) or switch to on-demand (0)',
        metric: stream.metricPutRecordsThrottledRecords({ period: five, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
      alarm('StreamReadThrottled', {
        alarmDescription: 'Consumers are throttled reading the stream for 15 minutes',
        metric: stream.metricReadProvisionedThroughputExceeded({ period: five, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
    }
    for (const c of consumers) {
      alarm(`${c.name}Errors`, {
        alarmDescription: `The ${c.name} function fails whole invocations for 15 minutes (batches are bisected and retried, then sent to its DLQ)`,
        metric: c.fn.metricErrors({ period: five, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      });
      alarm(`${c.name}DeadLetters`, {
        alarmDescription: `Batches the ${c.name} could not process are in its dead-letter queue: replay them (README, Operations)`,
        metric: c.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: five, statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    const retraining = (metricName: string, statistic = 'Sum', period = Duration.days(1)) =>
      new cloudwatch.Metric({ namespace: metricsNamespace, metricName, dimensionsMap: { service: 'retraining-record-run' }, statistic, period });
    alarm('ModelStale', {
      alarmDescription: `No new model was deployed for ${config.modelStaleDays} days: runs fail, or the gate refuses every candidate (see reports/retraining/)`,
      metric: retraining('RunDeployed'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: config.modelStaleDays,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    for (const a of api.alarms) {
      a.addAlarmAction(action);
      a.addOkAction(action);
    }

    const emf = (service: string, metricName: string, statistic = 'Sum') =>
      new cloudwatch.Metric({ namespace: metricsNamespace, metricName, dimensionsMap: { service }, statistic, period: five, label: metricName });
    const consumer = consumers.find((c) => c.service === 'event-consumer');
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.namePrefix}-pipeline`,
      defaultInterval: Duration.days(7),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: '# Recommendation pipeline\nIngestion, lake writes, nightly retraining and API. Alarms go to the pipeline alarm topic.', width: 24, height: 2 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Ingestion rate (events)',
        left: [stream.metricIncomingRecords({ period: five, statistic: 'Sum', label: 'into Kinesis' }), emf('event-consumer', 'RecordsReceived')],
        right: [emf('event-consumer', 'EventsQuarantined'), emf('event-consumer', 'RecordsFailed')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Consumer lag (ms)',
        left: [stream.metricGetRecordsIteratorAgeMilliseconds({ period: five, statistic: 'Maximum', label: 'stream iterator age' })],
        right: consumer ? [consumer.fn.metricErrors({ period: five, label: 'consumer errors' })] : [],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lake and feature writes',
        left: [emf('event-consumer', 'BronzeObjectsWritten'), emf('event-consumer', 'FeatureRowsWritten')],
        right: [emf('event-consumer', 'RecordsAlreadyApplied')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Shop analytics consumer',
        left: [emf('analytics-consumer', 'AnalyticsEvents'), emf('analytics-consumer', 'AnalyticsWindowRowsWritten')],
        right: [emf('analytics-consumer', 'AnalyticsRecordsFailed')],
        width: 12,
      }),
    );
    // Attribution by variant (the analytics consumer's per-variant metrics, dimensions { service, Variant }).
    const byVariant = (metricName: string, variant: string) =>
      new cloudwatch.Metric({ namespace: metricsNamespace, metricName, dimensionsMap: { service: 'analytics-consumer', Variant: variant }, statistic: 'Sum', period: Duration.hours(1) });
    const ratio = (numerator: string, variant: string, label: string) =>
      new cloudwatch.MathExpression({
        // Ids are unique within a graph: one pair per variant.
        expression: `IF(i_${variant} > 0, n_${variant} / i_${variant}, 0)`,
        usingMetrics: { [`n_${variant}`]: byVariant(numerator, variant), [`i_${variant}`]: byVariant('Impressions', variant) },
        label,
        period: Duration.hours(1),
      });
    const variants = ['control', 'challenger'];
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'CTR by variant (clicks / impressions, hourly)',
        left: variants.map((v) => ratio('Clicks', v, `CTR ${v}`)),
        right: variants.map((v) => byVariant('Impressions', v).with({ label: `impressions ${v}` })),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Revenue per impression by variant (hourly)',
        left: variants.map((v) => ratio('Revenue', v, `revenue/impression ${v}`)),
        right: variants.map((v) => byVariant('Purchases', v).with({ label: `purchases ${v}` })),
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Retraining: candidate metrics per run',
        left: ['ndcgAt10', 'precisionAt10', 'recallAt10', 'mapAt10'].map((m) => retraining(`Candidate_${m}`, 'Maximum')),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Retraining: outcomes and duration',
        left: [retraining('RunDeployed'), retraining('RunNotDeployed'), retraining('RunFailed')],
        right: [retraining('RunDurationSeconds', 'Maximum')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API latency (ms)',
        left: [api.api.metricLatency({ period: five, statistic: 'p50', label: 'p50' }), api.api.metricLatency({ period: five, statistic: 'p99', label: 'p99' })],
        right: [api.api.metricCount({ period: five, label: 'requests' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'API answers',
        left: [api.api.metricClientError({ period: five, label: '4xx' }), api.api.metricServerError({ period: five, label: '5xx' })],
        right: [emf('recommend-api', 'PersonalizedAnswers'), emf('recommend-api', 'PopularAnswers'), emf('recommend-api', 'FreshEventsUnavailable')],
        width: 12,
      }),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms, ...api.alarms], width: 24 }),
    );
  }
}
