import { describe, expect, it } from 'vitest';
import aslValidator from 'asl-validator';
import { emulateDistributedMaps, emulatedStartAt, ITEM_READER_SUFFIX, type MapLikeState, type S3ListedItem } from '../../src/local/distributed-map';
import { polyfillPromiseWithResolvers } from '../../src/local/retraining-runner';

const LAMBDA = 'arn:aws:states:::lambda:invoke';

/** A Distributed Map over the objects under a prefix, as the nightly definition writes it. */
function definition(extra: Record<string, unknown> = {}) {
  return {
    StartAt: 'Plan',
    States: {
      Plan: { Type: 'Pass', Result: { bucket: 'lake', prefix: 'silver/_batch/r1/features/', run: { runId: 'r1' } }, Next: 'WriteFiles' },
      WriteFiles: {
        Type: 'Map',
        ItemReader: { Resource: 'arn:aws:states:::s3:listObjectsV2', Parameters: { 'Bucket.$': '$.bucket', 'Prefix.$': '$.prefix' } },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'WriteFile',
          States: { WriteFile: { Type: 'Task', Resource: LAMBDA, Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:w', Payload: { 'key.$': '$.key', 'runId.$': '$.runId' } }, End: true } },
        },
        ItemSelector: { 'key.$': '$$.Map.Item.Value.Key', 'runId.$': '$.run.runId' },
        MaxConcurrency: 2,
        ResultPath: '$.written',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Failed' }],
        Next: 'Done',
        ...extra,
      } as MapLikeState,
      Done: { Type: 'Succeed' },
      Failed: { Type: 'Fail', Error: 'WriteFailed' },
    } as Record<string, MapLikeState>,
  };
}

const objects: S3ListedItem[] = Array.from({ length: 7 }, (_, i) => ({ Etag: `"e${i}"`, Key: `silver/_batch/r1/features/part-${i}.parquet`, LastModified: 1_700_000_000 + i, Size: 100 + i, StorageClass: 'STANDARD' }));

async function run(def: ReturnType<typeof definition>, work: (payload: { key: string; runId: string }) => Promise<unknown>) {
  polyfillPromiseWithResolvers();
  const { StateMachine } = await import('aws-local-stepfunctions');
  const listed: { bucket: string; prefix: string }[] = [];
  const { states, handlers } = emulateDistributedMaps(def.States, async (bucket, prefix) => {
    listed.push({ bucket, prefix });
    return objects.filter((o) => o.Key.startsWith(prefix));
  });
  const machine = new StateMachine({ StartAt: def.StartAt, States: states } as never, { validationOptions: { checkArn: true, checkPaths: true } });
  const execution = machine.run({} as never, {
    overrides: { taskResourceLocalHandlers: { ...handlers, WriteFile: async (p: unknown) => ({ Payload: await work((p as { Payload: { key: string; runId: string } }).Payload) }) } as never },
  });
  const path: string[] = [];
  const logs = (async () => {
    for await (const log of execution.eventLogs) if (log.type === 'StateEntered' && 'state' in log) path.push(log.state.name);
  })();
  try {
    return { output: (await execution.result) as Record<string, unknown>, listed, path, error: null as Error | null };
  } catch (err) {
    return { output: null, listed, path, error: err as Error };
  } finally {
    await logs;
  }
}

describe('Distributed Map emulation for the local runner', () => {
  it('starts from a definition AWS accepts (asl-validator knows Distributed Maps)', () => {
    const { isValid, errors } = aslValidator(definition() as never, { checkArn: true, checkPaths: true });
    expect(errors).toEqual([]);
    expect(isValid).toBe(true);
  });

  it('runs the item processor once per listed object with the ItemSelector, at most MaxConcurrency at a time, results in listing order', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await run(definition(), async ({ key, runId }) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return { key, runId, rows: key.length };
    });
    expect(r.error).toBeNull();
    expect(r.listed).toEqual([{ bucket: 'lake', prefix: 'silver/_batch/r1/features/' }]);
    expect((r.output!.written as { Payload: { key: string; runId: string } }[]).map((w) => w.Payload)).toEqual(objects.map((o) => ({ key: o.Key, runId: 'r1', rows: o.Key.length })));
    expect(peak).toBe(2);
    expect(r.path.slice(0, 3)).toEqual(['Plan', `WriteFiles${ITEM_READER_SUFFIX}`, 'WriteFiles']);
    expect(r.path.at(-1)).toBe('Done');
  });

  it('fails the Map when one item fails (tolerance 0) and takes its Catch', async () => {
    const r = await run(definition(), async ({ key }) => {
      if (key.endsWith('part-3.parquet')) throw new Error('throttled for good');
      return {};
    });
    expect(r.path.at(-1)).toBe('Failed');
  });

  it('refuses what it would not run faithfully, naming it', () => {
    for (const [extra, what] of [
      [{ ItemBatcher: { MaxItemsPerBatch: 10 } }, 'ItemBatcher'],
      [{ ResultWriter: { Resource: 'arn:aws:states:::s3:putObject', Parameters: { Bucket: 'b', Prefix: 'p' } } }, 'ResultWriter'],
      [{ ToleratedFailurePercentage: 5 }, 'ToleratedFailurePercentage'],
      [{ ItemReader: { Resource: 'arn:aws:states:::s3:getObject', ReaderConfig: { InputType: 'CSV' }, Parameters: { Bucket: 'b', Key: 'k' } } }, 'ItemReader'],
    ] as const) {
      expect(() => emulateDistributedMaps(definition(extra).States, async () => [])).toThrow(new RegExp(what));
    }
  });

  it('leaves inline Maps and every other state as they are, and redirects StartAt and transitions to the reader', () => {
    const def = definition();
    const { states, emulated } = emulateDistributedMaps(def.States, async () => []);
    expect(states.Plan!.Next).toBe(`WriteFiles${ITEM_READER_SUFFIX}`);
    expect(states.Done).toEqual(def.States.Done);
    expect(emulatedStartAt('WriteFiles', emulated)).toBe(`WriteFiles${ITEM_READER_SUFFIX}`);
    expect(emulatedStartAt('Plan', emulated)).toBe('Plan');
    const inline = { Plan: { Type: 'Map', ItemsPath: '$.items', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: 'X', States: {} }, End: true } as MapLikeState };
    expect(emulateDistributedMaps(inline, async () => []).states).toEqual(inline);
  });
});
