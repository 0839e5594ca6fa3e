import type { BronzeWindow, InvalidLine, RepeatedStreamRecord } from './bronze';
import type { DateWindow } from './run-window';
import { aggregatesOfBronzeWindow, validationReportFromAggregates } from '../batch/validation-report';

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
  // One set of rules for both engines: the Lambda engine's window and the Athena engine's query both become aggregates.
  return validationReportFromAggregates(runId, window, aggregatesOfBronzeWindow(bronze), previous, thresholds, now);
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
