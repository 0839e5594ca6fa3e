import { describe, expect, it } from 'vitest';
import { EcsNotEmulatedError, EcsTaskFailedError, localEcsRunTask, MAX_OVERRIDES_CHARS, type LocalEcsTarget } from '../../src/local/ecs-task';

const target: LocalEcsTarget = {
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/training',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/training:3',
  containerName: 'training',
};
/** Parameters as the ASL's TrainTask resolves them. */
const params = (over: Record<string, unknown> = {}) => ({
  LaunchType: 'FARGATE',
  Cluster: target.clusterArn,
  TaskDefinition: target.taskDefinitionArn,
  NetworkConfiguration: { AwsvpcConfiguration: { Subnets: ['subnet-1', 'subnet-2'], SecurityGroups: ['sg-1'], AssignPublicIp: 'DISABLED' } },
  Overrides: { ContainerOverrides: [{ Name: 'training', Environment: [{ Name: 'TRAIN_REQUEST', Value: '{"runId":"r1"}' }, { Name: 'SHARED', Value: 'from-override' }] }] },
  ...over,
});

describe('the local ecs:runTask.sync stand-in (src/local/ecs-task.ts)', () => {
  it('runs the entry point once with the overrides over the base environment and returns the stopped task', async () => {
    const seen: Record<string, string | undefined>[] = [];
    const run = localEcsRunTask(target, async (env) => (seen.push(env), 0), () => ({ LAKE_BUCKET: 'lake', SHARED: 'from-task-definition' }));
    const task = await run(params());
    expect(seen).toEqual([{ LAKE_BUCKET: 'lake', SHARED: 'from-override', TRAIN_REQUEST: '{"runId":"r1"}' }]);
    expect(task).toMatchObject({
      ClusterArn: target.clusterArn,
      TaskArn: expect.stringMatching(/^arn:aws:ecs:eu-west-1:123456789012:task\/training\/\w+$/),
      TaskDefinitionArn: target.taskDefinitionArn,
      LaunchType: 'FARGATE',
      LastStatus: 'STOPPED',
      StopCode: 'EssentialContainerExited',
      Containers: [{ Name: 'training', ExitCode: 0, LastStatus: 'STOPPED' }],
    });
    expect(task.StoppedAt).toBeGreaterThanOrEqual(task.CreatedAt);
  });

  it('fails the state as AWS does when the container exits non-zero: States.TaskFailed, the stopped task as the Cause', async () => {
    const run = localEcsRunTask(target, async () => 2, () => ({}));
    const err = await run(params()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcsTaskFailedError);
    expect((err as Error).name).toBe('States.TaskFailed');
    expect(JSON.parse((err as Error).message)).toMatchObject({ LastStatus: 'STOPPED', StopCode: 'EssentialContainerExited', Containers: [{ Name: 'training', ExitCode: 2 }] });
    // An entry point that throws is a process that died: exit 1, with the reason.
    const died = await localEcsRunTask(target, async () => Promise.reject(new Error('heap')), () => ({}))(params()).catch((e: unknown) => e);
    expect(JSON.parse((died as Error).message).Containers[0]).toMatchObject({ ExitCode: 1, Reason: expect.stringContaining('heap') });
  });

  it('refuses what it does not emulate, running nothing', async () => {
    let runs = 0;
    const run = localEcsRunTask(target, async () => (runs++, 0), () => ({}));
    const refusals: [string, unknown][] = [
      ['EC2', params({ LaunchType: 'EC2' })],
      ['Count', params({ Count: 2 })],
      ['another cluster', params({ Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/other' })],
      ['another task definition', params({ TaskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1' })],
      ['no network', params({ NetworkConfiguration: undefined })],
      ['no subnets', params({ NetworkConfiguration: { AwsvpcConfiguration: { Subnets: [] } } })],
      ['a command override', params({ Overrides: { ContainerOverrides: [{ Name: 'training', Command: ['sh'] }] } })],
      ['a task role override', params({ Overrides: { TaskRoleArn: 'arn:aws:iam::123456789012:role/x', ContainerOverrides: [] } })],
      ['another container', params({ Overrides: { ContainerOverrides: [{ Name: 'sidecar', Environment: [] }] } })],
      ['a non-string value', params({ Overrides: { ContainerOverrides: [{ Name: 'training', Environment: [{ Name: 'N', Value: 1 }] }] } })],
      ['overrides past 8,192 characters', params({ Overrides: { ContainerOverrides: [{ Name: 'training', Environment: [{ Name: 'TRAIN_REQUEST', Value: 'x'.repeat(MAX_OVERRIDES_CHARS) }] }] } })],
    ];
    for (const [what, p] of refusals) await expect(run(p), what).rejects.toBeInstanceOf(EcsNotEmulatedError);
    expect(runs).toBe(0);
  });

  it('accepts the cluster and task definition a deployed definition names when given no target', async () => {
    const run = localEcsRunTask(undefined, async () => 0, () => ({}));
    const task = await run(params({ Cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/Recsys-TrainingCluster1', TaskDefinition: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/RecsysTraining:7' }));
    expect(task.TaskArn).toMatch(/:task\/Recsys-TrainingCluster1\//);
    expect(task.Containers[0]!.Name).toBe('training');
  });
});
