import { parseEvent, type UserEvent } from '../domain/events';
import { bronzePartitionPrefix, compareSequenceNumbers } from '../domain/lake-layout';
import { mapLimit, type RetrainingLake } from './lake';
import { datesInWindow, type DateWindow } from './window';

/** One valid Bronze line: the re-validated event and where the stream put it. */
export interface BronzeRecord {
  event: UserEvent;
  arrivalMs: number;
  /** Arrival date partition the line was read from. */
  arrivalDt: string;
  shardId: string;
  sequenceNumber: string;
}

export interface InvalidLine {
  key: string;
  line: number;
  reason: string;
}

export interface BronzeWindow {
  records: BronzeRecord[];
  invalid: InvalidLine[];
  /** Lines in the window's quarantine partitions (refused by the consumer). */
  quarantined: number;
  objects: number;
  lines: number;
  /** Valid lines per arrival date. */
  perDay: Record<string, number>;
}

const READ_CONCURRENCY = 16;

/** Reads and re-validates every Bronze line of the window's arrival-date partitions. */
export async function readBronzeWindow(lake: RetrainingLake, window: DateWindow): Promise<BronzeWindow> {
  const out: BronzeWindow = { records: [], invalid: [], quarantined: 0, objects: 0, lines: 0, perDay: {} };
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
        if ('reason' in parsed) out.invalid.push({ key, line: i + 1, reason: parsed.reason });
        else {
          out.records.push(parsed);
          out.perDay[dt]! += 1;
        }
      }
    }
    const quarantineKeys = await lake.listKeys(bronzePartitionPrefix('quarantine', dt));
    const quarantineBodies = await mapLimit(quarantineKeys, READ_CONCURRENCY, async (key) => (await lake.getText(key)) ?? '');
    for (const body of quarantineBodies) out.quarantined += body.split('\n').filter((l) => l.trim() !== '').length;
  }
  return out;
}

function parseBronzeLine(line: string, arrivalDt: string): BronzeRecord | { reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (err) {
    return { reason: `not valid JSON: ${(err as Error).message}` };
  }
  const ingest = (json as { _ingest?: { shardId?: unknown; sequenceNumber?: unknown; arrivalTime?: unknown } } | null)?._ingest;
  const result = parseEvent(json);
  if (!result.ok) return { reason: result.message };
  const arrivalMs = typeof ingest?.arrivalTime === 'string' ? Date.parse(ingest.arrivalTime) : NaN;
  if (!ingest || typeof ingest.shardId !== 'string' || typeof ingest.sequenceNumber !== 'string' || !/^\d+$/.test(ingest.sequenceNumber) || Number.isNaN(arrivalMs)) {
    return { reason: '_ingest {shardId, sequenceNumber, arrivalTime} is missing or malformed' };
  }
  return { event: result.event, arrivalMs, arrivalDt, shardId: ingest.shardId, sequenceNumber: ingest.sequenceNumber };
}

/** Stream order: arrival time, then shard, then sequence number. The first delivery of an event wins. */
export function compareStreamOrder(a: BronzeRecord, b: BronzeRecord): number {
  return a.arrivalMs - b.arrivalMs || (a.shardId < b.shardId ? -1 : a.shardId > b.shardId ? 1 : compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
}

/** Keeps the first delivery of each eventId; returns the kept records (stream order) and the drop count. */
export function dedupeByEventId(records: readonly BronzeRecord[]): { records: BronzeRecord[]; duplicates: number; duplicateIds: string[] } {
  const sorted = [...records].sort(compareStreamOrder);
  const seen = new Set<string>();
  const kept: BronzeRecord[] = [];
  const duplicateIds: string[] = [];
  for (const r of sorted) {
    if (seen.has(r.event.eventId)) duplicateIds.push(r.event.eventId);
    else {
      seen.add(r.event.eventId);
      kept.push(r);
    }
  }
  return { records: kept, duplicates: duplicateIds.length, duplicateIds };
}
