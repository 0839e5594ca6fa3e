import { parseEventPayload, type FieldError, type UserEvent } from '../domain/events';
import type { Positioned } from '../stream/watermarked-rows';
import type { StreamRecord } from '../stream/stream-record';

/** A record judged against the event contract: its event (and the JSON value it was parsed from), or why not. */
export type RecordEvent = { record: StreamRecord; event: UserEvent; raw: unknown } | { record: StreamRecord; event?: undefined; errors?: FieldError[]; reason: string };

/** A record ready for Bronze: its event when it lands in the events partition, else why it is quarantined. */
export interface ParsedRecord {
  record: StreamRecord;
  event?: UserEvent;
  errors?: FieldError[];
  reason?: string;
  /** The record's Bronze line (events or quarantine), serialised on its own. */
  line: string;
}

/** A valid event with its stream position and Kinesis arrival (the event ledger's clock). */
export type ArrivedEvent = Positioned<UserEvent> & { arrivalMs: number };

/**
 * Judges one record against the event contract, parsing its payload once; never throws (whatever the parser
 * throws is this record's problem alone). The future-skew bound is judged against the record's Kinesis
 * arrival, not the clock of this attempt, so a retry, a replay and the analytics consumer decide the same.
 * `as` is what is handed to the parser: the record's bytes, or (the ingestion consumer) their UTF-8 text, whose
 * size is then measured on its re-encoding (the two differ only for bytes that are not UTF-8).
 */
export function parseRecordEvent(record: StreamRecord, as: 'bytes' | 'text' = 'bytes'): RecordEvent {
  try {
    const payload = as === 'text' ? Buffer.from(record.data).toString('utf8') : record.data;
    const result = parseEventPayload(payload, { now: record.arrivalMs });
    if (!result.ok) return { record, errors: result.errors, reason: result.message };
    return { record, event: result.event, raw: result.raw };
  } catch (err) {
    return { record, reason: `cannot be parsed: ${(err as Error).message}` };
  }
}

/** The record's event with where and when it arrived. */
export const arrivedEvent = (record: StreamRecord, event: UserEvent): ArrivedEvent => ({
  shardId: record.shardId,
  sequenceNumber: record.sequenceNumber,
  arrivalMs: record.arrivalMs,
  value: event,
});

/**
 * Parses each record (once) and serialises its Bronze line on its own: one that cannot be (a value nested
 * too deep for the serialiser, anything else it throws) is quarantined with the reason and never fails its
 * neighbours. `landedMs` is when a dead-letter replay reaches the lake (undefined outside replays).
 */
export function parseRecords(records: readonly StreamRecord[], landedMs: number | undefined): ParsedRecord[] {
  return records.map((record) => withBronzeLine(parseRecordEvent(record, 'text'), landedMs));
}

/** The valid records' events, in record order. */
export function validEvents(parsed: readonly ParsedRecord[]): ArrivedEvent[] {
  return parsed.flatMap((p) => (p.event ? [arrivedEvent(p.record, p.event)] : []));
}

/**
 * Serialises the record's Bronze line. An event whose line cannot be serialised goes to the quarantine
 * partition instead, with the reason (and no longer counts as valid anywhere).
 */
function withBronzeLine(p: RecordEvent, landedMs: number | undefined): ParsedRecord {
  let quarantined: { record: StreamRecord; errors?: FieldError[]; reason: string };
  if (p.event) {
    try {
      return { record: p.record, event: p.event, line: JSON.stringify(bronzeLine(p.record, p.raw, landedMs)) };
    } catch (err) {
      const reason = `Bronze line cannot be serialised: ${(err as Error).message}`;
      quarantined = { record: p.record, reason, errors: [{ field: '(event)', message: reason }] };
    }
  } else quarantined = p;
  const { record, errors, reason } = quarantined;
  try {
    return { record, errors, reason, line: JSON.stringify(quarantineLine(record, reason, errors, landedMs)) };
  } catch (err) {
    // The quarantine line holds the record's bytes as text; keep only the bytes if even that fails.
    const line = JSON.stringify({ reason: `${reason}; quarantine line cannot be serialised: ${(err as Error).message}`, dataBase64: Buffer.from(record.data).toString('base64'), ...ingestInfo(record, landedMs) });
    return { record, errors, reason, line };
  }
}

/**
 * Where a record came from and when it reached the lake: `arrivalTime` is when Kinesis accepted it, or for a
 * dead-letter replay when it was replayed (then `streamArrivalTime` keeps the Kinesis time).
 */
function ingestInfo(record: StreamRecord, landedMs: number | undefined): { shardId: string; sequenceNumber: string; arrivalTime: string; streamArrivalTime?: string } {
  const stream = new Date(record.arrivalMs).toISOString();
  return {
    shardId: record.shardId,
    sequenceNumber: record.sequenceNumber,
    arrivalTime: landedMs === undefined ? stream : new Date(landedMs).toISOString(),
    ...(landedMs === undefined ? {} : { streamArrivalTime: stream }),
  };
}

/** Bronze keeps the event as the producer sent it, plus where it came from in the stream. */
function bronzeLine(record: StreamRecord, raw: unknown, landedMs: number | undefined): Record<string, unknown> {
  return { ...(raw as Record<string, unknown>), _ingest: ingestInfo(record, landedMs) };
}

/** A quarantined record keeps its original bytes (as text when UTF-8, else base64) and why it was refused. */
function quarantineLine(record: StreamRecord, reason: string, errors: FieldError[] | undefined, landedMs: number | undefined): Record<string, unknown> {
  const bytes = Buffer.from(record.data);
  const text = bytes.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(bytes);
  return {
    reason,
    errors,
    ...(isText ? { data: text } : { dataBase64: bytes.toString('base64') }),
    ...ingestInfo(record, landedMs),
  };
}
