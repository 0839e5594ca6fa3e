/**
 * A synthesised CloudFormation template with its intrinsic functions resolved offline, the way
 * CloudFormation resolves them at deploy time: every resource gets a physical name (its literal name
 * property, or one made from its logical ID, or one the caller gives, e.g. the emulator's bucket) and the
 * ARNs and attributes AWS documents for its type. The deploy checks (IAM, state machine definition,
 * bundles) read policies, definitions and environments through it, so what they check is what AWS would see.
 */

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
export const PARTITION = 'aws';

export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  Condition?: string;
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Conditions?: Record<string, unknown>;
  Parameters?: Record<string, { Default?: unknown }>;
  Outputs?: Record<string, unknown>;
}

/** `Ref` and `Fn::GetAtt` values of one resource. */
export interface PhysicalResource {
  ref: string;
  attributes: Record<string, string>;
}

/** The literal property CloudFormation takes as a resource's name, by type. */
const NAME_PROPERTY: Record<string, string> = {
  'AWS::S3::Bucket': 'BucketName',
  'AWS::DynamoDB::Table': 'TableName',
  'AWS::Kinesis::Stream': 'Name',
  'AWS::SQS::Queue': 'QueueName',
  'AWS::SNS::Topic': 'TopicName',
  'AWS::Lambda::Function': 'FunctionName',
  'AWS::StepFunctions::StateMachine': 'StateMachineName',
  'AWS::IAM::Role': 'RoleName',
  'AWS::Logs::LogGroup': 'LogGroupName',
  'AWS::Scheduler::Schedule': 'Name',
  'AWS::CloudWatch::Alarm': 'AlarmName',
};

/** A name CloudFormation could have generated: lower case for S3, at most 63 characters. */
function generatedName(logicalId: string, type: string): string {
  const base = `recsys-${logicalId}`;
  return (type === 'AWS::S3::Bucket' ? base.toLowerCase() : base).slice(0, 63);
}

/** Ref and attributes of a resource of `type` named `name`, as AWS documents them for each type. */
export function physicalResource(type: string, name: string, logicalId: string): PhysicalResource {
  const r = REGION;
  const a = ACCOUNT;
  switch (type) {
    case 'AWS::S3::Bucket':
      return { ref: name, attributes: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com`, RegionalDomainName: `${name}.s3.${r}.amazonaws.com` } };
    case 'AWS::DynamoDB::Table':
      return { ref: name, attributes: { Arn: `arn:aws:dynamodb:${r}:${a}:table/${name}`, StreamArn: `arn:aws:dynamodb:${r}:${a}:table/${name}/stream/2026-01-01T00:00:00.000` } };
    case 'AWS::Kinesis::Stream':
      return { ref: name, attributes: { Arn: `arn:aws:kinesis:${r}:${a}:stream/${name}` } };
    case 'AWS::SQS::Queue':
      return { ref: `https://sqs.${r}.amazonaws.com/${a}/${name}`, attributes: { Arn: `arn:aws:sqs:${r}:${a}:${name}`, QueueName: name, QueueUrl: `https://sqs.${r}.amazonaws.com/${a}/${name}` } };
    case 'AWS::SNS::Topic':
      return { ref: `arn:aws:sns:${r}:${a}:${name}`, attributes: { TopicArn: `arn:aws:sns:${r}:${a}:${name}`, TopicName: name } };
    case 'AWS::Lambda::Function':
      return { ref: name, attributes: { Arn: `arn:aws:lambda:${r}:${a}:function:${name}` } };
    case 'AWS::StepFunctions::StateMachine':
      return { ref: `arn:aws:states:${r}:${a}:stateMachine:${name}`, attributes: { Arn: `arn:aws:states:${r}:${a}:stateMachine:${name}`, Name: name } };
    case 'AWS::IAM::Role':
      return { ref: name, attributes: { Arn: `arn:aws:iam::${a}:role/${name}`, RoleId: `AROA${logicalId.toUpperCase().slice(0, 17)}` } };
    case 'AWS::KMS::Key': {
      const id = `00000000-0000-4000-8000-${logicalId.replace(/[^0-9a-f]/gi, '').toLowerCase().padEnd(12, '0').slice(0, 12)}`;
      return { ref: id, attributes: { Arn: `arn:aws:kms:${r}:${a}:key/${id}`, KeyId: id } };
    }
    case 'AWS::Logs::LogGroup':
      return { ref: name, attributes: { Arn: `arn:aws:logs:${r}:${a}:log-group:${name}:*` } };
    case 'AWS::ApiGateway::RestApi':
      return { ref: `api${logicalId.toLowerCase().slice(0, 7)}`, attributes: { RootResourceId: 'root0000' } };
    case 'AWS::Scheduler::Schedule':
      return { ref: name, attributes: { Arn: `arn:aws:scheduler:${r}:${a}:schedule/default/${name}` } };
    case 'AWS::CloudWatch::Alarm':
      return { ref: name, attributes: { Arn: `arn:aws:cloudwatch:${r}:${a}:alarm:${name}` } };
    case 'AWS::ECS::Cluster':
      return { ref: name, attributes: { Arn: `arn:aws:ecs:${r}:${a}:cluster/${name}` } };
    case 'AWS::ECS::TaskDefinition':
      return { ref: `arn:aws:ecs:${r}:${a}:task-definition/${name}:1`, attributes: { TaskDefinitionArn: `arn:aws:ecs:${r}:${a}:task-definition/${name}:1` } };
    case 'AWS::EC2::SecurityGroup': {
      const sg = `sg-${logicalId.toLowerCase().replace(/[^0-9a-f]/g, '').padEnd(17, '0').slice(0, 17)}`;
      return { ref: sg, attributes: { GroupId: sg } };
    }
    case 'AWS::EC2::Subnet':
      return { ref: `subnet-${logicalId.toLowerCase().replace(/[^0-9a-f]/g, '').padEnd(17, '0').slice(0, 17)}`, attributes: {} };
    default:
      return { ref: name, attributes: {} };
  }
}

export class ResolvedTemplate {
  readonly physical: Record<string, PhysicalResource> = {};

  /**
   * @param names physical names to give some resources (logical ID → name), e.g. the emulator's bucket
   *   for the lake, so a resolved environment points a bundle at the emulators.
   */
  constructor(readonly template: CfnTemplate, names: Record<string, string> = {}) {
    for (const [id, res] of Object.entries(template.Resources)) {
      const literal = res.Properties?.[NAME_PROPERTY[res.Type] ?? ''];
      const name = names[id] ?? (typeof literal === 'string' ? literal : generatedName(id, res.Type));
      this.physical[id] = physicalResource(res.Type, name, id);
    }
  }

  resources(type?: string): [string, CfnResource][] {
    return Object.entries(this.template.Resources).filter(([, r]) => !type || r.Type === type);
  }

  resource(logicalId: string): CfnResource {
    const r = this.template.Resources[logicalId];
    if (!r) throw new Error(`the template has no resource ${logicalId}`);
    return r;
  }

  /** The logical ID a `{ Ref }` or `{ Fn::GetAtt }` points at, if the value is one. */
  static target(value: unknown): string | undefined {
    if (!value || typeof value !== 'object') return undefined;
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return v.Ref;
    const att = v['Fn::GetAtt'];
    if (Array.isArray(att) && typeof att[0] === 'string') return att[0];
    if (typeof att === 'string') return att.split('.')[0];
    return undefined;
  }

  private pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::Region':
        return REGION;
      case 'AWS::AccountId':
        return ACCOUNT;
      case 'AWS::Partition':
        return PARTITION;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return 'RecsysStack';
      case 'AWS::StackId':
        return `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/RecsysStack/00000000-0000-4000-8000-000000000000`;
      default:
        return undefined;
    }
  }

  private ref(name: string): string {
    const pseudo = this.pseudo(name);
    if (pseudo !== undefined) return pseudo;
    const res = this.physical[name];
    if (res) return res.ref;
    const param = this.template.Parameters?.[name];
    if (param && param.Default !== undefined) return String(param.Default);
    throw new Error(`Ref to ${name}, which the template does not define`);
  }

  private getAtt(id: string, attr: string): string {
    const res = this.physical[id];
    if (!res) throw new Error(`Fn::GetAtt on ${id}, which the template does not define`);
    const value = res.attributes[attr];
    if (value === undefined) throw new Error(`Fn::GetAtt ${id}.${attr}: no such attribute for ${this.template.Resources[id]!.Type} here`);
    return value;
  }

  private condition(name: string): boolean {
    const c = this.template.Conditions?.[name];
    if (c === undefined) throw new Error(`condition ${name} is not defined`);
    return this.truth(c);
  }

  private truth(value: unknown): boolean {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    const v = value as Record<string, unknown[]>;
    if (v['Fn::Equals']) return String(this.resolve(v['Fn::Equals'][0])) === String(this.resolve(v['Fn::Equals'][1]));
    if (v['Fn::Not']) return !this.truth(v['Fn::Not'][0]);
    if (v['Fn::And']) return v['Fn::And'].every((x) => this.truth(x));
    if (v['Fn::Or']) return v['Fn::Or'].some((x) => this.truth(x));
    if (typeof (value as { Condition?: unknown }).Condition === 'string') return this.condition((value as { Condition: string }).Condition);
    throw new Error(`cannot evaluate condition ${JSON.stringify(value)}`);
  }

  private sub(text: string, vars: Record<string, unknown>): string {
    return text.replace(/\$\{([^}!][^}]*)\}/g, (_m, name: string) => {
      if (name in vars) return String(this.resolve(vars[name]));
      if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id, ...attr] = name.split('.');
        return this.getAtt(id!, attr.join('.'));
      }
      return this.ref(name);
    }).replace(/\$\{!/g, '${');
  }

  /** The value with every intrinsic function replaced by what CloudFormation would produce. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v)).filter((v) => v !== NO_VALUE);
    if (!value || typeof value !== 'object') return value;
    const v = value as Record<string, unknown>;
    const keys = Object.keys(v);
    if (keys.length === 1) {
      const [key] = keys as [string];
      const arg = v[key];
      switch (key) {
        case 'Ref':
          return arg === 'AWS::NoValue' ? NO_VALUE : this.ref(String(arg));
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.*)/);
          return this.getAtt(id!, String(this.resolve(attr)));
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolve(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Sub':
          return typeof arg === 'string' ? this.sub(arg, {}) : this.sub((arg as [string, Record<string, unknown>])[0], (arg as [string, Record<string, unknown>])[1]);
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, unknown];
          return String(this.resolve(text)).split(sep);
        }
        case 'Fn::GetAZs':
          return [`${REGION}a`, `${REGION}b`, `${REGION}c`];
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return this.resolve(this.condition(cond) ? yes : no);
        }
        case 'Fn::Base64':
          return Buffer.from(String(this.resolve(arg))).toString('base64');
        case 'Fn::ToJsonString':
          return JSON.stringify(this.resolve(arg));
        default:
          if (key.startsWith('Fn::')) throw new Error(`intrinsic ${key} is not resolved by the deploy checks`);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const r = this.resolve(x);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }

  /** A resource's properties, resolved. */
  properties(logicalId: string): Record<string, unknown> {
    return this.resolve(this.resource(logicalId).Properties ?? {}) as Record<string, unknown>;
  }
}

const NO_VALUE = Symbol('AWS::NoValue');
