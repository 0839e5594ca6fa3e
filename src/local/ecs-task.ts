/**
 * The local stand-in for the state machine's `arn:aws:states:::ecs:runTask.sync` Task (TrainTask): aws-local-stepfunctions
 * cannot run ECS, and there is no Docker here, so the container's entry point (`runTrainTask`, what
 * docker/training.Dockerfile runs) runs in-process with the task's environment: this process's environment playing
 * the task definition's (CDK gives the task TrainModel's environment), the Task's `Overrides` Environment merged over
 * it. The Task gets what Step Functions hands on (https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html):
 * `.sync` returns once the task is STOPPED, with DescribeTasks' task in PascalCase
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html). An essential container that exits
 * non-zero fails the state with `States.TaskFailed` and that task, as JSON, for Cause — what AWS's own sample parses
 * the exit code from (https://github.com/aws-samples/retryable-ecs-run-task-step-functions,
 * lambda/error_handler/index.py).
 *
 * Refused rather than emulated differently (a `LocalEcs.NotEmulated` error): any parameter but LaunchType FARGATE,
 * Cluster, TaskDefinition, an awsvpc NetworkConfiguration and container Environment overrides; another cluster, task
 * definition or container than the one given; overrides past RunTask's 8,192 characters. Not emulated at all: image
 * pull, task start-up and placement (no ResourceInitializationError, CannotPullContainerError, capacity Failures),
 * the task's CPU and memory limits (no OutOfMemoryError: the training runs in this process's heap), StopTask on a
 * timeout.
 */

export const ECS_RUN_TASK_SYNC = 'arn:aws:states:::ecs:runTask.sync';

/** The one task the stand-in runs: the ASL's `${Training…}` placeholders, filled in as the local runner fills them. */
export interface LocalEcsTarget {
  clusterArn: string;
  taskDefinitionArn: string;
  containerName: string;
}

/** The container's entry point with its environment; resolves to its exit code (src/retraining/train-task.ts runTrainTask). */
export type ContainerEntryPoint = (env: Record<string, string | undefined>) => Promise<number>;

export interface EcsTaskDescription {
  Attachments: never[];
  ClusterArn: string;
  TaskArn: string;
  TaskDefinitionArn: string;
  LaunchType: 'FARGATE';
  StartedBy: 'AWS Step Functions';
  Group: string;
  LastStatus: 'STOPPED';
  DesiredStatus: 'STOPPED';
  StopCode: 'EssentialContainerExited';
  StoppedReason: 'Essential container in task exited';
  CreatedAt: number;
  StartedAt: number;
  StoppingAt: number;
  StoppedAt: number;
  ExecutionStoppedAt: number;
  Containers: { Name: string; TaskArn: string; LastStatus: 'STOPPED'; ExitCode: number; Reason?: string }[];
  Overrides: { ContainerOverrides: { Name: string; Environment: { Name: string; Value: string }[] }[] };
}

/** The state's failure when the essential container exited non-zero: `States.TaskFailed`, Cause = the task as JSON. */
export class EcsTaskFailedError extends Error {
  constructor(readonly task: EcsTaskDescription) {
    super(JSON.stringify(task));
    this.name = 'States.TaskFailed';
  }
}

/** A request the stand-in does not emulate. */
export class EcsNotEmulatedError extends Error {
  constructor(message: string) {
    super(`ecs:runTask.sync (local): ${message}`);
    this.name = 'LocalEcs.NotEmulated';
  }
}

/** RunTask's limit on `overrides`, JSON formatting included (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html). */
export const MAX_OVERRIDES_CHARS = 8192;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' && s.length > 0);

function onlyKeys(where: string, value: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(value).filter((k) => !allowed.includes(k));
  if (extra.length) throw new EcsNotEmulatedError(`${where}: ${extra.join(', ')} not emulated (only ${allowed.join(', ')})`);
}

/** The environment the Task's overrides give its one container; refuses anything else. */
export function overrideEnvironment(params: unknown, target: LocalEcsTarget | undefined): Record<string, string> {
  if (!isObject(params)) throw new EcsNotEmulatedError('Parameters must be an object');
  onlyKeys('Parameters', params, ['LaunchType', 'Cluster', 'TaskDefinition', 'NetworkConfiguration', 'Overrides']);
  if (params.LaunchType !== 'FARGATE') throw new EcsNotEmulatedError(`LaunchType ${JSON.stringify(params.LaunchType)}: only FARGATE`);
  for (const [field, expected] of [['Cluster', target?.clusterArn], ['TaskDefinition', target?.taskDefinitionArn]] as const) {
    const value = params[field];
    if (typeof value !== 'string' || value.length === 0) throw new EcsNotEmulatedError(`${field} must be a string`);
    if (expected !== undefined && value !== expected) throw new EcsNotEmulatedError(`${field} ${value} is not the training task's ${expected}`);
  }
  const network = params.NetworkConfiguration;
  // A Fargate task needs awsvpc networking: RunTask refuses it without.
  if (!isObject(network) || !isObject(network.AwsvpcConfiguration)) throw new EcsNotEmulatedError('NetworkConfiguration.AwsvpcConfiguration is required (Fargate tasks use awsvpc)');
  onlyKeys('NetworkConfiguration', network, ['AwsvpcConfiguration']);
  const vpc = network.AwsvpcConfiguration;
  onlyKeys('AwsvpcConfiguration', vpc, ['Subnets', 'SecurityGroups', 'AssignPublicIp']);
  if (!isStringList(vpc.Subnets)) throw new EcsNotEmulatedError('AwsvpcConfiguration.Subnets must list subnet ids');
  if (vpc.SecurityGroups !== undefined && !isStringList(vpc.SecurityGroups)) throw new EcsNotEmulatedError('AwsvpcConfiguration.SecurityGroups must list security group ids');
  if (vpc.AssignPublicIp !== undefined && vpc.AssignPublicIp !== 'ENABLED' && vpc.AssignPublicIp !== 'DISABLED') throw new EcsNotEmulatedError(`AssignPublicIp ${JSON.stringify(vpc.AssignPublicIp)}`);

  const env: Record<string, string> = {};
  if (params.Overrides === undefined) return env;
  if (!isObject(params.Overrides)) throw new EcsNotEmulatedError('Overrides must be an object');
  if (JSON.stringify(params.Overrides).length > MAX_OVERRIDES_CHARS) throw new EcsNotEmulatedError(`Overrides hold ${JSON.stringify(params.Overrides).length} characters, past RunTask's ${MAX_OVERRIDES_CHARS}`);
  onlyKeys('Overrides', params.Overrides, ['ContainerOverrides']);
  const containers = params.Overrides.ContainerOverrides ?? [];
  if (!Array.isArray(containers)) throw new EcsNotEmulatedError('ContainerOverrides must be a list');
  if (containers.length > 1) throw new EcsNotEmulatedError('one container override only (the task has one container)');
  for (const c of containers) {
    if (!isObject(c)) throw new EcsNotEmulatedError('a ContainerOverride must be an object');
    onlyKeys('ContainerOverride', c, ['Name', 'Environment']);
    if (typeof c.Name !== 'string' || (target !== undefined && c.Name !== target.containerName)) throw new EcsNotEmulatedError(`ContainerOverride Name ${JSON.stringify(c.Name)} is not the task's container${target ? ` ${target.containerName}` : ''}`);
    if (!Array.isArray(c.Environment)) throw new EcsNotEmulatedError('ContainerOverride Environment must be a list');
    for (const e of c.Environment as unknown[]) {
      if (!isObject(e) || typeof e.Name !== 'string' || typeof e.Value !== 'string') throw new EcsNotEmulatedError('each Environment entry needs a string Name and Value');
      onlyKeys('Environment entry', e, ['Name', 'Value']);
      env[e.Name] = e.Value;
    }
  }
  return env;
}

let tasks = 0;

/**
 * A local handler for `ecs:runTask.sync` Tasks: runs `entryPoint` with `baseEnv` and the overrides' Environment over
 * it, returns the stopped task (exit 0) or fails the state as AWS does (non-zero exit). `target` undefined accepts the
 * cluster, task definition and container a deployed definition names.
 */
export function localEcsRunTask(target: LocalEcsTarget | undefined, entryPoint: ContainerEntryPoint, baseEnv: () => Record<string, string | undefined> = () => process.env): (params: unknown) => Promise<EcsTaskDescription> {
  return async (params) => {
    const overrides = overrideEnvironment(params, target);
    const p = params as { Cluster: string; TaskDefinition: string; Overrides?: EcsTaskDescription['Overrides'] };
    const containerName = target?.containerName ?? p.Overrides?.ContainerOverrides[0]?.Name ?? 'training';
    const taskArn = `${p.Cluster.replace(':cluster/', ':task/')}/local${process.pid}x${++tasks}`;
    const createdAt = Date.now();
    let exitCode: number;
    let reason: string | undefined;
    try {
      exitCode = await entryPoint({ ...baseEnv(), ...overrides });
    } catch (err) {
      // An entry point that throws is a process that dies: exit 1, the error as the container's reason.
      exitCode = 1;
      reason = `local entry point threw: ${(err as Error).message}`.slice(0, 255);
    }
    const stoppedAt = Date.now();
    const task: EcsTaskDescription = {
      Attachments: [],
      ClusterArn: p.Cluster,
      TaskArn: taskArn,
      TaskDefinitionArn: p.TaskDefinition,
      LaunchType: 'FARGATE',
      StartedBy: 'AWS Step Functions',
      Group: `family:${p.TaskDefinition.replace(/^.*:task-definition\//, '').replace(/:\d+$/, '')}`,
      LastStatus: 'STOPPED',
      DesiredStatus: 'STOPPED',
      StopCode: 'EssentialContainerExited',
      StoppedReason: 'Essential container in task exited',
      CreatedAt: createdAt,
      StartedAt: createdAt,
      StoppingAt: stoppedAt,
      StoppedAt: stoppedAt,
      ExecutionStoppedAt: stoppedAt,
      Containers: [{ Name: containerName, TaskArn: taskArn, LastStatus: 'STOPPED', ExitCode: exitCode, ...(reason ? { Reason: reason } : {}) }],
      Overrides: { ContainerOverrides: p.Overrides?.ContainerOverrides ?? [] },
    };
    if (exitCode !== 0) throw new EcsTaskFailedError(task);
    return task;
  };
}
