import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { CfnElement, Stack } from 'aws-cdk-lib';
import { PipelineFunction } from '../../lib/node-function';
import { ACCOUNT, REGION, ResolvedTemplate, type CfnTemplate } from './cfn-template';
import type { RecordedCall, TouchedResource } from './aws-calls';

/**
 * Evaluates AWS calls against the IAM policies of a synthesised template, offline, with
 * @cloud-copilot/iam-simulate: the role's identity policies, the resource's own policy (bucket, queue and
 * topic policies, e.g. the TLS-only denies) and the request's context. Every resource is resolved from the
 * template, so a call is checked against exactly the ARNs CloudFormation would create.
 */

/** A call to check: who makes it (a role), the action, the resource ARN and the request's condition keys. */
export interface IamRequest {
  /** Logical ID of the role the call is made with. */
  role: string;
  action: string;
  resource: string;
  context?: Record<string, string>;
  /** Where the call comes from, for reports: a handler file, `service` for calls AWS makes with the role. */
  origin: string;
  /** Why the call is made, for calls the code does not make itself (the documentation that says so). */
  because?: string;
}

export interface IamVerdict extends IamRequest {
  decision: 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' | 'Error';
  detail?: string;
}

interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[] | PolicyStatement;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: unknown;
}

/** The pipeline's functions in a synthesised stack: handler file, function and role logical IDs. */
export function deployedFunctions(stack: Stack, iam: TemplateIam): DeployedFunction[] {
  return stack.node
    .findAll()
    .filter((c): c is PipelineFunction => c instanceof PipelineFunction)
    .map((fn) => {
      const functionId = stack.getLogicalId(fn.node.defaultChild as CfnElement);
      return { handlerFile: fn.handlerFile, functionId, roleId: iam.functionRole(functionId) };
    });
}

/** The deployed functions: handler file, function and role logical IDs. */
export interface DeployedFunction {
  handlerFile: string;
  functionId: string;
  roleId: string;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** `*`/`?` wildcard match, case-insensitive for actions as IAM does. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'i' : '');
  return re.test(value);
}

export class TemplateIam {
  readonly t: ResolvedTemplate;

  constructor(template: CfnTemplate) {
    this.t = new ResolvedTemplate(template);
  }

  roleArn(roleId: string): string {
    return this.t.physical[roleId]!.attributes.Arn!;
  }

  /** Every identity policy attached to a role: its inline policies and the AWS::IAM::Policy resources naming it. */
  identityPolicies(roleId: string): { name: string; policy: PolicyDocument }[] {
    const role = this.t.properties(roleId);
    if (list(role.ManagedPolicyArns as string[] | undefined).length > 0) {
      throw new Error(`${roleId} has managed policies (${JSON.stringify(role.ManagedPolicyArns)}): the deploy checks cannot read their documents offline`);
    }
    const inline = list(role.Policies as { PolicyName: string; PolicyDocument: PolicyDocument }[] | undefined).map((p) => ({ name: p.PolicyName, policy: p.PolicyDocument }));
    const attached = this.t
      .resources('AWS::IAM::Policy')
      .filter(([, r]) => list(r.Properties?.Roles as unknown[]).some((ref) => ResolvedTemplate.target(ref) === roleId))
      .map(([id]) => ({ name: id, policy: this.t.properties(id).PolicyDocument as PolicyDocument }));
    return [...inline, ...attached];
  }

  /** The statements granting something to a role. */
  grants(roleId: string): PolicyStatement[] {
    return this.identityPolicies(roleId).flatMap((p) => list(p.policy.Statement)).filter((s) => s.Effect === 'Allow');
  }

  /** The resource policy that also decides a request on `arn` (bucket, queue, topic policies). */
  resourcePolicy(arn: string): PolicyDocument | undefined {
    const owner = (type: string, attr: string, prop: string, match: (arn: string, owned: string) => boolean) => {
      for (const [id] of this.t.resources(type)) {
        const props = this.t.properties(id);
        for (const target of list(props[prop] as string | string[])) {
          const ownerId = this.t.resources().find(([rid]) => this.t.physical[rid]!.ref === target || this.t.physical[rid]!.attributes[attr] === target)?.[0];
          const ownedArn = ownerId ? this.t.physical[ownerId]!.attributes[attr] : undefined;
          if (ownedArn && match(arn, ownedArn)) return props.PolicyDocument as PolicyDocument;
        }
      }
      return undefined;
    };
    if (arn.startsWith('arn:aws:s3:::')) return owner('AWS::S3::BucketPolicy', 'Arn', 'Bucket', (a, b) => a === b || a.startsWith(`${b}/`));
    if (arn.startsWith('arn:aws:sqs:')) return owner('AWS::SQS::QueuePolicy', 'Arn', 'Queues', (a, b) => a === b);
    if (arn.startsWith('arn:aws:sns:')) return owner('AWS::SNS::TopicPolicy', 'TopicArn', 'Topics', (a, b) => a === b);
    if (arn.startsWith('arn:aws:kms:')) {
      // A KMS key is used only as far as its key policy allows (it names the account to delegate to IAM).
      const key = this.t.resources('AWS::KMS::Key').find(([id]) => this.t.physical[id]!.attributes.Arn === arn)?.[0];
      return key ? (this.t.properties(key).KeyPolicy as PolicyDocument) : undefined;
    }
    return undefined;
  }

  /** The pipeline's functions by handler file (from the construct tree: `PipelineFunction.handlerFile`). */
  functionRole(functionId: string): string {
    const role = ResolvedTemplate.target(this.t.resource(functionId).Properties?.Role);
    if (!role) throw new Error(`${functionId} has no role from this template`);
    return role;
  }

  /**
   * The ARN a recorded call touched, found the way the deployed function finds it: through the environment
   * variable that names it, whose value the template sets. Undefined (with the reason) when the template
   * gives the function no such variable.
   */
  resourceArn(functionId: string, touched: TouchedResource): { arn: string } | { problem: string } {
    if (touched.kind === 'none') return { arn: '*' };
    const env = (this.t.properties(functionId).Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {};
    const names = touched.env.filter((n) => n in env);
    if (names.length === 0) {
      return { problem: touched.env.length ? `uses the ${touched.kind} named by ${touched.env.join('/')}, which the template does not set for this function` : `uses ${touched.kind} "${touched.name}", which no environment variable names` };
    }
    const value = env[names[0]!]!;
    const type = { bucket: 'AWS::S3::Bucket', object: 'AWS::S3::Bucket', table: 'AWS::DynamoDB::Table', index: 'AWS::DynamoDB::Table', stream: 'AWS::Kinesis::Stream', queue: 'AWS::SQS::Queue', topic: 'AWS::SNS::Topic', stateMachine: 'AWS::StepFunctions::StateMachine', function: 'AWS::Lambda::Function' }[touched.kind];
    const owner = this.t.resources(type).find(([id]) => {
      const p = this.t.physical[id]!;
      return p.ref === value || Object.values(p.attributes).includes(value);
    });
    if (!owner) return { problem: `${names[0]} = ${value} names no ${type} of the template` };
    const p = this.t.physical[owner[0]]!;
    const arn = p.attributes.Arn ?? p.attributes.TopicArn ?? p.ref;
    if (touched.kind === 'object') return { arn: `${arn}/${touched.key ?? ''}` };
    if (touched.kind === 'index') return { arn: `${arn}/index/${touched.key ?? ''}` };
    return { arn };
  }

  async evaluate(request: IamRequest): Promise<IamVerdict> {
    const resourcePolicy = this.resourcePolicy(request.resource);
    const result = await runSimulation(
      {
        request: {
          principal: this.roleArn(request.role),
          action: request.action,
          resource: { resource: request.resource, accountId: ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': REGION, ...request.context },
        },
        identityPolicies: this.identityPolicies(request.role),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
      },
      {},
    );
    if (result.resultType === 'error') return { ...request, decision: 'Error', detail: JSON.stringify(result.errors) };
    return { ...request, decision: result.overallResult as IamVerdict['decision'] };
  }
}

const LAMBDA_KINESIS_DOC = 'https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html';

/**
 * Calls AWS makes with a function's role rather than its code: the Lambda service writes the function's logs
 * and traces, and the Kinesis event source mapping reads the stream and sends what fails to the on-failure
 * destination, all with the execution role.
 */
export function serviceCallsOfFunction(iam: TemplateIam, functionId: string): IamRequest[] {
  const t = iam.t;
  const role = iam.functionRole(functionId);
  const props = t.properties(functionId);
  const out: IamRequest[] = [];
  const logGroup = (props.LoggingConfig as { LogGroup?: string } | undefined)?.LogGroup;
  const group = logGroup ?? `/aws/lambda/${t.physical[functionId]!.ref}`;
  const because = 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html';
  out.push({ role, origin: 'service', action: 'logs:CreateLogStream', resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:2026/12/01/[$LATEST]0123456789abcdef`, because });
  out.push({ role, origin: 'service', action: 'logs:PutLogEvents', resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:2026/12/01/[$LATEST]0123456789abcdef`, because });
  if ((props.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active') {
    for (const action of ['xray:PutTraceSegments', 'xray:PutTelemetryRecords']) out.push({ role, origin: 'service', action, resource: '*', because: 'https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html' });
  }
  for (const [id] of t.resources('AWS::Lambda::EventSourceMapping')) {
    const esm = t.properties(id);
    if (esm.FunctionName !== t.physical[functionId]!.ref && esm.FunctionName !== t.physical[functionId]!.attributes.Arn) continue;
    const source = String(esm.EventSourceArn);
    if (source.startsWith('arn:aws:kinesis:')) {
      for (const action of ['kinesis:DescribeStream', 'kinesis:DescribeStreamSummary', 'kinesis:GetRecords', 'kinesis:GetShardIterator', 'kinesis:ListShards']) {
        out.push({ role, origin: `service (event source mapping ${id})`, action, resource: source, because: LAMBDA_KINESIS_DOC });
      }
    }
    const onFailure = (esm.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure?.Destination;
    if (onFailure?.startsWith('arn:aws:sqs:')) out.push({ role, origin: `service (event source mapping ${id})`, action: 'sqs:SendMessage', resource: onFailure, because: `${LAMBDA_KINESIS_DOC} (on-failure destination)` });
  }
  return out;
}

/** A recorded call as a request of the function's role, or the reason it cannot be resolved against the template. */
export function requestOfCall(iam: TemplateIam, fn: DeployedFunction, call: RecordedCall): IamRequest | { problem: string } {
  const resolved = iam.resourceArn(fn.functionId, call.resource);
  if ('problem' in resolved) return { problem: `${call.handler} ${call.action}: ${resolved.problem}` };
  return { role: fn.roleId, origin: call.handler, action: call.action, resource: resolved.arn, ...(call.context ? { context: call.context } : {}), ...(call.because ? { because: call.because } : {}) };
}

/** The grants of a role that none of `used` needed: each (action pattern, resource) of an Allow statement. */
export function unusedGrants(iam: TemplateIam, roleId: string, used: IamRequest[]): { action: string; resources: string[] }[] {
  const out: { action: string; resources: string[] }[] = [];
  for (const statement of iam.grants(roleId)) {
    const resources = list(statement.Resource);
    for (const action of list(statement.Action)) {
      const needed = used.some((u) => u.role === roleId && wildcardMatch(action, u.action, true) && resources.some((r) => wildcardMatch(r, u.resource)));
      if (!needed) out.push({ action, resources });
    }
  }
  return out;
}
