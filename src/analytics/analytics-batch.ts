import { eventTimeMs, type UserEvent } from '../domain/events';
import type { EventLedgerRow, RowStore } from '../stream/ports';
import { rowId } from '../stream/ports';
import { decideFirstDeliveries, holdWrittenLedgerRows, ledgerConfig, ledgerInputsOf, loadLedger, type LedgerConfig } from '../ingest/event-ledger';
import { arrivedEvent, parseRecordEvent, type ArrivedEvent } from '../ingest/parse-records';
import { unstorableReason } from '../ingest/storable';
import { distinctKeys, foldSettingAside, foldWatermarked, recordOutcomes, writeWatermarkedRows, type Positioned } from '../stream/watermarked-rows';
import type { StreamRecord } from '../stream/stream-record';
import { creditEvents, emptyExperimentTotals, variantTotalsOf, type ExperimentTotals } from './attribution';
import { fromWindowRow, toWindowRow, windowExpiresAt, windowRowKey, type WindowRow } from './window-rows';
import { applyToWindow, emptyWindow, GRANULARITIES } from './windows';

/** Rows of the analytics table: windows, and the consumer's own event ledger (`CTL#ledger#<shard>`). */
export type AnalyticsTableRow = WindowRow | EventLedgerRow;

export interface AnalyticsOutcome {
  failures: Map<string, string>;
  /** Records left out of a window because they can never be stored there, with why (not retried). */
  setAside: Map<string, string>;
  /**
   * `pastRetention`: events so old that every window they fall in has already expired (nothing to write).
   * `duplicates`: repeats of an eventId already delivered on the shard within the ledger's horizon (not counted).
   */
  stats: {
    records: number;
    events: number;
    ignoredInvalid: number;
    duplicates: number;
    setAside: number;
    pastRetention: number;
    windowRowsWritten: number;
    ledgerRowsWritten: number;
    ledgerQueries: number;
  };
  /**
   * Attributed totals per variant of the events this batch newly counted (each event once, in its finest window
   * written; replays and duplicates add nothing): what the consumer publishes as per-variant metrics.
   */
  attributed: ExperimentTotals;
}

export interface AnalyticsOptions {
  replay?: boolean;
  /** The event ledger's settings (see `event-ledger.ts`), or `false` to count every record. */
  ledger?: Partial<LedgerConfig> | false;
}

/**
 * Folds a batch of stream records into minute, hour and day windows by event time, one row per window
 * and shard. Rows remember the highest sequence number they hold, so replays never double count, and
 * late events simply update their (older) window, unless that window is past its retention: a row DynamoDB
 * would delete at once is not written (a replayed history from years ago costs no writes). Invalid records
 * are ignored here: the ingestion consumer quarantines them. A repeated eventId counts once (first delivery
 * wins): this consumer keeps its own event ledger in the analytics table and decides exactly as the
 * ingestion consumer does, from the shard's record order.
 */
export async function ingestAnalyticsBatch(
  records: readonly StreamRecord[],
  table: RowStore<AnalyticsTableRow>,
  now: () => number = Date.now,
  options: AnalyticsOptions = {},
): Promise<AnalyticsOutcome> {
  const ledger = options.ledger === false ? undefined : ledgerConfig(options.ledger);
  // Judged at their arrival, as the ingestion consumer judges them (from their bytes: see parseRecordEvent);
  // an invalid record is ignored here (the ingestion consumer quarantines it, with why).
  const events: ArrivedEvent[] = records.flatMap((r) => {
    const { event } = parseRecordEvent(r);
    return event ? [arrivedEvent(r, event)] : [];
  });
  const ledgerInputs = ledgerInputsOf(events);
  const nowSeconds = Math.floor(now() / 1000);
  const keysOf = (p: Positioned<UserEvent>) =>
    GRANULARITIES.map((g) => windowRowKey(g, eventTimeMs(p.value), p.shardId)).filter((k) => windowExpiresAt(k.granularity, k.startMs) > nowSeconds);
  const [current, loadedLedger] = await Promise.all([
    table.getRows(distinctKeys(events, keysOf)),
    ledger && ledgerInputs.length > 0 ? loadLedger(ledgerInputs, table, ledger) : undefined,
  ]);
  const decision = ledger && loadedLedger ? decideFirstDeliveries(ledgerInputs, loadedLedger, ledger) : undefined;
  const counted = decision ? events.filter((e) => !decision.duplicates.has(e.sequenceNumber)) : events;

  const setAside = new Map<string, string>();
  const fold = (skip: ReadonlySet<string>) =>
    foldWatermarked<UserEvent, WindowRow>(
      counted,
      keysOf,
      current,
      (previous, values, key, watermark, shardId) => {
        const { granularity, startMs } = keysOf({ shardId, sequenceNumber: watermark, value: values[0]! }).find((k) => k.pk === key.pk && k.sk === key.sk)!;
        const base = previous ? fromWindowRow(previous) : emptyWindow(granularity, startMs);
        return toWindowRow(applyToWindow(base, values), key, shardId, watermark);
      },
      { check: (row) => unstorableReason(row), skip },
    );
  // A record set aside by one of its windows is left out of all three, so minutes, hours and days agree.
  const folded = foldSettingAside(fold, setAside);
  const rows: AnalyticsTableRow[] = [...folded.rows, ...(decision?.rows ?? [])];
  const recordsOfRow = new Map([...folded.recordsOfRow, ...(decision?.recordsOfRow ?? [])]);

  const failures = new Map<string, string>();
  const entityOf = new Map(rows.map((r) => [rowId(r), r.entity]));
  const written = recordOutcomes(await writeWatermarkedRows(table, rows, current, options.replay === true), recordsOfRow, { failures, setAside }, {
    failed: (row, cause, id) => `analytics ${entityOf.get(id) ?? 'window'} write failed: ${cause} (row ${row})`,
    conflict: (row) => `analytics row changed while the replay ran; retry (row ${row})`,
  });
  if (decision) holdWrittenLedgerRows(table, decision.rows.filter(written));
  // Each event once: in the finest window it has, when that row was written with it.
  const writtenRecords = new Map<string, ReadonlySet<string>>();
  for (const r of folded.rows) if (written(r)) writtenRecords.set(rowId(r), new Set(folded.recordsOfRow.get(rowId(r)) ?? []));
  const newlyCounted = counted.filter((e) => {
    const finest = keysOf(e)[0];
    return finest !== undefined && writtenRecords.get(rowId(finest))?.has(e.sequenceNumber) === true;
  });
  const attributed = newlyCounted.length > 0 ? variantTotalsOf(creditEvents(new Map(), newlyCounted.map((e) => e.value), Number.POSITIVE_INFINITY)) : emptyExperimentTotals();
  return {
    attributed,
    failures,
    setAside,
    stats: {
      records: records.length,
      events: events.length,
      ignoredInvalid: records.length - events.length,
      duplicates: decision?.duplicates.size ?? 0,
      setAside: setAside.size,
      pastRetention: events.filter((e) => keysOf(e).length === 0).length,
      windowRowsWritten: rows.filter((r) => r.entity === 'window' && written(r)).length,
      ledgerRowsWritten: rows.filter((r) => r.entity === 'ledger' && written(r)).length,
      ledgerQueries: loadedLedger?.queries ?? 0,
    },
  };
}
