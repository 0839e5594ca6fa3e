import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from '../support/synth';

describe('alarms and dashboard', () => {
  const { template, stack } = synthStack({ alarmEmail: 'ops@example.com' });
  const topicRef = stack.resolve(stack.monitoring.topic.topicArn) as { Ref: string };
  const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: Record<string, unknown> }[];
  const notifying = alarms.filter((a) => JSON.stringify(a.Properties.AlarmActions ?? []).includes(topicRef.Ref));
  const byMetric = (name: string) => notifying.filter((a) => a.Properties.MetricName === name);

  it('alarms on ingestion falling behind or being throttled', () => {
    expect(byMetric('GetRecords.IteratorAgeMilliseconds')).toHaveLength(1);
    expect(byMetric('GetRecords.IteratorAgeMilliseconds')[0]!.Properties).toMatchObject({ Threshold: 3_600_000, Statistic: 'Maximum' });
    expect(byMetric('PutRecords.ThrottledRecords')).toHaveLength(1);
    expect(byMetric('ReadProvisionedThroughputExceeded')).toHaveLength(1);
  });

  it('alarms on consumer errors and on anything parked in a dead-letter queue, for both consumers', () => {
    expect(byMetric('Errors')).toHaveLength(2);
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(2);
  });

  it('alarms when no model was deployed for three days, counting silence as bad', () => {
    const [stale] = byMetric('RunDeployed');
    expect(stale!.Properties).toMatchObject({ Namespace: 'ServerlessRecsys', EvaluationPeriods: 3, TreatMissingData: 'breaching', ComparisonOperator: 'LessThanThreshold' });
  });

  it('sends the API 5xx and latency alarms to the same topic', () => {
    expect(byMetric('5XXError')).toHaveLength(1);
    expect(byMetric('Latency')).toHaveLength(1);
  });

  it('encrypts the alarm topic, requires TLS, and subscribes the configured e-mail', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Recommendation pipeline alarms', KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('draws ingestion, lake writes, retraining history and API latency on one dashboard', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const needle of ['Ingestion rate', 'IncomingRecords', 'BronzeObjectsWritten', 'FeatureRowsWritten', 'Candidate_ndcgAt10', 'RunDeployed', 'Latency', 'p99', 'AnalyticsEvents']) {
      expect(body).toContain(needle);
    }
  });

  it('drops the throttling alarms for an on-demand stream', () => {
    const { template: onDemand } = synthStack({ streamShards: 0 });
    const names = (Object.values(onDemand.findResources('AWS::CloudWatch::Alarm')) as { Properties: { MetricName?: string } }[]).map((a) => a.Properties.MetricName);
    expect(names).not.toContain('PutRecords.ThrottledRecords');
    expect(names).toContain('GetRecords.IteratorAgeMilliseconds');
  });
});

describe('attribution by variant on the dashboard', () => {
  const { template } = synthStack({});
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as { Properties: { DashboardBody: unknown } }[];
  const raw = dashboard!.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text = typeof raw === 'string' ? raw : raw['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  const widgets = (JSON.parse(text) as { widgets: { properties: { title?: string; metrics?: unknown[][] } }[] }).widgets;
  const widget = (title: string) => widgets.find((w) => w.properties.title?.startsWith(title));

  it('draws CTR per variant as metric math over the consumer’s Clicks and Impressions with the Variant dimension', () => {
    const ctr = widget('CTR by variant');
    expect(ctr).toBeDefined();
    const lines = ctr!.properties.metrics!;
    const expressions = lines.filter((l) => typeof l[0] === 'object' && (l[0] as { expression?: string }).expression).map((l) => (l[0] as { expression: string; label: string }));
    expect(expressions.map((e) => e.label).sort()).toEqual(['CTR challenger', 'CTR control']);
    expect(expressions.every((e) => /n_(control|challenger) \/ i_(control|challenger)/.test(e.expression))).toBe(true);
    const flat = JSON.stringify(lines);
    for (const v of ['control', 'challenger']) {
      expect(flat).toContain(`"Clicks","Variant","${v}","service","analytics-consumer"`);
      expect(flat).toContain(`"Impressions","Variant","${v}","service","analytics-consumer"`);
    }
  });

  it('draws revenue per impression per variant', () => {
    const rpi = widget('Revenue per impression by variant');
    expect(rpi).toBeDefined();
    const flat = JSON.stringify(rpi!.properties.metrics);
    for (const v of ['control', 'challenger']) expect(flat).toContain(`"Revenue","Variant","${v}","service","analytics-consumer"`);
    expect(flat).toContain('revenue/impression control');
  });
});
