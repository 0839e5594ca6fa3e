/**
 * Runs the Lambda bundles `cdk synth` builds the way AWS runs them: alone. The stack is synthesised WITH
 * bundling (lib/node-function.ts: NodejsFunction, esbuild, ESM, node24, minified, createRequire banner),
 * each function's asset folder is copied into a fresh temporary directory with no node_modules anywhere
 * above it, and a separate `node` process (test/support/lambda-runtime-harness.mjs, a stand-in for the
 * Lambda Node.js runtime) imports the handler file named by the template's `Handler`, builds the context,
 * and invokes it once with the environment the template gives that function. Every invocation is a cold start.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from '../../lib/config';
import { RecsysStack } from '../../lib/recsys-stack';
import { ACCOUNT, REGION, ResolvedTemplate, type CfnTemplate } from './cfn-template';
import { CDK_JSON_CONTEXT } from './synth';

export const HARNESS_PATH = fileURLToPath(new URL('./lambda-runtime-harness.mjs', import.meta.url));
const RESULT_MARKER = '@@lambda-runtime-harness:result ';

/** One `AWS::Lambda::Function` of the synthesised template and the folder its code was bundled into. */
export interface BundledFunction {
  logicalId: string;
  /** `Handler`, e.g. `index.handler`. */
  handler: string;
  /** `Runtime`, e.g. `nodejs24.x`. */
  runtime: string;
  memorySize: number;
  timeoutSeconds: number;
  /** `POWERTOOLS_SERVICE_NAME` of its environment: what kind of function it is. */
  serviceName: string;
  /** The asset folder under the cloud assembly (index.mjs, index.mjs.map). */
  assetDir: string;
  /** How the folder was found: the resource's `aws:asset:path` metadata, or the `Code.S3Key` hash. */
  assetFrom: 'metadata' | 's3key';
}

export interface BundledApp {
  outdir: string;
  template: CfnTemplate;
  functions: BundledFunction[];
  /** Constructing the stack: NodejsFunction runs esbuild for every function here (ms). */
  bundlingMs: number;
  /** `app.synth()`: templates, assets, cdk-nag validation (ms). */
  synthMs: number;
  cleanup(): Promise<void>;
}

/**
 * Synthesises the app as `cdk synth` does, bundling included, into a temporary outdir: cdk.json's context,
 * asset metadata on (the CLI's default), cdk-nag validation on. Throws (with esbuild's error) if bundling fails.
 */
export async function synthWithBundling(context: Record<string, unknown> = {}): Promise<BundledApp> {
  const outdir = await mkdtemp(join(tmpdir(), 'recsys-bundled-synth-'));
  const t0 = performance.now();
  const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:enable-asset-metadata': true, ...context } });
  const config = readConfig(app.node);
  const stack = new RecsysStack(app, config.stackName, { config, env: { account: ACCOUNT, region: REGION } });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const t1 = performance.now();
  app.synth();
  const t2 = performance.now();
  const template = JSON.parse(await readFile(join(outdir, stack.templateFile), 'utf8')) as CfnTemplate;
  const functions: BundledFunction[] = [];
  for (const [logicalId, res] of Object.entries(template.Resources)) {
    if (res.Type !== 'AWS::Lambda::Function') continue;
    const p = res.Properties ?? {};
    const metaPath = res.Metadata?.['aws:asset:path'];
    const s3Key = (p.Code as { S3Key?: unknown } | undefined)?.S3Key;
    const hash = typeof s3Key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(s3Key)?.[1] : undefined;
    let assetDir: string;
    let assetFrom: BundledFunction['assetFrom'];
    if (typeof metaPath === 'string') {
      assetDir = resolve(outdir, metaPath);
      assetFrom = 'metadata';
      if (hash && metaPath !== `asset.${hash}`) throw new Error(`${logicalId}: aws:asset:path ${metaPath} does not match Code.S3Key ${String(s3Key)}`);
    } else if (hash) {
      assetDir = join(outdir, `asset.${hash}`);
      assetFrom = 's3key';
    } else {
      throw new Error(`${logicalId}: neither aws:asset:path metadata nor a Code.S3Key hash names its code (Code: ${JSON.stringify(p.Code)})`);
    }
    if (!existsSync(assetDir)) throw new Error(`${logicalId}: asset folder ${assetDir} does not exist`);
    const variables = ((p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
    functions.push({
      logicalId,
      handler: String(p.Handler),
      runtime: String(p.Runtime),
      memorySize: Number(p.MemorySize ?? 128),
      timeoutSeconds: Number(p.Timeout ?? 3),
      serviceName: String(variables.POWERTOOLS_SERVICE_NAME ?? ''),
      assetDir,
      assetFrom,
    });
  }
  return {
    outdir,
    template,
    functions,
    bundlingMs: t1 - t0,
    synthMs: t2 - t1,
    cleanup: () => rm(outdir, { recursive: true, force: true }),
  };
}

/** Every `node_modules` folder in `dir` or above it (a bundle run there must find none). */
export function nodeModulesAbove(dir: string): string[] {
  const found: string[] = [];
  let d = resolve(dir);
  for (;;) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'));
    if (d === parse(d).root) return found;
    d = dirname(d);
  }
}

/** A fresh directory pair like Lambda's /var/task (the code) and /var/runtime (the runtime's own files). */
export interface Sandbox {
  root: string;
  taskRoot: string;
  runtimeDir: string;
  cleanup(): Promise<void>;
}

/** Copies a bundle folder into an empty temporary task root, and the harness beside it; checks no node_modules is reachable. */
export async function prepareSandbox(codeDir: string): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'lambda-sandbox-'));
  const taskRoot = join(root, 'task');
  const runtimeDir = join(root, 'runtime');
  await mkdir(runtimeDir, { recursive: true });
  await cp(codeDir, taskRoot, { recursive: true });
  await copyFile(HARNESS_PATH, join(runtimeDir, 'harness.mjs'));
  const reachable = nodeModulesAbove(taskRoot);
  if (reachable.length > 0) throw new Error(`the sandbox ${taskRoot} can reach ${reachable.join(', ')}: the bundle would not be running alone`);
  return { root, taskRoot, runtimeDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

export interface LambdaEnvironmentOptions {
  /** Emulator endpoints and credentials (`RunningEmulators.env`); its AWS_REGION is ignored: the function's region is the stack's. */
  emulatorEnv: Record<string, string>;
  /** Template variables to leave out (e.g. API_BASE_URL pointing at an API that is not deployed). */
  drop?: string[];
  /** Variables to add or replace after the template's. */
  extra?: Record<string, string>;
  taskRoot: string;
  runtimeDir: string;
}

/**
 * The environment Lambda gives the function: the template's `Environment.Variables` resolved (names of the
 * emulator's bucket, tables and stream through `resolved`), the runtime's reserved variables, credentials
 * (the emulators' keys, plus a session token as an execution role's are) and the emulator endpoints.
 * Nothing is inherited from this process.
 */
export function lambdaEnvironment(resolved: ResolvedTemplate, logicalId: string, options: LambdaEnvironmentOptions): Record<string, string> {
  const props = resolved.properties(logicalId);
  const variables = ((props.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {});
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(variables)) {
    if (typeof v !== 'string') throw new Error(`${logicalId}: environment variable ${k} resolves to ${JSON.stringify(v)}, not a string`);
    if (!options.drop?.includes(k)) env[k] = v;
  }
  const functionName = resolved.physical[logicalId]!.ref;
  const memory = String(props.MemorySize ?? 128);
  const logging = (props.LoggingConfig ?? {}) as { LogFormat?: string; LogGroup?: string; ApplicationLogLevel?: string };
  const tracing = (props.TracingConfig ?? {}) as { Mode?: string };
  const { AWS_REGION: _ignored, ...endpoints } = options.emulatorEnv;
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  const reserved: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin/:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    _HANDLER: String(props.Handler),
    LAMBDA_TASK_ROOT: options.taskRoot,
    LAMBDA_RUNTIME_DIR: options.runtimeDir,
    AWS_EXECUTION_ENV: `AWS_Lambda_${String(props.Runtime)}`,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: memory,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: logging.LogGroup ?? `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    ...(logging.LogFormat ? { AWS_LAMBDA_LOG_FORMAT: logging.LogFormat } : {}),
    ...(logging.LogFormat === 'JSON' ? { AWS_LAMBDA_LOG_LEVEL: logging.ApplicationLogLevel ?? 'INFO' } : {}),
    ...(tracing.Mode === 'Active'
      ? { AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR', AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000', _X_AMZN_TRACE_ID: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=1` }
      : {}),
    AWS_SESSION_TOKEN: 'lambda-runtime-harness-session-token',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  return { ...env, ...reserved, ...endpoints, ...options.extra };
}

export interface InvokeSuccess {
  ok: true;
  result: unknown;
  /** Module import (cold start) and handler time inside the child (ms). */
  initMs: number;
  durationMs: number;
  stdout: string;
  stderr: string;
}
export interface InvokeFailure {
  ok: false;
  /** `init`: the cold start failed (import, handler lookup); `invoke`: the handler threw or timed out. */
  phase: 'init' | 'invoke' | 'crash';
  errorType: string;
  errorName?: string;
  errorMessage: string;
  code?: string;
  stack: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
}
export type InvokeOutcome = InvokeSuccess | InvokeFailure;

export interface InvokeOptions {
  sandbox: Sandbox;
  env: Record<string, string>;
  event: unknown;
  timeoutMs: number;
  memoryMb: number;
  invokedFunctionArn?: string;
}

/**
 * Starts `node harness.mjs` in the sandbox's task root with exactly `env`, lets it cold-start the handler and
 * invoke it once with `event`, and returns what it reported. Node flags as the Lambda runtime sets them
 * (heap limited by the function's memory); NODE_OPTIONS comes from the function's environment.
 */
export async function invokeInSandbox(options: InvokeOptions): Promise<InvokeOutcome> {
  const requestFile = join(options.sandbox.runtimeDir, `invoke-${randomUUID()}.json`);
  await writeFile(requestFile, JSON.stringify({ event: options.event, timeoutMs: options.timeoutMs, invokedFunctionArn: options.invokedFunctionArn, requestId: randomUUID() }));
  const args = ['--expose-gc', '--max-http-header-size=81920', `--max-old-space-size=${Math.floor(options.memoryMb * 0.9)}`, join(options.sandbox.runtimeDir, 'harness.mjs'), requestFile];
  const child = spawn(process.execPath, args, { cwd: options.sandbox.taskRoot, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs + 15_000);
  const exitCode = await new Promise<number | null>((resolveExit, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolveExit(code));
  }).finally(() => clearTimeout(killer));
  const line = stdout.split('\n').reverse().find((l) => l.startsWith(RESULT_MARKER));
  const output = stdout.split('\n').filter((l) => !l.startsWith(RESULT_MARKER)).join('\n').trim();
  if (!line) {
    return { ok: false, phase: 'crash', errorType: 'Runtime.ExitError', errorMessage: `the runtime exited (code ${exitCode}) without reporting a result`, stack: [], exitCode, stdout: output, stderr };
  }
  const reported = JSON.parse(line.slice(RESULT_MARKER.length)) as
    | { ok: true; result: unknown; initMs: number; durationMs: number }
    | { ok: false; phase: 'init' | 'invoke'; errorType: string; errorName?: string; errorMessage: string; code?: string; stack: string[] };
  return reported.ok ? { ...reported, stdout: output, stderr } : { ...reported, exitCode, stdout: output, stderr };
}

/** A failed invocation as one readable message: error, stack, and the tail of the function's output. */
export function describeFailure(name: string, f: InvokeFailure): string {
  const tail = (s: string) => s.split('\n').slice(-15).join('\n');
  return [
    `${name}: ${f.phase} failed: ${f.errorType}${f.code ? ` (${f.code})` : ''}: ${f.errorMessage}`,
    ...f.stack.map((l) => `    ${l}`),
    f.stdout ? `--- stdout (tail) ---\n${tail(f.stdout)}` : '',
    f.stderr ? `--- stderr (tail) ---\n${tail(f.stderr)}` : '',
  ].filter(Boolean).join('\n');
}

export interface BundleInvoker {
  /** Cold-starts the function's bundle in a fresh sandbox and invokes it once. */
  invoke(logicalId: string, event: unknown, options?: { drop?: string[]; extra?: Record<string, string> }): Promise<InvokeOutcome>;
  /** As `invoke`, returning the handler's result; throws with the error, stack and logs otherwise. */
  call(logicalId: string, event: unknown, options?: { drop?: string[]; extra?: Record<string, string> }): Promise<unknown>;
  /** The logical IDs invoked so far, with the outcome of their last invocation. */
  readonly invoked: Map<string, boolean>;
  /** Every invocation so far, in order, with the function's output. */
  readonly outcomes: { logicalId: string; outcome: InvokeOutcome }[];
}

/** Runs the bundles of `app` with their template environments, resolved through `resolved`, against the emulators of `emulatorEnv`. */
export function bundleInvoker(app: BundledApp, resolved: ResolvedTemplate, emulatorEnv: Record<string, string>): BundleInvoker {
  const invoked = new Map<string, boolean>();
  const outcomes: BundleInvoker['outcomes'] = [];
  const byId = new Map(app.functions.map((f) => [f.logicalId, f]));
  const invoke: BundleInvoker['invoke'] = async (logicalId, event, options = {}) => {
    const fn = byId.get(logicalId);
    if (!fn) throw new Error(`the template has no function ${logicalId}`);
    const sandbox = await prepareSandbox(fn.assetDir);
    try {
      const env = lambdaEnvironment(resolved, logicalId, { emulatorEnv, taskRoot: sandbox.taskRoot, runtimeDir: sandbox.runtimeDir, ...options });
      const outcome = await invokeInSandbox({
        sandbox,
        env,
        event,
        timeoutMs: fn.timeoutSeconds * 1000,
        memoryMb: fn.memorySize,
        invokedFunctionArn: resolved.physical[logicalId]!.attributes.Arn,
      });
      invoked.set(logicalId, outcome.ok);
      outcomes.push({ logicalId, outcome });
      return outcome;
    } finally {
      await sandbox.cleanup();
    }
  };
  return {
    invoked,
    outcomes,
    invoke,
    async call(logicalId, event, options) {
      const outcome = await invoke(logicalId, event, options);
      if (!outcome.ok) {
        const err = new Error(describeFailure(logicalId, outcome));
        // The name a Step Functions Retry/Catch sees is the function's errorType.
        err.name = outcome.errorType;
        throw err;
      }
      return outcome.result;
    },
  };
}
