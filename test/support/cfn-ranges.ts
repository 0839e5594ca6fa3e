/**
 * Documented limits of CloudFormation properties that CDK's resource database (`@aws-cdk/aws-service-spec`)
 * does not hold. The database carries the registry schemas' types, required flags and *enums*
 * (`allowedValues`, e.g. Logs RetentionInDays, StepFunctions StateMachineType, Kinesis StreamMode), but
 * no numeric minimum/maximum, and some enums are missing from it (DynamoDB AttributeType, KeyType,
 * BillingMode, Lambda Runtime, CloudWatch ComparisonOperator...). This table fills those gaps, in ONE place.
 *
 * Rules:
 * - `paths` are property paths inside `Properties`; `[]` stands for every element of a list.
 * - A value passes if it equals one of `values` or lies in one of the inclusive `ranges`.
 * - An enum-only rule (`values`, no `ranges`) is skipped where the spec DB already has `allowedValues`
 *   for that property: the DB (the CloudFormation registry schema) wins; the table only fills gaps.
 *   The entries kept here although the DB covers them document the limit and are checked against the DB
 *   by test/deploy/template-spec.test.ts (every path must exist in the spec).
 * - Values that are intrinsic functions ({Ref}, {Fn::GetAtt}, ...) are not known at synth time: skipped.
 *
 * Each `source` is the AWS documentation page the numbers were read from (checked 2026-12 with the docs
 * search; the CloudFormation "Template Reference" pages give Minimum/Maximum lines for most of them).
 */
export interface ValueRule {
  readonly resourceType: string;
  readonly paths: readonly string[];
  /** Allowed literal values (an enum), or numbers allowed besides `ranges` (e.g. -1 meaning "infinite"). */
  readonly values?: readonly (string | number)[];
  /** Inclusive numeric ranges; use `Infinity` for "no documented maximum". */
  readonly ranges?: readonly (readonly [number, number])[];
  readonly source: string;
  readonly note?: string;
}

const CFN = 'https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference';

export const CFN_VALUE_RULES: readonly ValueRule[] = [
  // ---------------------------------------------------------------- Lambda
  {
    resourceType: 'AWS::Lambda::Function', paths: ['MemorySize'], ranges: [[128, 10_240]],
    source: `${CFN}/aws-resource-lambda-function.html#cfn-lambda-function-memorysize`,
    note: 'Minimum 128, maximum 10240 (MB), in 1-MB increments.',
  },
  {
    resourceType: 'AWS::Lambda::Function', paths: ['Timeout'], ranges: [[1, 900]],
    source: `${CFN}/aws-resource-lambda-function.html#cfn-lambda-function-timeout`,
    note: 'Maximum 900 seconds (15 minutes).',
  },
  {
    resourceType: 'AWS::Lambda::Function', paths: ['EphemeralStorage.Size'], ranges: [[512, 10_240]],
    source: `${CFN}/aws-properties-lambda-function-ephemeralstorage.html`,
    note: 'Minimum 512, maximum 10240 (verified: "any whole number between 512 and 10,240 MB").',
  },
  {
    resourceType: 'AWS::Lambda::Function', paths: ['Architectures[]'], values: ['x86_64', 'arm64'],
    source: `${CFN}/aws-resource-lambda-function.html#cfn-lambda-function-architectures`,
  },
  {
    resourceType: 'AWS::Lambda::Function', paths: ['Runtime'],
    // The "Supported runtimes" table (not the deprecated ones: creating functions on a deprecated runtime
    // is blocked soon after its deprecation date). Deliberately excluded as of 2026-12: nodejs20.x
    // (deprecated 2026-04-30), nodejs18.x, python3.9–3.11, ruby3.2, dotnet8 (Nov 2026), java8.al2/java11/
    // java17/provided.al2 (Amazon Linux 2 end of life; their AL2023 variants are listed).
    values: [
      'nodejs24.x', 'nodejs22.x',
      'python3.14', 'python3.13', 'python3.12',
      'java25', 'java21', 'java17.al2023', 'java11.al2023', 'java8.al2023',
      'dotnet10',
      'ruby3.4', 'ruby3.3',
      'provided.al2023',
    ],
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html',
    note: 'Update this list when Lambda adds or deprecates a runtime.',
  },
  // ---------------------------------------------------------------- Lambda event source mapping
  {
    resourceType: 'AWS::Lambda::EventSourceMapping', paths: ['BatchSize'], ranges: [[1, 10_000]],
    source: 'https://docs.aws.amazon.com/lambda/latest/api/API_CreateEventSourceMapping.html#lambda-CreateEventSourceMapping-request-BatchSize',
    note: 'Valid Range: Minimum value of 1. Maximum value of 10000 (SQS FIFO: 10).',
  },
  {
    resourceType: 'AWS::Lambda::EventSourceMapping', paths: ['MaximumRetryAttempts'], ranges: [[-1, 10_000]],
    source: `${CFN}/aws-resource-lambda-eventsourcemapping.html#cfn-lambda-eventsourcemapping-maximumretryattempts`,
    note: '-1 means infinite (the default).',
  },
  {
    resourceType: 'AWS::Lambda::EventSourceMapping', paths: ['MaximumRecordAgeInSeconds'], values: [-1], ranges: [[60, 604_800]],
    source: `${CFN}/aws-resource-lambda-eventsourcemapping.html#cfn-lambda-eventsourcemapping-maximumrecordageinseconds`,
    note: '-1 means infinite; otherwise 60 s to 7 days.',
  },
  {
    resourceType: 'AWS::Lambda::EventSourceMapping', paths: ['ParallelizationFactor'], ranges: [[1, 10]],
    source: `${CFN}/aws-resource-lambda-eventsourcemapping.html#cfn-lambda-eventsourcemapping-parallelizationfactor`,
  },
  {
    resourceType: 'AWS::Lambda::EventSourceMapping', paths: ['MaximumBatchingWindowInSeconds'], ranges: [[0, 300]],
    source: `${CFN}/aws-resource-lambda-eventsourcemapping.html#cfn-lambda-eventsourcemapping-maximumbatchingwindowinseconds`,
  },
  // ---------------------------------------------------------------- Kinesis
  {
    resourceType: 'AWS::Kinesis::Stream', paths: ['RetentionPeriodHours'], ranges: [[24, 8_760]],
    source: `${CFN}/aws-resource-kinesis-stream.html#cfn-kinesis-stream-retentionperiodhours`,
    note: '24 hours to 8760 hours (365 days); IncreaseStreamRetentionPeriod: "maximum value ... is 8760 hours".',
  },
  {
    resourceType: 'AWS::Kinesis::Stream', paths: ['ShardCount'], ranges: [[1, Infinity]],
    source: `${CFN}/aws-resource-kinesis-stream.html#cfn-kinesis-stream-shardcount`,
    note: 'Minimum 1; the maximum is an account quota, not a schema limit.',
  },
  {
    resourceType: 'AWS::Kinesis::Stream', paths: ['StreamModeDetails.StreamMode'], values: ['ON_DEMAND', 'PROVISIONED'],
    source: `${CFN}/aws-properties-kinesis-stream-streammodedetails.html`,
    note: 'Also in the spec DB (the DB wins).',
  },
  // ---------------------------------------------------------------- SQS
  {
    resourceType: 'AWS::SQS::Queue', paths: ['MessageRetentionPeriod'], ranges: [[60, 1_209_600]],
    source: `${CFN}/aws-resource-sqs-queue.html#cfn-sqs-queue-messageretentionperiod`,
    note: '60 seconds (1 minute) to 1,209,600 seconds (14 days).',
  },
  {
    resourceType: 'AWS::SQS::Queue', paths: ['VisibilityTimeout'], ranges: [[0, 43_200]],
    source: `${CFN}/aws-resource-sqs-queue.html#cfn-sqs-queue-visibilitytimeout`,
    note: '0 to 43,200 seconds (12 hours).',
  },
  {
    resourceType: 'AWS::SQS::Queue', paths: ['DelaySeconds'], ranges: [[0, 900]],
    source: `${CFN}/aws-resource-sqs-queue.html#cfn-sqs-queue-delayseconds`,
  },
  {
    resourceType: 'AWS::SQS::Queue', paths: ['MaximumMessageSize'], ranges: [[1_024, 1_048_576]],
    source: `${CFN}/aws-resource-sqs-queue.html#cfn-sqs-queue-maximummessagesize`,
    note: 'SQS raised the maximum from 262,144 (256 KiB) to 1,048,576 bytes (1 MiB) in 2025; older pages still say 262,144.',
  },
  {
    resourceType: 'AWS::SQS::Queue', paths: ['ReceiveMessageWaitTimeSeconds'], ranges: [[0, 20]],
    source: `${CFN}/aws-resource-sqs-queue.html#cfn-sqs-queue-receivemessagewaittimeseconds`,
  },
  // ---------------------------------------------------------------- CloudWatch Logs
  {
    resourceType: 'AWS::Logs::LogGroup', paths: ['RetentionInDays'],
    values: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653],
    source: `${CFN}/aws-resource-logs-loggroup.html#cfn-logs-loggroup-retentionindays`,
    note: 'Also in the spec DB as integer allowedValues (the DB wins).',
  },
  // ---------------------------------------------------------------- DynamoDB
  {
    resourceType: 'AWS::DynamoDB::Table', paths: ['AttributeDefinitions[].AttributeType'], values: ['S', 'N', 'B'],
    source: `${CFN}/aws-properties-dynamodb-table-attributedefinition.html`,
  },
  {
    resourceType: 'AWS::DynamoDB::Table',
    paths: ['KeySchema[].KeyType', 'GlobalSecondaryIndexes[].KeySchema[].KeyType', 'LocalSecondaryIndexes[].KeySchema[].KeyType'],
    values: ['HASH', 'RANGE'],
    source: `${CFN}/aws-properties-dynamodb-table-keyschema.html`,
  },
  {
    resourceType: 'AWS::DynamoDB::Table', paths: ['BillingMode'], values: ['PROVISIONED', 'PAY_PER_REQUEST'],
    source: `${CFN}/aws-resource-dynamodb-table.html#cfn-dynamodb-table-billingmode`,
  },
  {
    resourceType: 'AWS::DynamoDB::Table',
    paths: ['GlobalSecondaryIndexes[].Projection.ProjectionType', 'LocalSecondaryIndexes[].Projection.ProjectionType'],
    values: ['ALL', 'KEYS_ONLY', 'INCLUDE'],
    source: `${CFN}/aws-properties-dynamodb-table-projection.html`,
  },
  {
    resourceType: 'AWS::DynamoDB::Table', paths: ['StreamSpecification.StreamViewType'],
    values: ['KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES'],
    source: `${CFN}/aws-properties-dynamodb-table-streamspecification.html`,
  },
  // ---------------------------------------------------------------- Step Functions
  {
    resourceType: 'AWS::StepFunctions::StateMachine', paths: ['StateMachineType'], values: ['STANDARD', 'EXPRESS'],
    source: `${CFN}/aws-resource-stepfunctions-statemachine.html#cfn-stepfunctions-statemachine-statemachinetype`,
    note: 'Also in the spec DB (the DB wins).',
  },
  // ---------------------------------------------------------------- CloudWatch alarms
  {
    resourceType: 'AWS::CloudWatch::Alarm', paths: ['ComparisonOperator'],
    values: [
      'GreaterThanOrEqualToThreshold', 'GreaterThanThreshold', 'LessThanThreshold', 'LessThanOrEqualToThreshold',
      'LessThanLowerOrGreaterThanUpperThreshold', 'LessThanLowerThreshold', 'GreaterThanUpperThreshold',
    ],
    source: `${CFN}/aws-resource-cloudwatch-alarm.html#cfn-cloudwatch-alarm-comparisonoperator`,
    note: 'The last three are for anomaly-detection alarms only.',
  },
  {
    resourceType: 'AWS::CloudWatch::Alarm', paths: ['EvaluationPeriods'], ranges: [[1, Infinity]],
    source: `${CFN}/aws-resource-cloudwatch-alarm.html#cfn-cloudwatch-alarm-evaluationperiods`,
    note: 'Minimum 1 (PutMetricAlarm: "Valid Range: Minimum value of 1").',
  },
  {
    resourceType: 'AWS::CloudWatch::Alarm', paths: ['DatapointsToAlarm'], ranges: [[1, Infinity]],
    source: `${CFN}/aws-resource-cloudwatch-alarm.html#cfn-cloudwatch-alarm-datapointstoalarm`,
  },
  {
    resourceType: 'AWS::CloudWatch::Alarm', paths: ['TreatMissingData'], values: ['breaching', 'notBreaching', 'ignore', 'missing'],
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html',
  },
  // ---------------------------------------------------------------- EventBridge Scheduler
  {
    resourceType: 'AWS::Scheduler::Schedule', paths: ['FlexibleTimeWindow.Mode'], values: ['OFF', 'FLEXIBLE'],
    source: `${CFN}/aws-properties-scheduler-schedule-flexibletimewindow.html`,
    note: 'Also in the spec DB (the DB wins).',
  },
  {
    resourceType: 'AWS::Scheduler::Schedule', paths: ['FlexibleTimeWindow.MaximumWindowInMinutes'], ranges: [[1, 1_440]],
    source: `${CFN}/aws-properties-scheduler-schedule-flexibletimewindow.html`,
  },
  {
    resourceType: 'AWS::Scheduler::Schedule', paths: ['Target.RetryPolicy.MaximumRetryAttempts'], ranges: [[0, 185]],
    source: `${CFN}/aws-properties-scheduler-schedule-retrypolicy.html`,
    note: 'Verified: Minimum 0, Maximum 185.',
  },
  {
    resourceType: 'AWS::Scheduler::Schedule', paths: ['Target.RetryPolicy.MaximumEventAgeInSeconds'], ranges: [[60, 86_400]],
    source: `${CFN}/aws-properties-scheduler-schedule-retrypolicy.html`,
    note: 'Verified: Minimum 60, Maximum 86400.',
  },
];
