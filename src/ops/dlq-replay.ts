import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { KinesisClient } from '../adapters/aws-clients';
import { streamArnFor, toLambdaKinesisRecord } from '../adapters/kinesis-records';
import { readRecordsPage, shardIterator, type KinesisRecord, type StreamTarget } from '../adapters/kinesis-shards';
import { lowestSequenceNumber } from '../domain/lake-layout';
import type { DeadLetter, DeadLetterSource } from '../stream/dead-letters';

/** A Kinesis event marked as a dead-letter replay (the ingestion consumer then checks Bronze below its watermarks). */
export type ReplayEvent = KinesisStreamEvent & { replay: true };

/** Invokes the consumer with one Kinesis event; resolves with its partial batch response. */
export type BatchInvoker = (event: ReplayEvent, letter: DeadLetter) => Promise<KinesisStreamBatchResponse | void>;

export interface ReplayOptions {
  source: DeadLetterSource;
  kinesis: KinesisClient;
  stream: string;
  invoke: BatchInvoker;
  /** Records per invocation, as the event source mapping's batch size. */
  batchSize?: number;
  /** Largest invocation payload in bytes (Lambda accepts 6 MB synchronously); pieces are cut to stay below it. */
  maxPayloadBytes?: number;
  /** Invocations of a failing piece before the letter is left on its queue. */
  maxAttempts?: number;
  /** Read and count the records, invoke nothing, acknowledge nothing. */
  dryRun?: boolean;
  /** At most this many letters. */
  maxLetters?: number;
  backoffMs?: (attempt: number) => number;
  log?: (line: string) => void;
}

export interface LetterOutcome {
  letter: DeadLetter;
  status: 'replayed' | 'failed' | 'dry-run';
  /** Records found in the stream for the letter's range. */
  records: number;
  /** Records of the range no longer in the stream (trimmed by retention), when the letter gives its size. */
  missing: number;
  error?: string;
}

export interface ReplayReport {
  letters: LetterOutcome[];
  replayed: number;
  failed: number;
  records: number;
  missing: number;
}

/**
 * Replays dead-lettered batches through the consumer: for each letter, the records of its sequence range are
 * read back from the stream and handed to the function with their original sequence numbers, so the
 * consumers' per-shard watermarks skip whatever was already written: a replay can never double count.
 * (Putting the records back on the stream would give them new sequence numbers and count them twice.)
 * A letter is acknowledged only when every one of its records succeeded.
 */
export async function replayDeadLetters(options: ReplayOptions): Promise<ReplayReport> {
  const log = options.log ?? (() => undefined);
  const outcomes: LetterOutcome[] = [];
  const max = options.maxLetters ?? Number.POSITIVE_INFINITY;
  while (outcomes.length < max) {
    const letters = await options.source.receive(Math.min(10, max - outcomes.length));
    if (letters.length === 0) break;
    for (const letter of letters) {
      const outcome = await replayOne(letter, options);
      outcomes.push(outcome);
      if (outcome.status === 'replayed') await options.source.acknowledge(letter);
      log(describe(outcome));
    }
  }
  await options.source.close?.();
  return {
    letters: outcomes,
    replayed: outcomes.filter((o) => o.status === 'replayed').length,
    failed: outcomes.filter((o) => o.status === 'failed').length,
    records: outcomes.reduce((n, o) => n + o.records, 0),
    missing: outcomes.reduce((n, o) => n + o.missing, 0),
  };
}

async function replayOne(letter: DeadLetter, options: ReplayOptions): Promise<LetterOutcome> {
  let records: KinesisRecord[];
  try {
    records = await readRange(options.kinesis, options.stream, letter);
  } catch (err) {
    return { letter, status: 'failed', records: 0, missing: 0, error: `could not read ${letter.shardId} from ${letter.startSequenceNumber}: ${(err as Error).message}` };
  }
  const missing = letter.batchSize !== undefined ? Math.max(0, letter.batchSize - records.length) : 0;
  if (options.dryRun) return { letter, status: 'dry-run', records: records.length, missing };
  const arn = letter.streamArn ?? streamArnFor(options.stream);
  const maxAttempts = options.maxAttempts ?? 3;
  const backoff = options.backoffMs ?? ((attempt: number) => Math.min(10_000, 200 * 2 ** attempt));
  const all = records.map((r) => toLambdaKinesisRecord(r, letter.shardId, arn));
  for (let piece of pieces(all, options.batchSize ?? 100, options.maxPayloadBytes ?? 5_500_000)) {
    for (let attempt = 1; ; attempt++) {
      let failedIds: string[];
      let error = '';
      try {
        const response = await options.invoke({ Records: piece, replay: true }, letter);
        failedIds = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      } catch (err) {
        failedIds = piece.map((r) => r.kinesis.sequenceNumber);
        error = (err as Error).message;
      }
      if (failedIds.length === 0) break;
      // As the event source mapping does: retry from the lowest failed record.
      const from = lowestSequenceNumber(failedIds);
      piece = piece.filter((r) => BigInt(r.kinesis.sequenceNumber) >= BigInt(from));
      if (attempt >= maxAttempts) {
        return { letter, status: 'failed', records: records.length, missing, error: error || `${failedIds.length} records still failing after ${attempt} attempts (first ${from})` };
      }
      await new Promise((r) => setTimeout(r, backoff(attempt)));
    }
  }
  return { letter, status: 'replayed', records: records.length, missing };
}

/** Cuts records into invocations of at most `batchSize` records and about `maxBytes` of JSON each. */
export function pieces<R extends { kinesis: { data: string } }>(records: readonly R[], batchSize: number, maxBytes: number): R[][] {
  const out: R[][] = [];
  let current: R[] = [];
  let bytes = 0;
  for (const r of records) {
    // The record's JSON is its base64 data plus about 600 bytes of envelope.
    const size = r.kinesis.data.length + 600;
    if (current.length > 0 && (current.length >= batchSize || bytes + size > maxBytes)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * The records of `[startSequenceNumber, endSequenceNumber]` on the letter's shard that are still in the
 * stream. Starts at the first sequence number, or at the trim horizon when retention has removed it.
 */
export async function readRange(kinesis: KinesisClient, stream: string, letter: DeadLetter): Promise<KinesisRecord[]> {
  const start = BigInt(letter.startSequenceNumber);
  const end = BigInt(letter.endSequenceNumber);
  if (end < start) throw new Error(`the range ends (${letter.endSequenceNumber}) before it starts (${letter.startSequenceNumber})`);
  const target: StreamTarget = letter.streamArn ? { streamArn: letter.streamArn } : { streamName: stream };
  let iterator: string | undefined;
  try {
    iterator = await shardIterator(kinesis, target, letter.shardId, { type: 'AT_SEQUENCE_NUMBER', sequenceNumber: letter.startSequenceNumber });
  } catch (err) {
    if ((err as Error).name !== 'InvalidArgumentException') throw err;
    // The first record is past retention: read what is left of the range.
    iterator = await shardIterator(kinesis, target, letter.shardId, { type: 'TRIM_HORIZON' });
  }
  const out: KinesisRecord[] = [];
  for (let pages = 0; iterator && pages < 100_000; pages++) {
    const page = await readRecordsPage(kinesis, iterator, 1000);
    const records = page.records;
    for (const r of records) {
      const seq = BigInt(r.SequenceNumber ?? '0');
      if (seq > end) return out;
      if (seq >= start) out.push(r);
    }
    // An empty page at the tip of the shard is the end (AWS may return empty pages while still behind).
    if (records.length === 0 && (page.millisBehindLatest ?? 0) === 0) return out;
    iterator = page.nextIterator;
  }
  return out;
}

function describe(o: LetterOutcome): string {
  const where = `${o.letter.functionName ? `${o.letter.functionName} ` : ''}${o.letter.shardId} ${o.letter.startSequenceNumber}…${o.letter.endSequenceNumber}`;
  const lost = o.missing ? `, ${o.missing} no longer in the stream (Bronze and the nightly exact features still have them if they were ever written)` : '';
  if (o.status === 'failed') return `✗ ${where}: ${o.error}; left on the queue`;
  if (o.status === 'dry-run') return `· ${where}: ${o.records} records would be replayed${lost}`;
  return `✓ ${where}: ${o.records} records replayed${lost}`;
}
