import { parseEventPayload, eventTimeMs, type UserEvent } from '../domain/events';
import type { RowStore } from '../ingest/ports';
import { rowId } from '../ingest/ports';
import { distinctKeys, foldWatermarked, writeWatermarkedRows, type Positioned } from '../ingest/watermarked-rows';
import type { StreamRecord } from '../ingest/ingest-batch';
import { fromWindowRow, toWindowRow, windowExpiresAt, windowRowKey, type WindowRow } from './window-rows';
import { applyToWindow, emptyWindow, GRANULARITIES } from './windows';

export interface AnalyticsOutcome {
  failures: Map<string, string>;
  /** `pastRetention`: events so old that every window they fall in has already expired (nothing to write). */
  stats: { records: number; events: number; ignoredInvalid: number; pastRetention: number; windowRowsWritten: number };
}

/**
 * Folds a batch of stream records into minute, hour and day windows by event time, one row per window
 * and shard. Rows remember the highest sequence number they hold, so replays never double count, and
 * late events simply update their (older) window, unless that window is past its retention: a row DynamoDB
 * would delete at once is not written (a replayed history from years ago costs no writes). Invalid records
 * are ignored here: the ingestion consumer quarantines them.
 */
export async function ingestAnalyticsBatch(
  records: readonly StreamRecord[],
  table: RowStore<WindowRow>,
  now: () => number = Date.now,
  options: { replay?: boolean } = {},
): Promise<AnalyticsOutcome> {
  const events: Positioned<UserEvent>[] = [];
  for (const r of records) {
    const parsed = parseEventPayload(r.data);
    if (parsed.ok) events.push({ shardId: r.shardId, sequenceNumber: r.sequenceNumber, value: parsed.event });
  }
  const nowSeconds = Math.floor(now() / 1000);
  const keysOf = (p: Positioned<UserEvent>) =>
    GRANULARITIES.map((g) => windowRowKey(g, eventTimeMs(p.value), p.shardId)).filter((k) => windowExpiresAt(k.granularity, k.startMs) > nowSeconds);
  const current = await table.getRows(distinctKeys(events, keysOf));
  const { rows, recordsOfRow } = foldWatermarked<UserEvent, WindowRow>(events, keysOf, current, (previous, values, key, watermark, shardId) => {
    const { granularity, startMs } = keysOf({ shardId, sequenceNumber: watermark, value: values[0]! }).find((k) => k.pk === key.pk && k.sk === key.sk)!;
    const base = previous ? fromWindowRow(previous) : emptyWindow(granularity, startMs);
    return toWindowRow(applyToWindow(base, values), key, shardId, watermark);
  });
  const { failed, conflicts } = await writeWatermarkedRows(table, rows, current, options.replay === true);
  const failures = new Map<string, string>();
  for (const id of failed) for (const seq of recordsOfRow.get(id) ?? []) failures.set(seq, `analytics window write failed for ${id.replace('\u0000', ' ')}`);
  for (const id of conflicts) for (const seq of recordsOfRow.get(id) ?? []) failures.set(seq, `analytics window ${id.replace('\u0000', ' ')} changed while the replay ran; retry`);
  return {
    failures,
    stats: {
      records: records.length,
      events: events.length,
      ignoredInvalid: records.length - events.length,
      pastRetention: events.filter((e) => keysOf(e).length === 0).length,
      windowRowsWritten: rows.filter((r) => !failed.has(rowId(r)) && !conflicts.has(rowId(r))).length,
    },
  };
}
