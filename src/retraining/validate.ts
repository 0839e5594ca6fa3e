import { eventTimeMs, MAX_CLOCK_SKEW_MS } from '../domain/events';
import { dedupeByEventId, type BronzeWindow } from './bronze';
import type { DateWindow } from './window';

export interface ValidationThresholds {
  maxInvalidRatio: number;
  maxDuplicateRatio: number;
  minEvents: number;
  /** Events per day against the previous validated run; 0 disables the bound. */
  minVolumeRatio: number;
  maxVolumeRatio: number;
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface ValidationCheck {
  name: 'volume' | 'schema' | 'value-ranges' | 'duplicates' | 'volume-vs-previous' | 'empty-days' | 'late-events';
  status: CheckStatus;
  detail: string;
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

export interface ValidationReport extends ValidationSummary {
  status: 'passed' | 'failed';
  generatedAt: string;
  checks: ValidationCheck[];
  stats: {
    objects: number;
    lines: number;
    invalidLines: number;
    quarantined: number;
    duplicates: number;
    /** Events stamped more than the allowed clock skew after they reached the stream. */
    eventsAfterArrival: number;
    /** Events that reached the stream more than 7 days after they happened. */
    lateEvents: number;
    perDay: Record<string, number>;
    byType: Record<string, number>;
  };
  previous: ValidationSummary | null;
  /** A few examples of what went wrong, for the reader of the report. */
  samples: { invalid: { key: string; line: number; reason: string }[]; duplicateEventIds: string[] };
  /** The report as text, as the failure notification shows it. */
  text: string;
}

const LATE_MS = 7 * 86_400_000;
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const n = (x: number) => x.toLocaleString('en-US');

/**
 * Checks a Bronze window before anything is built from it: enough events, schema and value ranges,
 * duplicate rate, and volume against the previous validated run. Pure: the same window and the same
 * previous summary give the same report.
 */
export function validateWindow(
  runId: string,
  window: DateWindow,
  bronze: BronzeWindow,
  previous: ValidationSummary | null,
  thresholds: ValidationThresholds,
  now: Date = new Date(),
): ValidationReport {
  const checks: ValidationCheck[] = [];
  const { records, duplicates, duplicateIds } = dedupeByEventId(bronze.records);
  const days = Object.keys(bronze.perDay).length;

  let eventsAfterArrival = 0;
  let lateEvents = 0;
  const byType: Record<string, number> = {};
  for (const r of records) {
    const t = eventTimeMs(r.event);
    if (t > r.arrivalMs + MAX_CLOCK_SKEW_MS) eventsAfterArrival += 1;
    if (r.arrivalMs - t > LATE_MS) lateEvents += 1;
    byType[r.event.type] = (byType[r.event.type] ?? 0) + 1;
  }
  const unique = records.length;
  const valid = bronze.records.length;

  checks.push(
    unique >= thresholds.minEvents
      ? { name: 'volume', status: 'pass', detail: `${n(unique)} unique valid events in ${n(bronze.objects)} Bronze objects` }
      : { name: 'volume', status: 'fail', detail: `${n(unique)} unique valid events (at least ${n(thresholds.minEvents)} needed); Bronze objects read: ${n(bronze.objects)}` },
  );

  const refused = bronze.invalid.length + bronze.quarantined;
  const seen = bronze.lines + bronze.quarantined;
  const invalidRatio = seen > 0 ? refused / seen : 0;
  const firstInvalid = bronze.invalid[0];
  checks.push({
    name: 'schema',
    status: invalidRatio > thresholds.maxInvalidRatio ? 'fail' : 'pass',
    detail:
      `${n(refused)} of ${n(seen)} records invalid (${pct(invalidRatio)}, max ${pct(thresholds.maxInvalidRatio)}): ` +
      `${n(bronze.invalid.length)} Bronze lines fail the event schema, ${n(bronze.quarantined)} quarantined at ingestion` +
      (firstInvalid ? `; e.g. ${firstInvalid.key} line ${firstInvalid.line}: ${firstInvalid.reason}` : ''),
  });

  const outOfRange = unique > 0 ? eventsAfterArrival / unique : 0;
  checks.push({
    name: 'value-ranges',
    status: outOfRange > thresholds.maxInvalidRatio ? 'fail' : eventsAfterArrival > 0 ? 'warn' : 'pass',
    detail: `${n(eventsAfterArrival)} events stamped more than a day after they reached the stream (${pct(outOfRange)}); ratings, prices and quantities are within the event contract`,
  });

  const duplicateRatio = valid > 0 ? duplicates / valid : 0;
  checks.push({
    name: 'duplicates',
    status: duplicateRatio > thresholds.maxDuplicateRatio ? 'fail' : duplicates > 0 ? 'warn' : 'pass',
    detail: `${n(duplicates)} repeated eventIds (${pct(duplicateRatio)} of valid lines, max ${pct(thresholds.maxDuplicateRatio)}); repeats are dropped`,
  });

  const eventsPerDay = days > 0 ? unique / days : 0;
  if (previous && previous.eventsPerDay > 0 && (thresholds.minVolumeRatio > 0 || thresholds.maxVolumeRatio > 0)) {
    const ratio = eventsPerDay / previous.eventsPerDay;
    const low = thresholds.minVolumeRatio > 0 && ratio < thresholds.minVolumeRatio;
    const high = thresholds.maxVolumeRatio > 0 && ratio > thresholds.maxVolumeRatio;
    checks.push({
      name: 'volume-vs-previous',
      status: low || high ? 'fail' : 'pass',
      detail:
        `${n(Math.round(eventsPerDay))} events/day against ${n(Math.round(previous.eventsPerDay))} in run ${previous.runId} ` +
        `(${previous.window.from}..${previous.window.to}): ×${ratio.toFixed(2)}, allowed ×${thresholds.minVolumeRatio}–×${thresholds.maxVolumeRatio}`,
    });
  } else {
    checks.push({ name: 'volume-vs-previous', status: 'pass', detail: 'no previous validated run to compare with' });
  }

  const emptyDays = Object.entries(bronze.perDay).filter(([, c]) => c === 0).map(([d]) => d);
  if (emptyDays.length > 0) checks.push({ name: 'empty-days', status: 'warn', detail: `no events arrived on ${emptyDays.join(', ')}` });
  if (lateEvents > 0) checks.push({ name: 'late-events', status: 'warn', detail: `${n(lateEvents)} events arrived more than 7 days after they happened` });

  const status = checks.some((c) => c.status === 'fail') ? 'failed' : 'passed';
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
    stats: {
      objects: bronze.objects,
      lines: bronze.lines,
      invalidLines: bronze.invalid.length,
      quarantined: bronze.quarantined,
      duplicates,
      eventsAfterArrival,
      lateEvents,
      perDay: bronze.perDay,
      byType,
    },
    previous,
    samples: { invalid: bronze.invalid.slice(0, 10), duplicateEventIds: duplicateIds.slice(0, 10) },
  };
  return { ...report, text: formatValidationReport(report) };
}

export function formatValidationReport(report: Omit<ValidationReport, 'text'>): string {
  const mark: Record<CheckStatus, string> = { pass: 'ok  ', warn: 'WARN', fail: 'FAIL' };
  const head = `Data validation ${report.status.toUpperCase()} for Bronze window ${report.window.from}..${report.window.to} (run ${report.runId})`;
  return [head, ...report.checks.map((c) => `  [${mark[c.status]}] ${c.name}: ${c.detail}`)].join('\n');
}

export function summaryOf(report: ValidationReport): ValidationSummary {
  const { runId, window, validEvents, uniqueEvents, days, eventsPerDay } = report;
  return { runId, window, validEvents, uniqueEvents, days, eventsPerDay };
}
