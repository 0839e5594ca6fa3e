import { describeError } from '../domain/describe-error';
import { parseEventPayload, type UserEvent, type FieldError } from '../domain/events';
import { applyItemEvents, applyUserEvents, DEFAULT_RECENT_LIMIT } from '../domain/features';
import { bronzeKeyFor, bronzePartitionPrefix, compareSequenceNumbers, parseBronzeKey, partitionDate, type BronzeKind } from '../domain/lake-layout';
import { distinctKeys, foldSettingAside, foldWatermarked, recordOutcomes, writeWatermarkedRows, type Positioned } from '../stream/watermarked-rows';
import { decideFirstDeliveries, holdWrittenLedgerRows, ledgerConfig, loadLedger, type LedgerConfig } from './event-ledger';
import { unstorableReason } from './storable';
import {
  itemPk,
  lakeWatermarkPk,
  realtimeSk,
  rowId,
  userPk,
  type FeatureTable,
  type FeatureTableRow,
  type ItemFeatureRow,
  type LakeWatermarkRow,
  type LakeWriter,
  type RowKey,
  type UserFeatureRow,
} from '../stream/ports';
import type { StreamRecord } from '../stream/stream-record';

export interface IngestDeps {
  lake: LakeWriter;
  table: FeatureTable;
  recentLimit?: number;
  /** Lake watermark rows expire after this long; keep it above the event source's maximum record age. */
  watermarkTtlSeconds?: number;
  /**
   * The event ledger (each eventId counts once in the features, first delivery wins; see `event-ledger.ts`):
   * its settings, or `false` to count every record (a backfill whose eventIds are known to be unique).
   */
  ledger?: Partial<LedgerConfig> | false;
  now?: () => number;
}

export interface IngestOptions {
  /**
   * The batch is a dead-letter replay (`npm run dlq:replay`): its records were given up on and the shard has
   * moved on since, so a Bronze partition's watermark may be past records that never reached Bronze. The
   * records' original partition and today's are read to find which records are really there, and only the
   * others are written, to today's partition (which tonight's retraining reads). Feature rows keep their
   * watermarks and are written only if unchanged since read: a row that has folded later records skips the
   * replayed ones (they were either folded before, or the nightly job's exact features will count them from
   * Bronze). Never double counts; Bronze ends with every record exactly once.
   */
  replay?: boolean;
}

export interface IngestOutcome {
  /** Sequence numbers whose processing must be retried, with why. */
  failures: Map<string, string>;
  /**
   * Records left out of a feature row because they can never be stored there (their addition would make the
   * row unstorable, or DynamoDB refused the row on its own), with why. They are in Bronze; not retried.
   */
  setAside: Map<string, string>;
  stats: {
    records: number;
    valid: number;
    quarantined: number;
    /** Records skipped everywhere because an earlier delivery already applied them. */
    alreadyApplied: number;
    /** Repeats of an eventId already delivered on the shard within the ledger's horizon: in Bronze, not counted. */
    duplicates: number;
    /** Records set aside by the feature writer (see `setAside`). */
    setAside: number;
    bronzeObjects: number;
    featureRowsWritten: number;
    ledgerRowsWritten: number;
    /** Query requests that read the open minutes of the event ledger (one per shard and batch, after a cold start the horizon). */
    ledgerQueries: number;
  };
}

interface Parsed {
  record: StreamRecord;
  event?: UserEvent;
  raw?: unknown;
  errors?: FieldError[];
  reason?: string;
  /** The record's Bronze line (events or quarantine), serialised on its own. */
  line?: string;
}

const DEFAULT_WATERMARK_TTL_SECONDS = 8 * 24 * 3600;

/**
 * Lands one batch of stream records: Bronze objects (one per partition and shard), quarantine for bad
 * records, and real-time features coalesced per user and item. Every row and every Bronze partition
 * carries the highest sequence number it already holds, so a redelivered record changes nothing.
 * Failures are reported per record: exactly those whose Bronze object or feature rows could not be written.
 */
export async function ingestBatch(records: readonly StreamRecord[], deps: IngestDeps, options: IngestOptions = {}): Promise<IngestOutcome> {
  const recentLimit = deps.recentLimit ?? DEFAULT_RECENT_LIMIT;
  const now = deps.now ?? Date.now;
  const failures = new Map<string, string>();
  const setAside = new Map<string, string>();
  // A replayed record reaches the lake now: it goes to today's partition, which tonight's retraining reads
  // (its original partition may have been processed already). Its Kinesis arrival time is kept beside.
  const landedMs = options.replay ? now() : undefined;
  // Each record's line is serialised on its own: one that cannot be (a value nested too deep for the
  // serialiser, anything else it throws) is quarantined with the reason and never fails its neighbours.
  const parsed = records.map((r) => withBronzeLine(parseRecord(r), landedMs));
  const ledger = deps.ledger === false ? undefined : ledgerConfig(deps.ledger);

  // Group by destination: Bronze partitions, and feature rows (each owned by the record's shard).
  const lakeGroups = groupBy(parsed, (p) => {
    const kind: BronzeKind = p.event ? 'events' : 'quarantine';
    const dt = partitionDate(landedMs ?? p.record.arrivalMs);
    return { pk: lakeWatermarkPk(p.record.shardId), sk: `${kind}#${dt}`, kind, dt, shardId: p.record.shardId };
  });
  const valid: Positioned<UserEvent>[] = parsed.flatMap((p) =>
    p.event ? [{ shardId: p.record.shardId, sequenceNumber: p.record.sequenceNumber, value: p.event }] : [],
  );
  const userKey = (p: Positioned<UserEvent>) => [{ pk: userPk(p.value.userId), sk: realtimeSk(p.shardId) }];
  const itemKey = (p: Positioned<UserEvent>) => [{ pk: itemPk(p.value.itemId), sk: realtimeSk(p.shardId) }];
  const lakeKeys = [...lakeGroups.values()].map(({ key }) => ({ pk: key.pk, sk: key.sk }));
  const ledgerInputs = parsed.flatMap((p) =>
    p.event ? [{ shardId: p.record.shardId, sequenceNumber: p.record.sequenceNumber, arrivalMs: p.record.arrivalMs, eventId: p.event.eventId }] : [],
  );
  const [current, loadedLedger] = await Promise.all([
    deps.table.getRows([...lakeKeys, ...distinctKeys(valid, userKey), ...distinctKeys(valid, itemKey)]),
    ledger && ledgerInputs.length > 0 ? loadLedger(ledgerInputs, deps.table, ledger) : undefined,
  ]);
  // Repeats of an eventId already delivered on this shard go to Bronze (the nightly job sees them) but not
  // into the user and item rows: first delivery wins.
  const decision = ledger && loadedLedger ? decideFirstDeliveries(ledgerInputs, loadedLedger, ledger) : undefined;
  const counted = decision ? valid.filter((p) => !decision.duplicates.has(p.sequenceNumber)) : valid;

  const rowsToWrite: FeatureTableRow[] = [];
  /** Which records each written row carries, so a failed row fails exactly those records. */
  const recordsOfRow = new Map<string, string[]>();
  let bronzeObjects = 0;
  let alreadyApplied = 0;

  // Bronze first: a record counts as landed only once its partition object is in the lake.
  await Promise.all(
    [...lakeGroups].map(async ([id, { key, items }]) => {
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
          const partitions = new Set([dt, ...items.map((p) => partitionDate(p.record.arrivalMs))]);
          present = new Set<string>();
          for (const partition of partitions) for (const seq of await sequencesInBronze(deps.lake, { kind, dt: partition, shardId }, seqs)) present.add(seq);
        } catch (err) {
          for (const p of items) failures.set(p.record.sequenceNumber, `bronze lookup failed: ${describeError(err).slice(0, 300)} (partition ${kind}/${dt}/${shardId})`);
          return;
        }
        fresh = items.filter((p) => !present.has(p.record.sequenceNumber));
      }
      if (fresh.length === 0) return;
      // One object per run of records with nothing already in Bronze between them, so objects never
      // interleave (the lookup above relies on it). Outside replays there is a single run.
      const isFresh = new Set(fresh);
      const runs: Parsed[][] = [];
      let open: Parsed[] = [];
      for (const p of items) {
        if (isFresh.has(p)) open.push(p);
        else if (open.length > 0) {
          runs.push(open);
          open = [];
        }
      }
      if (open.length > 0) runs.push(open);
      const last = fresh[fresh.length - 1]!.record.sequenceNumber;
      let objectKey = '';
      try {
        for (const run of runs) {
          objectKey = bronzeKeyFor({ kind, dt, shardId, firstSequenceNumber: run[0]!.record.sequenceNumber });
          const body = run.map((p) => p.line!).join('\n') + '\n';
          await deps.lake.putObject(objectKey, body, 'application/x-ndjson');
          bronzeObjects += 1;
        }
      } catch (err) {
        for (const p of fresh) failures.set(p.record.sequenceNumber, `bronze write failed: ${describeError(err).slice(0, 300)} (object ${objectKey})`);
        return;
      }
      const row: LakeWatermarkRow = {
        pk: key.pk,
        sk: key.sk,
        entity: 'lake',
        // A replay may write below the watermark: it never moves back.
        wm: wm !== undefined && compareSequenceNumbers(wm, last) > 0 ? wm : last,
        objectKey,
        expiresAt: Math.floor(now() / 1000) + (deps.watermarkTtlSeconds ?? DEFAULT_WATERMARK_TTL_SECONDS),
      };
      rowsToWrite.push(row);
      recordsOfRow.set(rowId(row), fresh.map((p) => p.record.sequenceNumber));
    }),
  );

  // Fold users and items. A record whose addition would make one of its rows unstorable (a number DynamoDB
  // cannot hold, a row over the size limit) is set aside with the reason and left out of both, so the user
  // and item rows agree; its rows still move their watermarks past it, so a redelivery decides the same.
  const fold = (skip: ReadonlySet<string>) => {
    const check = (row: UserFeatureRow | ItemFeatureRow) => unstorableReason(row);
    const users = foldWatermarked<UserEvent, UserFeatureRow>(
      counted,
      userKey,
      current,
      (prev, events, key, wm, shardId) => ({ pk: key.pk, sk: key.sk, entity: 'user', shardId, wm, features: applyUserEvents(prev?.features, events, recentLimit) }),
      { check, skip },
    );
    const items = foldWatermarked<UserEvent, ItemFeatureRow>(
      counted,
      itemKey,
      current,
      (prev, events, key, wm, shardId) => ({ pk: key.pk, sk: key.sk, entity: 'item', shardId, wm, features: applyItemEvents(prev?.features, events) }),
      { check, skip },
    );
    return { users, items, setAside: new Map([...users.setAside, ...items.setAside]) };
  };
  const folded = foldSettingAside(fold, setAside);
  for (const f of [folded.users, folded.items]) {
    rowsToWrite.push(...f.rows);
    for (const [id, seqs] of f.recordsOfRow) recordsOfRow.set(id, seqs);
  }
  if (decision) {
    rowsToWrite.push(...decision.rows);
    for (const [id, seqs] of decision.recordsOfRow) recordsOfRow.set(id, seqs);
  }
  // Records skipped by every destination were delivered before: nothing to do for them.
  const touched = new Set([...recordsOfRow.values()].flat());
  // A repeat is reported once: when its record first reaches Bronze (a redelivery is `alreadyApplied`).
  const duplicates = decision ? [...decision.duplicates].filter((seq) => touched.has(seq)).length : 0;
  for (const p of parsed) {
    const seq = p.record.sequenceNumber;
    if (!touched.has(seq) && !failures.has(seq) && !setAside.has(seq)) alreadyApplied += 1;
  }

  const entityOf = new Map(rowsToWrite.map((r) => [rowId(r), r.entity]));
  // A row DynamoDB refuses on its own can never be written: its records are set aside, not retried forever.
  const written = recordOutcomes(await writeWatermarkedRows(deps.table, rowsToWrite, current, options.replay === true), recordsOfRow, { failures, setAside }, {
    failed: (row, cause, id) => `${{ user: 'feature', item: 'feature', lake: 'lake watermark', ledger: 'event ledger' }[entityOf.get(id) ?? 'user']} row write failed: ${cause} (row ${row})`,
    conflict: (row) => `row changed while the replay ran; retry (row ${row})`,
  });
  if (decision) holdWrittenLedgerRows(deps.table, decision.rows.filter(written));

  return {
    failures,
    setAside,
    stats: {
      records: records.length,
      valid: valid.length,
      quarantined: parsed.length - valid.length,
      alreadyApplied,
      duplicates,
      setAside: setAside.size,
      bronzeObjects,
      featureRowsWritten: rowsToWrite.filter((r) => (r.entity === 'user' || r.entity === 'item') && written(r)).length,
      ledgerRowsWritten: rowsToWrite.filter((r) => r.entity === 'ledger' && written(r)).length,
      ledgerQueries: loadedLedger?.queries ?? 0,
    },
  };
}

/**
 * Which of `sequenceNumbers` (ascending, one shard and partition) are already in the partition's Bronze
 * objects. Objects are named by their first sequence number and written in stream order, so the candidates
 * are the objects starting inside the range and, going back from the range's start, each earlier object
 * until one ends before it.
 */
async function sequencesInBronze(lake: IngestDeps['lake'], partition: { kind: BronzeKind; dt: string; shardId: string }, sequenceNumbers: string[]): Promise<Set<string>> {
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

function parseRecord(record: StreamRecord): Parsed {
  try {
    const text = Buffer.from(record.data).toString('utf8');
    // The future-skew bound is judged against the record's Kinesis arrival, not the clock of this attempt,
    // so a retry or a replay (and the analytics consumer) decide the same.
    const result = parseEventPayload(text, { now: record.arrivalMs });
    if (result.ok) return { record, event: result.event, raw: JSON.parse(text) as unknown };
    return { record, errors: result.errors, reason: result.message };
  } catch (err) {
    // Whatever the parser throws is this record's problem alone.
    return { record, reason: `cannot be parsed: ${(err as Error).message}` };
  }
}

/**
 * Serialises the record's Bronze line. An event whose line cannot be serialised goes to the quarantine
 * partition instead, with the reason (and no longer counts as valid anywhere).
 */
function withBronzeLine(p: Parsed, landedMs: number | undefined): Parsed {
  if (p.event) {
    try {
      return { ...p, line: JSON.stringify(bronzeLine(p, landedMs)) };
    } catch (err) {
      const reason = `Bronze line cannot be serialised: ${(err as Error).message}`;
      p = { record: p.record, reason, errors: [{ field: '(event)', message: reason }] };
    }
  }
  try {
    return { ...p, line: JSON.stringify(quarantineLine(p, landedMs)) };
  } catch (err) {
    // The quarantine line holds the record's bytes as text; keep only the bytes if even that fails.
    const line = JSON.stringify({ reason: `${p.reason ?? ''}; quarantine line cannot be serialised: ${(err as Error).message}`, dataBase64: Buffer.from(p.record.data).toString('base64'), ...ingestInfo(p, landedMs) });
    return { ...p, line };
  }
}

/**
 * Where a record came from and when it reached the lake: `arrivalTime` is when Kinesis accepted it, or for a
 * dead-letter replay when it was replayed (then `streamArrivalTime` keeps the Kinesis time).
 */
function ingestInfo(p: Parsed, landedMs: number | undefined): { shardId: string; sequenceNumber: string; arrivalTime: string; streamArrivalTime?: string } {
  const stream = new Date(p.record.arrivalMs).toISOString();
  return {
    shardId: p.record.shardId,
    sequenceNumber: p.record.sequenceNumber,
    arrivalTime: landedMs === undefined ? stream : new Date(landedMs).toISOString(),
    ...(landedMs === undefined ? {} : { streamArrivalTime: stream }),
  };
}

/** Bronze keeps the event as the producer sent it, plus where it came from in the stream. */
function bronzeLine(p: Parsed, landedMs: number | undefined): Record<string, unknown> {
  return { ...(p.raw as Record<string, unknown>), _ingest: ingestInfo(p, landedMs) };
}

/** A quarantined record keeps its original bytes (as text when UTF-8, else base64) and why it was refused. */
function quarantineLine(p: Parsed, landedMs: number | undefined): Record<string, unknown> {
  const bytes = Buffer.from(p.record.data);
  const text = bytes.toString('utf8');
  const isText = Buffer.from(text, 'utf8').equals(bytes);
  return {
    reason: p.reason,
    errors: p.errors,
    ...(isText ? { data: text } : { dataBase64: bytes.toString('base64') }),
    ...ingestInfo(p, landedMs),
  };
}

/** Groups records by destination row, each group in stream order (lowest sequence number first). */
function groupBy<T extends Parsed, K extends RowKey>(items: readonly T[], keyOf: (t: T) => K): Map<string, { key: K; items: T[] }> {
  const out = new Map<string, { key: K; items: T[] }>();
  for (const item of items) {
    const key = keyOf(item);
    const id = rowId(key);
    let group = out.get(id);
    if (!group) {
      group = { key, items: [] };
      out.set(id, group);
    }
    group.items.push(item);
  }
  for (const group of out.values()) {
    group.items.sort((a, b) => compareSequenceNumbers(a.record.sequenceNumber, b.record.sequenceNumber));
  }
  return out;
}
