import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readRecordedCalls, REPO_ROOT, type RecordedCall } from '../support/aws-calls';
import { deployedFunctions, requestOfCall, serviceCallsOfFunction, TemplateIam, unusedGrants, type DeployedFunction, type IamRequest, type IamVerdict } from '../support/iam-check';
import { everyStateMachineCalls, schedulerCalls, trustedServices } from '../support/state-machine-template';
import { synthStack } from '../support/synth';
import type { CfnTemplate } from '../support/cfn-template';

/**
 * `npm run test:iam` (run by `npm test` after the suites): every AWS call a handler made while the suites
 * ran is evaluated against the IAM policies `cdk synth` gives that function's role, with
 * @cloud-copilot/iam-simulate, and so are the calls AWS makes with the roles (logs, traces, event source
 * mappings, the state machine's tasks, the scheduler). Then every grant no call needed must have a reason here.
 */

/** Handlers that make no AWS SDK call at all, and why (the check would otherwise call them untested). */
const NO_SDK_CALLS: Record<string, string> = {
  'lambdas/retraining/reload-api.ts': 'polls the public API over HTTPS until it serves the deployed version; no AWS SDK call',
};

/**
 * Grants no recorded call used, each with the reason it stays. Keyed `<who> <action pattern>`; a reason
 * whose grant is gone fails the check too, so this list cannot go stale.
 */
const ESM_READ = "CDK's KinesisEventSource grants the stream's read group (stream.grantRead); this mapping uses a shared-throughput iterator, so the enhanced fan-out actions and ListStreams are never called, but the grant comes with the construct";
const ESM_DLQ = "CDK's SqsDlq on-failure destination grants queue.grantSendMessages, which adds GetQueueAttributes and GetQueueUrl; Lambda only sends";
const ATHENA_AS_CALLER =
  'Athena runs the state machine\'s queries with the caller\'s credentials: it reads the Glue tables and the lake and writes the UNLOAD output and its results as the state machine role (https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html, https://docs.aws.amazon.com/athena/latest/ug/managed-policies.html); no suite runs Athena (DuckDB plays it locally), so these calls are never recorded';

const UNUSED_GRANT_REASONS: Record<string, string> = {
  'lambdas/consumer/index.ts kinesis:DescribeStreamConsumer': ESM_READ,
  'lambdas/consumer/index.ts kinesis:ListStreams': ESM_READ,
  'lambdas/consumer/index.ts kinesis:SubscribeToShard': ESM_READ,
  'lambdas/consumer/index.ts sqs:GetQueueAttributes': ESM_DLQ,
  'lambdas/consumer/index.ts sqs:GetQueueUrl': ESM_DLQ,
  'lambdas/analytics-consumer/index.ts kinesis:DescribeStreamConsumer': ESM_READ,
  'lambdas/analytics-consumer/index.ts kinesis:ListStreams': ESM_READ,
  'lambdas/analytics-consumer/index.ts kinesis:SubscribeToShard': ESM_READ,
  'lambdas/analytics-consumer/index.ts sqs:GetQueueAttributes': ESM_DLQ,
  'lambdas/analytics-consumer/index.ts sqs:GetQueueUrl': ESM_DLQ,
  'RetrainingStateMachineRole84400054 glue:BatchGetPartition': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 glue:GetPartition': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 glue:GetPartitions': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 glue:GetTable': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 glue:GetTables': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 s3:GetObject': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 s3:AbortMultipartUpload': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 s3:ListMultipartUploadParts': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 s3:PutObject': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 s3:GetBucketLocation': ATHENA_AS_CALLER,
  'RetrainingStateMachineRole84400054 s3:ListBucketMultipartUploads': ATHENA_AS_CALLER,
  'lambdas/retraining/write-feature-file.ts s3:ListBucket':
    'the lake grants pair reads with ListBucket so a missing key answers NoSuchKey, not AccessDenied; WriteFeatureFile reads only keys the Distributed Map listed, which exist',
  'lambdas/retraining/train-task-result.ts s3:ListBucket':
    "the lake grants pair reads with ListBucket so a missing key answers NoSuchKey, not AccessDenied: TrainTaskResult must tell a task that left no outcome (stopped, out of memory) from one it may not read; the suites run it only on tasks that wrote theirs",
  'lambdas/retraining/extract-features.ts s3:DeleteObject':
    'src/retraining/extract.ts deletes a Silver partition whose every row moved to another partition (a late replay); no suite reaches that branch, and without the grant it would fail with AccessDenied',
};

const { app, stack, template } = synthStack();
const iam = new TemplateIam(template.toJSON() as CfnTemplate);
const functions = deployedFunctions(stack, iam);
const assemblyDir = app.synth().directory;
const recorded = readRecordedCalls();

const fmt = (v: IamVerdict) => `${v.origin}: ${v.action} on ${v.resource}${v.context ? ` ${JSON.stringify(v.context)}` : ''} → ${v.decision}${v.detail ? ` (${v.detail})` : ''}`;
const verdicts: IamVerdict[] = [];
const problems: string[] = [];
const byFunction = new Map<DeployedFunction, RecordedCall[]>();

beforeAll(async () => {
  const distinct = new Map<string, RecordedCall>();
  // Calls of handler files that are not in the repository: the recorder's own probe (test/deploy/iam-evaluator.test.ts).
  for (const call of recorded.calls.filter((c) => existsSync(join(REPO_ROOT, c.handler)))) distinct.set(JSON.stringify([call.handler, call.action, call.resource, call.context]), call);
  for (const call of distinct.values()) {
    const fn = functions.find((f) => f.handlerFile === call.handler);
    if (!fn) {
      problems.push(`${call.handler} made ${call.action} but no function of the stack runs that handler`);
      continue;
    }
    byFunction.set(fn, [...(byFunction.get(fn) ?? []), call]);
    const request = requestOfCall(iam, fn, call);
    if ('problem' in request) problems.push(`${request.problem} (${call.suite ?? 'unknown suite'})`);
    else verdicts.push(await iam.evaluate(request));
  }
  const service: IamRequest[] = [...functions.flatMap((f) => serviceCallsOfFunction(iam, f.functionId)), ...everyStateMachineCalls(iam, assemblyDir), ...schedulerCalls(iam)];
  for (const request of service) verdicts.push(await iam.evaluate(request));
});

const roleLabel = (roleId: string) => functions.find((f) => f.roleId === roleId)?.handlerFile ?? roleId;

afterAll(() => {
  if (!recorded.run) return;
  // The report: per role, what was checked and which grants nothing used.
  const lines = [`# IAM check of ${recorded.run}`, ''];
  const roles = [...new Set(verdicts.map((v) => v.role))];
  for (const role of roles) {
    const mine = verdicts.filter((v) => v.role === role);
    lines.push(`## ${roleLabel(role)} (${role})`, `${mine.length} distinct calls checked, ${mine.filter((v) => v.decision !== 'Allowed').length} denied`);
    for (const action of [...new Set(mine.map((v) => `${v.action} (${v.origin === 'service' || v.origin.startsWith('service') ? 'AWS' : v.origin.startsWith('state') || v.origin.startsWith('schedule') ? v.origin : 'code'})`))].sort()) lines.push(`- ${action}`);
    for (const g of unusedGrants(iam, role, verdicts)) lines.push(`- unused grant: ${g.action} on ${g.resources.join(', ')}`);
    lines.push('');
  }
  writeFileSync(join(recorded.run, 'iam-report.md'), lines.join('\n'));
  console.log(`IAM check: ${verdicts.length} distinct calls of ${roles.length} roles evaluated; report in ${join(recorded.run, 'iam-report.md')}`);
});

describe('every AWS call is allowed by the role cdk synth gives its caller, and nothing more is granted', () => {
  it('reads the calls the last complete `vitest run` recorded, from every handler of the stack', () => {
    expect(recorded.run, 'no complete recording: run `npx vitest run` (or `npm test`) before `npm run test:iam`').toBeDefined();
    const silent = functions.filter((f) => !byFunction.has(f) && !(f.handlerFile in NO_SDK_CALLS)).map((f) => f.handlerFile);
    expect(silent, 'these handlers made no recorded AWS call: the suites never ran them, so their grants are unchecked').toEqual([]);
    for (const file of Object.keys(NO_SDK_CALLS)) expect(byFunction.has(functions.find((f) => f.handlerFile === file)!), `${file} is listed as making no SDK call, but it made some`).toBe(false);
  });

  it('resolves every recorded call to a resource of the template, through the environment the template gives the function', () => {
    expect(problems).toEqual([]);
  });

  it("allows every call a handler made, on the exact resource and key it touched", () => {
    const denied = verdicts.filter((v) => !v.origin.startsWith('service') && !v.origin.startsWith('state') && !v.origin.startsWith('schedule') && v.decision !== 'Allowed');
    expect([...new Set(denied.map(fmt))]).toEqual([]);
  });

  it('allows what AWS does with the functions\' roles: logs, traces, the Kinesis event source mappings and their on-failure queues', () => {
    const denied = verdicts.filter((v) => v.origin.startsWith('service') && v.decision !== 'Allowed');
    expect([...new Set(denied.map(fmt))]).toEqual([]);
  });

  it("allows the state machine's role every Task it runs (each Lambda and the encrypted SNS topic) and its log deliveries", () => {
    const mine = verdicts.filter((v) => v.origin.startsWith('state') || v.origin.startsWith('service (execution') || v.origin.startsWith('service (tracing'));
    expect(mine.length).toBeGreaterThan(7);
    expect(mine.filter((v) => v.decision !== 'Allowed').map(fmt)).toEqual([]);
  });

  it("allows the scheduler's role to start the state machine, and each role trusts only the service that assumes it", () => {
    const mine = verdicts.filter((v) => v.origin.startsWith('schedule'));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.filter((v) => v.decision !== 'Allowed').map(fmt)).toEqual([]);
    for (const f of functions) expect(trustedServices(iam.t, f.roleId), f.handlerFile).toEqual(['lambda.amazonaws.com']);
    for (const v of mine) expect(trustedServices(iam.t, v.role)).toEqual(['scheduler.amazonaws.com']);
  });

  it('grants nothing that no call needed, unless a reason is written down here', () => {
    const roles = [...new Set([...functions.map((f) => f.roleId), ...verdicts.map((v) => v.role)])];
    const unexplained: string[] = [];
    const explained = new Set<string>();
    for (const role of roles) {
      for (const g of unusedGrants(iam, role, verdicts)) {
        const key = `${roleLabel(role)} ${g.action}`;
        if (key in UNUSED_GRANT_REASONS) explained.add(key);
        else unexplained.push(`${key} on ${g.resources.join(', ')}`);
      }
    }
    expect(unexplained).toEqual([]);
    expect(Object.keys(UNUSED_GRANT_REASONS).filter((k) => !explained.has(k)), 'reasons for grants that are used or gone: remove them').toEqual([]);
  });
});
