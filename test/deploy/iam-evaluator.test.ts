import { describe, expect, it } from 'vitest';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { describeCommand, handlerFileOnStack, invocationScope, type RecordedCall } from '../support/aws-calls';
import type { CfnTemplate } from '../support/cfn-template';
import { deployedFunctions, requestOfCall, serviceCallsOfFunction, TemplateIam } from '../support/iam-check';
import { deployedDefinition, SAMPLE_STATE_INPUT, schedulerCalls, stateMachineCalls, taskStates } from '../support/state-machine-template';
import { synthStack } from '../support/synth';
import { RETRAINING_FUNCTIONS } from '../../src/retraining/functions';

/** The IAM check's own parts: what a call needs, how it is resolved against the template, and that a missing grant is caught. */

const { app, stack, template } = synthStack();
const json = () => structuredClone(template.toJSON()) as CfnTemplate;
const iam = new TemplateIam(json());
const functions = deployedFunctions(stack, iam);
const fn = (file: string) => functions.find((f) => f.handlerFile === file)!;
const call = (handler: string, action: string, resource: RecordedCall['resource']): RecordedCall => ({ handler, client: 'test', command: 'test', action, resource });
const lake = (key: string): RecordedCall['resource'] => ({ kind: 'object', name: 'test-lake', env: ['LAKE_BUCKET'], key });

/** What this run's recorder wrote about a key. */
function recordedWith(dir: string, key: string): RecordedCall[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.includes(key))
    .map((l) => JSON.parse(l) as RecordedCall);
}

async function decide(i: TemplateIam, c: RecordedCall) {
  const f = deployedFunctions(stack, i).find((d) => d.handlerFile === c.handler)!;
  const request = requestOfCall(i, f, c);
  if ('problem' in request) throw new Error(request.problem);
  return (await i.evaluate(request)).decision;
}

describe('what each SDK command needs', () => {
  it('names the IAM action that authorises it, which is not always the operation', () => {
    expect(describeCommand('S3Client', 'HeadObjectCommand', { Bucket: 'b', Key: 'k' })[0]!.action).toBe('s3:GetObject');
    expect(describeCommand('S3Client', 'ListObjectsV2Command', { Bucket: 'b', Prefix: 'bronze/' })[0]).toMatchObject({ action: 's3:ListBucket', resource: { kind: 'bucket' }, context: { 's3:prefix': 'bronze/' } });
    expect(describeCommand('DynamoDBDocumentClient', 'QueryCommand', { TableName: 't' })[0]!.action).toBe('dynamodb:Query');
    expect(describeCommand('DynamoDBDocumentClient', 'PutCommand', { TableName: 't' })[0]!.action).toBe('dynamodb:PutItem');
    expect(describeCommand('DynamoDBClient', 'QueryCommand', { TableName: 't', IndexName: 'gsi' })[0]!.resource).toMatchObject({ kind: 'index', key: 'gsi' });
    expect(describeCommand('KinesisClient', 'PutRecordsCommand', { StreamName: 's' })[0]!.action).toBe('kinesis:PutRecords');
  });

  it('splits batches and copies into one need per table, key or side', () => {
    expect(describeCommand('DynamoDBDocumentClient', 'BatchWriteCommand', { RequestItems: { a: [], b: [] } }).map((c) => c.resource.name)).toEqual(['a', 'b']);
    expect(describeCommand('S3Client', 'DeleteObjectsCommand', { Bucket: 'b', Delete: { Objects: [{ Key: 'x' }, { Key: 'y' }] } }).map((c) => c.resource.key)).toEqual(['x', 'y']);
    expect(describeCommand('S3Client', 'CopyObjectCommand', { Bucket: 'b', Key: 'to', CopySource: 'a/from/k' }).map((c) => [c.action, c.resource.name, c.resource.key])).toEqual([
      ['s3:GetObject', 'a', 'from/k'],
      ['s3:PutObject', 'b', 'to'],
    ]);
  });

  it('attributes a call to the handler module whose invocation made it', async () => {
    expect(handlerFileOnStack('Error\n    at lambdaStep (/x/src/retraining/lambda-step.ts:40:10)\n    at /x/lambdas/retraining/train-model.ts:5:24')).toBe('lambdas/retraining/train-model.ts');
    expect(handlerFileOnStack('Error\n    at /x/src/serving/read-api.ts:1:1')).toBeUndefined();
    const dir = inject('awsCallsDir');
    const s3 = new S3Client({ endpoint: 'http://127.0.0.1:9', region: 'eu-west-1', maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const key = `probe-${Date.now()}`;
    await invocationScope.run('lambdas/__recorder_probe__/index.ts', () => s3.send(new HeadObjectCommand({ Bucket: 'probe-bucket', Key: key })).catch(() => undefined));
    s3.destroy();
    expect(recordedWith(dir, key)).toEqual([expect.objectContaining({ handler: 'lambdas/__recorder_probe__/index.ts', action: 's3:GetObject', resource: expect.objectContaining({ name: 'probe-bucket', key }) })]);
  });

  it('records that a read of a missing object also needs s3:ListBucket (S3 answers 403, not 404, without it)', async () => {
    const server = createServer((_req, res) => res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, forcePathStyle: true, region: 'eu-west-1', maxAttempts: 1, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const key = `models/missing-${Date.now()}.json`;
    const error = await invocationScope.run('lambdas/__recorder_probe__/index.ts', () => s3.send(new GetObjectCommand({ Bucket: 'probe-bucket', Key: key })).then(() => undefined, (e: Error) => e));
    s3.destroy();
    server.close();
    expect(error?.name).toBe('NoSuchKey');
    await new Promise((r) => setTimeout(r, 10));
    expect(recordedWith(inject('awsCallsDir'), key).map((c) => [c.action, c.resource.kind, c.context?.['s3:prefix']])).toEqual([
      ['s3:GetObject', 'object', undefined],
      ['s3:ListBucket', 'bucket', key],
    ]);
  });
});

describe('the IAM evaluation against the synthesised template', () => {
  it('allows a call inside the grants and denies the same call outside them (the production pointer has one writer)', async () => {
    expect(await decide(iam, call('lambdas/retraining/deploy-model.ts', 's3:PutObject', lake('models/production.json')))).toBe('Allowed');
    expect(await decide(iam, call('lambdas/retraining/train-model.ts', 's3:PutObject', lake('models/production.json')))).toBe('ImplicitlyDenied');
    expect(await decide(iam, call('lambdas/consumer/index.ts', 's3:PutObject', lake('models/v1/model.bin')))).toBe('ImplicitlyDenied');
  });

  it('denies a call once its grant is removed from the template (ExtractFeatures without dynamodb:BatchWriteItem)', async () => {
    const batch = call('lambdas/retraining/extract-features.ts', 'dynamodb:BatchWriteItem', { kind: 'table', name: 't', env: ['FEATURES_TABLE'] });
    expect(await decide(iam, batch)).toBe('Allowed');
    const broken = json();
    const role = fn('lambdas/retraining/extract-features.ts').roleId;
    for (const r of Object.values(broken.Resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(role))) {
      const doc = r.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] };
      doc.Statement = doc.Statement.filter((s) => ![s.Action].flat().includes('dynamodb:BatchWriteItem'));
    }
    expect(await decide(new TemplateIam(broken), batch)).toBe('ImplicitlyDenied');
  });

  it("applies the resources' own policies: the lake refuses a request without TLS", async () => {
    const f = fn('lambdas/retraining/deploy-model.ts');
    const request = requestOfCall(iam, f, call(f.handlerFile, 's3:GetObject', lake('models/production.json')));
    if ('problem' in request) throw new Error(request.problem);
    expect((await iam.evaluate(request)).decision).toBe('Allowed');
    expect((await iam.evaluate({ ...request, context: { 'aws:SecureTransport': 'false' } })).decision).toBe('ExplicitlyDenied');
  });

  it('refuses to resolve a resource the template does not give the function through its environment', () => {
    const request = requestOfCall(iam, fn('lambdas/events-api/index.ts'), call('lambdas/events-api/index.ts', 's3:GetObject', lake('bronze/x')));
    expect(request).toEqual({ problem: expect.stringContaining('LAKE_BUCKET, which the template does not set for this function') });
  });

  it('checks what AWS does with the roles: a consumer whose role loses the on-failure queue is caught', async () => {
    const consumer = fn('lambdas/consumer/index.ts');
    const sends = serviceCallsOfFunction(iam, consumer.functionId).filter((r) => r.action === 'sqs:SendMessage');
    expect(sends).toHaveLength(1);
    expect((await iam.evaluate(sends[0]!)).decision).toBe('Allowed');
    const broken = json();
    for (const r of Object.values(broken.Resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(consumer.roleId))) {
      const doc = r.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] };
      doc.Statement = doc.Statement.filter((s) => ![s.Action].flat().includes('sqs:SendMessage'));
    }
    expect((await new TemplateIam(broken).evaluate(sends[0]!)).decision).toBe('ImplicitlyDenied');
  });

  it("gives the state machine's role one invoke per Lambda task, on the substituted function ARN, and the scheduler its start", async () => {
    const calls = stateMachineCalls(iam, app.synth().directory);
    const invokes = calls.filter((c) => c.action === 'lambda:InvokeFunction');
    expect(new Set(invokes.map((c) => c.resource)).size).toBe(Object.keys(RETRAINING_FUNCTIONS).length);
    for (const c of invokes) expect(c.resource).toMatch(/^arn:aws:lambda:eu-west-1:123456789012:function:/);
    expect(calls.map((c) => c.action)).toEqual(expect.arrayContaining(['sns:Publish', 'kms:GenerateDataKey', 'kms:Decrypt']));
    for (const c of calls) expect((await iam.evaluate(c)).decision, `${c.origin} ${c.action}`).toBe('Allowed');
    // The nightly retraining and the hourly experiment check: each schedule may start its own machine.
    const starts = schedulerCalls(iam);
    expect(starts.map((s) => s.action)).toEqual(['states:StartExecution', 'states:StartExecution']);
    expect(new Set(starts.map((s) => s.resource)).size).toBe(2);
    for (const s of starts) expect((await iam.evaluate(s)).decision, s.origin).toBe('Allowed');
  });

  it('checks the Athena .sync tasks, in Map and Parallel states too, on the workgroup, and catches a missing action', async () => {
    const dir = app.synth().directory;
    const calls = stateMachineCalls(iam, dir);
    const { definition } = deployedDefinition(iam.t, dir);
    const athenaTasks = taskStates(definition.States as never).filter(([, s]) => s.Resource === 'arn:aws:states:::athena:startQueryExecution.sync').map(([n]) => n);
    // ValidateQuery at the top level, SilverQuery inside the BuildSilver Map, five queries inside the FeatureQueries Parallel.
    expect(athenaTasks).toEqual(expect.arrayContaining(['CheckBronze', 'ValidateQuery', 'SilverQuery', 'UserFeaturesQuery', 'ItemFeaturesQuery', 'InteractionsQuery', 'ItemCategoriesQuery', 'SilverCountsQuery']));
    const workGroup = iam.t.resources('AWS::Athena::WorkGroup');
    expect(workGroup).toHaveLength(1);
    const wgArn = `arn:aws:athena:eu-west-1:123456789012:workgroup/${String(iam.t.properties(workGroup[0]![0]).Name)}`;
    for (const task of athenaTasks) {
      const of = calls.filter((c) => c.origin === `state ${task}`);
      expect(of.filter((c) => c.resource === wgArn).map((c) => c.action).sort(), task).toEqual(['athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StartQueryExecution', 'athena:StopQueryExecution']);
      for (const c of of) expect((await iam.evaluate(c)).decision, `${task} ${c.action}`).toBe('Allowed');
    }
    // The nested Lambda task (WriteFeatureFile, inside the Distributed Map) is checked as well.
    expect(calls.some((c) => c.origin === 'state WriteFeatureFile' && c.action === 'lambda:InvokeFunction')).toBe(true);
    expect(calls.filter((c) => c.action.startsWith('unknown:'))).toEqual([]);

    // Without athena:StopQueryExecution (the .sync integration stops the query on abort/timeout) every Athena task is denied it.
    const broken = json();
    const smRole = calls[0]!.role;
    for (const r of Object.values(broken.Resources).filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(smRole))) {
      const doc = r.Properties!.PolicyDocument as { Statement: { Action: string | string[] }[] };
      for (const st of doc.Statement) if (Array.isArray(st.Action)) st.Action = st.Action.filter((a) => a !== 'athena:StopQueryExecution');
      doc.Statement = doc.Statement.filter((st) => [st.Action].flat().length > 0 && st.Action !== 'athena:StopQueryExecution');
    }
    const brokenIam = new TemplateIam(broken);
    const stops = calls.filter((c) => c.action === 'athena:StopQueryExecution');
    expect(stops).toHaveLength(athenaTasks.length);
    for (const c of stops) expect((await brokenIam.evaluate(c)).decision, c.origin).toBe('ImplicitlyDenied');
    // Every query runs in the template's workgroup (a task naming another one would make an unknown: request, refused above).
    expect(calls.filter((c) => c.action === 'athena:StartQueryExecution').every((c) => c.resource === wgArn)).toBe(true);
  });

  it("checks the Distributed Map: its ItemReader lists the lake under the run's features prefix, and it runs child executions of its own machine", async () => {
    const calls = stateMachineCalls(iam, app.synth().directory).filter((c) => c.origin === 'state WriteFeatures');
    // The bucket PlanRun puts in $.batch.bucket: its LAKE_BUCKET, the lake.
    const planRunEnv = (iam.t.properties(fn('lambdas/retraining/plan-run.ts').functionId).Environment as { Variables: Record<string, string> }).Variables;
    const lakeBucket = iam.t.resources('AWS::S3::Bucket').find(([id]) => iam.t.physical[id]!.ref === planRunEnv.LAKE_BUCKET);
    expect(lakeBucket, 'PlanRun LAKE_BUCKET is a bucket of the template').toBeDefined();
    const list = calls.filter((c) => c.action === 's3:ListBucket');
    expect(list).toHaveLength(1);
    expect(list[0]!.resource).toBe(iam.t.physical[lakeBucket![0]]!.attributes.Arn);
    expect(list[0]!.context).toEqual({ 's3:prefix': SAMPLE_STATE_INPUT['$.batch.featuresPrefix'] });
    expect(SAMPLE_STATE_INPUT['$.batch.featuresPrefix']).toMatch(/^silver\/_batch\/[^/]+\/features\/$/);
    const sm = iam.t.resources('AWS::StepFunctions::StateMachine').find(([, r]) => JSON.stringify(r.Properties?.DefinitionSubstitutions ?? {}).includes('WriteFeatureFile'));
    expect(sm).toBeDefined();
    const smArn = iam.t.physical[sm![0]]!.attributes.Arn!;
    expect(calls.filter((c) => c.action.startsWith('states:')).map((c) => [c.action, c.resource.startsWith(smArn.replace(':stateMachine:', ':execution:') + '/') ? 'child execution' : c.resource])).toEqual([
      ['states:StartExecution', smArn],
      ['states:DescribeExecution', 'child execution'],
      ['states:StopExecution', 'child execution'],
    ]);
    for (const c of calls) expect((await iam.evaluate(c)).decision, `${c.origin} ${c.action}`).toBe('Allowed');
    // Listing elsewhere in the lake (no prefix, or the models) is not granted: the grant is limited by s3:prefix.
    expect((await iam.evaluate({ ...list[0]!, context: { 's3:prefix': 'models/' } })).decision).toBe('ImplicitlyDenied');
    expect((await iam.evaluate({ ...list[0]!, context: {} })).decision).toBe('ImplicitlyDenied');
  });
});
