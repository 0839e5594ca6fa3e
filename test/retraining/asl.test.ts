import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gateDecision, type GateInput } from '../../src/retraining/gate';
import { functionOfState, readRetrainingDefinition, RETRAINING_FUNCTIONS, substitute, type AslDefinition } from '../../src/retraining/local-runner';

const definition = readRetrainingDefinition();
const states = definition.States;

function successors(state: AslDefinition['States'][string]): string[] {
  return [state.Next, state.Default, ...(state.Choices ?? []).map((c) => c.Next), ...(state.Catch ?? []).map((c) => c.Next)].filter((s): s is string => typeof s === 'string');
}

async function stateMachineClass() {
  if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
    // Same polyfill the local runner installs (Node 20).
    (Promise as unknown as { withResolvers: () => unknown }).withResolvers = () => {
      let resolve: unknown;
      let reject: unknown;
      const promise = new Promise((a, b) => ((resolve = a), (reject = b)));
      return { promise, resolve, reject };
    };
  }
  return (await import('aws-local-stepfunctions')).StateMachine;
}

const placeholders = () => {
  const values: Record<string, string> = { FailureTopicArn: 'arn:aws:sns:eu-west-1:123456789012:failures' };
  for (const fn of Object.keys(RETRAINING_FUNCTIONS)) values[`${fn}FunctionArn`] = `arn:aws:lambda:eu-west-1:123456789012:function:${fn}`;
  return values;
};

describe('statemachines/nightly-retraining.asl.json', () => {
  it('is a valid JSONPath definition (validated by aws-local-stepfunctions, ARNs and paths checked)', async () => {
    const StateMachine = await stateMachineClass();
    expect(() => new StateMachine(substitute(definition, placeholders()) as never, { validationOptions: { checkArn: true, checkPaths: true } })).not.toThrow();
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(definition.StartAt).toBe('ValidateData');
  });

  it('has no dangling transitions and no unreachable states', () => {
    const reachable = new Set<string>();
    const queue = [definition.StartAt];
    while (queue.length) {
      const name = queue.pop()!;
      if (reachable.has(name)) continue;
      expect(states[name], `state ${name}`).toBeDefined();
      reachable.add(name);
      queue.push(...successors(states[name]!));
    }
    expect([...reachable].sort()).toEqual(Object.keys(states).sort());
  });

  it('runs the steps in the reference order: validate → extract → train → evaluate → gate → deploy → reload', () => {
    const order: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = states[name]!.Type === 'Choice' ? states[name]!.Default : states[name]!.Next) {
      order.push(name);
      if (order.length > 20) break;
    }
    expect(order.slice(0, 7)).toEqual(['ValidateData', 'ExtractFeatures', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi']);
  });

  it('resolves every Lambda Task to a retraining function with a handler file', () => {
    const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task' && s.Resource === 'arn:aws:states:::lambda:invoke');
    expect(tasks.length).toBeGreaterThanOrEqual(9);
    for (const [name, state] of tasks) {
      const fn = functionOfState(state);
      expect(fn, `${name} FunctionName`).toBeDefined();
      const file = fileURLToPath(new URL(`../../lambdas/retraining/${RETRAINING_FUNCTIONS[fn!]}.ts`, import.meta.url));
      expect(existsSync(file), file).toBe(true);
    }
    const used = new Set(tasks.map(([, s]) => functionOfState(s)));
    expect([...used].sort()).toEqual(Object.keys(RETRAINING_FUNCTIONS).sort());
  });

  it('retries transient errors with backoff and catches everything on every Task', () => {
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Task')) {
      expect(state.Catch?.some((c) => c.ErrorEquals.includes('States.ALL')), `${name} Catch`).toBe(true);
      expect(state.TimeoutSeconds, `${name} TimeoutSeconds`).toBeGreaterThan(0);
      if (state.Resource === 'arn:aws:states:::lambda:invoke') {
        const transient = (state.Retry as { ErrorEquals: string[]; BackoffRate?: number; MaxAttempts?: number }[]).find((r) => r.ErrorEquals.includes('TransientError'));
        expect(transient?.BackoffRate, `${name} backoff`).toBeGreaterThan(1);
        expect(transient?.MaxAttempts).toBeGreaterThan(0);
        // Data and logic errors are never retried.
        expect(state.Retry!.some((r) => r.ErrorEquals.includes('States.ALL') || r.ErrorEquals.includes('States.TaskFailed'))).toBe(false);
      }
    }
  });

  it('sends failures before deployment to the notification, and failures after it through RestoreProduction', () => {
    for (const name of ['ValidateData', 'ExtractFeatures', 'TrainModel', 'EvaluateModel']) expect(states[name]!.Catch![0]!.Next).toBe('NotifyFailure');
    for (const name of ['DeployModel', 'ReloadApi']) expect(states[name]!.Catch![0]!.Next).toBe('RestoreProduction');
    expect(states.RestoreProduction!.Parameters).toMatchObject({ Payload: { action: 'restore' } });
    expect(states.NotifyFailure).toMatchObject({ Resource: 'arn:aws:states:::sns:publish', Parameters: { TopicArn: '${FailureTopicArn}' } });
    expect(states.RunFailed).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
    // DeployModel is reachable only through the Gate's Default.
    const into = Object.entries(states).filter(([, s]) => successors(s).includes('DeployModel')).map(([n]) => n);
    expect(into).toEqual(['Gate']);
  });

  describe('Gate', () => {
    const cases: GateInput[] = [
      { metric: 'ndcg@10', candidate: 0.3, popularity: 0.2, production: null, tolerance: 0.02 },
      { metric: 'ndcg@10', candidate: 0.2, popularity: 0.2, production: null, tolerance: 0.02 },
      { metric: 'ndcg@10', candidate: 0.1, popularity: 0.2, production: 0.05, tolerance: 0.02 },
      { metric: 'ndcg@10', candidate: 0.295, popularity: 0.2, production: 0.3, tolerance: 0.02 },
      { metric: 'ndcg@10', candidate: 0.293, popularity: 0.2, production: 0.3, tolerance: 0.02 },
      { metric: 'ndcg@10', candidate: 0.35, popularity: 0.2, production: 0.3, tolerance: 0 },
      { metric: 'ndcg@10', candidate: 0.299, popularity: 0.2, production: 0.3, tolerance: 0 },
      { metric: 'ndcg@10', candidate: 0, popularity: 0, production: null, tolerance: 0.5 },
    ];

    it('the ASL Choice and gateDecision agree on every case', async () => {
      const StateMachine = await stateMachineClass();
      const gateOnly = {
        StartAt: 'Gate',
        States: {
          Gate: states.Gate,
          NotDeployedBelowPopularity: { Type: 'Succeed' },
          NotDeployedWorseThanProduction: { Type: 'Succeed' },
          DeployModel: { Type: 'Succeed' },
        },
      };
      for (const input of cases) {
        const decision = gateDecision(input);
        const run = new StateMachine(gateOnly as never).run({ evaluation: { gate: decision } } as never);
        const visited: string[] = [];
        for await (const e of run.eventLogs) if (e.type === 'StateEntered') visited.push(e.state.name);
        await run.result;
        expect(visited[1] === 'DeployModel', JSON.stringify(input)).toBe(decision.deploy);
        if (!decision.deploy) expect(visited[1]).toBe(input.candidate > input.popularity ? 'NotDeployedWorseThanProduction' : 'NotDeployedBelowPopularity');
      }
    });

    it('explains each decision', () => {
      expect(gateDecision(cases[0]!).reason).toBe('candidate ndcg@10 0.3000 beats popularity 0.2000; nothing deployed yet');
      expect(gateDecision(cases[1]!).reason).toBe('candidate ndcg@10 0.2000 does not beat popularity 0.2000');
      expect(gateDecision(cases[4]!)).toMatchObject({ deploy: false, productionFloor: 0.294, reason: 'candidate ndcg@10 0.2930 is more than 2.0% below production 0.3000' });
      expect(gateDecision(cases[3]!)).toMatchObject({ deploy: true });
    });
  });
});
