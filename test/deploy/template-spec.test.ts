/**
 * "Templates AWS would accept": every resource of the synthesized stack checked offline against
 * CloudFormation's resource specification (CDK's @aws-cdk/aws-service-spec database) and the documented
 * limits in test/support/cfn-ranges.ts. See test/support/cfn-spec.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CFN_VALUE_RULES } from '../support/cfn-ranges';
import { checkTemplateAgainstSpec, formatFindings, lookupResource, specDatabase, specTypeAt, type Finding } from '../support/cfn-spec';
import { synthStack } from '../support/synth';

type Props = Record<string, unknown>;
interface CfnResource { Type: string; Properties?: Props; [key: string]: unknown }
interface CfnTemplate { Resources: Record<string, CfnResource>; [key: string]: unknown }

const VARIANTS: Array<[string, Record<string, unknown>]> = [
  ['default configuration', {}],
  // on-demand stream (streamShards 0), no analytics consumer, schedule disabled, and every numeric context
  // key lib/config.ts lets through at its documented maximum (the table's upper bounds must hold there)
  ['on-demand, no analytics, limits at maximum', {
    streamShards: 0, analyticsEnabled: false, retrainScheduleEnabled: false,
    streamRetentionHours: 8760, consumerBatchSize: 10_000, consumerBatchingWindowSeconds: 300, consumerMaxRetries: 10_000,
    consumerMaxRecordAgeHours: 168, logRetentionDays: 3653, apiMemorySize: 10_240, retrainMemorySize: 10_240, catalogRefreshMs: 60_000,
  }],
  // limits at their minimum, and the API Gateway account role left to the account (apiCloudWatchRole=false
  // used to fail the synthesis on an unacknowledged cdk-nag finding)
  ['limits at minimum, no API Gateway account role', {
    streamShards: 1, streamRetentionHours: 24, consumerBatchSize: 1, consumerBatchingWindowSeconds: 0, consumerMaxRetries: 0,
    logRetentionDays: 1, apiCloudWatchRole: false, catalogRefreshMs: 100,
  }],
];

const templates = new Map<string, CfnTemplate>();
beforeAll(() => {
  specDatabase(); // load once for the file
  for (const [name, context] of VARIANTS) templates.set(name, synthStack(context).template.toJSON() as CfnTemplate);
}, 60_000);

const copyOf = (name = 'default configuration'): CfnTemplate => structuredClone(templates.get(name) as CfnTemplate);
/** The first resource of a type in the template: its logical ID and properties. */
function first(t: CfnTemplate, type: string): { id: string; props: Props } {
  const entry = Object.entries(t.Resources).find(([, r]) => r.Type === type);
  if (entry === undefined) throw new Error(`the template has no ${type}`);
  entry[1].Properties ??= {};
  return { id: entry[0], props: entry[1].Properties };
}
const asProps = (v: unknown): Props => v as Props;
const asList = (v: unknown): Props[] => v as Props[];

describe('the synthesized stack against the CloudFormation resource specification', () => {
  it.each(VARIANTS.map(([name]) => name))('%s: no findings', (name) => {
    const template = templates.get(name) as CfnTemplate;
    expect(Object.keys(template.Resources).length).toBeGreaterThan(50);
    const findings = checkTemplateAgainstSpec(template);
    expect(findings, `findings:\n${formatFindings(findings)}`).toEqual([]);
  });

  it('every resource type of the stack is known to the spec DB', () => {
    const types = new Set(Object.values(copyOf().Resources).map((r) => r.Type));
    const unknown = [...types].filter((t) => lookupResource(t) === undefined);
    expect(unknown).toEqual([]);
  });
});

interface Mutation {
  name: string;
  /** Breaks the copy; returns the logical ID and path of the finding it must cause. */
  mutate: (t: CfnTemplate) => { id: string; path: string };
  message: RegExp;
}

const MUTATIONS: Mutation[] = [
  {
    name: 'unknown property on a Lambda function',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.MemorySizeMb = 1024; return { id: f.id, path: 'Properties.MemorySizeMb' }; },
    message: /unknown property "MemorySizeMb" of AWS::Lambda::Function/,
  },
  {
    name: 'string where a number is expected (MemorySize: "big")',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.MemorySize = 'big'; return { id: f.id, path: 'Properties.MemorySize' }; },
    message: /expected integer, got string "big"/,
  },
  {
    name: 'a list where a string is expected (Handler: [...])',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.Handler = ['index.handler']; return { id: f.id, path: 'Properties.Handler' }; },
    message: /expected string, got a list/,
  },
  {
    name: 'Fn::Join (a string) where a list is expected (Architectures)',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.Architectures = { 'Fn::Join': ['', ['arm', '64']] }; return { id: f.id, path: 'Properties.Architectures' }; },
    message: /Fn::Join returns a string, but list<string> is expected/,
  },
  {
    name: 'missing required property (DynamoDB KeySchema)',
    mutate: (t) => { const d = first(t, 'AWS::DynamoDB::Table'); delete d.props.KeySchema; return { id: d.id, path: 'Properties.KeySchema' }; },
    message: /missing required property "KeySchema"/,
  },
  {
    name: 'missing required property (Lambda Role)',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); delete f.props.Role; return { id: f.id, path: 'Properties.Role' }; },
    message: /missing required property "Role"/,
  },
  {
    name: 'enum: DynamoDB AttributeType "X"',
    mutate: (t) => { const d = first(t, 'AWS::DynamoDB::Table'); asList(d.props.AttributeDefinitions)[0].AttributeType = 'X'; return { id: d.id, path: 'Properties.AttributeDefinitions[0].AttributeType' }; },
    message: /"X" is outside the documented S \| N \| B/,
  },
  {
    name: 'enum: DynamoDB KeyType "PRIMARY"',
    mutate: (t) => { const d = first(t, 'AWS::DynamoDB::Table'); asList(d.props.KeySchema)[0].KeyType = 'PRIMARY'; return { id: d.id, path: 'Properties.KeySchema[0].KeyType' }; },
    message: /HASH \| RANGE/,
  },
  {
    name: 'enum from the spec DB: Step Functions StateMachineType "FAST"',
    mutate: (t) => { const s = first(t, 'AWS::StepFunctions::StateMachine'); s.props.StateMachineType = 'FAST'; return { id: s.id, path: 'Properties.StateMachineType' }; },
    message: /"FAST" is not one of STANDARD \| EXPRESS \(CloudFormation resource schema\)/,
  },
  {
    name: 'enum: Lambda Runtime "nodejs20.x" (deprecated)',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.Runtime = 'nodejs20.x'; return { id: f.id, path: 'Properties.Runtime' }; },
    message: /"nodejs20.x" is outside the documented nodejs24.x/,
  },
  {
    name: 'enum: Lambda Architectures ["x86"]',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.Architectures = ['x86']; return { id: f.id, path: 'Properties.Architectures[0]' }; },
    message: /x86_64 \| arm64/,
  },
  {
    name: 'enum: CloudWatch alarm ComparisonOperator',
    mutate: (t) => { const a = first(t, 'AWS::CloudWatch::Alarm'); a.props.ComparisonOperator = 'GreaterThan'; return { id: a.id, path: 'Properties.ComparisonOperator' }; },
    message: /GreaterThanOrEqualToThreshold/,
  },
  {
    name: 'enum: CloudWatch alarm TreatMissingData',
    mutate: (t) => { const a = first(t, 'AWS::CloudWatch::Alarm'); a.props.TreatMissingData = 'NOT_BREACHING'; return { id: a.id, path: 'Properties.TreatMissingData' }; },
    message: /notBreaching/,
  },
  {
    name: 'range: Lambda MemorySize 64',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.MemorySize = 64; return { id: f.id, path: 'Properties.MemorySize' }; },
    message: /64 is outside the documented 128–10240/,
  },
  {
    name: 'range: Lambda Timeout 901',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.Timeout = 901; return { id: f.id, path: 'Properties.Timeout' }; },
    message: /901 is outside the documented 1–900/,
  },
  {
    name: 'range: Lambda EphemeralStorage 256',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.EphemeralStorage = { Size: 256 }; return { id: f.id, path: 'Properties.EphemeralStorage.Size' }; },
    message: /256 is outside the documented 512–10240/,
  },
  {
    name: 'range: Kinesis RetentionPeriodHours 8761',
    mutate: (t) => { const k = first(t, 'AWS::Kinesis::Stream'); k.props.RetentionPeriodHours = 8761; return { id: k.id, path: 'Properties.RetentionPeriodHours' }; },
    message: /8761 is outside the documented 24–8760/,
  },
  {
    name: 'range: Kinesis ShardCount 0',
    mutate: (t) => { const k = first(t, 'AWS::Kinesis::Stream'); k.props.ShardCount = 0; return { id: k.id, path: 'Properties.ShardCount' }; },
    message: /0 is outside the documented >= 1/,
  },
  {
    name: 'range: SQS MessageRetentionPeriod 30',
    mutate: (t) => { const q = first(t, 'AWS::SQS::Queue'); q.props.MessageRetentionPeriod = 30; return { id: q.id, path: 'Properties.MessageRetentionPeriod' }; },
    message: /30 is outside the documented 60–1209600/,
  },
  {
    name: 'range: SQS VisibilityTimeout 43201',
    mutate: (t) => { const q = first(t, 'AWS::SQS::Queue'); q.props.VisibilityTimeout = 43_201; return { id: q.id, path: 'Properties.VisibilityTimeout' }; },
    message: /43201 is outside the documented 0–43200/,
  },
  {
    name: 'range: Logs RetentionInDays 2 (an enum in the spec DB)',
    mutate: (t) => { const l = first(t, 'AWS::Logs::LogGroup'); l.props.RetentionInDays = 2; return { id: l.id, path: 'Properties.RetentionInDays' }; },
    message: /2 is not one of 1 \| 3 \| 5/,
  },
  {
    name: 'range: EventSourceMapping MaximumRecordAgeInSeconds 30',
    mutate: (t) => { const e = first(t, 'AWS::Lambda::EventSourceMapping'); e.props.MaximumRecordAgeInSeconds = 30; return { id: e.id, path: 'Properties.MaximumRecordAgeInSeconds' }; },
    message: /30 is outside the documented -1 or 60–604800/,
  },
  {
    name: 'range: EventSourceMapping BatchSize 10001',
    mutate: (t) => { const e = first(t, 'AWS::Lambda::EventSourceMapping'); e.props.BatchSize = 10_001; return { id: e.id, path: 'Properties.BatchSize' }; },
    message: /10001 is outside the documented 1–10000/,
  },
  {
    name: 'range: Scheduler RetryPolicy MaximumRetryAttempts 186',
    mutate: (t) => {
      const s = first(t, 'AWS::Scheduler::Schedule');
      asProps(s.props.Target).RetryPolicy = { MaximumRetryAttempts: 186 };
      return { id: s.id, path: 'Properties.Target.RetryPolicy.MaximumRetryAttempts' };
    },
    message: /186 is outside the documented 0–185/,
  },
  {
    name: 'unknown nested property inside a Lambda Environment',
    mutate: (t) => {
      const f = first(t, 'AWS::Lambda::Function');
      asProps(f.props.Environment).Variable = { LOG_LEVEL: 'INFO' };
      return { id: f.id, path: 'Properties.Environment.Variable' };
    },
    message: /unknown property "Variable" of Environment/,
  },
  {
    name: 'unknown nested property inside a DynamoDB KeySchema item',
    mutate: (t) => { const d = first(t, 'AWS::DynamoDB::Table'); asList(d.props.KeySchema)[0].KeyKind = 'HASH'; return { id: d.id, path: 'Properties.KeySchema[0].KeyKind' }; },
    message: /unknown property "KeyKind" of KeySchema/,
  },
  {
    name: 'wrong type two levels down (DynamoDB PointInTimeRecoveryEnabled "yes")',
    mutate: (t) => {
      const d = first(t, 'AWS::DynamoDB::Table');
      d.props.PointInTimeRecoverySpecification = { PointInTimeRecoveryEnabled: 'yes' };
      return { id: d.id, path: 'Properties.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled' };
    },
    message: /expected boolean, got string "yes"/,
  },
  {
    name: 'unknown resource type',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); t.Resources[f.id].Type = 'AWS::Lambda::Functions'; return { id: f.id, path: 'Type' }; },
    message: /unknown resource type AWS::Lambda::Functions/,
  },
  {
    name: 'Ref to a logical ID that does not exist',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.Role = { 'Fn::GetAtt': ['NoSuchRole', 'Arn'] }; return { id: f.id, path: 'Properties.Role' }; },
    message: /Fn::GetAtt of unknown resource "NoSuchRole"/,
  },
  {
    name: 'Fn::GetAtt of an attribute the type does not have',
    mutate: (t) => {
      const f = first(t, 'AWS::Lambda::Function');
      const roleId = Object.entries(t.Resources).find(([, r]) => r.Type === 'AWS::IAM::Role')?.[0] ?? '';
      f.props.Role = { 'Fn::GetAtt': [roleId, 'Arnn'] };
      return { id: f.id, path: 'Properties.Role' };
    },
    message: /AWS::IAM::Role has no attribute "Arnn"/,
  },
  {
    name: 'a bad branch of Fn::If',
    mutate: (t) => { const f = first(t, 'AWS::Lambda::Function'); f.props.MemorySize = { 'Fn::If': ['IsProd', 1024, 'big'] }; return { id: f.id, path: 'Properties.MemorySize["Fn::If"][2]' }; },
    message: /expected integer, got string "big"/,
  },
];

describe('configuration CloudFormation would refuse is refused at synthesis, before any deploy', () => {
  it.each([2, 4, 366, 3650])('logRetentionDays=%i (not a retention CloudWatch Logs accepts)', (days) => {
    expect(() => synthStack({ logRetentionDays: days })).toThrow(/logRetentionDays must be one of 1, 3, 5, 7, 14, 30/);
  });
});

describe('the checker is not vacuous: each broken copy of the template is caught', () => {
  it.each(MUTATIONS.map((m) => [m.name, m] as const))('%s', (_name, m) => {
    const template = copyOf();
    const { id, path } = m.mutate(template);
    const findings = checkTemplateAgainstSpec(template);
    const hit = findings.find((f: Finding) => f.logicalId === id && f.path === path);
    expect(hit, `expected a finding for ${id} at ${path}; got:\n${formatFindings(findings)}`).toBeDefined();
    expect(hit?.message).toMatch(m.message);
    expect(hit?.resourceType).toBe(template.Resources[id].Type);
  });

  it('accepts intrinsics where their result fits (Ref for a list, Fn::If with AWS::NoValue, Fn::Sub for a string, numeric strings)', () => {
    const template = copyOf();
    const f = first(template, 'AWS::Lambda::Function');
    f.props.Layers = { Ref: 'BootstrapVersion' };
    f.props.MemorySize = { 'Fn::If': ['IsProd', 2048, { Ref: 'AWS::NoValue' }] };
    f.props.Description = { 'Fn::Sub': 'function of ${AWS::StackName}' };
    f.props.Timeout = '30';
    const findings = checkTemplateAgainstSpec(template).filter((x) => x.logicalId === f.id);
    expect(findings, formatFindings(findings)).toEqual([]);
  });
});

describe('the limits table (test/support/cfn-ranges.ts)', () => {
  it('names only real resource types and property paths of the spec', () => {
    const bad = CFN_VALUE_RULES.flatMap((rule) =>
      rule.paths.filter((p) => specTypeAt(rule.resourceType, p) === undefined).map((p) => `${rule.resourceType} ${p}`));
    expect(bad).toEqual([]);
  });

  it('cites an AWS documentation page for every rule', () => {
    for (const rule of CFN_VALUE_RULES) expect(rule.source, `${rule.resourceType} ${rule.paths.join(',')}`).toMatch(/^https:\/\/docs\.aws\.amazon\.com\//);
  });
});
