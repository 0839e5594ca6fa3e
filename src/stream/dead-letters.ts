import { z } from 'zod';
import { formatIssues } from '../domain/zod-issues';

/** One batch a Kinesis consumer gave up on: where its records are in the stream. */
export interface DeadLetter {
  /** Identifies the letter in its source (SQS receipt handle, or the line number of the local file). */
  id: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  /** Records in the batch, when the letter says. */
  batchSize?: number;
  streamArn?: string;
  /** The function that gave up, when the letter says (the local file does; SQS letters name its ARN). */
  functionName?: string;
  /** Why it was given up on, as far as the letter says. */
  reason?: string;
}

/** Where dead letters come from, and how a replayed one is removed. */
export interface DeadLetterSource {
  /** Up to `max` letters not yet acknowledged. */
  receive(max: number): Promise<DeadLetter[]>;
  /** The letter's records were replayed successfully: remove it. */
  acknowledge(letter: DeadLetter): Promise<void>;
  /** Flushes what acknowledge() removed (the file source rewrites its file). */
  close?(): Promise<void>;
}

const sequence = z.string().regex(/^\d+$/, 'must be a decimal sequence number');

/** The on-failure record Lambda sends to SQS for a Kinesis event source mapping. */
const SqsOnFailureRecord = z.object({
  requestContext: z.object({ functionArn: z.string().optional(), condition: z.string().optional() }).partial().optional(),
  responseContext: z.object({ functionError: z.string().optional() }).partial().optional(),
  KinesisBatchInfo: z.object({
    shardId: z.string().min(1),
    startSequenceNumber: sequence,
    endSequenceNumber: sequence,
    batchSize: z.number().int().positive().optional(),
    streamArn: z.string().optional(),
  }),
});

/** A line of the local `dead-letters.jsonl` (written by `npm start`'s event source pollers). */
const LocalFailedBatch = z.object({
  reason: z.string().optional(),
  functionName: z.string().optional(),
  shardId: z.string().min(1),
  startSequenceNumber: sequence,
  endSequenceNumber: sequence,
  batchSize: z.number().int().positive().optional(),
  error: z.string().optional(),
});

/**
 * Reads a dead letter in either format: Lambda's SQS on-failure record (`KinesisBatchInfo`) or a line of the
 * local dead-letter file. Throws a readable error naming what is wrong.
 */
export function parseDeadLetter(text: string, id: string): DeadLetter {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`dead letter ${id} is not JSON`);
  }
  const sqs = SqsOnFailureRecord.safeParse(json);
  if (sqs.success) {
    const info = sqs.data.KinesisBatchInfo;
    const functionArn = sqs.data.requestContext?.functionArn;
    return {
      id,
      shardId: info.shardId,
      startSequenceNumber: info.startSequenceNumber,
      endSequenceNumber: info.endSequenceNumber,
      ...(info.batchSize ? { batchSize: info.batchSize } : {}),
      ...(info.streamArn ? { streamArn: info.streamArn } : {}),
      ...(functionArn ? { functionName: functionArn.split(':').slice(6, 7)[0] ?? functionArn } : {}),
      reason: [sqs.data.requestContext?.condition, sqs.data.responseContext?.functionError].filter(Boolean).join(': ') || undefined,
    };
  }
  const local = LocalFailedBatch.safeParse(json);
  if (local.success) {
    const l = local.data;
    return {
      id,
      shardId: l.shardId,
      startSequenceNumber: l.startSequenceNumber,
      endSequenceNumber: l.endSequenceNumber,
      ...(l.batchSize ? { batchSize: l.batchSize } : {}),
      ...(l.functionName ? { functionName: l.functionName } : {}),
      reason: [l.reason, l.error].filter(Boolean).join(': ') || undefined,
    };
  }
  throw new Error(`dead letter ${id} is neither a Lambda on-failure record nor a local dead-letter line: ${formatIssues(sqs.error.issues, { emptyPath: '(record)', limit: 1 })}`);
}

/** What Lambda's on-failure destination receives for a batch it gave up on, as the local event source poller writes it. */
export interface FailedBatchRecord {
  reason: 'RetryAttemptsExhausted';
  /** The function that gave up (`consumer`, `analytics-consumer`), so a replay invokes the right one. */
  functionName?: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
  batchSize: number;
  error: string;
  at: string;
}

/** A line of the local dead-letter file (`.local/dead-letters.jsonl`), as parseDeadLetter reads it back. */
export function formatDeadLetterLine(failed: FailedBatchRecord): string {
  return `${JSON.stringify(failed)}\n`;
}
