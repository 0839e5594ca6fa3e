import { readFile, writeFile } from 'node:fs/promises';
import { z } from 'zod';

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
  const issue = sqs.error.issues[0]!;
  throw new Error(`dead letter ${id} is neither a Lambda on-failure record nor a local dead-letter line: ${issue.path.join('.') || '(record)'} ${issue.message}`);
}

/**
 * The local dead-letter file (`.local/dead-letters.jsonl`), one letter a line. Acknowledged lines are removed
 * from the file on close(); lines that fail to parse are reported and kept.
 */
export class FileDeadLetterSource implements DeadLetterSource {
  private lines: string[] | undefined;
  private readonly done = new Set<string>();
  private offset = 0;

  constructor(
    private readonly path: string,
    private readonly onUnreadable: (line: number, error: string) => void = () => undefined,
  ) {}

  async receive(max: number): Promise<DeadLetter[]> {
    if (!this.lines) this.lines = (await readFile(this.path, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? '' : Promise.reject(err)))).split('\n');
    const out: DeadLetter[] = [];
    while (this.offset < this.lines.length && out.length < max) {
      const n = this.offset++;
      const text = this.lines[n]!.trim();
      if (!text) continue;
      try {
        out.push(parseDeadLetter(text, `line ${n + 1}`));
      } catch (err) {
        this.onUnreadable(n + 1, (err as Error).message);
      }
    }
    return out;
  }

  async acknowledge(letter: DeadLetter): Promise<void> {
    this.done.add(letter.id);
  }

  async close(): Promise<void> {
    if (!this.lines || this.done.size === 0) return;
    const kept = this.lines.filter((line, n) => line.trim() !== '' && !this.done.has(`line ${n + 1}`));
    await writeFile(this.path, kept.length ? `${kept.join('\n')}\n` : '');
  }
}
