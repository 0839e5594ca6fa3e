import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import type { NightlyRetraining } from '../../lib/nightly-retraining';
import { TRAINING_CONTAINER_NAME, type TrainingTask } from '../../lib/training-task';
import { synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
type Policy = { Properties: { Roles: unknown[]; PolicyDocument: { Statement: Statement[] } } };
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
function render(r: unknown): string {
  if (typeof r === 'string') return r;
  const o = r as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) return (o['Fn::Join'] as [string, unknown[]])[1].map(render).join((o['Fn::Join'] as [string])[0]);
  if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (typeof o.Ref === 'string') return `<${o.Ref}>`;
  return JSON.stringify(r);
}
/** Actions that take no resource ARN in IAM, so `Resource: "*"` is the only option. */
const RESOURCELESS = /^(xray:|ecr:GetAuthorizationToken$|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/;

describe('the Fargate training task (lib/training-task.ts)', () => {
  it('creates nothing of the Fargate path unless fargateTrainingEnabled', () => {
    const { template, stack } = synthStack();
    for (const type of ['AWS::ECS::Cluster', 'AWS::ECS::TaskDefinition', 'AWS::EC2::VPC', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::SecurityGroup']) template.resourceCountIs(type, 0);
    const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
    const machine = template.toJSON().Resources[stack.getLogicalId(retraining.stateMachine.node.defaultChild as never)] as { Properties: { DefinitionSubstitutions: Record<string, unknown> } };
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).filter((k) => k.startsWith('Training'))).toEqual([]);
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => (p as Policy).Properties.PolicyDocument.Statement.flatMap((s) => list(s.Action)));
    expect(actions.filter((a) => /^(ecs|events):|^iam:PassRole$/.test(a))).toEqual([]);
  });

  describe('when enabled', () => {
    const { template, stack } = synthStack({ fargateTrainingEnabled: 'true', fargateTrainingCpu: 2048, fargateTrainingMemoryMiB: 8192, fargateMinInteractions: 1_000_000 });
    const task = stack.node.findChild('Training') as TrainingTask;
    const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
    const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
    const statementsOfRole = (roleId: string) =>
      Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } })).flatMap((p) => (p as Policy).Properties.PolicyDocument.Statement);
    const machineStatements = statementsOfRole(id(retraining.stateMachine.role));

    it('runs in private isolated subnets with no route out: S3 through a gateway endpoint, ECR and Logs through interface endpoints', () => {
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::Route', 0);
      template.resourceCountIs('AWS::EC2::Subnet', 2);
      template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
      const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) => (e as { Properties: { ServiceName: unknown; VpcEndpointType?: string } }).Properties);
      const services = endpoints.map((e) => render(e.ServiceName).replace(/^.*amazonaws\.|^com\.amazonaws\.<AWS::Region>\./, '').replace(/^eu-west-1\./, ''));
      expect(endpoints).toHaveLength(4);
      expect(services.some((s) => s.endsWith('s3'))).toBe(true);
      for (const name of ['ecr.api', 'ecr.dkr', 'logs']) expect(services.some((s) => s.endsWith(name)), name).toBe(true);
      // The interface endpoints accept HTTPS from the task's security group only.
      template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [id(task.securityGroup), 'GroupId'] } });
      const ingress = Object.values(template.findResources('AWS::EC2::SecurityGroup')).flatMap((g) => ((g as { Properties: { SecurityGroupIngress?: unknown[] } }).Properties.SecurityGroupIngress ?? []));
      expect(ingress).toEqual([]);
      template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC' });
    });

    it('defines an ARM64 Fargate task sized by configuration, logging to its own log group, in a cluster with Container Insights', () => {
      template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
      template.hasResourceProperties('AWS::ECS::TaskDefinition', {
        Cpu: '2048',
        Memory: '8192',
        RequiresCompatibilities: ['FARGATE'],
        NetworkMode: 'awsvpc',
        RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        ContainerDefinitions: [
          Match.objectLike({
            Name: TRAINING_CONTAINER_NAME,
            Essential: true,
            LogConfiguration: { LogDriver: 'awslogs', Options: Match.objectLike({ 'awslogs-group': { Ref: id(task.logGroup) } }) },
            // TrainModel's environment (lib/nightly-retraining.ts), in its order.
            Environment: Match.arrayWith([{ Name: 'LAKE_BUCKET', Value: { Ref: id(stack.lake.bucket) } }, { Name: 'FARGATE_TRAINING', Value: 'true' }, { Name: 'FARGATE_MIN_INTERACTIONS', Value: '1000000' }]),
          }),
        ],
      });
      template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    });

    it('gives the task exactly TrainModel’s part of the lake: read Silver and catalogue snapshots, write model files, delete nothing', () => {
      const statements = statementsOfRole(id(task.taskDefinition.taskRole));
      expect(statements.flatMap((s) => list(s.Action)).sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
      const bucket = `<${id(stack.lake.bucket)}.Arn>`;
      const on = (action: string) => statements.filter((s) => list(s.Action).includes(action)).flatMap((s) => list(s.Resource).map(render)).sort();
      expect(on('s3:GetObject')).toEqual([`${bucket}/catalog/snapshots/*`, `${bucket}/silver/*`]);
      expect(on('s3:PutObject')).toEqual([`${bucket}/models/v*/manifest.json`, `${bucket}/models/v*/model.bin`, `${bucket}/models/v*/training.json`]);
    });

    it('lets the state machine run this task definition in this cluster, pass only its two roles to ECS, and use only the Step Functions ECS rule', () => {
      const byAction = (action: string) => machineStatements.filter((s) => list(s.Action).includes(action));
      const [run] = byAction('ecs:RunTask');
      expect(list(run!.Resource)).toEqual([{ Ref: id(task.taskDefinition) }]);
      expect(run!.Condition).toEqual({ ArnEquals: { 'ecs:cluster': { 'Fn::GetAtt': [id(task.cluster), 'Arn'] } } });
      for (const action of ['ecs:StopTask', 'ecs:DescribeTasks']) {
        expect(byAction(action).flatMap((s) => list(s.Resource).map(render)), action).toEqual([`arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/<${id(task.cluster)}>/*`]);
      }
      const [pass] = byAction('iam:PassRole');
      expect(list(pass!.Resource).map(render).sort()).toEqual([`<${id(task.taskDefinition.obtainExecutionRole())}.Arn>`, `<${id(task.taskDefinition.taskRole)}.Arn>`].sort());
      expect(pass!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
      for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
        expect(byAction(action).flatMap((s) => list(s.Resource).map(render)), action).toEqual(['arn:<AWS::Partition>:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForECSTaskRule']);
      }
      expect(machineStatements.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('ecs:')).sort()).toEqual(['ecs:DescribeTasks', 'ecs:RunTask', 'ecs:StopTask']);
    });

    it('hands the cluster, task definition, container, security group and both subnets to the state machine', () => {
      const machine = template.toJSON().Resources[id(retraining.stateMachine)] as { Properties: { DefinitionSubstitutions: Record<string, unknown> } };
      const subnets = task.vpc.isolatedSubnets.map((s) => ({ Ref: id(s) }));
      expect(machine.Properties.DefinitionSubstitutions).toMatchObject({
        TrainingClusterArn: { 'Fn::GetAtt': [id(task.cluster), 'Arn'] },
        TrainingTaskDefinitionArn: { Ref: id(task.taskDefinition) },
        TrainingContainerName: TRAINING_CONTAINER_NAME,
        TrainingSecurityGroupId: { 'Fn::GetAtt': [id(task.securityGroup), 'GroupId'] },
        TrainingSubnet1: subnets[0],
        TrainingSubnet2: subnets[1],
      });
    });

    it('uses Resource "*" only for actions that take no resource, with the Fargate path on', () => {
      const offenders = Object.entries(template.findResources('AWS::IAM::Policy')).flatMap(([policy, p]) =>
        (p as Policy).Properties.PolicyDocument.Statement.filter((s) => list(s.Resource).includes('*') && !list(s.Action).every((a) => RESOURCELESS.test(a))).map((s) => `${policy}: ${list(s.Action).join(',')}`),
      );
      expect(offenders).toEqual([]);
    });
  });
});
