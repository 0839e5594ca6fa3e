import { eventTimeMs, type UserEvent } from '../domain/events';
import { compareSequenceNumbers } from '../domain/lake-layout';
import type { EventLedgerRow, RowKey, RowStore } from '../stream/ports';
import { rowId } from '../stream/ports';
import { decideFirstDeliveries, holdWrittenLedgerRows, ledgerConfig, ledgerInputsOf, loadLedger, type LedgerConfig } from '../ingest/event-ledger';
import { arrivedEvent, parseRecordEvent, type ArrivedEvent } from '../ingest/parse-records';
import { unstorableReason } from '../ingest/storable';
import { distinctKeys, foldSettingAside, foldWatermarked, recordOutcomes, writeWatermarkedRows, type Positioned } from '../stream/watermarked-rows';
import type { StreamRecord } from '../stream/stream-record';
import { creditEvents, emptyExperimentTotals, variantTotalsOf, type ExperimentTotals } from './attribution';
import { fromWindowRow, toWindowRow, windowExpiresAt, windowRowKey, type WindowRow } from './window-rows';
import { applyImplicitToWindow, applyToWindow, emptyWindow, GRANULARITIES } from './windows';
import {
  attributionWindowMs,
  emptyImpressionState,
  foldImplicit,
  fromImpressionStateRow,
  impressionStateKey,
  isImplicitCandidate,
  lentKey,
  toImpressionStateRow,
  type ImpressionStateRow,
} from './implicit-attribution';

/**
 * Rows of the analytics table: windows, the consumer's own event ledger (`CTL#ledger#<shard>`), and with implicit
 * attribution on, each user's recent impressions per shard (`IMP#<userId>`).
 */
export type AnalyticsTableRow = WindowRow | EventLedgerRow | ImpressionStateRow;

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
    /** Events newly counted with an implicit credit (implicit attribution on). */
    implicitCredits: number;
    /** Users' impression state rows written (implicit attribution on). */
    impressionStateRowsWritten: number;
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
  /**
   * Implicit attribution window, minutes (`ATTRIBUTION_WINDOW_MINUTES`); 0 or absent = off (no impression state
   * is read or written). See implicit-attribution.ts.
   */
  attributionWindowMinutes?: number;
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
  const implicitMs = attributionWindowMs(options.attributionWindowMinutes);
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
  // Implicit attribution: the users (per shard) with an impression that lends a key or an event that may be credited.
  const implicitUsers = implicitMs > 0 ? implicitGroups(events) : new Map<string, ImplicitGroup>();
  const [current, loadedLedger, stored] = await Promise.all([
    table.getRows(distinctKeys(events, keysOf)),
    ledger && ledgerInputs.length > 0 ? loadLedger(ledgerInputs, table, ledger) : undefined,
    implicitUsers.size > 0 ? table.getRows([...implicitUsers.values()].map((g) => g.key)) : new Map<string, AnalyticsTableRow>(),
  ]);
  const decision = ledger && loadedLedger ? decideFirstDeliveries(ledgerInputs, loadedLedger, ledger) : undefined;
  const counted = decision ? events.filter((e) => !decision.duplicates.has(e.sequenceNumber)) : events;
  const duplicates = decision?.duplicates ?? new Set<string>();
  const storedState = (g: ImplicitGroup) => {
    const row = stored.get(rowId(g.key));
    return row?.entity === 'impressions' ? { state: fromImpressionStateRow(row), wm: row.wm } : { state: emptyImpressionState(), wm: undefined };
  };
  const inputsOf = (g: ImplicitGroup) => g.events.map((e) => ({ sequenceNumber: e.sequenceNumber, value: e.value, duplicate: duplicates.has(e.sequenceNumber) }));
  // Each candidate's key, from the state its user's earlier records left (by event object: the fold below sees values).
  const implicitOf = new Map<UserEvent, string>();
  for (const g of implicitUsers.values()) {
    const { state, wm } = storedState(g);
    const { credits } = foldImplicit(state, inputsOf(g), implicitMs, wm);
    for (const e of g.events) {
      const key = credits.get(e.sequenceNumber);
      if (key !== undefined) implicitOf.set(e.value, key);
    }
  }

  const setAside = new Map<string, string>();
  const fold = (skip: ReadonlySet<string>) =>
    foldWatermarked<UserEvent, WindowRow>(
      counted,
      keysOf,
      current,
      (previous, values, key, watermark, shardId) => {
        const { granularity, startMs } = keysOf({ shardId, sequenceNumber: watermark, value: values[0]! }).find((k) => k.pk === key.pk && k.sk === key.sk)!;
        const base = previous ? fromWindowRow(previous) : emptyWindow(granularity, startMs);
        const credits = values.flatMap((event) => {
          const k = implicitOf.get(event);
          return k === undefined ? [] : [{ key: k, event }];
        });
        return toWindowRow(applyImplicitToWindow(applyToWindow(base, values), credits), key, shardId, watermark);
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

  // The users' impression states, after the window rows: each folds its user's records below the shard's lowest
  // failed record only (where the retry resumes), so a stored state is always the fold of a prefix of the user's
  // records; if it cannot be written, the records it carries fail too (see implicit-attribution.ts).
  let impressionStateRowsWritten = 0;
  if (implicitUsers.size > 0) {
    const lowestFailed = new Map<string, string>();
    for (const e of events) {
      if (!failures.has(e.sequenceNumber)) continue;
      const low = lowestFailed.get(e.shardId);
      if (low === undefined || compareSequenceNumbers(e.sequenceNumber, low) < 0) lowestFailed.set(e.shardId, e.sequenceNumber);
    }
    const stateRows: ImpressionStateRow[] = [];
    const recordsOfStateRow = new Map<string, string[]>();
    for (const g of implicitUsers.values()) {
      const low = lowestFailed.get(g.shardId);
      const { state, wm } = storedState(g);
      const prefix = inputsOf(g).filter((r) => low === undefined || compareSequenceNumbers(r.sequenceNumber, low) < 0);
      const next = foldImplicit(state, prefix, implicitMs, wm);
      if (!next.changed || next.lastImpression === undefined) continue;
      const row = toImpressionStateRow(next.state, g.key, g.shardId, next.lastImpression, nowSeconds, implicitMs);
      stateRows.push(row);
      recordsOfStateRow.set(rowId(row), next.folded);
    }
    const stateRead = new Map([...stored].filter((entry): entry is [string, ImpressionStateRow] => entry[1].entity === 'impressions'));
    const stateWritten = recordOutcomes(
      await writeWatermarkedRows<AnalyticsTableRow>(table, stateRows, stateRead, options.replay === true),
      recordsOfStateRow,
      // A state row the store refuses leaves its records counted (their windows are written): the state just misses them.
      { failures, setAside: new Map() },
      {
        failed: (row, cause) => `analytics impression state write failed: ${cause} (row ${row})`,
        conflict: (row) => `analytics impression state changed while the replay ran; retry (row ${row})`,
      },
    );
    impressionStateRowsWritten = stateRows.filter(stateWritten).length;
  }

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
      implicitCredits: newlyCounted.filter((e) => implicitOf.has(e.value)).length,
      impressionStateRowsWritten,
    },
  };
}

/** One user's valid records of one shard, for implicit attribution. */
interface ImplicitGroup {
  key: RowKey;
  shardId: string;
  events: ArrivedEvent[];
}

/** The users (per shard) with an impression that lends a key or an event implicit attribution may credit, with all their records. */
function implicitGroups(events: readonly ArrivedEvent[]): Map<string, ImplicitGroup> {
  const byUser = new Map<string, ImplicitGroup>();
  for (const e of events) {
    const id = `${e.value.userId}\u0000${e.shardId}`;
    let g = byUser.get(id);
    if (!g) byUser.set(id, (g = { key: impressionStateKey(e.value.userId, e.shardId), shardId: e.shardId, events: [] }));
    g.events.push(e);
  }
  for (const [id, g] of byUser) if (!g.events.some((e) => isImplicitCandidate(e.value) || lentKey(e.value) !== undefined)) byUser.delete(id);
  return byUser;
}
