import { describeError } from '../domain/describe-error';
import { bronzeKeyFor, bronzePartitionPrefix, compareSequenceNumbers, parseBronzeKey, partitionDate, type BronzeKind } from '../domain/lake-layout';
import { lakeWatermarkPk, rowId, type LakeWatermarkRow, type LakeWriter, type RowKey } from '../stream/ports';
import type { ParsedRecord } from './parse-records';

/** One Bronze partition of one shard (`kind/dt/shardId`), keyed as its lake watermark row. */
export interface BronzePartitionKey extends RowKey {
  kind: BronzeKind;
  dt: string;
  shardId: string;
}

/** A batch's records per Bronze partition (by lake watermark row id), each in stream order. */
export type BronzePartitions = Map<string, { key: BronzePartitionKey; items: ParsedRecord[] }>;

export interface BronzeWriteOptions {
  lake: LakeWriter;
  /** A dead-letter replay: the partitions are read to find which records are already there. */
  replay: boolean;
  now: () => number;
  watermarkTtlSeconds: number;
}

export interface BronzeWrite {
  /** The lake watermark rows of the partitions written, to write with the feature rows. */
  rows: LakeWatermarkRow[];
  /** Per lake watermark row, the records it carries. */
  recordsOfRow: Map<string, string[]>;
  /** Records whose partition could not be looked up or written, with why. */
  failures: Map<string, string>;
  objects: number;
}

/**
 * Groups records by Bronze partition: events or quarantine, the day they reach the lake (`landedMs` for a
 * dead-letter replay, else their Kinesis arrival) and their shard.
 */
export function bronzePartitions(parsed: readonly ParsedRecord[], landedMs: number | undefined): BronzePartitions {
  const out: BronzePartitions = new Map();
  for (const p of parsed) {
    const kind: BronzeKind = p.event ? 'events' : 'quarantine';
    const dt = partitionDate(landedMs ?? p.record.arrivalMs);
    const key: BronzePartitionKey = { pk: lakeWatermarkPk(p.record.shardId), sk: `${kind}#${dt}`, kind, dt, shardId: p.record.shardId };
    const id = rowId(key);
    let group = out.get(id);
    if (!group) out.set(id, (group = { key, items: [] }));
    group.items.push(p);
  }
  for (const group of out.values()) group.items.sort((a, b) => compareSequenceNumbers(a.record.sequenceNumber, b.record.sequenceNumber));
  return out;
}

/** The lake watermark rows the partitions need read. */
export const partitionRowKeys = (partitions: BronzePartitions): RowKey[] => [...partitions.values()].map(({ key }) => ({ pk: key.pk, sk: key.sk }));

/**
 * Writes each partition's records not yet in Bronze: those past its watermark (`current`, the lake watermark
 * rows as read), or on a replay those not found in the partition's objects. A record counts as landed only
 * once its object is in the lake; the watermark rows returned are to be written after (never moving back).
 */
export async function writeBronze(partitions: BronzePartitions, current: ReadonlyMap<string, { wm?: string } | undefined>, options: BronzeWriteOptions): Promise<BronzeWrite> {
  const out: BronzeWrite = { rows: [], recordsOfRow: new Map(), failures: new Map(), objects: 0 };
  await Promise.all(
    [...partitions].map(async ([id, { key, items }]) => {
      const { kind, dt, shardId } = key;
      const wm = current.get(id)?.wm;
      let fresh = items.filter((p) => wm === undefined || compareSequenceNumbers(p.record.sequenceNumber, wm) > 0);
      if (options.replay) {
        // Whatever the watermark says (it may be past these records, or expired), look in the partition.
        let present: Set<string>;
        try {
          // A record may be in its original partition (it reached Bronze before its batch was given up on)
          // or in today's (an earlier replay).
          const seqs = items.map((p) => p.record.sequenceNumber);
          const partitionDates = new Set([dt, ...items.map((p) => partitionDate(p.record.arrivalMs))]);
          present = new Set<string>();
          for (const partition of partitionDates) for (const seq of await sequencesInBronze(options.lake, { kind, dt: partition, shardId }, seqs)) present.add(seq);
        } catch (err) {
          for (const p of items) out.failures.set(p.record.sequenceNumber, `bronze lookup failed: ${describeError(err).slice(0, 300)} (partition ${kind}/${dt}/${shardId})`);
          return;
        }
        fresh = items.filter((p) => !present.has(p.record.sequenceNumber));
      }
      if (fresh.length === 0) return;
      const last = fresh[fresh.length - 1]!.record.sequenceNumber;
      let objectKey = '';
      try {
        for (const run of freshRuns(items, fresh)) {
          objectKey = bronzeKeyFor({ kind, dt, shardId, firstSequenceNumber: run[0]!.record.sequenceNumber });
          const body = run.map((p) => p.line).join('\n') + '\n';
          await options.lake.putObject(objectKey, body, 'application/x-ndjson');
          out.objects += 1;
        }
      } catch (err) {
        for (const p of fresh) out.failures.set(p.record.sequenceNumber, `bronze write failed: ${describeError(err).slice(0, 300)} (object ${objectKey})`);
        return;
      }
      const row: LakeWatermarkRow = {
        pk: key.pk,
        sk: key.sk,
        entity: 'lake',
        // A replay may write below the watermark: it never moves back.
        wm: wm !== undefined && compareSequenceNumbers(wm, last) > 0 ? wm : last,
        objectKey,
        expiresAt: Math.floor(options.now() / 1000) + options.watermarkTtlSeconds,
      };
      out.rows.push(row);
      out.recordsOfRow.set(rowId(row), fresh.map((p) => p.record.sequenceNumber));
    }),
  );
  return out;
}

/**
 * One object per run of records with nothing already in Bronze between them, so objects never interleave
 * (the replay lookup relies on it). Outside replays there is a single run.
 */
function freshRuns(items: readonly ParsedRecord[], fresh: readonly ParsedRecord[]): ParsedRecord[][] {
  const isFresh = new Set(fresh);
  const runs: ParsedRecord[][] = [];
  let open: ParsedRecord[] = [];
  for (const p of items) {
    if (isFresh.has(p)) open.push(p);
    else if (open.length > 0) {
      runs.push(open);
      open = [];
    }
  }
  if (open.length > 0) runs.push(open);
  return runs;
}

/**
 * Which of `sequenceNumbers` (ascending, one shard and partition) are already in the partition's Bronze
 * objects. Objects are named by their first sequence number and written in stream order, so the candidates
 * are the objects starting inside the range and, going back from the range's start, each earlier object
 * until one ends before it.
 */
export async function sequencesInBronze(lake: LakeWriter, partition: { kind: BronzeKind; dt: string; shardId: string }, sequenceNumbers: string[]): Promise<Set<string>> {
  if (!lake.listKeys || !lake.getText) throw new Error('replaying a dead-lettered batch needs a lake that can list and read objects');
  const lo = sequenceNumbers[0]!;
  const hi = sequenceNumbers[sequenceNumbers.length - 1]!;
  const objects = (await lake.listKeys(`${bronzePartitionPrefix(partition.kind, partition.dt)}shard=${partition.shardId}/`))
    .map((key) => ({ key, first: parseBronzeKey(key)?.firstSequenceNumber }))
    .filter((o): o is { key: string; first: string } => o.first !== undefined && compareSequenceNumbers(o.first, hi) <= 0)
    .sort((a, b) => compareSequenceNumbers(a.first, b.first));
  const present = new Set<string>();
  const read = async (key: string) => {
    const seqs: string[] = [];
    for (const line of ((await lake.getText!(key)) ?? '').split('\n')) {
      if (!line.trim()) continue;
      const row = JSON.parse(line) as { _ingest?: { sequenceNumber?: string }; sequenceNumber?: string };
      const seq = row._ingest?.sequenceNumber ?? row.sequenceNumber;
      if (seq) seqs.push(seq);
    }
    for (const seq of seqs) present.add(seq);
    return seqs;
  };
  for (const o of objects) if (compareSequenceNumbers(o.first, lo) > 0) await read(o.key);
  for (const o of objects.filter((x) => compareSequenceNumbers(x.first, lo) <= 0).reverse()) {
    const seqs = await read(o.key);
    if (seqs.every((seq) => compareSequenceNumbers(seq, lo) < 0)) break;
  }
  return present;
}
