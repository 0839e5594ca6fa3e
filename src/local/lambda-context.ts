import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';

export interface LocalContextOptions {
  /** The invocation's time budget, as the function's timeout gives it in AWS (ms). */
  timeoutMs?: number;
  memoryLimitInMB?: number;
  requestId?: string;
}

/** The `Context` Lambda hands a function, for invoking the same handlers on this machine. */
export function localLambdaContext(functionName: string, options: LocalContextOptions = {}): Context {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION ?? 'us-east-1'}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(options.memoryLimitInMB ?? 1024),
    awsRequestId: options.requestId ?? randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
