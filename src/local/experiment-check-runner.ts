import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { localLambdaContext } from './lambda-context';
import { localTaskHandlers, polyfillPromiseWithResolvers, settled, substitute, type AslDefinition, type LocalNotification } from './retraining-runner';

/** The experiment check's definition, the same file CDK deploys (lib/experiments.ts). */
export const EXPERIMENT_CHECK_ASL_PATH = fileURLToPath(new URL('../../statemachines/experiment-check.asl.json', import.meta.url));

export function readExperimentCheckDefinition(): AslDefinition {
  return JSON.parse(readFileSync(EXPERIMENT_CHECK_ASL_PATH, 'utf8')) as AslDefinition;
}

/** The handler file of the CheckExperiment function (lib/experiments.ts bundles the same file). */
const CHECK_HANDLER_MODULE: string = '../../lambdas/experiments/check-experiment.ts';

/** The placeholders of the definition, as lib/experiments.ts fills them. */
export const EXPERIMENT_CHECK_SUBSTITUTIONS = ['CheckExperimentFunctionArn', 'NotificationTopicArn'] as const;

/** A Lambda handler as the Task calls it: the resolved Payload and a Lambda context. */
export type CheckTaskHandler = (payload: unknown, context?: unknown) => Promise<unknown>;

export interface ExperimentCheckRunOptions {
  /** The CheckExperiment handler; the real Lambda handler (lambdas/experiments/check-experiment.ts) by default. */
  handler?: CheckTaskHandler;
  executionName?: string;
  /** Wait between retries instead of the definition's backoff (ms). */
  retryIntervalMs?: number;
}

export interface ExperimentCheckRunResult {
  status: 'SUCCEEDED' | 'FAILED';
  output: Record<string, unknown> | null;
  error: { name: string; message: string } | null;
  /** Every state entered, in order. */
  path: string[];
  /** What the SNS Tasks published. */
  notifications: LocalNotification[];
}

/**
 * Runs statemachines/experiment-check.asl.json in-process with aws-local-stepfunctions (as
 * src/local/retraining-runner.ts runs the nightly machine): CheckExperiment calls the handler with the resolved
 * Payload, the SNS Tasks record what they publish.
 */
export async function runExperimentCheckLocally(options: ExperimentCheckRunOptions = {}): Promise<ExperimentCheckRunResult> {
  polyfillPromiseWithResolvers();
  const { StateMachine } = await import('aws-local-stepfunctions');
  const handler = options.handler ?? ((await import(CHECK_HANDLER_MODULE)) as { handler: CheckTaskHandler }).handler;
  const raw = readExperimentCheckDefinition();
  const definition = substitute(raw, {
    CheckExperimentFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:recsys-CheckExperiment',
    NotificationTopicArn: 'arn:aws:sns:us-east-1:000000000000:recsys-notifications',
  });
  const { localHandlers, retryOverrides, notifications } = localTaskHandlers(definition.States, options.retryIntervalMs, () => (payload: unknown) =>
    handler(payload, localLambdaContext('local-CheckExperiment', { timeoutMs: 300_000, memoryLimitInMB: 512 })),
  );
  const executionName = options.executionName ?? `check-${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}`;
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run({} as never, {
    overrides: { taskResourceLocalHandlers: localHandlers as never, retryIntervalOverrides: retryOverrides },
    context: { Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:recsys-experiment-check:${executionName}`, Name: executionName, StartTime: new Date().toISOString(), Input: {} as never } },
  });
  const path: string[] = [];
  const logDone = (async () => {
    for await (const log of execution.eventLogs) if (log.type === 'StateEntered') path.push(log.state.name);
  })();
  const { output, error } = await settled(execution.result);
  await logDone;
  return { status: error ? 'FAILED' : 'SUCCEEDED', output, error, path, notifications };
}
