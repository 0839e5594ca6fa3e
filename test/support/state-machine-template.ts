import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AslDefinition } from '../../src/local/retraining-runner';
import { silverBatchPrefix } from '../../src/domain/lake-layout';
import { ACCOUNT, REGION, ResolvedTemplate } from './cfn-template';
import type { IamRequest, TemplateIam } from './iam-check';

/**
 * The state machine definition AWS would receive from a synthesised template: the asset file named by
 * `DefinitionS3Location` (or the inline `DefinitionString`), with `DefinitionSubstitutions` resolved and
 * filled in as CloudFormation does.
 */
export function deployedDefinition(t: ResolvedTemplate, assemblyDir: string, stateMachineId?: string): { id: string; text: string; definition: AslDefinition } {
  const [id] = stateMachineId ? [stateMachineId] : (t.resources('AWS::StepFunctions::StateMachine')[0] ?? []);
  if (!id) throw new Error('the template has no state machine');
  const props = t.properties(id);
  let raw: string;
  if (typeof props.DefinitionString === 'string') raw = props.DefinitionString;
  else {
    const location = props.DefinitionS3Location as { Key?: string } | undefined;
    const file = join(assemblyDir, `asset.${String(location?.Key ?? '')}`);
    if (!location?.Key || !existsSync(file)) throw new Error(`the definition asset ${file} is not in the cloud assembly`);
    raw = readFileSync(file, 'utf8');
  }
  const substitutions = (props.DefinitionSubstitutions ?? {}) as Record<string, string>;
  // CloudFormation replaces ${Name} for each key given; any other ${…} stays as it is (and AWS would reject it
  // where an ARN is expected).
  const text = raw.replace(/\$\{([A-Za-z0-9_]+)\}/g, (m, name: string) => (name in substitutions ? String(substitutions[name]) : m));
  return { id, text, definition: JSON.parse(text) as AslDefinition };
}

type AnyState = AslDefinition['States'][string] & {
  Branches?: { States: Record<string, AnyState> }[];
  ItemProcessor?: { States: Record<string, AnyState>; ProcessorConfig?: { Mode?: string; ExecutionType?: string } };
  Iterator?: { States: Record<string, AnyState> };
  ItemReader?: { Resource: string; Parameters?: Record<string, unknown> };
};

/** Every Task state, in nested Parallel and Map states too. */
export function taskStates(states: Record<string, AnyState>): [string, AnyState][] {
  const out: [string, AnyState][] = [];
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') out.push([name, state]);
    for (const b of state.Branches ?? []) out.push(...taskStates(b.States));
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) out.push(...taskStates(inner.States));
  }
  return out;
}

/** Every Map state, in nested Parallel and Map states too. */
export function mapStates(states: Record<string, AnyState>): [string, AnyState][] {
  const out: [string, AnyState][] = [];
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Map') out.push([name, state]);
    for (const b of state.Branches ?? []) out.push(...mapStates(b.States));
    const inner = state.ItemProcessor ?? state.Iterator;
    if (inner) out.push(...mapStates(inner.States));
  }
  return out;
}

const SFN_LOGS_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html';
const SFN_XRAY_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html';
const SNS_SSE_DOC = 'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html';

const ATHENA_SYNC_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/athena-iam.html';
const ITEM_READER_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html#itemreader-iam-policies';
const DISTRIBUTED_MAP_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html';

/**
 * Values the deployed definition reads from the state's input, for requests whose resource comes from it: the
 * `WriteFeatures` ItemReader lists `$.batch.featuresPrefix` of `$.batch.bucket`, which PlanRun sets to the lake
 * bucket and `silver/_batch/<runId>/features/` (src/retraining/batch-steps.ts). `$.batch.bucket` defaults to the
 * bucket the invoked functions get as LAKE_BUCKET. A path without a value here makes an `unknown:` request,
 * which the evaluation reports as an error rather than passing.
 */
export const SAMPLE_STATE_INPUT: Readonly<Record<string, string>> = {
  '$.batch.featuresPrefix': silverBatchPrefix('manual-2026-12-03T00-00-00Z', 'features'),
};

/**
 * What the state machine's role is asked to do: each Task's call (Lambda invoke, SNS publish with the topic's
 * KMS key, Athena query run to completion), in Map and Parallel states too; each Map's ItemReader listing and a
 * Distributed Map's child executions; and the log deliveries and traces Step Functions makes with it.
 */

export function stateMachineCalls(iam: TemplateIam, assemblyDir: string, stateMachineId?: string): IamRequest[] {
  const t = iam.t;
  const { id, definition } = deployedDefinition(t, assemblyDir, stateMachineId);
  const props = t.properties(id);
  const role = t.resources('AWS::IAM::Role').find(([rid]) => t.physical[rid]!.attributes.Arn === props.RoleArn)?.[0];
  if (!role) throw new Error(`the state machine's role ${String(props.RoleArn)} is not in the template`);
  const out: IamRequest[] = [];
  for (const [name, state] of taskStates(definition.States as Record<string, AnyState>)) {
    const params = (state.Parameters ?? {}) as Record<string, unknown>;
    const origin = `state ${name}`;
    if (state.Resource === 'arn:aws:states:::lambda:invoke' || String(state.Resource).startsWith('arn:aws:lambda:')) {
      const fn = String(params.FunctionName ?? state.Resource);
      out.push({ role, origin, action: 'lambda:InvokeFunction', resource: fn });
    } else if (state.Resource === 'arn:aws:states:::sns:publish') {
      const topicArn = String(params.TopicArn);
      out.push({ role, origin, action: 'sns:Publish', resource: topicArn });
      const topic = t.resources('AWS::SNS::Topic').find(([tid]) => t.physical[tid]!.ref === topicArn)?.[0];
      const keyRef = topic ? t.resource(topic).Properties?.KmsMasterKeyId : undefined;
      const keyId = ResolvedTemplate.target(keyRef);
      if (keyId) {
        for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) out.push({ role, origin, action, resource: t.physical[keyId]!.attributes.Arn!, because: SNS_SSE_DOC });
      }
    } else if (state.Resource === 'arn:aws:states:::athena:startQueryExecution.sync') {
      // What the .sync integration calls (start, poll, read, stop on timeout/abort), on the workgroup the task names,
      // which must be the template's; and the catalog and database of the query context (athena-iam.html).
      const name = String(params.WorkGroup);
      const workGroup = t.resources('AWS::Athena::WorkGroup').find(([wid]) => t.properties(wid).Name === name);
      if (!workGroup) {
        out.push({ role, origin, action: `unknown:athena workgroup ${name} (not in the template)`, resource: '*' });
        continue;
      }
      const wgArn = `arn:aws:athena:${REGION}:${ACCOUNT}:workgroup/${name}`;
      for (const action of ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution']) out.push({ role, origin, action, resource: wgArn, because: ATHENA_SYNC_DOC });
      out.push({ role, origin, action: 'athena:GetDataCatalog', resource: `arn:aws:athena:${REGION}:${ACCOUNT}:datacatalog/AwsDataCatalog`, because: ATHENA_SYNC_DOC });
      const database = (params.QueryExecutionContext as { Database?: string } | undefined)?.Database;
      if (database) out.push({ role, origin, action: 'glue:GetDatabase', resource: `arn:aws:glue:${REGION}:${ACCOUNT}:database/${database}`, because: ATHENA_SYNC_DOC });
    } else if (state.Resource === 'arn:aws:states:::ecs:runTask.sync' && fargateTrainingOff(t, definition.States as Record<string, AnyState>)) {
      // TrainTask without the Fargate task deployed: its placeholders name nothing and ChooseTrainer never routes there
      // (FARGATE_TRAINING=false in every function's environment), so the role is asked for nothing. With the task
      // deployed this falls through to `unknown:` below: the ECS calls are not modelled here (test/lib/training-task.test.ts
      // checks that grant).
      continue;
    } else {
      out.push({ role, origin, action: `unknown:${String(state.Resource)}`, resource: '*' });
    }
  }
  const smArn = t.physical[id]!.attributes.Arn!;
  for (const [name, state] of mapStates(definition.States as Record<string, AnyState>)) {
    const origin = `state ${name}`;
    const reader = state.ItemReader;
    if (reader) {
      if (reader.Resource === 'arn:aws:states:::s3:listObjectsV2') {
        const p = reader.Parameters ?? {};
        const value = (field: string): string | undefined => {
          if (typeof p[field] === 'string') return p[field];
          const path = p[`${field}.$`];
          if (typeof path !== 'string') return undefined;
          if (path in SAMPLE_STATE_INPUT) return SAMPLE_STATE_INPUT[path];
          if (field === 'Bucket') return lakeBucketOfInvokedFunctions(t, definition.States as Record<string, AnyState>);
          return undefined;
        };
        const bucket = value('Bucket');
        const prefix = value('Prefix');
        if (!bucket || (('Prefix' in p || 'Prefix.$' in p) && prefix === undefined)) {
          out.push({ role, origin, action: `unknown:ItemReader ${JSON.stringify(p)}`, resource: '*' });
        } else {
          out.push({ role, origin, action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}`, context: prefix === undefined ? {} : { 's3:prefix': prefix }, because: ITEM_READER_DOC });
        }
      } else {
        out.push({ role, origin, action: `unknown:ItemReader ${reader.Resource}`, resource: '*' });
      }
    }
    if (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED') {
      // Each batch of items runs as a child execution of this state machine, which the role starts, reads and stops.
      out.push({ role, origin, action: 'states:StartExecution', resource: smArn, because: DISTRIBUTED_MAP_DOC });
      const child = `${smArn.replace(':stateMachine:', ':execution:')}/${name}:00000000-0000-4000-8000-000000000000`;
      for (const action of ['states:DescribeExecution', 'states:StopExecution']) out.push({ role, origin, action, resource: child, because: DISTRIBUTED_MAP_DOC });
    }
  }
  if ((props.LoggingConfiguration as { Level?: string } | undefined)?.Level && (props.LoggingConfiguration as { Level?: string }).Level !== 'OFF') {
    for (const action of ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups']) {
      out.push({ role, origin: 'service (execution logs)', action, resource: '*', because: SFN_LOGS_DOC });
    }
  }
  if ((props.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled) {
    for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets']) {
      out.push({ role, origin: 'service (tracing)', action, resource: '*', because: SFN_XRAY_DOC });
    }
  }
  return out;
}

/** True when every function the definition invokes has FARGATE_TRAINING=false (the Fargate task is not deployed). */
function fargateTrainingOff(t: ResolvedTemplate, states: Record<string, AnyState>): boolean {
  const values = taskStates(states).flatMap(([, state]) => {
    const fnArn = String((state.Parameters as Record<string, unknown> | undefined)?.FunctionName ?? '');
    const fn = t.resources('AWS::Lambda::Function').find(([fid]) => t.physical[fid]!.attributes.Arn === fnArn)?.[0];
    return fn ? [(t.properties(fn).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.FARGATE_TRAINING] : [];
  });
  return values.length > 0 && values.every((v) => v === 'false');
}

/** The one bucket the functions a definition invokes get as LAKE_BUCKET (an error if none or several). */
function lakeBucketOfInvokedFunctions(t: ResolvedTemplate, states: Record<string, AnyState>): string | undefined {
  const names = new Set<string>();
  for (const [, state] of taskStates(states)) {
    const fnArn = String((state.Parameters as Record<string, unknown> | undefined)?.FunctionName ?? '');
    const fn = t.resources('AWS::Lambda::Function').find(([fid]) => t.physical[fid]!.attributes.Arn === fnArn)?.[0];
    const env = fn ? (t.properties(fn).Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables : undefined;
    if (env && typeof env.LAKE_BUCKET === 'string') names.add(env.LAKE_BUCKET);
  }
  return names.size === 1 ? [...names][0] : undefined;
}

/** `stateMachineCalls` of every state machine in the template (the nightly retraining, the experiment check, …). */
export function everyStateMachineCalls(iam: TemplateIam, assemblyDir: string): IamRequest[] {
  return iam.t.resources('AWS::StepFunctions::StateMachine').flatMap(([id]) => stateMachineCalls(iam, assemblyDir, id));
}

/** What each EventBridge Scheduler schedule's role is asked to do: start its target. */
export function schedulerCalls(iam: TemplateIam): IamRequest[] {
  const t = iam.t;
  return t.resources('AWS::Scheduler::Schedule').map(([id]) => {
    const target = t.properties(id).Target as { Arn: string; RoleArn: string };
    const role = t.resources('AWS::IAM::Role').find(([rid]) => t.physical[rid]!.attributes.Arn === target.RoleArn)?.[0];
    if (!role) throw new Error(`schedule ${id}: its role ${target.RoleArn} is not in the template`);
    const action = target.Arn.startsWith('arn:aws:states:') ? 'states:StartExecution' : target.Arn.startsWith('arn:aws:lambda:') ? 'lambda:InvokeFunction' : `unknown:${target.Arn}`;
    return { role, origin: `schedule ${id}`, action, resource: target.Arn, because: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role' };
  });
}

/** The service principals a role trusts (its AssumeRolePolicyDocument). */
export function trustedServices(t: ResolvedTemplate, roleId: string): string[] {
  const doc = t.properties(roleId).AssumeRolePolicyDocument as { Statement: { Effect: string; Action: string | string[]; Principal?: { Service?: string | string[] } }[] };
  return doc.Statement.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes('sts:AssumeRole')).flatMap((s) => [s.Principal?.Service ?? []].flat());
}
