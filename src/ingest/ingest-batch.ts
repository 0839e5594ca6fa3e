import { DEFAULT_RECENT_LIMIT } from '../domain/features';
import { recordOutcomes, writeWatermarkedRows } from '../stream/watermarked-rows';
import { rowId, type FeatureTable, type FeatureTableRow, type LakeWriter } from '../stream/ports';
import type { StreamRecord } from '../stream/stream-record';
import { bronzePartitions, partitionRowKeys, writeBronze } from './bronze-writer';
import { decideFirstDeliveries, holdWrittenLedgerRows, ledgerConfig, ledgerInputsOf, loadLedger, type LedgerConfig } from './event-ledger';
import { featureRowKeys, foldFeatures } from './feature-fold';
import { parseRecords, validEvents } from './parse-records';

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

const DEFAULT_WATERMARK_TTL_SECONDS = 8 * 24 * 3600;

/** How a row's write failure names the row. */
const ROW_KIND = { user: 'feature', item: 'feature', lake: 'lake watermark', ledger: 'event ledger' } as const;

/**
 * Lands one batch of stream records: Bronze objects (one per partition and shard), quarantine for bad
 * records, and real-time features coalesced per user and item. Every row and every Bronze partition
 * carries the highest sequence number it already holds, so a redelivered record changes nothing.
 * Failures are reported per record: exactly those whose Bronze object or feature rows could not be written.
 */
export async function ingestBatch(records: readonly StreamRecord[], deps: IngestDeps, options: IngestOptions = {}): Promise<IngestOutcome> {
  const now = deps.now ?? Date.now;
  const replay = options.replay === true;
  // A replayed record reaches the lake now: it goes to today's partition, which tonight's retraining reads
  // (its original partition may have been processed already). Its Kinesis arrival time is kept beside.
  const landedMs = replay ? now() : undefined;
  const parsed = parseRecords(records, landedMs);
  const ledger = deps.ledger === false ? undefined : ledgerConfig(deps.ledger);
  const partitions = bronzePartitions(parsed, landedMs);
  const valid = validEvents(parsed);
  const ledgerInputs = ledgerInputsOf(valid);
  const [current, loadedLedger] = await Promise.all([
    deps.table.getRows([...partitionRowKeys(partitions), ...featureRowKeys(valid)]),
    ledger && ledgerInputs.length > 0 ? loadLedger(ledgerInputs, deps.table, ledger) : undefined,
  ]);
  // Repeats of an eventId already delivered on this shard go to Bronze (the nightly job sees them) but not
  // into the user and item rows: first delivery wins.
  const decision = ledger && loadedLedger ? decideFirstDeliveries(ledgerInputs, loadedLedger, ledger) : undefined;
  const counted = decision ? valid.filter((p) => !decision.duplicates.has(p.sequenceNumber)) : valid;

  // Bronze first: a record counts as landed only once its partition object is in the lake.
  const bronze = await writeBronze(partitions, current, { lake: deps.lake, replay, now, watermarkTtlSeconds: deps.watermarkTtlSeconds ?? DEFAULT_WATERMARK_TTL_SECONDS });
  const { failures } = bronze;
  const setAside = new Map<string, string>();
  const features = foldFeatures(counted, current, deps.recentLimit ?? DEFAULT_RECENT_LIMIT, setAside);
  const rowsToWrite: FeatureTableRow[] = [...bronze.rows, ...features.rows, ...(decision?.rows ?? [])];
  /** Which records each written row carries, so a failed row fails exactly those records. */
  const recordsOfRow = new Map([...bronze.recordsOfRow, ...features.recordsOfRow, ...(decision?.recordsOfRow ?? [])]);

  // Records skipped by every destination were delivered before: nothing to do for them.
  const touched = new Set([...recordsOfRow.values()].flat());
  const alreadyApplied = parsed.filter(({ record: { sequenceNumber: seq } }) => !touched.has(seq) && !failures.has(seq) && !setAside.has(seq)).length;
  // A repeat is reported once: when its record first reaches Bronze (a redelivery is `alreadyApplied`).
  const duplicates = decision ? [...decision.duplicates].filter((seq) => touched.has(seq)).length : 0;

  const entityOf = new Map(rowsToWrite.map((r) => [rowId(r), r.entity]));
  // A row DynamoDB refuses on its own can never be written: its records are set aside, not retried forever.
  const written = recordOutcomes(await writeWatermarkedRows(deps.table, rowsToWrite, current, replay), recordsOfRow, { failures, setAside }, {
    failed: (row, cause, id) => `${ROW_KIND[entityOf.get(id) ?? 'user']} row write failed: ${cause} (row ${row})`,
    conflict: (row) => `row changed while the replay ran; retry (row ${row})`,
  });
  if (decision) holdWrittenLedgerRows(deps.table, decision.rows.filter(written));
  const writtenOf = (entities: readonly FeatureTableRow['entity'][]) => rowsToWrite.filter((r) => entities.includes(r.entity) && written(r)).length;
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
      bronzeObjects: bronze.objects,
      featureRowsWritten: writtenOf(['user', 'item']),
      ledgerRowsWritten: writtenOf(['ledger']),
      ledgerQueries: loadedLedger?.queries ?? 0,
    },
  };
}
