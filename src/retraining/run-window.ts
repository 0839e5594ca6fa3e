import { z } from 'zod';
import { formatIssues } from '../domain/zod-issues';

/** A run works on Bronze arrival-date partitions from `from` to `to`, both included. */
export interface DateWindow {
  from: string;
  to: string;
}

/** What a retraining run is: its id, the Bronze window it reads, and why it started. */
export interface RunInfo {
  runId: string;
  window: DateWindow;
  trigger: 'schedule' | 'manual';
  /** ISO time the execution started (Step Functions' `$$.Execution.StartTime`). */
  startedAt: string;
  /** Recommender options overriding MODEL_CONFIG for this run only. */
  modelConfig: Record<string, unknown> | null;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const dateString = z
  .string()
  .regex(DATE, 'must be a date YYYY-MM-DD')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) && new Date(`${d}T00:00:00Z`).toISOString().startsWith(d), 'is not a calendar date');

/**
 * Execution input. All fields optional: the schedule sends `{ trigger: "schedule", scheduledTime }`, a
 * manual run may name a window (`{ from, to }` or `{ date }`) and recommender options.
 */
export const RunInputSchema = z
  .object({
    trigger: z.enum(['schedule', 'manual']).optional(),
    scheduledTime: z.string().optional(),
    date: dateString.optional(),
    from: dateString.optional(),
    to: dateString.optional(),
    modelConfig: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((i) => !(i.date && (i.from || i.to)), { message: 'give either date or from/to, not both' })
  .refine((i) => Boolean(i.from) === Boolean(i.to), { message: 'from and to go together' })
  .refine((i) => !(i.from && i.to && i.from > i.to), { message: 'from must not be after to' });

export type RunInput = z.output<typeof RunInputSchema>;

/** What the scheduled default window needs to know about earlier runs. */
export interface CatchUp {
  /** Last arrival date a previous run extracted into Silver, if any. */
  lastExtractedTo?: string;
  /** Longest default window: a schedule that was off for weeks catches up on this many days, not all. */
  maxDays: number;
}

/**
 * Resolves the run: an explicit window wins. Otherwise the window ends the day before the scheduled (or
 * start) time — the last complete arrival day at 02:00 UTC — and starts the day after the last extracted
 * window, so a night that failed or did not run is caught up by the next one (at most `maxDays` days).
 */
export function resolveRun(rawInput: unknown, executionName: string, startTime: string, catchUp: CatchUp = { maxDays: 1 }): RunInfo {
  const parsed = RunInputSchema.safeParse(rawInput ?? {});
  if (!parsed.success) {
    throw new Error(`invalid execution input: ${formatIssues(parsed.error.issues, { emptyPath: '(input)' })}`);
  }
  const input = parsed.data;
  let window: DateWindow;
  if (input.date) window = { from: input.date, to: input.date };
  else if (input.from && input.to) window = { from: input.from, to: input.to };
  else {
    const anchor = Date.parse(input.scheduledTime ?? startTime);
    if (Number.isNaN(anchor)) throw new Error(`invalid execution input: scheduledTime ${JSON.stringify(input.scheduledTime)} is not a time`);
    const to = isoDate(anchor - 86_400_000);
    const earliest = addDays(to, -(Math.max(1, catchUp.maxDays) - 1));
    const next = catchUp.lastExtractedTo ? addDays(catchUp.lastExtractedTo, 1) : to;
    window = { from: next > to ? to : next < earliest ? earliest : next, to };
  }
  return {
    runId: sanitizeRunId(executionName),
    window,
    trigger: input.trigger ?? (input.scheduledTime ? 'schedule' : 'manual'),
    startedAt: startTime,
    modelConfig: input.modelConfig ?? null,
  };
}

export function addDays(date: string, days: number): string {
  return isoDate(Date.parse(`${date}T00:00:00Z`) + days * 86_400_000);
}

export function datesInWindow(window: DateWindow): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${window.from}T00:00:00Z`); isoDate(t) <= window.to; t += 86_400_000) out.push(isoDate(t));
  return out;
}

export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Run ids become S3 key segments: keep them to safe characters. */
export function sanitizeRunId(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 80);
  return clean || 'run';
}
