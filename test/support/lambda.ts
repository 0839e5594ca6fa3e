import { localLambdaContext } from '../../src/local/lambda-context';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';

export function lambdaContext(functionName = 'test-function'): Context {
  return localLambdaContext(functionName);
}

type KinesisHandler = (event: KinesisStreamEvent, context: Context) => Promise<KinesisStreamBatchResponse | void>;

/**
 * Delivers a batch the way Lambda's event source mapping does with ReportBatchItemFailures: after a
 * partial failure it re-delivers from the lowest failed sequence number onwards, until nothing fails.
 * Returns the failures reported by each attempt.
 */
export async function deliverUntilDone(handler: KinesisHandler, event: KinesisStreamEvent, maxAttempts = 5): Promise<string[][]> {
  const attempts: string[][] = [];
  let records = event.Records;
  for (let i = 0; i < maxAttempts && records.length > 0; i++) {
    const res = await handler({ Records: records }, lambdaContext('consumer'));
    const failed = (res?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
    attempts.push(failed);
    if (failed.length === 0) return attempts;
    const lowest = failed.reduce((m, s) => (BigInt(s) < BigInt(m) ? s : m));
    records = records.filter((r) => BigInt(r.kinesis.sequenceNumber) >= BigInt(lowest));
  }
  return attempts;
}
