/**
 * What LocalStack's free ("community") edition runs of a CloudFormation template: the one place the
 * LocalStack readiness test (test/deploy/localstack.test.ts) and the README's "## LocalStack" section take it from.
 *
 * Checked 2026-12-02, from LocalStack's own sources (no Docker here, so nothing was deployed to check it):
 * - the community CloudFormation resource providers: every `TYPE = "..."` in
 *   `localstack-core/localstack/services/<service>/resource_providers/*.py` of github.com/localstack/localstack
 *   at tag v4.14.0 (commit 3d5a0c70e0fe2eb0864447c882454d33b406ba8a, 2026-02-26), the last tagged community
 *   release. The list is identical at the repository's last commit 8b9a79f05846835cf4dff63ab7eefdde9df83783
 *   (2026-03-23), after which the repository is archived (README: "Consolidation into the Unified LocalStack Image").
 * - the community services: `localstack-core/localstack/services/providers.py` at the same tag.
 * - what happens to a type without a provider: `engine/v2/change_set_model_executor.py`,
 *   `engine/v2/unsupported_resource.py`, `resource_provider.py` and `config.py`
 *   (`CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES`) at the same tag, and https://docs.localstack.cloud/aws/services/cloudformation/
 *   ("Upcoming Change in Handling Unsupported Resource Types").
 * - feature limits: https://docs.localstack.cloud/aws/services/scheduler/ ("Current Limitations", localstack/docs#1737).
 * - the image: LocalStack's notice that from 2026-03-23 `localstack/localstack:latest` is a single image that needs
 *   `LOCALSTACK_AUTH_TOKEN` (https://blog.localstack.cloud/the-road-ahead-for-localstack/, quoted on
 *   docs.localstack.cloud pages and in LocalStack's issues, e.g. testcontainers/testcontainers-python#985,
 *   localstack/localstack#13645).
 */

export const LOCALSTACK_COVERAGE_SOURCE = {
  repository: 'https://github.com/localstack/localstack',
  tag: 'v4.14.0',
  commit: '3d5a0c70e0fe2eb0864447c882454d33b406ba8a',
  lastCommit: '8b9a79f05846835cf4dff63ab7eefdde9df83783',
  resourceProviders: 'localstack-core/localstack/services/*/resource_providers/*.py (TYPE = "...")',
  services: 'localstack-core/localstack/services/providers.py',
  cloudformationDocs: 'https://docs.localstack.cloud/aws/services/cloudformation/',
  schedulerDocs: 'https://docs.localstack.cloud/aws/services/scheduler/',
  imageNotice: 'https://blog.localstack.cloud/the-road-ahead-for-localstack/',
  checked: '2026-12-02',
} as const;

/** CloudFormation resource types with a resource provider in the community edition (v4.14.0: 102 types). */
export const COMMUNITY_CFN_RESOURCE_TYPES: readonly string[] = [
  'AWS::ApiGateway::Account', 'AWS::ApiGateway::ApiKey', 'AWS::ApiGateway::BasePathMapping', 'AWS::ApiGateway::Deployment', 'AWS::ApiGateway::DomainName', 'AWS::ApiGateway::GatewayResponse', 'AWS::ApiGateway::Method', 'AWS::ApiGateway::Model', 'AWS::ApiGateway::RequestValidator', 'AWS::ApiGateway::Resource', 'AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Stage', 'AWS::ApiGateway::UsagePlan', 'AWS::ApiGateway::UsagePlanKey',
  'AWS::CDK::Metadata',
  'AWS::CertificateManager::Certificate',
  'AWS::CloudFormation::Macro', 'AWS::CloudFormation::Stack', 'AWS::CloudFormation::WaitCondition', 'AWS::CloudFormation::WaitConditionHandle',
  'AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm',
  'AWS::DynamoDB::GlobalTable', 'AWS::DynamoDB::Table',
  'AWS::EC2::DHCPOptions', 'AWS::EC2::Instance', 'AWS::EC2::InternetGateway', 'AWS::EC2::KeyPair', 'AWS::EC2::NatGateway', 'AWS::EC2::NetworkAcl', 'AWS::EC2::PrefixList', 'AWS::EC2::Route', 'AWS::EC2::RouteTable', 'AWS::EC2::SecurityGroup', 'AWS::EC2::Subnet', 'AWS::EC2::SubnetRouteTableAssociation', 'AWS::EC2::TransitGateway', 'AWS::EC2::TransitGatewayAttachment', 'AWS::EC2::VPC', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::VPCGatewayAttachment',
  'AWS::ECR::Repository',
  'AWS::Elasticsearch::Domain',
  'AWS::Events::ApiDestination', 'AWS::Events::Connection', 'AWS::Events::EventBus', 'AWS::Events::EventBusPolicy', 'AWS::Events::Rule',
  'AWS::IAM::AccessKey', 'AWS::IAM::Group', 'AWS::IAM::InstanceProfile', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy', 'AWS::IAM::Role', 'AWS::IAM::ServerCertificate', 'AWS::IAM::ServiceLinkedRole', 'AWS::IAM::User',
  'AWS::KMS::Alias', 'AWS::KMS::Key',
  'AWS::Kinesis::Stream', 'AWS::Kinesis::StreamConsumer',
  'AWS::KinesisFirehose::DeliveryStream',
  'AWS::Lambda::Alias', 'AWS::Lambda::CodeSigningConfig', 'AWS::Lambda::EventInvokeConfig', 'AWS::Lambda::EventSourceMapping', 'AWS::Lambda::Function', 'AWS::Lambda::LayerVersion', 'AWS::Lambda::LayerVersionPermission', 'AWS::Lambda::Permission', 'AWS::Lambda::Url', 'AWS::Lambda::Version',
  'AWS::Logs::LogGroup', 'AWS::Logs::LogStream', 'AWS::Logs::SubscriptionFilter',
  'AWS::OpenSearchService::Domain',
  'AWS::Redshift::Cluster',
  'AWS::ResourceGroups::Group',
  'AWS::Route53::HealthCheck', 'AWS::Route53::RecordSet',
  'AWS::S3::Bucket', 'AWS::S3::BucketPolicy',
  'AWS::SES::EmailIdentity',
  'AWS::SNS::Subscription', 'AWS::SNS::Topic', 'AWS::SNS::TopicPolicy',
  'AWS::SQS::Queue', 'AWS::SQS::QueueInlinePolicy', 'AWS::SQS::QueuePolicy',
  'AWS::SSM::MaintenanceWindow', 'AWS::SSM::MaintenanceWindowTarget', 'AWS::SSM::MaintenanceWindowTask', 'AWS::SSM::Parameter', 'AWS::SSM::PatchBaseline',
  'AWS::Scheduler::Schedule', 'AWS::Scheduler::ScheduleGroup',
  'AWS::SecretsManager::ResourcePolicy', 'AWS::SecretsManager::RotationSchedule', 'AWS::SecretsManager::Secret', 'AWS::SecretsManager::SecretTargetAttachment',
  'AWS::StepFunctions::Activity', 'AWS::StepFunctions::StateMachine',
];

/**
 * Services the community edition serves (`@aws_provider` functions of providers.py at v4.14.0). Not in it, e.g.:
 * apigatewayv2 (HTTP/WebSocket APIs), pipes, ecs, athena, glue, cognito, cloudfront: paid plans only.
 */
export const COMMUNITY_SERVICES: readonly string[] = [
  'acm', 'apigateway', 'cloudformation', 'cloudwatch', 'config', 'dynamodb', 'dynamodbstreams', 'ec2', 'es', 'events',
  'firehose', 'iam', 'kinesis', 'kms', 'lambda', 'logs', 'opensearch', 'redshift', 'resource-groups',
  'resourcegroupstaggingapi', 'route53', 'route53resolver', 's3', 's3control', 'scheduler', 'secretsmanager', 'ses',
  'sns', 'sqs', 'ssm', 'stepfunctions', 'sts', 'support', 'swf', 'transcribe',
];

/** What LocalStack does with a resource of a type it has no provider for. */
export type Consequence =
  /** Ignored: CREATE succeeds with an empty resource and a warning (the default, CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES unset). */
  | 'skipped'
  /** The resource is created, but the feature is mocked (it is stored, not run). */
  | 'mocked'
  /** The resource is created and works, but a security check AWS makes is not made. */
  | 'not-enforced';

export interface CommunityGap {
  /** CloudFormation type, or a pattern such as `Custom::*`. */
  type: string;
  consequence: Consequence;
  /** What then happens to this stack, in LocalStack's community edition. */
  effect: string;
  /** Where LocalStack says so. */
  source: string;
}

/**
 * The stack's resource types (or features) that the community edition does not run, and what then happens.
 * Every entry must be used by some synthesised variant (the readiness test checks it), so the list stays true.
 */
export const COMMUNITY_GAPS: readonly CommunityGap[] = [
  {
    type: 'AWS::CloudWatch::Dashboard',
    consequence: 'skipped',
    effect:
      'No community resource provider. With the default CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES the deploy succeeds, the dashboard is not created ' +
      '(log: "Resource type AWS::CloudWatch::Dashboard is not supported but was deployed as a fallback") and LocalStack warns this will fail in upcoming releases; ' +
      'with CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0 the change set fails ("Unsupported resources detected: ..."). The DashboardName output is a literal name, not a real dashboard.',
    source: 'engine/v2/change_set_model_executor.py + engine/v2/change_set_resource_support_checker.py @ v4.14.0; no AWS::CloudWatch::Dashboard among the resource providers',
  },
  {
    type: 'Custom::*',
    consequence: 'skipped',
    effect:
      'Custom resources (here Custom::S3AutoDeleteObjects, added by -c destroyOnRemoval=true, which deploy:localstack passes) map to AWS::CloudFormation::CustomResource, ' +
      'which has no community provider ("overwritten in PRO to add support for custom resources"): skipped like the dashboard, its provider Lambda is created but never invoked. ' +
      'Destroy still empties the buckets: the community AWS::S3::Bucket provider deletes all objects before DeleteBucket.',
    source: 'services/cloudformation/resource_provider.py (get_resource_type, try_load_resource_provider) and services/s3/resource_providers/aws_s3_bucket.py (delete) @ v4.14.0',
  },
  {
    type: 'AWS::Scheduler::Schedule',
    consequence: 'mocked',
    effect:
      'Created (moto-backed CRUD), but "EventBridge Scheduler in LocalStack only provides mocked functionality. It does not emulate actual features such as schedule execution or target triggering": ' +
      'the nightly retraining never starts by itself; start it by hand (awslocal stepfunctions start-execution).',
    source: 'https://docs.localstack.cloud/aws/services/scheduler/ (Current Limitations); services/scheduler/provider.py @ v4.14.0',
  },
  {
    type: 'AWS::ApiGateway::Method',
    consequence: 'not-enforced',
    effect:
      'AuthorizationType AWS_IAM on POST /admin/reload is not checked by the gateway: the community code has no IAM enforcement (ENFORCE_IAM is read nowhere but in runtime/analytics.py) ' +
      'and its API Gateway does not evaluate AWS_IAM. The read function still refuses unsigned callers ' +
      '(no SigV4 identity in requestContext), which test/deployed checks either way.',
    source: 'git grep ENFORCE_IAM / AWS_IAM in localstack-core @ v4.14.0 (no enforcement code in community); test/deployed/pipeline.deployed.test.ts',
  },
  ...(['AWS::Athena::WorkGroup', 'AWS::Glue::Database', 'AWS::Glue::Table'] as const).map((type): CommunityGap => ({
    type,
    consequence: 'skipped',
    effect:
      'Athena and Glue are not community services (not in providers.py; paid plans only) and have no community resource provider: with the default ' +
      'CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES the deploy skips the lake catalog (Glue database and tables) and the Athena workgroup as it skips the dashboard, ' +
      'so the Athena engine cannot run on LocalStack community. The state machine still deploys (it names the workgroup and database by literal name, no Ref ' +
      'to a skipped resource), but its ValidateQuery/SilverQuery/feature-query tasks would fail: deploy with -c retrainingEngine=lambda (RETRAINING_ENGINE=lambda), ' +
      'or keep the default auto, which stays on the Lambda engine while a window holds at most ATHENA_MIN_BRONZE_BYTES (256 MiB) of Bronze.',
    source:
      'services/providers.py @ v4.14.0 (no athena or glue provider) and no AWS::Athena::* / AWS::Glue::* among the community resource providers; ' +
      'https://docs.localstack.cloud/aws/services/athena/ and https://docs.localstack.cloud/aws/services/glue/ (paid-plan services)',
  })),
];

/**
 * Types the stack must not start using, because the community edition does not serve their service at all
 * (a paid plan is needed). Kept as data so the readiness test can show it reports them.
 */
export const PAID_ONLY_EXAMPLES: readonly string[] = ['AWS::ApiGatewayV2::Api', 'AWS::ApiGatewayV2::Stage', 'AWS::Pipes::Pipe', 'AWS::ECS::Cluster', 'AWS::Cognito::UserPool'];

/** The type LocalStack resolves a template type to (all `Custom::` types are custom resources). */
export function localStackType(type: string): string {
  return type.startsWith('Custom::') ? 'AWS::CloudFormation::CustomResource' : type;
}

/** The documented gap for a type, if any. */
export function communityGap(type: string): CommunityGap | undefined {
  return COMMUNITY_GAPS.find((g) => g.type === type || (g.type.endsWith('::*') && type.startsWith(g.type.slice(0, -1))));
}

/**
 * LocalStack's free image line: 4.x releases start without an auth token; from 2026-03-23 the unified image
 * (`latest`, calendar versions such as 2026.3.0) needs LOCALSTACK_AUTH_TOKEN. Pinning 4.x keeps the free path.
 */
export const COMMUNITY_IMAGE = { repository: 'localstack/localstack', major: 4, lastCommunityTag: '4.14.0' } as const;
