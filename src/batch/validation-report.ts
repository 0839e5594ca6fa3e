import { defaultEventContract, eventTimeMs } from '../domain/events';
import { dedupeByEventId, type BronzeWindow, type InvalidKind, type InvalidLine, type RepeatedStreamRecord } from '../retraining/bronze';
import { datesInWindow, type DateWindow } from '../retraining/run-window';
import {
  DEFAULT_VALIDATION_THRESHOLDS,
  formatValidationReport,
  type ValidationCheck,
  type ValidationReport,
  type ValidationSummary,
  type ValidationThresholds,
} from '../retraining/validate';
import { batchNumber, batchString, type BatchRow } from './engine';

/**
 * Everything ValidateData's rules read about a window, whoever counted it: the Lambda engine from a
 * BronzeWindow, the lake engine from src/batch/queries/validate.ts. `line` is 0 in samples when the engine has
 * no line numbers (Athena): the report then cites the object key alone.
 */
export interface ValidationAggregates {
  objects: number;
  lines: number;
  /** Valid lines, each stream record once (BronzeWindow.records.length). */
  validEvents: number;
  /** Valid events after deduplication by eventId. */
  uniqueEvents: number;
  duplicates: number;
  repeatedEventIds: number;
  mostRepeated: { eventId: string; copies: number }[];
  invalidLines: number;
  invalidByKind: Record<string, number>;
  invalidSamples: InvalidLine[];
  /** The first invalid line that is not `after-arrival`, and the first that is (the checks cite them). */
  firstContractFault?: InvalidLine;
  firstAfterArrival?: InvalidLine;
  quarantined: number;
  repeatedStreamRecords: number;
  repeatedStreamRecordSamples: RepeatedStreamRecord[];
  /** Unique valid events stamped later than arrival + skew (0 when Bronze was checked with the same skew). */
  recordsAfterArrival: number;
  lateEvents: number;
  /** Valid lines per arrival date: every date of the window, 0 when nothing arrived. */
  perDay: Record<string, number>;
  byType: Record<string, number>;
}

const INVALID_KINDS: readonly string[] = ['json', 'ingest', 'contract', 'after-arrival'] satisfies InvalidKind[];

/** The Silver partitions (`<event date>/<arrival date>`, sorted) the window's events fall in: the `partition` rows. */
export function silverPartitionsFromRows(rows: readonly BatchRow[]): string[] {
  const out: string[] = [];
  for (const row of rows) {
    if (batchString(row.section) !== 'partition') continue;
    const name = batchString(row.name) ?? '';
    if (!/^\d{4}-\d{2}-\d{2}\/\d{4}-\d{2}-\d{2}$/.test(name)) throw new Error(`validation query returned a partition that is not <date>/<date>: ${JSON.stringify(name.slice(0, 40))}`);
    out.push(name);
  }
  return out.sort();
}

/** Reads the long table of `validationQuery` into aggregates. Throws on a row it does not understand. */
export function validationAggregatesFromRows(rows: readonly BatchRow[], window: DateWindow): ValidationAggregates {
  const counts = new Map<string, number>();
  const invalidByKind: Record<string, number> = {};
  const perDay: Record<string, number> = Object.fromEntries(datesInWindow(window).map((d) => [d, 0]));
  const byType: Record<string, number> = {};
  const top: { ord: number; eventId: string; copies: number }[] = [];
  const invalid: { ord: number; line: InvalidLine }[] = [];
  const repeats: { ord: number; sample: RepeatedStreamRecord }[] = [];
  const first: Record<string, InvalidLine> = {};
  const str = (row: BatchRow, col: string) => batchString(row[col]);
  const num = (row: BatchRow, col: string) => batchNumber(row[col]) ?? 0;
  for (const row of rows) {
    const section = str(row, 'section');
    const name = str(row, 'name') ?? '';
    switch (section) {
      case 'count':
        counts.set(name, num(row, 'n'));
        break;
      case 'kind':
        invalidByKind[name] = num(row, 'n');
        break;
      case 'day':
        perDay[name] = num(row, 'n');
        break;
      case 'type':
        byType[name] = num(row, 'n');
        break;
      case 'top':
        top.push({ ord: num(row, 'ord'), eventId: name, copies: num(row, 'n') });
        break;
      case 'invalid':
        invalid.push({ ord: num(row, 'ord'), line: invalidLine(row) });
        break;
      case 'first':
        first[name] = invalidLine(row);
        break;
      case 'repeat':
        repeats.push({
          ord: num(row, 'ord'),
          sample: {
            shardId: str(row, 'shard_id') ?? '',
            sequenceNumber: str(row, 'sequence_number') ?? '',
            first: { key: str(row, 'other_key') ?? '', line: 0 },
            repeat: { key: str(row, 'object_key') ?? '', line: 0 },
            sameEvent: row.same_event === true || row.same_event === 'true',
          },
        });
        break;
      case 'partition':
        break; // the Silver partitions, read by silverPartitionsFromRows
      default:
        throw new Error(`validation query returned an unknown section ${JSON.stringify(section)}`);
    }
  }
  const count = (name: string) => counts.get(name) ?? 0;
  const byOrd = <T extends { ord: number }>(xs: T[]) => xs.sort((a, b) => a.ord - b.ord);
  const invalidSamples = byOrd(invalid).map((i) => i.line);
  return {
    objects: count('objects'),
    lines: count('lines'),
    validEvents: count('valid'),
    uniqueEvents: count('unique'),
    duplicates: count('duplicates'),
    repeatedEventIds: count('repeated_event_ids'),
    mostRepeated: byOrd(top).map(({ eventId, copies }) => ({ eventId, copies })),
    invalidLines: count('invalid'),
    invalidByKind,
    invalidSamples,
    ...(first.contract ? { firstContractFault: first.contract } : {}),
    ...(first['after-arrival'] ? { firstAfterArrival: first['after-arrival'] } : {}),
    quarantined: count('quarantined'),
    repeatedStreamRecords: count('repeated_stream_records'),
    repeatedStreamRecordSamples: byOrd(repeats).map((r) => r.sample),
    recordsAfterArrival: count('records_after_arrival'),
    lateEvents: count('late_events'),
    perDay,
    byType,
  };
}

function invalidLine(row: BatchRow): InvalidLine {
  const kind = batchString(row.kind) ?? 'contract';
  const eventId = batchString(row.event_id);
  return {
    key: batchString(row.object_key) ?? '',
    line: 0,
    reason: batchString(row.reason) ?? '',
    kind: (INVALID_KINDS.includes(kind) ? kind : 'contract') as InvalidKind,
    ...(eventId !== null ? { eventId } : {}),
  };
}

/**
 * The same aggregates from a BronzeWindow the Lambda engine read: what validateWindow computes before its
 * rules (so `validationReportFromAggregates(…, aggregatesOfBronzeWindow(bronze), …)` is validateWindow).
 */
export function aggregatesOfBronzeWindow(bronze: BronzeWindow): ValidationAggregates {
  const dedup = dedupeByEventId(bronze.records);
  const skewMs = defaultEventContract().maxFutureSkewMs;
  let lateEvents = 0;
  let recordsAfterArrival = 0;
  const byType: Record<string, number> = {};
  for (const r of dedup.records) {
    const time = eventTimeMs(r.event);
    if (time > r.arrivalMs + skewMs) recordsAfterArrival += 1;
    if (r.arrivalMs - time > LATE_DAYS * 86_400_000) lateEvents += 1;
    byType[r.event.type] = (byType[r.event.type] ?? 0) + 1;
  }
  const invalidByKind: Record<string, number> = {};
  for (const line of bronze.invalid) invalidByKind[line.kind ?? 'contract'] = (invalidByKind[line.kind ?? 'contract'] ?? 0) + 1;
  const firstContractFault = bronze.invalid.find((l) => l.kind !== 'after-arrival');
  const firstAfterArrival = bronze.invalid.find((l) => l.kind === 'after-arrival');
  return {
    objects: bronze.objects,
    lines: bronze.lines,
    validEvents: bronze.records.length,
    uniqueEvents: dedup.records.length,
    duplicates: dedup.duplicates,
    repeatedEventIds: dedup.repeatedEventIds,
    mostRepeated: dedup.mostRepeated,
    invalidLines: bronze.invalid.length,
    invalidByKind,
    invalidSamples: bronze.invalid.slice(0, 10),
    ...(firstContractFault ? { firstContractFault } : {}),
    ...(firstAfterArrival ? { firstAfterArrival } : {}),
    quarantined: bronze.quarantined,
    repeatedStreamRecords: bronze.repeatedStreamRecords ?? 0,
    repeatedStreamRecordSamples: (bronze.repeatedStreamRecordSamples ?? []).slice(0, 10),
    recordsAfterArrival,
    lateEvents,
    perDay: bronze.perDay,
    byType,
  };
}

const LATE_DAYS = 7;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => x.toLocaleString('en-US');
const at = (l: { key: string; line: number }) => (l.line > 0 ? `${l.key} line ${l.line}` : l.key);

/**
 * The rules of src/retraining/validate.ts `validateWindow`, over aggregates instead of a BronzeWindow: the same
 * checks, statuses, values, limits and texts (a sample without a line number cites its object key alone).
 * Kept in step with validateWindow by test/batch/validation-report.test.ts, which runs both on the same
 * windows; the lead may move this body into validate.ts and make validateWindow call it (see the report).
 */
export function validationReportFromAggregates(
  runId: string,
  window: DateWindow,
  agg: ValidationAggregates,
  previous: ValidationSummary | readonly ValidationSummary[] | null,
  thresholds: Partial<ValidationThresholds> = {},
  now: Date = new Date(),
): ValidationReport {
  const t: ValidationThresholds = { ...DEFAULT_VALIDATION_THRESHOLDS, ...thresholds };
  const checks: ValidationCheck[] = [];
  const { duplicates, invalidByKind } = agg;
  const days = Object.keys(agg.perDay).length;
  const skewMs = defaultEventContract().maxFutureSkewMs;
  const unique = agg.uniqueEvents;
  const impressions = agg.byType.impression ?? 0;
  const valid = agg.validEvents;
  const lines = Math.max(agg.lines, valid);

  checks.push(
    unique >= t.minEvents
      ? { name: 'volume', status: 'pass', detail: `${n(unique)} unique valid events (${n(unique - impressions)} interactions, ${n(impressions)} impressions) in ${n(agg.objects)} Bronze objects`, value: unique, limit: t.minEvents }
      : { name: 'volume', status: 'fail', detail: `${n(unique)} unique valid events (at least ${n(t.minEvents)} needed, VALIDATION_MIN_EVENTS); Bronze objects read: ${n(agg.objects)}`, value: unique, limit: t.minEvents },
  );

  const contractFaults = agg.invalidLines - (invalidByKind['after-arrival'] ?? 0);
  const invalidRatio = lines > 0 ? contractFaults / lines : 0;
  const firstInvalid = agg.firstContractFault;
  checks.push({
    name: 'bronze-contract',
    status: invalidRatio > t.maxInvalidRatio ? 'fail' : contractFaults > 0 ? 'warn' : 'pass',
    detail:
      `${n(contractFaults)} of ${n(lines)} Bronze event lines fail re-validation against the event contract as of their arrival ` +
      `(${pct(invalidRatio)}, max ${pct(t.maxInvalidRatio)}, VALIDATION_MAX_INVALID_RATIO)` +
      (contractFaults > 0
        ? `: ${n(invalidByKind.json ?? 0)} not JSON, ${n(invalidByKind.ingest ?? 0)} without _ingest, ${n(invalidByKind.contract ?? 0)} outside the contract; the consumer writes none of these` +
          (firstInvalid ? `; e.g. ${at(firstInvalid)}: ${firstInvalid.reason}` : '')
        : ''),
    value: invalidRatio,
    limit: t.maxInvalidRatio,
  });

  const repeatedStream = agg.repeatedStreamRecords;
  const firstRepeat = agg.repeatedStreamRecordSamples[0];
  checks.push({
    name: 'stream-records',
    status: repeatedStream > t.maxRepeatedStreamRecords ? 'fail' : repeatedStream > 0 ? 'warn' : 'pass',
    detail:
      `${n(repeatedStream)} Bronze lines repeat a stream record (shard + sequence number) already read (max ${n(t.maxRepeatedStreamRecords)}, VALIDATION_MAX_REPEATED_STREAM_RECORDS)` +
      (firstRepeat ? `; e.g. ${firstRepeat.shardId} #${firstRepeat.sequenceNumber} in ${at(firstRepeat.first)} and ${at(firstRepeat.repeat)} (${firstRepeat.sameEvent ? 'same event' : 'different events'})` : ''),
    value: repeatedStream,
    limit: t.maxRepeatedStreamRecords,
  });

  const afterArrival = (invalidByKind['after-arrival'] ?? 0) + agg.recordsAfterArrival;
  const afterRatio = lines > 0 ? afterArrival / lines : 0;
  const firstAfter = agg.firstAfterArrival;
  checks.push({
    name: 'event-times',
    status: afterRatio > t.maxAfterArrivalRatio ? 'fail' : afterArrival > 0 ? 'warn' : 'pass',
    detail:
      `${n(afterArrival)} events stamped more than ${skewMs / 1000} s after they reached the stream (${pct(afterRatio)} of Bronze lines, max ${pct(t.maxAfterArrivalRatio)}, VALIDATION_MAX_AFTER_ARRIVAL_RATIO)` +
      (firstAfter ? `; e.g. ${at(firstAfter)}: ${firstAfter.reason}` : ''),
    value: afterRatio,
    limit: t.maxAfterArrivalRatio,
  });

  const duplicateRatio = valid > 0 ? duplicates / valid : 0;
  const top = agg.mostRepeated.slice(0, 3).map((d) => `${d.eventId} ×${n(d.copies)}`).join(', ');
  checks.push({
    name: 'duplicates',
    status: duplicates > 0 ? 'warn' : 'pass',
    detail:
      duplicates > 0
        ? `${n(duplicates)} repeats of ${n(agg.repeatedEventIds)} already-seen eventIds dropped (${pct(duplicateRatio)} of valid lines; first delivery kept, not counted against the run); most repeated: ${top}`
        : 'no repeated eventIds',
    value: duplicates,
  });

  const seen = lines + agg.quarantined;
  const quarantineRatio = seen > 0 ? agg.quarantined / seen : 0;
  const quarantineHigh = quarantineRatio > t.maxQuarantineRatio;
  checks.push({
    name: 'quarantine',
    status: quarantineHigh ? (t.quarantineFails ? 'fail' : 'warn') : 'pass',
    detail:
      `${n(agg.quarantined)} of ${n(seen)} records quarantined at ingestion (${pct(quarantineRatio)}, ${t.quarantineFails ? 'fails' : 'warns'} above ${pct(t.maxQuarantineRatio)}, ` +
      `VALIDATION_MAX_QUARANTINE_RATIO${t.quarantineFails ? ' with VALIDATION_QUARANTINE_FAILS' : ''}); refused client events stay in bronze/quarantine/ and are not used`,
    value: quarantineRatio,
    limit: t.maxQuarantineRatio,
  });

  const eventsPerDay = days > 0 ? unique / days : 0;
  const history = (previous === null ? [] : Array.isArray(previous) ? previous : [previous as ValidationSummary]).filter((s) => s.runId !== runId);
  const baseRuns = history.filter((s) => s.eventsPerDay > 0).slice(0, t.baselineRuns);
  let baseline: ValidationReport['baseline'] = null;
  if (baseRuns.length > 0 && (t.minVolumeRatio > 0 || t.maxVolumeRatio > 0)) {
    const sorted = [...baseRuns].sort((a, b) => a.eventsPerDay - b.eventsPerDay);
    const base = sorted[Math.floor((sorted.length - 1) / 2)]!;
    baseline = { eventsPerDay: base.eventsPerDay, runs: baseRuns.map((s) => s.runId) };
    const ratio = eventsPerDay / base.eventsPerDay;
    const low = t.minVolumeRatio > 0 && ratio < t.minVolumeRatio;
    const high = t.maxVolumeRatio > 0 && ratio > t.maxVolumeRatio;
    const against =
      baseRuns.length === 1
        ? `${n(Math.round(base.eventsPerDay))} in run ${base.runId} (${base.window.from}..${base.window.to})`
        : `${n(Math.round(base.eventsPerDay))}, the lower median of the last ${baseRuns.length} validated runs (run ${base.runId}, ${base.window.from}..${base.window.to})`;
    checks.push({
      name: 'volume-vs-previous',
      status: low || (high && t.volumeSpikeFails) ? 'fail' : high ? 'warn' : 'pass',
      detail:
        `${n(Math.round(eventsPerDay))} events/day against ${against}: ×${ratio.toFixed(2)}, ` +
        `fails below ×${t.minVolumeRatio} (VALIDATION_MIN_VOLUME_RATIO), ${t.volumeSpikeFails ? 'fails' : 'warns'} above ×${t.maxVolumeRatio} (VALIDATION_MAX_VOLUME_RATIO)`,
      value: ratio,
      limit: low ? t.minVolumeRatio : t.maxVolumeRatio,
    });
  } else {
    checks.push({ name: 'volume-vs-previous', status: 'pass', detail: 'no previous validated run to compare with' });
  }

  const emptyDays = Object.entries(agg.perDay).filter(([, c]) => c === 0).map(([d]) => d);
  if (emptyDays.length > 0) checks.push({ name: 'empty-days', status: 'warn', detail: `no events arrived on ${emptyDays.join(', ')}` });
  if (agg.lateEvents > 0) checks.push({ name: 'late-events', status: 'warn', detail: `${n(agg.lateEvents)} events arrived more than ${LATE_DAYS} days after they happened` });

  const failedRules = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const warnings = checks.filter((c) => c.status === 'warn').map((c) => c.name);
  const report: Omit<ValidationReport, 'text'> = {
    runId,
    window,
    status: failedRules.length > 0 ? 'failed' : 'passed',
    generatedAt: now.toISOString(),
    validEvents: valid,
    uniqueEvents: unique,
    days,
    eventsPerDay,
    checks,
    failedRules,
    warnings,
    thresholds: t,
    stats: {
      objects: agg.objects,
      lines: agg.lines,
      invalidLines: agg.invalidLines,
      invalidByKind,
      quarantined: agg.quarantined,
      duplicates,
      repeatedEventIds: agg.repeatedEventIds,
      repeatedStreamRecords: repeatedStream,
      eventsAfterArrival: afterArrival,
      lateEvents: agg.lateEvents,
      perDay: agg.perDay,
      byType: agg.byType,
      interactions: unique - impressions,
      impressions,
    },
    previous: history[0] ?? null,
    baseline,
    samples: {
      invalid: agg.invalidSamples.slice(0, 10),
      duplicateEventIds: agg.mostRepeated.map((d) => d.eventId),
      mostRepeatedEventIds: agg.mostRepeated,
      repeatedStreamRecords: agg.repeatedStreamRecordSamples.slice(0, 10),
    },
  };
  return { ...report, text: formatValidationReport(report) };
}

/** ValidateData on the lake engine: the query's rows → the report. */
export function validationReportFromRows(
  runId: string,
  window: DateWindow,
  rows: readonly BatchRow[],
  previous: ValidationSummary | readonly ValidationSummary[] | null,
  thresholds: Partial<ValidationThresholds> = {},
  now: Date = new Date(),
): ValidationReport {
  return validationReportFromAggregates(runId, window, validationAggregatesFromRows(rows, window), previous, thresholds, now);
}
