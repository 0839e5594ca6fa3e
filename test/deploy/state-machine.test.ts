import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import aslValidator from 'asl-validator';
import { PipelineFunction } from '../../lib/node-function';
import { RETRAINING_FUNCTIONS, type RetrainingFunction } from '../../src/retraining/functions';
import { runRetrainingLocally, type AslDefinition } from '../../src/local/retraining-runner';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { startTestAws, type TestAws } from '../support/aws-env';
import { ResolvedTemplate, type CfnTemplate } from '../support/cfn-template';
import { deployedDefinition, taskStates } from '../support/state-machine-template';
import { synthStack } from '../support/synth';
import { fillLakeThroughConsumer } from '../retraining/support';

/**
 * The state machine definition AWS receives is the asset file with CloudFormation's substitutions filled in,
 * not the source file: these tests validate that text with asl-validator (the Amazon States Language schema
 * and its paths) and run it under aws-local-stepfunctions, so a substitution or a path mistake fails here.
 */

const { app, stack, template } = synthStack();
const assemblyDir = app.synth().directory;
const json = () => structuredClone(template.toJSON()) as CfnTemplate;

/** The function ARN of each retraining step in a resolved template (from the construct tree: handler file → step). */
function functionArns(t: ResolvedTemplate): Record<RetrainingFunction, string> {
  const byFile = new Map(Object.entries(RETRAINING_FUNCTIONS).map(([fn, file]) => [`lambdas/retraining/${file}.ts`, fn as RetrainingFunction]));
  const out: Partial<Record<RetrainingFunction, string>> = {};
  for (const fn of stack.node.findAll().filter((c): c is PipelineFunction => c instanceof PipelineFunction)) {
    const step = byFile.get(fn.handlerFile);
    if (step) out[step] = t.physical[stack.getLogicalId(fn.node.defaultChild as never)]!.attributes.Arn!;
  }
  return out as Record<RetrainingFunction, string>;
}

/** What AWS would refuse in a deployed definition: a `${…}` CloudFormation left unfilled, or what asl-validator finds. */
function definitionProblems(text: string): string[] {
  const left = [...text.matchAll(/\$\{[A-Za-z0-9_]+\}/g)].map((m) => `unsubstituted ${m[0]}`);
  const { isValid, errors } = aslValidator(JSON.parse(text), { checkArn: true, checkPaths: true });
  return [...left, ...(isValid ? [] : errors.map((e) => `${e.path ?? ''} ${e.message ?? e['Error code'] ?? ''}`.trim()))];
}

describe('the state machine definition in the synthesised template', () => {
  const t = new ResolvedTemplate(json());
  const deployed = deployedDefinition(t, assemblyDir);

  it('is the source file with every ${…} substitution filled in by a value the template defines', () => {
    expect(deployed.text).not.toMatch(/\$\{[A-Za-z0-9_]+\}/);
    const arns = Object.values(functionArns(t));
    expect(arns).toHaveLength(Object.keys(RETRAINING_FUNCTIONS).length);
    const invoked = taskStates(deployed.definition.States).map(([, s]) => (s.Parameters as { FunctionName?: string } | undefined)?.FunctionName).filter(Boolean);
    expect(new Set(invoked)).toEqual(new Set(arns));
  });

  it('is valid Amazon States Language for asl-validator, Resource ARNs and JSONPaths included', () => {
    expect(definitionProblems(deployed.text)).toEqual([]);
  });

  it('is refused when a substitution is left out, a path is broken or a Resource is no ARN', () => {
    const broken = json();
    const sm = Object.values(broken.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    delete (sm.Properties!.DefinitionSubstitutions as Record<string, unknown>).FailureTopicArn;
    expect(definitionProblems(deployedDefinition(new ResolvedTemplate(broken), assemblyDir).text)).toContain('unsubstituted ${FailureTopicArn}');
    const badPath = structuredClone(deployed.definition);
    (badPath.States[badPath.StartAt] as { ResultPath?: string }).ResultPath = '$.[broken';
    expect(definitionProblems(JSON.stringify(badPath)).length).toBeGreaterThan(0);
    const badResource = structuredClone(deployed.definition);
    const [name] = taskStates(badResource.States)[0]!;
    (badResource.States[name] as { Resource?: string }).Resource = 'lambda:invoke';
    expect(definitionProblems(JSON.stringify(badResource)).length).toBeGreaterThan(0);
    const dangling = structuredClone(deployed.definition);
    (dangling.States[dangling.StartAt] as { Next?: string }).Next = 'NoSuchState';
    expect(definitionProblems(JSON.stringify(dangling)).join()).toMatch(/NoSuchState|transition|Next/i);
  });
});

describe('the synthesised definition runs under aws-local-stepfunctions with the real handlers', () => {
  let aws: TestAws;
  beforeAll(async () => {
    aws = await startTestAws();
    await fillLakeThroughConsumer(aws, [...generateTasteEvents({ events: 1500, users: 80, items: 60, seed: 13 })]);
  });
  afterAll(async () => aws?.stop());

  const date = () => new Date().toISOString().slice(0, 10);

  it('goes validate → extract → train → evaluate → gate → deploy → reload → record and succeeds', async () => {
    const t = new ResolvedTemplate(json());
    const run = await runRetrainingLocally({ date: date() }, { retryIntervalMs: 1, executionName: 'synthesised', deployed: { definition: deployedDefinition(t, assemblyDir).definition, functionArns: functionArns(t) } });
    expect(run.error).toBeNull();
    expect(run.path).toEqual(expect.arrayContaining(['ValidateData', 'ExtractFeatures', 'TrainModel', 'EvaluateModel', 'DeployModel', 'RecordRun']));
    expect(run.path.at(-1)).toBe('Succeeded');
  });

  it('fails, naming the state, when a substitution points a Task at a function that is not the one for its step', async () => {
    const broken = json();
    const sm = Object.values(broken.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    const subs = sm.Properties!.DefinitionSubstitutions as Record<string, unknown>;
    [subs.TrainModelFunctionArn, subs.EvaluateModelFunctionArn] = [subs.EvaluateModelFunctionArn, subs.TrainModelFunctionArn];
    const t = new ResolvedTemplate(broken);
    const run = await runRetrainingLocally({ date: date() }, { retryIntervalMs: 1, executionName: 'swapped', deployed: { definition: deployedDefinition(t, assemblyDir).definition, functionArns: functionArns(t) } });
    expect(run.path).not.toContain('DeployModel');
    expect(run.path.at(-1)).not.toBe('Succeeded');
  });

  it('refuses to start when a Task invokes an ARN that is none of the stack\'s functions', async () => {
    const t = new ResolvedTemplate(json());
    const definition = structuredClone(deployedDefinition(t, assemblyDir).definition);
    const [name, state] = taskStates(definition.States).find(([, s]) => (s.Parameters as { FunctionName?: string } | undefined)?.FunctionName)!;
    (state.Parameters as { FunctionName: string }).FunctionName = 'arn:aws:lambda:eu-west-1:123456789012:function:someone-else';
    await expect(runRetrainingLocally({ date: date() }, { deployed: { definition, functionArns: functionArns(t) } })).rejects.toThrow(`state ${name} calls arn:aws:lambda:eu-west-1:123456789012:function:someone-else`);
  });
});
