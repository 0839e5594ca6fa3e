import { readFileSync } from 'node:fs';
import { localLambdaContext } from './lambda-context';
import { fileURLToPath } from 'node:url';
import type { Context } from 'aws-lambda';
import { RETRAINING_FUNCTIONS, type RetrainingFunction } from '../retraining/functions';
import type { StepHandler } from '../retraining/lambda-step';
import { retrainingDeps } from '../retraining/deps';
import { DuckDbLakeEngine } from '../adapters/duckdb-lake-engine';
import { localAthenaTask } from './athena-task';
import { emulateDistributedMaps, emulatedStartAt, ITEM_READER_RESOURCE } from './distributed-map';
import { ECS_RUN_TASK_SYNC, localEcsRunTask, type LocalEcsTarget } from './ecs-task';
import { runTrainTask } from '../retraining/train-task';

/** The Resource of the state machine's Athena tasks (run on DuckDB locally). */
export const ATHENA_SYNC = 'arn:aws:states:::athena:startQueryExecution.sync';

/** The state machine definition, the same file CDK deploys. */
export const RETRAINING_ASL_PATH = fileURLToPath(new URL('../../statemachines/nightly-retraining.asl.json', import.meta.url));

export { RETRAINING_FUNCTIONS, type RetrainingFunction };

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface AslState {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string; [key: string]: Json | undefined };
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { Next: string; ErrorEquals: string[] }[];
  Retry?: { ErrorEquals: string[] }[];
  [key: string]: unknown;
}
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  [key: string]: unknown;
}

/**
 * The training task the local runner's `ecs:runTask.sync` stand-in runs (src/local/ecs-task.ts): what the ASL's
 * `${Training…}` placeholders are filled with locally.
 */
export const LOCAL_TRAINING_TASK: LocalEcsTarget = {
  clusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/recsys-local-training',
  taskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/recsys-local-training:1',
  containerName: 'training',
};
const LOCAL_TRAINING_SUBSTITUTIONS: Record<string, string> = {
  TrainingClusterArn: LOCAL_TRAINING_TASK.clusterArn,
  TrainingTaskDefinitionArn: LOCAL_TRAINING_TASK.taskDefinitionArn,
  TrainingContainerName: LOCAL_TRAINING_TASK.containerName,
  TrainingSecurityGroupId: 'sg-0000000000000local',
  TrainingSubnet1: 'subnet-000000000000local1',
  TrainingSubnet2: 'subnet-000000000000local2',
};

export function readRetrainingDefinition(): AslDefinition {
  return JSON.parse(readFileSync(RETRAINING_ASL_PATH, 'utf8')) as AslDefinition;
}

/** Fills `${Name}` placeholders, as CloudFormation does with the state machine's definition substitutions. */
export function substitute(definition: AslDefinition, values: Record<string, string>): AslDefinition {
  const text = JSON.stringify(definition).replace(/\$\{([A-Za-z0-9]+)\}/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no substitution for ${match}`);
    return value;
  });
  return JSON.parse(text) as AslDefinition;
}

/** The function a `lambda:invoke` Task calls, from its `${<Name>FunctionArn}` placeholder. */
export function functionOfState(state: AslState): RetrainingFunction | undefined {
  const m = /^\$\{([A-Za-z]+)FunctionArn\}$/.exec(String(state.Parameters?.FunctionName ?? ''));
  return m && m[1]! in RETRAINING_FUNCTIONS ? (m[1] as RetrainingFunction) : undefined;
}

async function loadHandlers(): Promise<Record<RetrainingFunction, StepHandler>> {
  const entries = await Promise.all(
    (Object.entries(RETRAINING_FUNCTIONS) as [RetrainingFunction, string][]).map(async ([name, file]) => {
      const mod = (await import(`../../lambdas/retraining/${file}.ts`)) as { handler: StepHandler };
      return [name, mod.handler] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<RetrainingFunction, StepHandler>;
}

function localContext(functionName: string): Context {
  return localLambdaContext(functionName, { timeoutMs: 900_000, memoryLimitInMB: 3008 });
}

/** What a local run reports as it goes (the CLI prints these). */
export type RunEvent =
  | { type: 'entered'; state: string; at: number }
  | { type: 'exited'; state: string; at: number; output: unknown }
  | { type: 'failed'; state: string; at: number; error: string; cause: string }
  | { type: 'retried'; state: string; at: number; attempt: number }
  | { type: 'caught'; state: string; at: number };

export interface LocalRunOptions {
  executionName?: string;
  /** Replace a function's handler (tests inject failures this way). */
  handlers?: Partial<Record<RetrainingFunction, StepHandler>>;
  onEvent?: (event: RunEvent) => void;
  /** Wait between retries, instead of the definition's backoff (ms). */
  retryIntervalMs?: number;
  /**
   * Run a definition as deployed (substitutions already filled in, e.g. from the synthesised template)
   * instead of the source file: each `lambda:invoke` Task runs the handler of the function its ARN names.
   */
  deployed?: { definition: AslDefinition; functionArns: Record<RetrainingFunction, string> };
}

export interface LocalRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  executionName: string;
  output: Record<string, unknown> | null;
  error: { name: string; message: string } | null;
  /** Every state entered, in order: tests assert on the path taken, not only on the outcome. */
  path: string[];
  events: RunEvent[];
  /** What the failure path published to SNS. */
  notifications: LocalNotification[];
}

let polyfilled = false;
/** aws-local-stepfunctions needs Promise.withResolvers (Node 22); Node 20 lacks it. */
export function polyfillPromiseWithResolvers(): void {
  if (polyfilled || typeof (Promise as { withResolvers?: unknown }).withResolvers === 'function') return;
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
  polyfilled = true;
}

/** What an SNS Publish Task of a locally run state machine published. */
export interface LocalNotification {
  TopicArn: string;
  Subject?: string;
  Message: string;
}

/** Every state of a definition with its name, those inside Map item processors and Parallel branches included. */
export function allStates(states: Record<string, AslState>): [string, AslState][] {
  const out: [string, AslState][] = [];
  for (const [name, state] of Object.entries(states)) {
    out.push([name, state]);
    const processor = (state.ItemProcessor ?? state.Iterator) as { States?: Record<string, AslState> } | undefined;
    if (processor?.States) out.push(...allStates(processor.States));
    for (const branch of (state.Branches as { States: Record<string, AslState> }[] | undefined) ?? []) out.push(...allStates(branch.States));
  }
  return out;
}

/**
 * The local stand-ins of a definition's Task states for aws-local-stepfunctions (nested ones included: they are
 * found by name): each SNS Publish records what it publishes (in `notifications`), a Task whose Resource has an
 * entry in `resources` runs it (the Athena tasks), every other Task calls the Lambda handler `lambdaOf` picks for it
 * with the resolved Payload; `retryIntervalMs` shortens every Retry's interval (tests).
 */
export function localTaskHandlers(
  states: Record<string, AslState>,
  retryIntervalMs: number | undefined,
  lambdaOf: (name: string, state: AslState) => (payload: unknown) => Promise<unknown>,
  resources: Record<string, (params: unknown) => Promise<unknown>> = {},
): { localHandlers: Record<string, (input: unknown) => Promise<unknown>>; retryOverrides: Record<string, number>; notifications: LocalNotification[] } {
  const notifications: LocalNotification[] = [];
  const localHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const retryOverrides: Record<string, number> = {};
  for (const [name, state] of allStates(states)) {
    if (state.Retry && retryIntervalMs !== undefined) retryOverrides[name] = retryIntervalMs;
    if (state.Type !== 'Task') continue;
    if (name in localHandlers) throw new Error(`two Task states are named ${name}: local handlers are found by name`);
    if (state.Resource === 'arn:aws:states:::sns:publish') {
      localHandlers[name] = async (params) => {
        notifications.push(params as LocalNotification);
        return { MessageId: `local-${notifications.length}` };
      };
      continue;
    }
    const resource = state.Resource !== undefined ? resources[state.Resource] : undefined;
    if (resource) {
      localHandlers[name] = resource;
      continue;
    }
    const invoke = lambdaOf(name, state);
    localHandlers[name] = async (params) => ({ Payload: await invoke((params as { Payload?: unknown }).Payload), StatusCode: 200 });
  }
  return { localHandlers, retryOverrides, notifications };
}

/**
 * Runs statemachines/nightly-retraining.asl.json in-process with aws-local-stepfunctions: each
 * `lambda:invoke` Task calls the real Lambda handler (same code as in AWS) with the resolved Payload, the
 * SNS Task records its message. The environment decides which S3/DynamoDB the handlers reach.
 */
export async function runRetrainingLocally(input: Record<string, unknown> = {}, options: LocalRunOptions = {}): Promise<LocalRunResult> {
  polyfillPromiseWithResolvers();
  const { StateMachine } = await import('aws-local-stepfunctions');
  const raw = options.deployed?.definition ?? readRetrainingDefinition();
  const byArn = new Map(Object.entries(options.deployed?.functionArns ?? {}).map(([fn, arn]) => [arn, fn as RetrainingFunction]));
  const handlers = { ...(await loadHandlers()), ...options.handlers };
  const executionName = options.executionName ?? `local-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
  // The lake the handlers reach (the environment's), for the Athena tasks (DuckDB) and the Distributed Map's listing.
  // Built on first use: a run whose handlers are all replaced (tests) needs no lake.
  const lakeOf = () => retrainingDeps().lake;
  const { states: emulatedStates, handlers: readerHandlers, emulated } = emulateDistributedMaps(raw.States, async (bucket, prefix) => {
    const lake = lakeOf();
    if (bucket !== lake.bucket) throw new Error(`ItemReader lists s3://${bucket}/, not the lake s3://${lake.bucket}/`);
    return (await lake.listObjects(prefix)).map((o) => ({ Etag: o.etag, Key: o.key, LastModified: o.lastModified, Size: o.size, StorageClass: o.storageClass }));
  });
  const athena = (params: unknown) => localAthenaTask(new DuckDbLakeEngine(lakeOf()), lakeOf().bucket)(params);
  const { localHandlers, retryOverrides, notifications } = localTaskHandlers(
    emulatedStates,
    options.retryIntervalMs,
    (name, state) => {
      const fn = options.deployed ? byArn.get(String(state.Parameters?.FunctionName ?? '')) : functionOfState(state);
      if (!fn) throw new Error(`state ${name} calls ${String(state.Parameters?.FunctionName ?? state.Resource)}, which is none of the retraining functions`);
      return (payload) => handlers[fn](payload, localContext(`local-${fn}`));
    },
    // The reader Tasks the emulation added are the only s3:listObjectsV2 Tasks.
    {
      [ATHENA_SYNC]: athena,
      // The training task's container entry point, in-process (a deployed definition names its own cluster and task definition).
      [ECS_RUN_TASK_SYNC]: localEcsRunTask(options.deployed ? undefined : LOCAL_TRAINING_TASK, (env) => runTrainTask(env)),
      ...(Object.keys(readerHandlers).length ? { [ITEM_READER_RESOURCE]: Object.values(readerHandlers)[0]! } : {}),
    },
  );
  const substitutions: Record<string, string> = { FailureTopicArn: 'arn:aws:sns:us-east-1:000000000000:recsys-retraining-failures', AthenaWorkGroup: 'recsys-local', GlueDatabase: 'recsys_local', ...LOCAL_TRAINING_SUBSTITUTIONS };
  for (const fn of Object.keys(RETRAINING_FUNCTIONS)) substitutions[`${fn}FunctionArn`] = `arn:aws:lambda:us-east-1:000000000000:function:recsys-${fn}`;
  const rewritten: AslDefinition = { ...raw, StartAt: emulatedStartAt(raw.StartAt, emulated), States: emulatedStates };
  const definition = options.deployed ? rewritten : substitute(rewritten, substitutions);

  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const startTime = new Date().toISOString();
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: localHandlers as never, retryIntervalOverrides: retryOverrides },
    context: { Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:recsys-nightly-retraining:${executionName}`, Name: executionName, StartTime: startTime, Input: input as never } },
  });

  const events: RunEvent[] = [];
  const path: string[] = [];
  const emit = (e: RunEvent) => {
    events.push(e);
    if (e.type === 'entered') path.push(e.state);
    options.onEvent?.(e);
  };
  const logDone = (async () => {
    for await (const log of execution.eventLogs) {
      const state = 'state' in log ? log.state.name : '';
      if (log.type === 'StateEntered') emit({ type: 'entered', state, at: log.timestamp });
      else if (log.type === 'StateExited') emit({ type: 'exited', state, at: log.timestamp, output: log.state.output ?? null });
      else if (log.type === 'StateFailed') emit({ type: 'failed', state, at: log.timestamp, error: log.Error, cause: String(log.Cause) });
      else if (log.type === 'StateRetried') emit({ type: 'retried', state, at: log.timestamp, attempt: log.retry.attempt });
      else if (log.type === 'StateCaught') emit({ type: 'caught', state, at: log.timestamp });
    }
  })();

  const { output, error } = await settled(execution.result);
  await logDone;
  return { status: error ? 'FAILED' : 'SUCCEEDED', executionName, output, error, path, events, notifications };
}

/** What a local execution ended with: its output, or the error that failed it (the Task's cause when there is one). */
export async function settled(result: Promise<unknown>): Promise<{ output: Record<string, unknown> | null; error: { name: string; message: string } | null }> {
  try {
    return { output: (await result) as Record<string, unknown>, error: null };
  } catch (err) {
    const cause = (err as { cause?: { name?: string; message?: string } }).cause;
    return { output: null, error: { name: cause?.name ?? (err as Error).name, message: cause?.message ?? (err as Error).message } };
  }
}
