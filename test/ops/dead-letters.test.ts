import { describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeadLetter } from '../../src/stream/dead-letters';
import { readOutputs } from '../../src/ops/stack-outputs';

// The record Lambda sends to an SQS on-failure destination for a Kinesis event source mapping.
const sqsRecord = {
  requestContext: { requestId: 'c9b8fa9f-5a7f-4b6b-9a5c-2f6b8f2c1e11', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:recsys-consumer', condition: 'RetryAttemptsExhausted', approximateInvokeCount: 11 },
  responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
  version: '1.0',
  timestamp: '2026-11-22T02:14:09.337Z',
  KinesisBatchInfo: {
    shardId: 'shardId-000000000001',
    startSequenceNumber: '49680454003454142406336749192594592377289194445343817730',
    endSequenceNumber: '49680454003454142406336749192653829742450311274904420354',
    approximateArrivalOfFirstRecord: '2026-11-22T02:13:58.101Z',
    approximateArrivalOfLastRecord: '2026-11-22T02:13:59.870Z',
    batchSize: 500,
    streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/recsys-events',
  },
};

describe('dead letters', () => {
  it("reads Lambda's SQS on-failure record", () => {
    expect(parseDeadLetter(JSON.stringify(sqsRecord), 'receipt-1')).toEqual({
      id: 'receipt-1',
      shardId: 'shardId-000000000001',
      startSequenceNumber: sqsRecord.KinesisBatchInfo.startSequenceNumber,
      endSequenceNumber: sqsRecord.KinesisBatchInfo.endSequenceNumber,
      batchSize: 500,
      streamArn: 'arn:aws:kinesis:eu-west-1:123456789012:stream/recsys-events',
      functionName: 'recsys-consumer',
      reason: 'RetryAttemptsExhausted: Unhandled',
    });
  });

  it("reads a line of npm start's dead-letter file", () => {
    const line = { reason: 'RetryAttemptsExhausted', functionName: 'analytics-consumer', shardId: 'shardId-000000000000', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 3, error: 'boom', at: '2026-11-22T00:00:00Z' };
    expect(parseDeadLetter(JSON.stringify(line), 'line 4')).toEqual({ id: 'line 4', shardId: 'shardId-000000000000', startSequenceNumber: '1', endSequenceNumber: '9', batchSize: 3, functionName: 'analytics-consumer', reason: 'RetryAttemptsExhausted: boom' });
  });

  it('says what is wrong with anything else', () => {
    expect(() => parseDeadLetter('{oops', 'line 2')).toThrow('dead letter line 2 is not JSON');
    expect(() => parseDeadLetter(JSON.stringify({ KinesisBatchInfo: { ...sqsRecord.KinesisBatchInfo, startSequenceNumber: '12ab' } }), 'm')).toThrow(/KinesisBatchInfo\.startSequenceNumber must be a decimal sequence number/);
  });

  it('finds the queue, stream and function of either consumer in a stack outputs file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'recsys-outputs-'));
    try {
      const file = join(dir, 'cdk-outputs.json');
      await writeFile(file, JSON.stringify({ Other: { Foo: 'bar' }, Recsys: { ConsumerDeadLetterQueueUrl: 'https://sqs/q1', ConsumerFunctionName: 'c1', AnalyticsDeadLetterQueueUrl: 'https://sqs/q2', AnalyticsConsumerFunctionName: 'a1', EventsStreamName: 's1' } }));
      expect(readOutputs(file, 'ingestion')).toEqual({ queueUrl: 'https://sqs/q1', stream: 's1', functionName: 'c1' });
      expect(readOutputs(file, 'analytics')).toEqual({ queueUrl: 'https://sqs/q2', stream: 's1', functionName: 'a1' });
      await writeFile(file, JSON.stringify({ Other: { Foo: 'bar' } }));
      expect(() => readOutputs(file, 'ingestion')).toThrow(/no stack with a ConsumerDeadLetterQueueUrl output/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
