// A stand-in for the Lambda Node.js runtime's bootstrap, for one cold start and one invocation.
// Plain JS, no imports beyond Node's own: it is copied next to the bundle (in a directory with no
// node_modules anywhere above it) and run there by test/support/lambda-runtime.ts as `node harness.mjs <request.json>`.
//
// Like the runtime it reads `_HANDLER` ("index.handler") and `LAMBDA_TASK_ROOT`, imports the handler's
// module as ESM (trying .js, .mjs, .cjs as the runtime does), builds the invocation's context, calls the
// handler once with the event and reports the outcome as one line on stdout:
//   @@lambda-runtime-harness:result {"ok":true,"result":...,"initMs":...,"durationMs":...}
//   @@lambda-runtime-harness:result {"ok":false,"phase":"init"|"invoke","errorType":...,"errorMessage":...,"code":...,"stack":[...]}
// Everything else on stdout and stderr is the function's own output (its logs and EMF metrics).
import { existsSync, readFileSync, writeSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const MARKER = '@@lambda-runtime-harness:result ';
const started = performance.now();

function report(outcome, exitCode) {
  writeSync(1, `\n${MARKER}${JSON.stringify(outcome)}\n`);
  process.exit(exitCode);
}

function errorOutcome(phase, errorType, err) {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    ok: false,
    phase,
    errorType,
    errorName: e.name,
    errorMessage: e.message,
    code: typeof e.code === 'string' ? e.code : undefined,
    stack: String(e.stack ?? '').split('\n').slice(0, 12),
  };
}

const request = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const taskRoot = process.env.LAMBDA_TASK_ROOT ?? process.cwd();
const handlerSpec = process.env._HANDLER ?? '';

let phase = 'init';
// The runtime fails the whole sandbox on an unhandled rejection or an uncaught exception.
process.on('unhandledRejection', (reason) => report(errorOutcome(phase, 'Runtime.UnhandledPromiseRejection', reason), 128));
process.on('uncaughtException', (err) => report(errorOutcome(phase, 'Runtime.UncaughtException', err), 129));

// "dir/index.handler" → module "dir/index", function path "handler" (nested "a.b" allowed).
const match = /^((?:.*\/)?[^./]+)\.(.+)$/.exec(handlerSpec);
if (!match) report(errorOutcome('init', 'Runtime.MalformedHandlerName', new Error(`Bad handler ${handlerSpec}`)), 1);
const [, modulePath, functionPath] = match;

const file = ['.js', '.mjs', '.cjs'].map((ext) => join(taskRoot, modulePath + ext)).find((f) => existsSync(f));
if (!file) report(errorOutcome('init', 'Runtime.ImportModuleError', new Error(`Error: Cannot find module '${modulePath}'`)), 1);

let mod;
try {
  mod = await import(pathToFileURL(file).href);
} catch (err) {
  report(errorOutcome('init', err instanceof SyntaxError ? 'Runtime.UserCodeSyntaxError' : 'Runtime.ImportModuleError', err), 1);
}
let handler = mod;
for (const part of functionPath.split('.')) handler = handler?.[part];
if (typeof handler !== 'function') {
  report(errorOutcome('init', 'Runtime.HandlerNotFound', new Error(`${handlerSpec} is undefined or not exported`)), 1);
}
const initMs = performance.now() - started;

// The invocation.
phase = 'invoke';
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
const region = process.env.AWS_REGION ?? 'us-east-1';
const deadline = Date.now() + Number(request.timeoutMs ?? 3000);
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
  invokedFunctionArn: request.invokedFunctionArn ?? `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
  memoryLimitInMB: String(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128'),
  awsRequestId: request.requestId ?? randomUUID(),
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'harness',
  identity: undefined,
  clientContext: undefined,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
};
const timer = setTimeout(() => {
  report({ ok: false, phase, errorType: 'Sandbox.Timedout', errorName: 'Sandbox.Timedout', errorMessage: `Task timed out after ${(Number(request.timeoutMs) / 1000).toFixed(2)} seconds`, stack: [] }, 124);
}, Math.max(0, deadline - Date.now()));
const invokeStarted = performance.now();
try {
  // Node.js 24 runtimes take async handlers only (no callback): the handler's promise is the result.
  const result = await handler(request.event, context);
  clearTimeout(timer);
  report({ ok: true, result: result === undefined ? null : result, initMs, durationMs: performance.now() - invokeStarted }, 0);
} catch (err) {
  clearTimeout(timer);
  const e = err instanceof Error ? err : new Error(String(err));
  report({ ...errorOutcome('invoke', e.name || 'Error', e), durationMs: performance.now() - invokeStarted }, 0);
}
