import { defaultEventContract, eventTimeMs } from '../domain/events';
import { dedupeByEventId, type BronzeWindow, type InvalidLine, type RepeatedStreamRecord } from './bronze';
import type { DateWindow } from './run-window';

/**
 * The rules of ValidateData. Clients cannot fail the gate: repeats of an eventId are dropped and reported,
 * a spike in volume or in quarantined records warns (unless configured to fail). The gate fails only on
 * signs that the lake itself is wrong. Configured in src/config/retraining.ts (`VALIDATION_*`).
 */
export interface ValidationThresholds {
  /** Share of Bronze event lines allowed to fail re-validation (unparseable, no `_ingest`, outside the contract). */
  maxInvalidRatio: number;
  /** Bronze lines allowed to repeat a stream record (shard + sequence number) already read. */
  maxRepeatedStreamRecords: number;
  /** Share of Bronze event lines allowed to be stamped after their arrival beyond the contract's skew. */
  maxAfterArrivalRatio: number;
  /** Fewer unique valid events fails. */
  minEvents: number;
  /** Share of records quarantined at ingestion above which the report warns (or fails, with `quarantineFails`). */
  maxQuarantineRatio: number;
  quarantineFails: boolean;
  /** Unique events per day against the baseline: below `minVolumeRatio` fails, above `maxVolumeRatio` warns (or fails with `volumeSpikeFails`); 0 disables. */
  minVolumeRatio: number;
  maxVolumeRatio: number;
  volumeSpikeFails: boolean;
  /** Previous validated runs the baseline is the lower median of. */
  baselineRuns: number;
}

/** The documented defaults (README "Retraining configuration"; the same as src/config/retraining.ts). */
export const DEFAULT_VALIDATION_THRESHOLDS: ValidationThresholds = {
  maxInvalidRatio: 0.01,
  maxRepeatedStreamRecords: 0,
  maxAfterArrivalRatio: 0.01,
  minEvents: 1,
  maxQuarantineRatio: 0.05,
  quarantineFails: false,
  minVolumeRatio: 0.1,
  maxVolumeRatio: 50,
  volumeSpikeFails: false,
  baselineRuns: 7,
};

export type CheckStatus = 'pass' | 'warn' | 'fail';

export type CheckName =
  | 'volume'
  | 'bronze-contract'
  | 'stream-records'
  | 'event-times'
  | 'duplicates'
  | 'quarantine'
  | 'volume-vs-previous'
  | 'empty-days'
  | 'late-events';

export interface ValidationCheck {
  name: CheckName;
  status: CheckStatus;
  detail: string;
  /** The number the rule compared, and the bound it was compared with (when the rule has one). */
  value?: number;
  limit?: number;
}

/** The part of a report the next run compares its volume with. */
export interface ValidationSummary {
  runId: string;
  window: DateWindow;
  validEvents: number;
  uniqueEvents: number;
  days: number;
  eventsPerDay: number;
}

/** What `reports/retraining/last-validation.json` holds: the latest summary and the recent ones (newest first). */
export interface ValidationHistory extends ValidationSummary {
  recent?: ValidationSummary[];
}

export interface ValidationReport extends ValidationSummary {
  status: 'passed' | 'failed';
  generatedAt: string;
  checks: ValidationCheck[];
  /** The rules that failed, e.g. `["stream-records"]`; and those that warned. */
  failedRules: CheckName[];
  warnings: CheckName[];
  thresholds: ValidationThresholds;
  stats: {
    objects: number;
    lines: number;
    invalidLines: number;
    invalidByKind: Record<string, number>;
    quarantined: number;
    /** Repeats of already-seen eventIds, dropped (client repeats: never counted against the run). */
    duplicates: number;
    repeatedEventIds: number;
    /** Bronze lines repeating a stream record (shard + sequence number) already read. */
    repeatedStreamRecords: number;
    /** Events stamped more than the allowed clock skew after they reached the stream. */
    eventsAfterArrival: number;
    /** Events that reached the stream more than 7 days after they happened. */
    lateEvents: number;
    perDay: Record<string, number>;
    /** Unique valid events per type, impressions included. */
    byType: Record<string, number>;
    /** Unique valid events that are interactions (what training and the features read) and impressions. */
    interactions: number;
    impressions: number;
  };
  previous: ValidationSummary | null;
  /** What the volume was compared with: the lower median of the recent validated runs' events per day. */
  baseline: { eventsPerDay: number; runs: string[] } | null;
  /** A few examples of what went wrong, for the reader of the report. */
  samples: {
    invalid: InvalidLine[];
    duplicateEventIds: string[];
    mostRepeatedEventIds: { eventId: string; copies: number }[];
    repeatedStreamRecords: RepeatedStreamRecord[];
  };
  /** The report as text, as the failure notification shows it. */
  text: string;
}

const LATE_MS = 7 * 86_400_000;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => x.toLocaleString('en-US');

/**
 * Checks a Bronze window before anything is built from it. Pure: the same window and the same previous
 * summaries give the same report. `previous` is the latest validated run, or the recent ones (newest first).
 */
export function validateWindow(
  runId: string,
  window: DateWindow,
  bronze: BronzeWindow,
  previous: ValidationSummary | readonly ValidationSummary[] | null,
  thresholds: Partial<ValidationThresholds> = {},
  now: Date = new Date(),
): ValidationReport {
  const t: ValidationThresholds = { ...DEFAULT_VALIDATION_THRESHOLDS, ...thresholds };
  const checks: ValidationCheck[] = [];
  const dedup = dedupeByEventId(bronze.records);
  const { records, duplicates } = dedup;
  const days = Object.keys(bronze.perDay).length;
  const skewMs = defaultEventContract().maxFutureSkewMs;

  let lateEvents = 0;
  let recordsAfterArrival = 0;
  const byType: Record<string, number> = {};
  for (const r of records) {
    const time = eventTimeMs(r.event);
    if (time > r.arrivalMs + skewMs) recordsAfterArrival += 1;
    if (r.arrivalMs - time > LATE_MS) lateEvents += 1;
    byType[r.event.type] = (byType[r.event.type] ?? 0) + 1;
  }
  const unique = records.length;
  const impressions = byType.impression ?? 0;
  const valid = bronze.records.length;
  const lines = Math.max(bronze.lines, valid);

  // 1. Enough events.
  checks.push(
    unique >= t.minEvents
      ? { name: 'volume', status: 'pass', detail: `${n(unique)} unique valid events (${n(unique - impressions)} interactions, ${n(impressions)} impressions) in ${n(bronze.objects)} Bronze objects`, value: unique, limit: t.minEvents }
      : { name: 'volume', status: 'fail', detail: `${n(unique)} unique valid events (at least ${n(t.minEvents)} needed, VALIDATION_MIN_EVENTS); Bronze objects read: ${n(bronze.objects)}`, value: unique, limit: t.minEvents },
  );

  // 2. Bronze lines the consumer would never have written.
  const invalidByKind: Record<string, number> = {};
  for (const line of bronze.invalid) invalidByKind[line.kind ?? 'contract'] = (invalidByKind[line.kind ?? 'contract'] ?? 0) + 1;
  const contractFaults = bronze.invalid.filter((l) => l.kind !== 'after-arrival');
  const invalidRatio = lines > 0 ? contractFaults.length / lines : 0;
  const firstInvalid = contractFaults[0];
  checks.push({
    name: 'bronze-contract',
    status: invalidRatio > t.maxInvalidRatio ? 'fail' : contractFaults.length > 0 ? 'warn' : 'pass',
    detail:
      `${n(contractFaults.length)} of ${n(lines)} Bronze event lines fail re-validation against the event contract as of their arrival ` +
      `(${pct(invalidRatio)}, max ${pct(t.maxInvalidRatio)}, VALIDATION_MAX_INVALID_RATIO)` +
      (contractFaults.length > 0
        ? `: ${n(invalidByKind.json ?? 0)} not JSON, ${n(invalidByKind.ingest ?? 0)} without _ingest, ${n(invalidByKind.contract ?? 0)} outside the contract; the consumer writes none of these` +
          (firstInvalid ? `; e.g. ${firstInvalid.key} line ${firstInvalid.line}: ${firstInvalid.reason}` : '')
        : ''),
    value: invalidRatio,
    limit: t.maxInvalidRatio,
  });

  // 3. The same stream record twice: Bronze objects overlap.
  const repeatedStream = bronze.repeatedStreamRecords ?? 0;
  const firstRepeat = bronze.repeatedStreamRecordSamples?.[0];
  checks.push({
    name: 'stream-records',
    status: repeatedStream > t.maxRepeatedStreamRecords ? 'fail' : repeatedStream > 0 ? 'warn' : 'pass',
    detail:
      `${n(repeatedStream)} Bronze lines repeat a stream record (shard + sequence number) already read (max ${n(t.maxRepeatedStreamRecords)}, VALIDATION_MAX_REPEATED_STREAM_RECORDS)` +
      (firstRepeat
        ? `; e.g. ${firstRepeat.shardId} #${firstRepeat.sequenceNumber} in ${firstRepeat.first.key} line ${firstRepeat.first.line} and ${firstRepeat.repeat.key} line ${firstRepeat.repeat.line} (${firstRepeat.sameEvent ? 'same event' : 'different events'})`
        : ''),
    value: repeatedStream,
    limit: t.maxRepeatedStreamRecords,
  });

  // 4. Stamped after arrival beyond the skew: the consumer refuses these.
  const afterArrival = (invalidByKind['after-arrival'] ?? 0) + recordsAfterArrival;
  const afterRatio = lines > 0 ? afterArrival / lines : 0;
  const firstAfter = bronze.invalid.find((l) => l.kind === 'after-arrival');
  checks.push({
    name: 'event-times',
    status: afterRatio > t.maxAfterArrivalRatio ? 'fail' : afterArrival > 0 ? 'warn' : 'pass',
    detail:
      `${n(afterArrival)} events stamped more than ${skewMs / 1000} s after they reached the stream (${pct(afterRatio)} of Bronze lines, max ${pct(t.maxAfterArrivalRatio)}, VALIDATION_MAX_AFTER_ARRIVAL_RATIO)` +
      (firstAfter ? `; e.g. ${firstAfter.key} line ${firstAfter.line}: ${firstAfter.reason}` : ''),
    value: afterRatio,
    limit: t.maxAfterArrivalRatio,
  });

  // 5. Client repeats: dropped and reported, never counted against the run.
  const duplicateRatio = valid > 0 ? duplicates / valid : 0;
  const top = dedup.mostRepeated.slice(0, 3).map((d) => `${d.eventId} ×${n(d.copies)}`).join(', ');
  checks.push({
    name: 'duplicates',
    status: duplicates > 0 ? 'warn' : 'pass',
    detail:
      duplicates > 0
        ? `${n(duplicates)} repeats of ${n(dedup.repeatedEventIds)} already-seen eventIds dropped (${pct(duplicateRatio)} of valid lines; first delivery kept, not counted against the run); most repeated: ${top}`
        : 'no repeated eventIds',
    value: duplicates,
  });

  // 6. Quarantined at ingestion: client errors, kept aside by the consumer.
  const seen = lines + bronze.quarantined;
  const quarantineRatio = seen > 0 ? bronze.quarantined / seen : 0;
  const quarantineHigh = quarantineRatio > t.maxQuarantineRatio;
  checks.push({
    name: 'quarantine',
    status: quarantineHigh ? (t.quarantineFails ? 'fail' : 'warn') : 'pass',
    detail:
      `${n(bronze.quarantined)} of ${n(seen)} records quarantined at ingestion (${pct(quarantineRatio)}, ${t.quarantineFails ? 'fails' : 'warns'} above ${pct(t.maxQuarantineRatio)}, ` +
      `VALIDATION_MAX_QUARANTINE_RATIO${t.quarantineFails ? ' with VALIDATION_QUARANTINE_FAILS' : ''}); refused client events stay in bronze/quarantine/ and are not used`,
    value: quarantineRatio,
    limit: t.maxQuarantineRatio,
  });

  // 7. Volume against the recent validated runs.
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

  const emptyDays = Object.entries(bronze.perDay).filter(([, c]) => c === 0).map(([d]) => d);
  if (emptyDays.length > 0) checks.push({ name: 'empty-days', status: 'warn', detail: `no events arrived on ${emptyDays.join(', ')}` });
  if (lateEvents > 0) checks.push({ name: 'late-events', status: 'warn', detail: `${n(lateEvents)} events arrived more than 7 days after they happened` });

  const failedRules = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const warnings = checks.filter((c) => c.status === 'warn').map((c) => c.name);
  const status = failedRules.length > 0 ? 'failed' : 'passed';
  const report: Omit<ValidationReport, 'text'> = {
    runId,
    window,
    status,
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
      objects: bronze.objects,
      lines: bronze.lines,
      invalidLines: bronze.invalid.length,
      invalidByKind,
      quarantined: bronze.quarantined,
      duplicates,
      repeatedEventIds: dedup.repeatedEventIds,
      repeatedStreamRecords: repeatedStream,
      eventsAfterArrival: afterArrival,
      lateEvents,
      perDay: bronze.perDay,
      byType,
      interactions: unique - impressions,
      impressions,
    },
    previous: history[0] ?? null,
    baseline,
    samples: {
      invalid: bronze.invalid.slice(0, 10),
      duplicateEventIds: dedup.mostRepeated.map((d) => d.eventId),
      mostRepeatedEventIds: dedup.mostRepeated,
      repeatedStreamRecords: (bronze.repeatedStreamRecordSamples ?? []).slice(0, 10),
    },
  };
  return { ...report, text: formatValidationReport(report) };
}

export function formatValidationReport(report: Omit<ValidationReport, 'text'>): string {
  const mark: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  const head =
    `Data validation ${report.status.toUpperCase()} for Bronze window ${report.window.from}..${report.window.to} (run ${report.runId})` +
    (report.failedRules.length > 0 ? `: failed rule${report.failedRules.length > 1 ? 's' : ''} ${report.failedRules.join(', ')}` : '');
  return [head, ...report.checks.map((c) => `  [${mark[c.status]}] ${c.name}: ${c.detail}`)].join('\n');
}

export function summaryOf(report: ValidationReport): ValidationSummary {
  const { runId, window, validEvents, uniqueEvents, days, eventsPerDay } = report;
  return { runId, window, validEvents, uniqueEvents, days, eventsPerDay };
}

/** The history document after `report` passed: its summary first, then the recent ones it replaces. */
export function nextValidationHistory(report: ValidationReport, last: ValidationHistory | undefined, keep: number): ValidationHistory {
  const before = last ? (last.recent ?? [stripRecent(last)]) : [];
  const recent = [summaryOf(report), ...before.filter((s) => s.runId !== report.runId)].slice(0, Math.max(1, keep));
  return { ...summaryOf(report), recent };
}

/** The recent validated runs a new run compares with (newest first), without `exclude` (a rerun of itself). */
export function recentSummaries(last: ValidationHistory | undefined, exclude: string): ValidationSummary[] {
  if (!last) return [];
  return (last.recent ?? [stripRecent(last)]).filter((s) => s.runId !== exclude);
}

function stripRecent(h: ValidationHistory): ValidationSummary {
  const { recent: _recent, ...summary } = h;
  return summary;
}
