import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AslDefinition } from '../../src/local/retraining-runner';
import { ResolvedTemplate } from './cfn-template';
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

type AnyState = AslDefinition['States'][string] & { Branches?: { States: Record<string, AnyState> }[]; ItemProcessor?: { States: Record<string, AnyState> }; Iterator?: { States: Record<string, AnyState> } };

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

const SFN_LOGS_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html';
const SFN_XRAY_DOC = 'https://docs.aws.amazon.com/step-functions/latest/dg/xray-iam.html';
const SNS_SSE_DOC = 'https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html';

/**
 * What the state machine's role is asked to do: each Task's call (Lambda invoke, SNS publish with the topic's
 * KMS key), and the log deliveries and traces Step Functions makes with it.
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
    } else {
      out.push({ role, origin, action: `unknown:${String(state.Resource)}`, resource: '*' });
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
