import { describe, expect, it } from 'vitest';
import type { KinesisClient } from '../../src/adapters/aws-clients';
import { KinesisEventPublisher, putRecords } from '../../src/adapters/kinesis-publisher';

interface PutInput {
  StreamName: string;
  Records: { PartitionKey: string; Data: Uint8Array }[];
}

/** A stream that refuses the records whose partition key is in `refuse` the first `times` times they are put. */
function fakeKinesis(plan: { refuse?: string[]; times?: number; throwOnCall?: number[] } = {}) {
  const calls: string[][] = [];
  const refusals = new Map<string, number>();
  const client = {
    send: async (command: { input: PutInput }) => {
      const keys = command.input.Records.map((r) => r.PartitionKey);
      calls.push(keys);
      if (plan.throwOnCall?.includes(calls.length)) throw Object.assign(new Error('connection reset'), { name: 'NetworkingError' });
      return {
        Records: keys.map((key, i) => {
          const seen = refusals.get(key) ?? 0;
          if (plan.refuse?.includes(key) && seen < (plan.times ?? Infinity)) {
            refusals.set(key, seen + 1);
            return { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'slow down' };
          }
          return { ShardId: 'shardId-000000000000', SequenceNumber: String(1000 + calls.length * 10 + i) };
        }),
      };
    },
  };
  return { client: client as unknown as KinesisClient, calls };
}

const records = (...keys: string[]) => keys.map((partitionKey) => ({ partitionKey, data: Buffer.from(partitionKey) }));

describe('putRecords', () => {
  it('retries only the refused records and reports one result per record, in order', async () => {
    const kinesis = fakeKinesis({ refuse: ['b'], times: 1 });
    let retried = 0;
    const results = await putRecords(kinesis.client, 'events', records('a', 'b', 'c'), { delayMs: () => 0, onRetry: (n) => (retried += n) });
    expect(kinesis.calls).toEqual([['a', 'b', 'c'], ['b']]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(retried).toBe(1);
  });

  it('reports what is still refused after the last attempt', async () => {
    const kinesis = fakeKinesis({ refuse: ['b'] });
    const results = await putRecords(kinesis.client, 'events', records('a', 'b'), { attempts: 2, delayMs: () => 0 });
    expect(kinesis.calls).toHaveLength(2);
    expect(results[1]).toEqual({ ok: false, errorCode: 'ProvisionedThroughputExceededException', errorMessage: 'slow down' });
  });

  it('throws a failed call unless told to retry it', async () => {
    await expect(putRecords(fakeKinesis({ throwOnCall: [1] }).client, 'events', records('a'), { delayMs: () => 0 })).rejects.toThrow('connection reset');
    const results = await putRecords(fakeKinesis({ throwOnCall: [1] }).client, 'events', records('a'), { delayMs: () => 0, retryFailedCalls: true });
    expect(results[0]!.ok).toBe(true);
  });

  it('refuses more than one PutRecords call can take', async () => {
    await expect(putRecords(fakeKinesis().client, 'events', records(...Array.from({ length: 501 }, (_, i) => `u${i}`)))).rejects.toThrow('at most 500');
  });
});

describe('KinesisEventPublisher', () => {
  it('reports a call that keeps failing per record, with its error', async () => {
    const kinesis = fakeKinesis({ throwOnCall: [1, 2] });
    const results = await new KinesisEventPublisher(kinesis.client, 'events', { attempts: 2, backoffMs: 0 }).publish(records('a', 'b'));
    expect(results).toEqual([
      { ok: false, errorCode: 'NetworkingError', errorMessage: 'connection reset' },
      { ok: false, errorCode: 'NetworkingError', errorMessage: 'connection reset' },
    ]);
  });
});
