import { describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import type { NightlyRetraining } from '../../lib/nightly-retraining';
import { readRetrainingDefinition, functionOfState, RETRAINING_FUNCTIONS } from '../../src/local/retraining-runner';
import { synthStack } from '../support/synth';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('nightly retraining infrastructure', () => {
  const { template, stack } = synthStack();
  const retraining = stack.node.findChild('Retraining') as NightlyRetraining;
  const logicalId = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);

  it('deploys the ASL file as a Standard state machine whose every Task resolves to a function of the stack', () => {
    // The stack's other state machine is the experiment check (test/lib/experiments.test.ts).
    const machines = template.findResources('AWS::StepFunctions::StateMachine');
    expect(Object.keys(machines)).toContain(logicalId(retraining.stateMachine));
    const machine = machines[logicalId(retraining.stateMachine)] as { Properties: { StateMachineType: string; DefinitionS3Location?: unknown; DefinitionSubstitutions: Record<string, unknown>; TracingConfiguration: unknown } };
    expect(machine!.Properties.StateMachineType).toBe('STANDARD');
    expect(machine!.Properties.DefinitionS3Location).toBeDefined();
    expect(machine!.Properties.TracingConfiguration).toEqual({ Enabled: true });

    const functionIds = new Set(Object.keys(template.findResources('AWS::Lambda::Function')));
    const substitutions = machine!.Properties.DefinitionSubstitutions;
    const definition = readRetrainingDefinition();
    for (const [name, state] of Object.entries(definition.States)) {
      if (state.Type !== 'Task' || state.Resource !== 'arn:aws:states:::lambda:invoke') continue;
      const fn = functionOfState(state)!;
      const value = substitutions[`${fn}FunctionArn`] as { 'Fn::GetAtt': [string, string] } | undefined;
      expect(value, `${name} → ${fn}`).toBeDefined();
      expect(functionIds.has(value!['Fn::GetAtt'][0]), `${name} → ${value!['Fn::GetAtt'][0]}`).toBe(true);
      expect(value!['Fn::GetAtt'][1]).toBe('Arn');
    }
    expect(substitutions.FailureTopicArn).toEqual({ Ref: logicalId(retraining.failureTopic) });
    // Every placeholder in the file has a substitution (CloudFormation would leave it as text otherwise).
    const placeholders = new Set([...JSON.stringify(definition).matchAll(/\$\{([A-Za-z0-9]+)\}/g)].map((m) => m[1]));
    expect([...placeholders].sort()).toEqual(Object.keys(substitutions).sort());
  });

  it('lets the state machine invoke exactly its functions and publish to the failure topic', () => {
    const roleRef = { Ref: stack.getLogicalId(retraining.stateMachine.role.node.defaultChild as never) };
    const statements = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([roleRef]) } })).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
    );
    const actions = new Set(statements.flatMap(actionsOf));
    expect(actions).toContain('lambda:InvokeFunction');
    expect(actions).toContain('sns:Publish');
    const invoked = JSON.stringify(statements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction')).map((s) => s.Resource));
    for (const fn of Object.values(retraining.functions)) expect(invoked).toContain(logicalId(fn));
  });

  it('starts the state machine at 02:00 UTC through EventBridge Scheduler, with the scheduled time as input', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 * * ? *)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({
        Arn: { Ref: logicalId(retraining.stateMachine) },
        Input: JSON.stringify({ trigger: 'schedule', scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 3 }),
      }),
    });
  });

  it('takes the schedule, tolerance and training window from context, and can disable the schedule', () => {
    const custom = synthStack({ retrainSchedule: 'cron(30 3 ? * MON-FRI *)', retrainScheduleEnabled: 'false', deployTolerance: 0.05, trainingWindowDays: 90 });
    custom.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(30 3 ? * MON-FRI *)', State: 'DISABLED' });
    custom.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'retraining-evaluate-model', DEPLOY_TOLERANCE: '0.05', TRAINING_WINDOW_DAYS: '90' }) },
    });
    expect(() => synthStack({ retrainSchedule: 'every night' })).toThrow('context retrainSchedule must be an EventBridge Scheduler cron(...) or rate(...) expression (got every night)');
    expect(() => synthStack({ deployTolerance: 2 })).toThrow('context deployTolerance must be a number from 0 to 1 (got 2)');
  });

  it('encrypts the failure topic with a rotated key and refuses plain HTTP', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.objectLike({ 'Fn::GetAtt': Match.anyValue() }), DisplayName: 'Nightly retraining failures' });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: logicalId(retraining.failureTopic) }], Threshold: 1 });
  });

  it('passes the API URL and the refresh bound to ReloadApi', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'retraining-reload-api', API_BASE_URL: Match.anyValue(), MODEL_REFRESH_SECONDS: '30', RELOAD_MARGIN_SECONDS: '60' }) },
      Timeout: 150,
    });
  });

  it('grants each step only its part of the lake; only DeployModel can write the production pointer', () => {
    const statementsOf = (name: keyof typeof RETRAINING_FUNCTIONS) => {
      const roleRef = { Ref: stack.getLogicalId(retraining.functions[name].role!.node.defaultChild as never) };
      return Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: Match.arrayWith([roleRef]) } })).flatMap(
        (p) => (p as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement,
      );
    };
    const writes = (name: keyof typeof RETRAINING_FUNCTIONS) =>
      JSON.stringify(statementsOf(name).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:PutObject') || a.startsWith('s3:DeleteObject'))).map((s) => s.Resource));

    expect(writes('DeployModel')).toContain('/models/production.json');
    for (const name of ['ValidateData', 'ExtractFeatures', 'TrainModel', 'EvaluateModel', 'ReloadApi', 'RecordRun'] as const) {
      expect(writes(name), name).not.toContain('production.json');
      expect(writes(name), name).not.toMatch(/"\/models\/\*"/);
    }
    expect(writes('TrainModel')).toContain('/models/v*/model.bin');
    expect(writes('ExtractFeatures')).toContain('/silver/*');
    expect(writes('ValidateData')).toContain('/reports/*');
    expect(statementsOf('ReloadApi').flatMap(actionsOf).some((a) => a.startsWith('s3:') || a.startsWith('dynamodb:'))).toBe(false);
    const dynamo = statementsOf('ExtractFeatures').flatMap(actionsOf).filter((a) => a.startsWith('dynamodb:'));
    expect(dynamo).toEqual(['dynamodb:BatchWriteItem']);
    for (const name of ['ValidateData', 'TrainModel', 'EvaluateModel', 'DeployModel'] as const) {
      expect(statementsOf(name).flatMap(actionsOf).some((a) => a.startsWith('dynamodb:')), name).toBe(false);
    }
  });
});
