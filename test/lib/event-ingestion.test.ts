import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { synthStack } from '../support/synth';

describe('ingestion infrastructure', () => {
  const { template, stack } = synthStack();

  it('keeps the lake private, encrypted, TLS-only, versioned, with Bronze lifecycle rules', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({
            Prefix: 'bronze/events/',
            Status: 'Enabled',
            ExpirationInDays: 730,
            Transitions: [
              { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
              { StorageClass: 'GLACIER_IR', TransitionInDays: 90 },
            ],
          }),
          Match.objectLike({ Prefix: 'bronze/_quarantine/', ExpirationInDays: 90 }),
          Match.objectLike({ Prefix: 'silver/_batch/', ExpirationInDays: 7 }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    // Data survives `cdk destroy` unless a development stack asks otherwise.
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  it('creates the feature table on demand, with point-in-time recovery, TTL and pk/sk keys', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('encrypts the stream and consumes it as Solutions Constructs do', () => {
    template.hasResourceProperties('AWS::Kinesis::Stream', {
      ShardCount: 2,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86_400,
      ParallelizationFactor: 1,
      BatchSize: 1000,
      StartingPosition: 'TRIM_HORIZON',
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('runs the consumer on Node.js 24 with JSON logs, tracing, and its configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
      Environment: {
        Variables: Match.objectLike({
          LAKE_BUCKET: Match.anyValue(),
          FEATURES_TABLE: Match.anyValue(),
          POWERTOOLS_SERVICE_NAME: 'event-consumer',
        }),
      },
    });
  });

  it('grants the consumer only Bronze writes and reads (for dead-letter replays) and batch reads and writes on the table', () => {
    const consumerRole = stack.resolve((stack.ingestion.consumer.role!.node.defaultChild as unknown as { ref: string }).ref) as { Ref: string };
    const policies = template.findResources('AWS::IAM::Policy', {
      Properties: { Roles: Match.arrayWith([consumerRole]) },
    });
    const statements = Object.values(policies).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 's3:PutObject']));
    // Query: the event ledger (src/ingest/event-ledger.ts); PutItem: dead-letter replays.
    expect(actions.some((a) => a.startsWith('dynamodb:') && !['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem', 'dynamodb:PutItem', 'dynamodb:Query'].includes(a))).toBe(false);
    expect(actions.some((a) => a.startsWith('s3:Delete'))).toBe(false);
    // Exact S3 actions, never CDK's grant groups (s3:GetObject*, s3:List*, s3:Abort*, ...).
    expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const s3Statement = statements.find((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes('s3:PutObject'))!;
    expect(JSON.stringify(s3Statement.Resource)).toContain('/bronze/*');
    // Object reads are limited to Bronze; listing is on the bucket (a 404 for a missing key needs it).
    const reads = statements.filter((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]).includes('s3:GetObject'));
    expect(reads.length).toBeGreaterThan(0);
    for (const r of reads) {
      const objectResources = JSON.stringify(r.Resource).match(/\/[^"\]]*\*/g) ?? [];
      expect(objectResources.every((x) => x.startsWith('/bronze/'))).toBe(true);
    }
  });

  it('outputs what npm run dlq:replay needs for both consumers', () => {
    for (const name of ['ConsumerDeadLetterQueueUrl', 'ConsumerFunctionName', 'AnalyticsDeadLetterQueueUrl', 'AnalyticsConsumerFunctionName', 'EventsStreamName']) {
      expect(Object.keys(template.findOutputs(name)), name).toEqual([name]);
    }
  });

  it('takes names and sizes from context', () => {
    const custom = synthStack({
      stackName: 'ShopRecs',
      eventsStreamName: 'shop-events',
      featuresTableName: 'shop-features',
      lakeBucketName: 'shop-lake-123',
      streamShards: 0,
      consumerBatchSize: 500,
      destroyOnRemoval: 'true',
    });
    expect(custom.stack.stackName).toBe('ShopRecs');
    custom.template.hasResourceProperties('AWS::Kinesis::Stream', { Name: 'shop-events', StreamModeDetails: { StreamMode: 'ON_DEMAND' } });
    custom.template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'shop-features', DeletionProtectionEnabled: false });
    custom.template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'shop-lake-123' });
    custom.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 500 });
  });

  it('rejects nonsensical context values with a clear message', () => {
    expect(() => synthStack({ consumerBatchSize: 0 })).toThrow('context consumerBatchSize must be a number from 1 to 10000 (got 0)');
  });
});
