import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gateDecision, type GateInput } from '../../src/retraining/gate';
import { allStates, functionOfState, readRetrainingDefinition, RETRAINING_FUNCTIONS, substitute, type AslDefinition } from '../../src/local/retraining-runner';
import { DataError, RETRIED_ERROR_NAMES } from '../../src/retraining/errors';
import { lambdaStep } from '../../src/retraining/lambda-step';
import type { Context } from 'aws-lambda';

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
  const values: Record<string, string> = {
    FailureTopicArn: 'arn:aws:sns:eu-west-1:123456789012:failures',
    AthenaWorkGroup: 'recsys-retraining',
    GlueDatabase: 'recsys_lake',
    TrainingClusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/training',
    TrainingTaskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/training:1',
    TrainingContainerName: 'training',
    TrainingSecurityGroupId: 'sg-0123456789abcdef0',
    TrainingSubnet1: 'subnet-0123456789abcdef0',
    TrainingSubnet2: 'subnet-0123456789abcdef1',
  };
  for (const fn of Object.keys(RETRAINING_FUNCTIONS)) values[`${fn}FunctionArn`] = `arn:aws:lambda:eu-west-1:123456789012:function:${fn}`;
  return values;
};

describe('statemachines/nightly-retraining.asl.json', () => {
  it('is a valid JSONPath definition (validated by aws-local-stepfunctions, ARNs and paths checked)', async () => {
    const StateMachine = await stateMachineClass();
    expect(() => new StateMachine(substitute(definition, placeholders()) as never, { validationOptions: { checkArn: true, checkPaths: true } })).not.toThrow();
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
    expect(definition.StartAt).toBe('EraseUsers');
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

  it('runs the steps in the reference order: erase users → plan → validate → extract → snapshot the catalogue → train → evaluate → gate → deploy → reload', () => {
    const order: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; name = states[name]!.Type === 'Choice' ? states[name]!.Default : states[name]!.Next) {
      order.push(name);
      if (order.length > 20) break;
    }
    expect(order.slice(0, 12)).toEqual(['EraseUsers', 'PlanRun', 'ChooseEngine', 'ValidateData', 'ExtractFeatures', 'SnapshotCatalog', 'ChooseTrainer', 'TrainModel', 'EvaluateModel', 'Gate', 'DeployModel', 'ReloadApi']);
  });

  it('takes the Athena engine when PlanRun picks it, and joins the Lambda path at SnapshotCatalog with the same state', () => {
    expect(states.ChooseEngine).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.plan.engine', StringEquals: 'athena', Next: 'CheckBronze' }], Default: 'ValidateData' });
    const order: string[] = [];
    for (let name: string | undefined = 'CheckBronze'; name && name !== 'SnapshotCatalog'; name = states[name]!.Next) order.push(name);
    expect(order).toEqual(['CheckBronze', 'ValidateQuery', 'ValidateReport', 'BuildSilver', 'FeatureQueries', 'WriteFeatures', 'FinishExtract']);
    // Every query runs through the native Athena integration in the workgroup and database CDK defines.
    const queries = allStates(states).filter(([, s]) => s.Resource === 'arn:aws:states:::athena:startQueryExecution.sync');
    expect(queries.map(([n]) => n).sort()).toEqual(['CheckBronze', 'InteractionsQuery', 'ItemCategoriesQuery', 'ItemFeaturesQuery', 'SilverCountsQuery', 'SilverQuery', 'UserFeaturesQuery', 'ValidateQuery']);
    for (const [, q] of queries) expect(q.Parameters).toMatchObject({ WorkGroup: '${AthenaWorkGroup}', QueryExecutionContext: { Database: '${GlueDatabase}' } });
    // The feature writers scale with the files the queries wrote: a Distributed Map over the S3 listing.
    expect(states.WriteFeatures).toMatchObject({ Type: 'Map', ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2' }, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } } });
    // Both engines hand the same fields on: the Athena path names its compact tables, the Lambda path nulls.
    expect(Object.keys((states.FinishExtract!.ResultSelector as { extract: object }).extract).sort()).toEqual(Object.keys(states.ExtractFeatures!.ResultSelector as object).sort());
  });

  it('hands TrainModel and EvaluateModel the one snapshot SnapshotCatalog wrote', () => {
    expect(states.SnapshotCatalog).toMatchObject({
      Type: 'Task',
      Parameters: { FunctionName: '${SnapshotCatalogFunctionArn}', Payload: { 'run.$': '$.run' } },
      ResultPath: '$.catalog',
      ResultSelector: { 'key.$': '$.Payload.key', 'source.$': '$.Payload.source', 'items.$': '$.Payload.items', 'withdrawn.$': '$.Payload.withdrawn' },
      Next: 'ChooseTrainer',
    });
    expect((states.TrainTaskRequest!.Parameters as { request: Record<string, unknown> }).request['catalogKey.$']).toBe('$.catalog.key');
    expect(states.SnapshotCatalog!.Catch![0]!.Next).toBe('NotifyFailure');
    expect((states.TrainModel!.Parameters as { Payload: Record<string, unknown> }).Payload['catalogKey.$']).toBe('$.catalog.key');
    expect((states.EvaluateModel!.Parameters as { Payload: Record<string, unknown> }).Payload['catalogKey.$']).toBe('$.catalog.key');
    // Nothing after the snapshot overwrites $.catalog, so both read the same key.
    for (const [name, state] of Object.entries(states)) if (name !== 'SnapshotCatalog') expect(state.ResultPath, name).not.toBe('$.catalog');
  });

  it('trains on the Fargate task only when the extract step decided so, and hands EvaluateModel what TrainModel hands it', () => {
    // The decision is made in code (src/config/retraining.ts trainerFor): the Choice compares no number.
    expect(states.ChooseTrainer).toMatchObject({ Type: 'Choice', Choices: [{ Variable: '$.extract.trainer', StringEquals: 'fargate', Next: 'TrainTaskRequest' }], Default: 'TrainModel' });
    expect(JSON.stringify(states.ChooseTrainer!.Choices)).not.toMatch(/Numeric/);
    expect(states.ExtractFeatures!.ResultSelector).toMatchObject({ 'trainer.$': '$.Payload.trainer' });
    expect((states.FinishExtract!.ResultSelector as { extract: object }).extract).toMatchObject({ 'trainer.$': '$.Payload.extract.trainer' });
    const order: string[] = [];
    for (let name: string | undefined = 'TrainTaskRequest'; name && name !== 'EvaluateModel'; name = states[name]!.Next) order.push(name);
    expect(order).toEqual(['TrainTaskRequest', 'TrainTask', 'TrainTaskResult']);
    // TRAIN_REQUEST carries what TrainModel's Payload carries.
    const train = (states.TrainModel!.Parameters as { Payload: Record<string, string> }).Payload;
    expect((states.TrainTaskRequest!.Parameters as { request: Record<string, string> }).request).toEqual({
      'runId.$': '$.run.runId',
      'window.$': '$.run.window',
      'modelConfig.$': '$.run.modelConfig',
      'catalogKey.$': train['catalogKey.$'],
      'interactionsPrefix.$': train['interactionsPrefix.$'],
      'itemCategoriesPrefix.$': train['itemCategoriesPrefix.$'],
    });
    expect(states.TrainTask).toMatchObject({
      Resource: 'arn:aws:states:::ecs:runTask.sync',
      Parameters: {
        LaunchType: 'FARGATE',
        Cluster: '${TrainingClusterArn}',
        TaskDefinition: '${TrainingTaskDefinitionArn}',
        NetworkConfiguration: { AwsvpcConfiguration: { Subnets: ['${TrainingSubnet1}', '${TrainingSubnet2}'], SecurityGroups: ['${TrainingSecurityGroupId}'], AssignPublicIp: 'DISABLED' } },
        Overrides: { ContainerOverrides: [{ Name: '${TrainingContainerName}', Environment: [{ Name: 'TRAIN_REQUEST', 'Value.$': 'States.JsonToString($.trainTask.request)' }] }] },
      },
      ResultPath: '$.trainTask.task',
      Next: 'TrainTaskResult',
    });
    // A container that exits non-zero fails runTask.sync (States.TaskFailed): the outcome still names the error.
    expect(states.TrainTask!.Catch).toEqual([
      { ErrorEquals: ['States.TaskFailed'], ResultPath: '$.trainTask.error', Next: 'TrainTaskResult' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'NotifyFailure' },
    ]);
    const retried = (states.TrainTask!.Retry as { ErrorEquals: string[]; BackoffRate: number }[]).flatMap((r) => r.ErrorEquals);
    expect(retried).toEqual(expect.arrayContaining(['ECS.AmazonECSException', 'AmazonECS.Unknown']));
    expect(retried.filter((e) => e.startsWith('States.'))).toEqual([]);
    expect(states.TrainTaskResult).toMatchObject({ Parameters: { FunctionName: '${TrainTaskResultFunctionArn}', Payload: { 'run.$': '$.run', 'trainTask.$': '$.trainTask' } }, ResultPath: '$.training', Next: 'EvaluateModel' });
    expect(states.TrainTaskResult!.ResultSelector).toEqual(states.TrainModel!.ResultSelector);
    expect(states.TrainTaskResult!.Retry).toEqual(states.TrainModel!.Retry);
    expect(states.TrainTaskResult!.Catch).toEqual(states.TrainModel!.Catch);
  });

  it('resolves every Lambda Task to a retraining function with a handler file', () => {
    const tasks = allStates(states).filter(([, s]) => s.Type === 'Task' && s.Resource === 'arn:aws:states:::lambda:invoke');
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

  it('retries only infrastructure errors: no Retry matches a deterministic error name', () => {
    // The Lambda service's own errors, and TransientError (throttling, 5xx, network) raised by asStepError.
    const lambdaService = /^Lambda\.(ServiceException|AWSLambdaException|SdkClientException|TooManyRequestsException|ClientExecutionTimeoutException)$/;
    for (const [name, state] of Object.entries(states).filter(([, s]) => s.Type === 'Task' && s.Resource === 'arn:aws:states:::lambda:invoke')) {
      for (const retry of state.Retry ?? []) {
        for (const error of retry.ErrorEquals) {
          expect(lambdaService.test(error) || (RETRIED_ERROR_NAMES as readonly string[]).includes(error), `${name} retries ${error}`).toBe(true);
        }
      }
      for (const deterministic of ['DataError', 'DataValidationError', 'CorruptObjectError', 'NoTrainingDataError', 'ConcurrentDeploymentError', 'ReloadNotConfirmedError', 'States.ALL', 'States.TaskFailed', 'States.Runtime']) {
        expect(state.Retry!.some((r) => r.ErrorEquals.includes(deterministic)), `${name} retries ${deterministic}`).toBe(false);
      }
    }
    // The steps that write rows derived from client data pass on what they set aside.
    expect(states.ExtractFeatures!.ResultSelector).toMatchObject({ 'setAside.$': '$.Payload.setAside' });
    expect(states.TrainModel!.ResultSelector).toMatchObject({ 'setAside.$': '$.Payload.setAside' });
  });

  it('in the state machine, a DataError goes straight to the failure path and a throttled call is retried', async () => {
    const StateMachine = await stateMachineClass();
    const extract = substitute({ StartAt: 'ExtractFeatures', States: { ExtractFeatures: states.ExtractFeatures! } } as AslDefinition, placeholders()).States.ExtractFeatures!;
    const machine = new StateMachine({
      StartAt: 'ExtractFeatures',
      States: { ExtractFeatures: { ...extract, Next: 'TrainModel' }, TrainModel: { Type: 'Succeed' }, NotifyFailure: { Type: 'Succeed' } },
    } as never);
    const previous = process.env.LAKE_BUCKET;
    process.env.LAKE_BUCKET ??= 'asl-test-lake';
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    try {
      const runWith = async (failure: () => Error) => {
        let calls = 0;
        // The real Lambda wrapper, so the error is classified (and renamed) exactly as in AWS.
        const handler = lambdaStep('ExtractFeatures', async () => {
          calls += 1;
          throw failure();
        });
        const execution = machine.run({ run: {} } as never, {
          overrides: {
            taskResourceLocalHandlers: { ExtractFeatures: async (params: unknown) => ({ Payload: await handler((params as { Payload: unknown }).Payload, {} as Context) }) } as never,
            retryIntervalOverrides: { ExtractFeatures: 0 },
          },
        });
        const visited: string[] = [];
        const errors: string[] = [];
        for await (const e of execution.eventLogs) {
          if (e.type === 'StateEntered') visited.push(e.state.name);
          if (e.type === 'StateFailed') errors.push(e.Error);
        }
        await execution.result;
        return { calls, visited, errors };
      };
      const data = await runWith(() => new DataError('29 rows cannot be stored'));
      expect(data).toEqual({ calls: 1, visited: ['ExtractFeatures', 'NotifyFailure'], errors: ['DataError'] });
      const throttled = await runWith(() => Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }));
      const maxAttempts = states.ExtractFeatures!.Retry!.find((r) => r.ErrorEquals.includes('TransientError')) as unknown as { MaxAttempts: number };
      expect(throttled.calls).toBe(1 + maxAttempts.MaxAttempts);
      expect(new Set(throttled.errors)).toEqual(new Set(['TransientError']));
      expect(throttled.visited).toEqual(['ExtractFeatures', 'NotifyFailure']);
    } finally {
      if (previous === undefined) delete process.env.LAKE_BUCKET;
      else process.env.LAKE_BUCKET = previous;
    }
  });

  it('sends failures before deployment to the notification, and failures after it through RestoreProduction', () => {
    for (const name of ['EraseUsers', 'PlanRun', 'ValidateData', 'ExtractFeatures', 'CheckBronze', 'ValidateQuery', 'ValidateReport', 'BuildSilver', 'FeatureQueries', 'WriteFeatures', 'FinishExtract', 'SnapshotCatalog', 'TrainModel', 'TrainTaskResult', 'EvaluateModel']) expect(states[name]!.Catch![0]!.Next).toBe('NotifyFailure');
    expect(states.TrainTask!.Catch!.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'NotifyFailure' });
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
