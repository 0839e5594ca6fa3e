import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import type { NightlyRetraining } from '../../lib/nightly-retraining';
import { TRAINING_CONTAINER_NAME, type TrainingTask } from '../../lib/training-task';
import { synthStack } from '../support/synth';
import { TRAIN_TASK_OUTCOMES } from '../../lib/nightly-retraining';
import { TRAIN_TASKS_PREFIX } from '../../src/retraining/train-task';
import { ResolvedTemplate, type CfnTemplate } from '../support/cfn-template';
import { deployedDefinition } from '../support/state-machine-template';

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
/**
 * Every policy document of the template: the roles' inline policies and, once a role's inline policy outgrows IAM's
 * size limit, the overflow managed policies CDK attaches to it (the state machine role's does with the Fargate path on).
 */
const policies = (template: { findResources: (type: string, props?: unknown) => Record<string, unknown> }, props?: unknown): Policy[] =>
  [...Object.values(template.findResources('AWS::IAM::Policy', props)), ...Object.values(template.findResources('AWS::IAM::ManagedPolicy', props))] as Policy[];
const RESOURCELESS = /^(xray:|ecr:GetAuthorizationToken$|logs:(CreateLogDelivery|GetLogDelivery|UpdateLogDelivery|DeleteLogDelivery|ListLogDeliveries|PutResourcePolicy|DescribeResourcePolicies|DescribeLogGroups))/;

describe('the Fargate training task (lib/training-task.ts)', () => {
  it('creates nothing of the Fargate path unless fargateTrainingEnabled', () => {
    const { template, stack } = synthStack();
    for (const type of ['AWS::ECS::Cluster', 'AWS::ECS::TaskDefinition', 'AWS::EC2::VPC', 'AWS::EC2::VPCEndpoint', 'AWS::EC2::SecurityGroup']) template.resourceCountIs(type, 0);
    const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
    const machine = template.toJSON().Resources[stack.getLogicalId(retraining.stateMachine.node.defaultChild as never)] as { Properties: { DefinitionSubstitutions: Record<string, unknown> } };
    // The one ASL file still names TrainTask's placeholders: they get values that name nothing, and no grant.
    const training = Object.fromEntries(Object.entries(machine.Properties.DefinitionSubstitutions).filter(([k]) => k.startsWith('Training')));
    expect(Object.keys(training).sort()).toEqual(['TrainingClusterArn', 'TrainingContainerName', 'TrainingSecurityGroupId', 'TrainingSubnet1', 'TrainingSubnet2', 'TrainingTaskDefinitionArn']);
    expect(render(training.TrainingClusterArn)).toMatch(/:ecs:eu-west-1:123456789012:cluster\/fargate-training-not-deployed$/);
    expect(render(training.TrainingTaskDefinitionArn)).toMatch(/:ecs:eu-west-1:123456789012:task-definition\/fargate-training-not-deployed:1$/);
    const actions = policies(template).flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s) => list(s.Action)));
    expect(actions.filter((a) => /^(ecs|events):|^iam:PassRole$/.test(a))).toEqual([]);
  });

  describe('when enabled', () => {
    const { app, template, stack } = synthStack({ fargateTrainingEnabled: 'true', fargateTrainingCpu: 2048, fargateTrainingMemoryMiB: 8192, fargateMinInteractions: 1_000_000 });
    const task = stack.node.findChild('Training') as TrainingTask;
    const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
    const id = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
    const statementsOfRole = (roleId: string) =>
      policies(template, { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } }).flatMap((p) => p.Properties.PolicyDocument.Statement);
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

    it('gives the task TrainModel’s part of the lake (read Silver and catalogue snapshots, write model files) and its outcome object', () => {
      const statements = statementsOfRole(id(task.taskDefinition.taskRole));
      expect(statements.flatMap((s) => list(s.Action)).sort()).toEqual(['s3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
      const bucket = `<${id(stack.lake.bucket)}.Arn>`;
      const on = (action: string) => statements.filter((s) => list(s.Action).includes(action)).flatMap((s) => list(s.Resource).map(render)).sort();
      expect(on('s3:GetObject')).toEqual([`${bucket}/catalog/snapshots/*`, `${bucket}/silver/*`]);
      // models/_tasks/<runId>/train-result.json: the task deletes an earlier attempt's outcome, then writes its own.
      expect(`${TRAIN_TASKS_PREFIX}*`).toBe(TRAIN_TASK_OUTCOMES);
      expect(on('s3:PutObject')).toEqual([`${bucket}/${TRAIN_TASK_OUTCOMES}`, `${bucket}/models/v*/manifest.json`, `${bucket}/models/v*/model.bin`, `${bucket}/models/v*/training.json`]);
      expect(on('s3:DeleteObject')).toEqual([`${bucket}/${TRAIN_TASK_OUTCOMES}`]);
    });

    it('gives TrainTaskResult read access to the task outcomes only', () => {
      const fn = retraining.functions.TrainTaskResult;
      const statements = statementsOfRole(id(fn.role!)).filter((s) => list(s.Action).some((a) => a.startsWith('s3:')));
      const bucket = `<${id(stack.lake.bucket)}.Arn>`;
      expect(statements.flatMap((s) => list(s.Action)).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
      expect(statements.filter((s) => list(s.Action).includes('s3:GetObject')).flatMap((s) => list(s.Resource).map(render))).toEqual([`${bucket}/${TRAIN_TASK_OUTCOMES}`]);
    });

    it('synthesises TrainTask with the real cluster, task definition, container, security group and subnets', () => {
      const t = new ResolvedTemplate(template.toJSON() as CfnTemplate);
      const { definition } = deployedDefinition(t, app.synth().directory, id(retraining.stateMachine));
      const physical = (c: { node: { defaultChild?: unknown } }) => t.physical[id(c)]!;
      const params = definition.States.TrainTask!.Parameters as Record<string, unknown>;
      expect(params).toMatchObject({
        LaunchType: 'FARGATE',
        Cluster: t.resolve({ 'Fn::GetAtt': [id(task.cluster), 'Arn'] }),
        TaskDefinition: physical(task.taskDefinition).ref,
        NetworkConfiguration: { AwsvpcConfiguration: { Subnets: task.vpc.isolatedSubnets.map((s) => physical(s).ref), SecurityGroups: [t.resolve({ 'Fn::GetAtt': [id(task.securityGroup), 'GroupId'] })], AssignPublicIp: 'DISABLED' } },
        Overrides: { ContainerOverrides: [{ Name: TRAINING_CONTAINER_NAME }] },
      });
      expect(JSON.stringify(params)).not.toMatch(/not-deployed|\$\{/);
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
      const offenders = [...Object.entries(template.findResources('AWS::IAM::Policy')), ...Object.entries(template.findResources('AWS::IAM::ManagedPolicy'))].flatMap(([policy, p]) =>
        (p as Policy).Properties.PolicyDocument.Statement.filter((s) => list(s.Resource).includes('*') && !list(s.Action).every((a) => RESOURCELESS.test(a))).map((s) => `${policy}: ${list(s.Action).join(',')}`),
      );
      expect(offenders).toEqual([]);
    });
  });
});
