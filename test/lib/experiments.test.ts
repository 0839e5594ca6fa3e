import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { App } from 'aws-cdk-lib';
import type { Experiments } from '../../lib/experiments';
import type { NightlyRetraining } from '../../lib/nightly-retraining';
import { readConfig, rolloutEnvironment } from '../../lib/config';
import { readExperimentCheckDefinition } from '../../src/local/experiment-check-runner';
import { synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('experiment check infrastructure (lib/experiments.ts)', () => {
  const { template, stack } = synthStack();
  const experiments = stack.node.findChild('Experiments') as Experiments;
  const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const policyOf = (roleId: string) =>
    Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: roleId }]) } })).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );

  it('deploys the ASL file with both placeholders filled: the check function and the retraining topic', () => {
    const machine = template.findResources('AWS::StepFunctions::StateMachine')[logicalId(experiments.stateMachine)] as { Properties: { StateMachineType: string; DefinitionSubstitutions: Record<string, unknown>; TracingConfiguration: unknown } };
    expect(machine.Properties.StateMachineType).toBe('STANDARD');
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    expect(machine.Properties.DefinitionSubstitutions).toEqual({
      CheckExperimentFunctionArn: { 'Fn::GetAtt': [logicalId(experiments.checkFunction), 'Arn'] },
      NotificationTopicArn: { Ref: logicalId(retraining.failureTopic) },
    });
    const placeholders = new Set([...JSON.stringify(readExperimentCheckDefinition()).matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(machine.Properties.DefinitionSubstitutions).sort());
  });

  it('starts it hourly (UTC) by default with EventBridge Scheduler, and from context experimentCheckSchedule', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Description: 'Starts the experiment check',
      ScheduleExpression: 'rate(1 hour)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      Target: Match.objectLike({ Arn: { Ref: logicalId(experiments.stateMachine) } }),
    });
    const custom = synthStack({ experimentCheckSchedule: 'cron(15 * * * ? *)', experimentCheckScheduleEnabled: 'false' }).template;
    custom.hasResourceProperties('AWS::Scheduler::Schedule', { Description: 'Starts the experiment check', ScheduleExpression: 'cron(15 * * * ? *)', State: 'DISABLED' });
  });

  it('gives the check function least privilege: the pointer, manifests and payloads, the experiment log, Query on the analytics table', () => {
    const fn = template.findResources('AWS::Lambda::Function')[logicalId(experiments.checkFunction)] as { Properties: { Role: { 'Fn::GetAtt': [string, string] }; Environment: { Variables: Record<string, unknown> } } };
    expect(Object.keys(fn.Properties.Environment.Variables)).toEqual(expect.arrayContaining(['LAKE_BUCKET', 'ANALYTICS_TABLE']));
    const statements = policyOf(fn.Properties.Role['Fn::GetAtt'][0]);
    const actions = [...new Set(statements.flatMap(actionsOf))].filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:')).sort();
    expect(actions).toEqual(['dynamodb:Query', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const keysOf = (action: string) => JSON.stringify(statements.filter((s) => actionsOf(s).includes(action)).map((s) => s.Resource));
    expect(keysOf('s3:PutObject')).toContain('/models/production.json');
    expect(keysOf('s3:PutObject')).toContain('/reports/experiments/*');
    expect(keysOf('s3:PutObject')).not.toContain('/models/v*');
    expect(keysOf('s3:GetObject')).toContain('/models/v*/manifest.json');
    expect(keysOf('dynamodb:Query')).not.toContain('/index/');
    for (const s of statements) expect(actionsOf(s).some((a) => a.endsWith('*'))).toBe(false);
  });

  it('lets the state machine invoke only the check function and publish to the topic; alarms on failed checks', () => {
    const statements = policyOf(logicalId(experiments.stateMachine.role as never));
    const actions = new Set(statements.flatMap(actionsOf));
    expect(actions).toContain('lambda:InvokeFunction');
    expect(actions).toContain('sns:Publish');
    const invoked = JSON.stringify(statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction')).map((s) => s.Resource));
    expect(invoked).toContain(logicalId(experiments.checkFunction));
    for (const fn of Object.values(retraining.functions)) expect(invoked).not.toContain(logicalId(fn));
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('^An experiment check failed'), AlarmActions: [{ Ref: logicalId(retraining.failureTopic) }] });
  });

  it('passes the rollout settings to DeployModel only, and lets it write the experiment log', () => {
    const canary = synthStack({ rollout: 'canary', canarySharePercent: 20, experimentAlpha: 0.005 });
    const deploy = canary.stack.node.findChild('Retraining') as NightlyRetraining;
    const byId = canary.template.findResources('AWS::Lambda::Function');
    const vars = (fn: { node: { defaultChild?: unknown } }) => (byId[canary.stack.getLogicalId(fn.node.defaultChild as never)] as { Properties: { Environment: { Variables: Record<string, unknown> } } }).Properties.Environment.Variables;
    expect(vars(deploy.functions.DeployModel)).toMatchObject({ ROLLOUT: 'canary', CANARY_SHARE_PERCENT: '20', EXPERIMENT_ALPHA: '0.005' });
    expect(vars(deploy.functions.DeployModel)).not.toHaveProperty('EXPERIMENT_METRIC');
    expect(vars(deploy.functions.TrainModel)).not.toHaveProperty('ROLLOUT');
    const role = (byId[canary.stack.getLogicalId(deploy.functions.DeployModel.node.defaultChild as never)] as { Properties: { Role: { 'Fn::GetAtt': [string, string] } } }).Properties.Role['Fn::GetAtt'][0];
    const puts = Object.values(canary.template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([{ Ref: role }]) } }))
      .flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement)
      .filter((s) => actionsOf(s).includes('s3:PutObject'));
    expect(JSON.stringify(puts)).toContain('/reports/experiments/*');
  });

  it('has no check without the shop analytics (nothing to decide on)', () => {
    const { stack: bare } = synthStack({ analyticsEnabled: false });
    expect(bare.node.tryFindChild('Experiments')).toBeUndefined();
  });
});

describe('context: rollout and experiment settings (lib/config.ts, validated at synth)', () => {
  const config = (context: Record<string, unknown>) => readConfig(new App({ context }).node);
  it('defaults to replace, a 10 % canary share and an hourly check', () => {
    expect(config({})).toMatchObject({ rollout: 'replace', canarySharePercent: 10, experimentCheckSchedule: 'rate(1 hour)', experimentCheckScheduleEnabled: true });
    expect(rolloutEnvironment(config({}))).toEqual({ ROLLOUT: 'replace', CANARY_SHARE_PERCENT: '10' });
  });
  it('refuses bad values with the key named', () => {
    expect(() => config({ rollout: 'blue-green' })).toThrow('context rollout must be one of replace, canary (got blue-green)');
    expect(() => config({ rollout: 'canary', analyticsEnabled: false })).toThrow(/rollout=canary needs the shop analytics/);
    expect(() => config({ canarySharePercent: 51 })).toThrow(/canarySharePercent must be a number from 1 to 50/);
    expect(() => config({ canarySharePercent: 2.5 })).toThrow(/canarySharePercent must be a whole number/);
    expect(() => config({ experimentMetric: 'revenue' })).toThrow(/experimentMetric must be one of ctr, conversion/);
    expect(() => config({ experimentAlpha: 0.5 })).toThrow(/experimentAlpha must be a number above 0 and at most 0\.2/);
    expect(() => config({ experimentMinImpressions: 0 })).toThrow(/experimentMinImpressions/);
    expect(() => config({ experimentCheckSchedule: 'every hour' })).toThrow(/experimentCheckSchedule must be an EventBridge Scheduler/);
  });
});
