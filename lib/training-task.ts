import { Aws, IgnoreMode, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct, type IConstruct } from 'constructs';
import type { RecsysConfig } from './config';
import { acknowledge } from './nag';
import { PROJECT_ROOT } from './node-function';

/** The Dockerfile of the training image, relative to the project root (the build context). */
export const TRAINING_DOCKERFILE = 'docker/training.Dockerfile';
export const TRAINING_CONTAINER_NAME = 'training';
/**
 * What the image build never needs: left out of the asset hash and the build context, so a synth does not read
 * node_modules and an edit to a test does not rebuild the image.
 */
export const TRAINING_IMAGE_EXCLUDES = ['node_modules', '**/node_modules', 'cdk.out', '**/cdk.out', '.git', 'test', 'bench/out', '.local', '.aws-calls', 'coverage', '*.log'];
/** The managed rule through which Step Functions learns that a `.sync` task stopped (ecs-iam.html). */
const SFN_ECS_EVENTS_RULE = 'StepFunctionsGetEventsForECSTaskRule';

export interface TrainingTaskProps {
  config: RecsysConfig;
}

/**
 * Training past one Lambda: the same training code as TrainModel, as an ECS Fargate task that the state machine
 * starts with `ecs:runTask.sync` when the compact interactions outgrow a function (README "Scale"). ARM64 like the
 * functions (lib/node-function.ts). The task runs in private isolated subnets with no route out: it reaches S3 through
 * a gateway endpoint and ECR and CloudWatch Logs through interface endpoints, so no NAT gateway and no internet path.
 * Only created when `fargateTraining.enabled` (lib/recsys-stack.ts).
 */
export class TrainingTask extends Construct {
  readonly vpc: ec2.Vpc;
  readonly cluster: ecs.Cluster;
  readonly securityGroup: ec2.SecurityGroup;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: TrainingTaskProps) {
    super(scope, id);
    const { config } = props;
    const retention = config.logRetentionDays as logs.RetentionDays;

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.64.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'training', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      // Nothing is placed in the default security group; restricting it would add a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(this, 'FlowLogs', { retention })),
      trafficType: ec2.FlowLogTrafficType.REJECT,
    });
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    // HTTPS out only; with no internet route the endpoints are all it can reach.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: this.vpc, description: 'Nightly training task: HTTPS to the VPC endpoints only', allowAllOutbound: false });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the S3 gateway and the interface endpoints');
    // The interface endpoints accept HTTPS from the task only.
    const endpoints = new ec2.SecurityGroup(this, 'EndpointSecurityGroup', { vpc: this.vpc, description: 'VPC interface endpoints of the training task', allowAllOutbound: false });
    endpoints.addIngressRule(this.securityGroup, ec2.Port.tcp(443), 'HTTPS from the training task');
    // Image layers come from S3, the image manifest from ECR (api and dkr), the logs go to CloudWatch Logs.
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [subnets] });
    for (const [name, service] of [
      ['EcrApi', ec2.InterfaceVpcEndpointAwsService.ECR],
      ['EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
      ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
    ] as const) {
      this.vpc.addInterfaceEndpoint(name, { service, subnets, privateDnsEnabled: true, securityGroups: [endpoints], open: false });
    }

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: config.fargateTraining.cpu,
      memoryLimitMiB: config.fargateTraining.memoryMiB,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.ARM64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.container = this.taskDefinition.addContainer('Training', {
      containerName: TRAINING_CONTAINER_NAME,
      // Built by `cdk deploy` (Docker needed then); a synth only hashes the context, minus the excludes.
      image: ecs.ContainerImage.fromAsset(PROJECT_ROOT, {
        file: TRAINING_DOCKERFILE,
        exclude: TRAINING_IMAGE_EXCLUDES,
        ignoreMode: IgnoreMode.DOCKER,
        platform: Platform.LINUX_ARM64,
      }),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'training' }),
      essential: true,
      environment: { NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_SERVICE_NAME: 'retraining-train-model-task' },
    });
    acknowledge(this.taskDefinition, 'AwsSolutions-ECS2', 'The environment holds lake and table names and tuning numbers, no secrets (the task role grants access)');
    const executionRole = this.taskDefinition.obtainExecutionRole();
    acknowledge(executionRole, 'AwsSolutions-IAM5[Resource::*]', 'ecr:GetAuthorizationToken takes no resource: pulling the image needs Resource "*"');
  }

  /** The ASL's `${…}` placeholders of the Fargate path (statemachines/nightly-retraining.asl.json). */
  get substitutions(): Record<string, string> {
    const isolated = this.vpc.isolatedSubnets;
    return {
      TrainingClusterArn: this.cluster.clusterArn,
      TrainingTaskDefinitionArn: this.taskDefinition.taskDefinitionArn,
      TrainingContainerName: TRAINING_CONTAINER_NAME,
      TrainingSecurityGroupId: this.securityGroup.securityGroupId,
      // One placeholder per subnet: substitutions are strings, and the ASL lists them in NetworkConfiguration.
      ...Object.fromEntries(isolated.map((s, i) => [`TrainingSubnet${i + 1}`, s.subnetId])),
    };
  }

  /**
   * Lets `grantee` (the state machine) run this task with `ecs:runTask.sync` and nothing else: RunTask of this
   * task definition revision in this cluster, StopTask/DescribeTasks of tasks in this cluster (the task id is
   * only known once it runs), PassRole of the task's two roles to ECS only, and the managed EventBridge rule
   * through which Step Functions waits for the task (https://docs.aws.amazon.com/step-functions/latest/dg/ecs-iam.html).
   */
  grantRun(grantee: iam.IGrantable): void {
    const add = (statement: iam.PolicyStatement) => grantee.grantPrincipal.addToPrincipalPolicy(statement);
    const stack = Stack.of(this);
    add(new iam.PolicyStatement({
      actions: ['ecs:RunTask'],
      resources: [this.taskDefinition.taskDefinitionArn],
      conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
    }));
    const tasks = `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:task/${this.cluster.clusterName}/*`;
    add(new iam.PolicyStatement({ actions: ['ecs:StopTask', 'ecs:DescribeTasks'], resources: [tasks] }));
    add(new iam.PolicyStatement({
      actions: ['iam:PassRole'],
      resources: [this.taskDefinition.taskRole.roleArn, this.taskDefinition.obtainExecutionRole().roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
    }));
    add(new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SFN_ECS_EVENTS_RULE })],
    }));
    const scope: IConstruct | undefined = Construct.isConstruct(grantee) ? grantee : Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : undefined;
    if (scope) {
      const clusterRef = `<${stack.getLogicalId(this.cluster.node.defaultChild as ecs.CfnCluster)}>`;
      acknowledge(
        scope,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/${clusterRef}/*]`,
        'StopTask and DescribeTasks name a task id that exists only once RunTask started it: limited to tasks of the training cluster',
      );
    }
  }
}
