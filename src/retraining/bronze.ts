import { defaultEventContract, parseEvent, parseEventTime, type UserEvent } from '../domain/events';
import { bronzePartitionPrefix, compareSequenceNumbers } from '../domain/lake-layout';
import { mapLimit, type RetrainingLake } from './lake';
import { datesInWindow, type DateWindow } from './run-window';

/** One valid Bronze line: the re-validated event and where the stream put it. */
export interface BronzeRecord {
  event: UserEvent;
  arrivalMs: number;
  /** Arrival date partition the line was read from. */
  arrivalDt: string;
  shardId: string;
  sequenceNumber: string;
}

/**
 * Why a Bronze line is not a record: `json` not parseable, `ingest` without its stream metadata, `contract`
 * outside the event contract the consumer enforced, `after-arrival` stamped later than its arrival allows.
 * The consumer writes none of these: each is a sign that the lake itself is wrong.
 */
export type InvalidKind = 'json' | 'ingest' | 'contract' | 'after-arrival';

export interface InvalidLine {
  key: string;
  line: number;
  reason: string;
  kind?: InvalidKind;
  /** The line's eventId, when it has a readable one. */
  eventId?: string;
}

/** The same stream record (shard + sequence number) on more than one Bronze line. */
export interface RepeatedStreamRecord {
  shardId: string;
  sequenceNumber: string;
  /** Where the kept (first) copy and the repeat were read. */
  first: { key: string; line: number };
  repeat: { key: string; line: number };
  /** Whether both copies carry the same eventId (a rewrite) or not (conflicting content). */
  sameEvent: boolean;
}

export interface BronzeWindow {
  /** Valid lines, each stream record once (the first copy in key order). */
  records: BronzeRecord[];
  invalid: InvalidLine[];
  /** Lines in the window's quarantine partitions (refused by the consumer). */
  quarantined: number;
  objects: number;
  lines: number;
  /** Valid lines per arrival date. */
  perDay: Record<string, number>;
  /** Every repeated stream record is counted; `repeatedStreamRecordSamples` keeps the first few. */
  repeatedStreamRecords?: number;
  repeatedStreamRecordSamples?: RepeatedStreamRecord[];
}

const READ_CONCURRENCY = 16;
const SAMPLES = 10;

/**
 * Reads and re-validates every Bronze line of the window's arrival-date partitions: each line against the
 * event contract as of its own arrival time (what the consumer checked), and each stream record once.
 */
export async function readBronzeWindow(lake: RetrainingLake, window: DateWindow): Promise<BronzeWindow> {
  const out: BronzeWindow = { records: [], invalid: [], quarantined: 0, objects: 0, lines: 0, perDay: {}, repeatedStreamRecords: 0, repeatedStreamRecordSamples: [] };
  const seen = new Map<string, { key: string; line: number; eventId: string }>();
  for (const dt of datesInWindow(window)) {
    out.perDay[dt] = 0;
    const keys = (await lake.listKeys(bronzePartitionPrefix('events', dt))).filter((k) => k.endsWith('.jsonl')).sort();
    const bodies = await mapLimit(keys, READ_CONCURRENCY, async (key) => ({ key, text: (await lake.getText(key)) ?? '' }));
    out.objects += keys.length;
    for (const { key, text } of bodies) {
      const lines = text.split('\n');
      for (let i = 0; i < lines.length; i++) {
        const line = lines[i]!;
        if (line.trim() === '') continue;
        out.lines += 1;
        const parsed = parseBronzeLine(line, dt);
        if ('reason' in parsed) {
          out.invalid.push({ key, line: i + 1, reason: parsed.reason, kind: parsed.kind, ...(parsed.eventId !== undefined ? { eventId: parsed.eventId } : {}) });
          continue;
        }
        const id = `${parsed.shardId}\u0000${parsed.sequenceNumber}`;
        const first = seen.get(id);
        if (first) {
          out.repeatedStreamRecords! += 1;
          if (out.repeatedStreamRecordSamples!.length < SAMPLES) {
            out.repeatedStreamRecordSamples!.push({
              shardId: parsed.shardId,
              sequenceNumber: parsed.sequenceNumber,
              first: { key: first.key, line: first.line },
              repeat: { key, line: i + 1 },
              sameEvent: first.eventId === parsed.event.eventId,
            });
          }
          continue;
        }
        seen.set(id, { key, line: i + 1, eventId: parsed.event.eventId });
        out.records.push(parsed);
        out.perDay[dt]! += 1;
      }
    }
    const quarantineKeys = await lake.listKeys(bronzePartitionPrefix('quarantine', dt));
    const quarantineBodies = await mapLimit(quarantineKeys, READ_CONCURRENCY, async (key) => (await lake.getText(key)) ?? '');
    for (const body of quarantineBodies) out.quarantined += body.split('\n').filter((l) => l.trim() !== '').length;
  }
  return out;
}

function parseBronzeLine(line: string, arrivalDt: string): BronzeRecord | { reason: string; kind: InvalidKind; eventId?: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    return { reason: `not valid JSON: ${(err as Error).message}`, kind: 'json' };
  }
  const rawId = (json as { eventId?: unknown } | null)?.eventId;
  const eventId = typeof rawId === 'string' ? rawId.slice(0, 200) : undefined;
  const ingest = (json as { _ingest?: { shardId?: unknown; sequenceNumber?: unknown; arrivalTime?: unknown } } | null)?._ingest;
  const arrivalMs = typeof ingest?.arrivalTime === 'string' ? Date.parse(ingest.arrivalTime) : NaN;
  if (!ingest || typeof ingest !== 'object' || typeof ingest.shardId !== 'string' || typeof ingest.sequenceNumber !== 'string' || !/^\d+$/.test(ingest.sequenceNumber) || Number.isNaN(arrivalMs)) {
    return { reason: '_ingest {shardId, sequenceNumber, arrivalTime} is missing or malformed', kind: 'ingest', eventId };
  }
  // The contract as the consumer applied it: "now" is the moment the record reached the stream.
  const result = parseEvent(json, { now: arrivalMs });
  if (!result.ok) {
    const time = parseEventTime((json as { timestamp?: unknown }).timestamp);
    const skew = defaultEventContract().maxFutureSkewMs;
    if (time.ok && time.ms > arrivalMs + skew) {
      // A time beyond what a Date holds (e.g. 1e300) is still only an invalid line, never a failed step.
      const stamped = Math.abs(time.ms) <= 8.64e15 ? new Date(time.ms).toISOString() : String(time.ms);
      return { reason: `stamped ${stamped}, more than ${skew / 1000} s after it reached the stream at ${ingest.arrivalTime as string}`, kind: 'after-arrival', eventId };
    }
    return { reason: result.message, kind: 'contract', eventId };
  }
  return { event: result.event, arrivalMs, arrivalDt, shardId: ingest.shardId, sequenceNumber: ingest.sequenceNumber };
}

/** Stream order: arrival time, then shard, then sequence number. The first delivery of an event wins. */
export function compareStreamOrder(a: BronzeRecord, b: BronzeRecord): number {
  return a.arrivalMs - b.arrivalMs || (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
}

/**
 * Keeps the first delivery of each eventId; returns the kept records (stream order), the number of repeats
 * dropped, one id per repeat (`duplicateIds`, in stream order) and the most repeated ids with their copies.
 */
export function dedupeByEventId(records: readonly BronzeRecord[]): {
  records: BronzeRecord[];
  duplicates: number;
  duplicateIds: string[];
  mostRepeated: { eventId: string; copies: number }[];
  repeatedEventIds: number;
} {
  const sorted = [...records].sort(compareStreamOrder);
  const copies = new Map<string, number>();
  const kept: BronzeRecord[] = [];
  const duplicateIds: string[] = [];
  for (const r of sorted) {
    const id = r.event.eventId;
    const n = copies.get(id);
    if (n !== undefined) {
      duplicateIds.push(id);
      copies.set(id, n + 1);
    } else {
      copies.set(id, 1);
      kept.push(r);
    }
  }
  const repeated = [...copies].filter(([, n]) => n > 1);
  repeated.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return {
    records: kept,
    duplicates: duplicateIds.length,
    duplicateIds,
    mostRepeated: repeated.slice(0, SAMPLES).map(([eventId, n]) => ({ eventId, copies: n })),
    repeatedEventIds: repeated.length,
  };
}
