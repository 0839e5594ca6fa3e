import { createS3Client } from '../adapters/aws-clients';
import { S3Lake } from '../adapters/s3-lake';
import { BRONZE_EVENTS_PREFIX, runReportKey } from '../domain/lake-layout';
import { describeError } from '../retraining/errors';
import type { RunSummary } from '../retraining/record';
import type { RunEvent } from './retraining-runner';
import { RunView, type StepView } from './run-events';

export interface RetrainingStatus {
  executionName: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startedAt: string;
  finishedAt?: string;
  /** One row per state entered; a state whose error was caught is `failed`, with `error`. */
  steps: StepView[];
  outcome?: string;
  /** The step whose error failed the run. */
  failedStep?: string;
  /** Validation warnings and rows set aside, from the run summary. */
  warnings?: string[];
  deployedVersion?: string;
  metrics?: Record<string, unknown>;
}

export interface RetrainingScheduleOptions {
  lakeBucket: string;
  log: (line: string) => void;
  onEvent?: (event: RunEvent) => void;
  /** Called as a run starts. */
  onRunStart?: () => void;
  /** Called as a run ends without throwing; `ranStateMachine` is false when there was no Bronze data to train on. */
  onRunEnd?: (ranStateMachine: boolean) => void;
}

/** How many runs `runs` keeps. */
const HISTORY = 10;

/**
 * Runs of the nightly state machine over every Bronze day in the lake, one at a time: on demand and, with
 * `every`, on a schedule; `runs` holds the latest ones, newest first, with their steps as they go.
 */
export class RetrainingSchedule {
  readonly runs: RetrainingStatus[] = [];
  private running?: Promise<RetrainingStatus>;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: RetrainingScheduleOptions) {}

  /** Runs the state machine now, or joins the run under way; resolves with how it went. */
  run(): Promise<RetrainingStatus> {
    if (this.running) return this.running;
    this.running = this.runOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Runs it again every `minutes`. */
  every(minutes: number): void {
    this.timers.push(setInterval(() => void this.run().catch((err: unknown) => this.options.log(`scheduled retraining failed: ${describeError(err)}`)), minutes * 60_000));
  }

  /** No more scheduled runs from now on. */
  stop(): void {
    for (const t of this.timers) clearInterval(t);
  }

  /** Resolves once the run under way (if any) has ended, however it ended. */
  async finished(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async runOnce(): Promise<RetrainingStatus> {
    const { log } = this.options;
    this.options.onRunStart?.();
    const lake = new S3Lake(createS3Client(), this.options.lakeBucket);
    const days = [...new Set((await lake.listKeys(BRONZE_EVENTS_PREFIX)).map((k) => /dt=(\d{4}-\d{2}-\d{2})\//.exec(k)?.[1]).filter((d): d is string => !!d))].sort();
    const run: RetrainingStatus = { executionName: '', status: 'RUNNING', startedAt: new Date().toISOString(), steps: [] };
    this.runs.unshift(run);
    this.runs.splice(HISTORY);
    if (days.length === 0) {
      Object.assign(run, { status: 'FAILED', outcome: 'no Bronze data yet', finishedAt: new Date().toISOString() });
      this.options.onRunEnd?.(false);
      return run;
    }
    const { runRetrainingLocally } = await import('./retraining-runner');
    const view = new RunView();
    run.steps = view.steps;
    const result = await runRetrainingLocally(
      { from: days[0], to: days.at(-1) },
      {
        retryIntervalMs: 500,
        onEvent: (e) => {
          this.options.onEvent?.(e);
          view.apply(e);
        },
      },
    );
    run.executionName = result.executionName;
    run.status = result.status;
    run.finishedAt = new Date().toISOString();
    const out = (result.output ?? {}) as Record<string, Record<string, unknown> | undefined>;
    run.outcome = result.error ? `${result.error.name}: ${result.error.message}` : String(out.outcome?.reason ?? out.outcome?.status ?? (out.deployment ? 'deployed' : 'done'));
    run.deployedVersion = (out.deployment?.version as string | undefined) ?? undefined;
    const summaryText = await lake.getText(runReportKey(result.executionName, 'run')).catch(() => undefined);
    if (summaryText) {
      try {
        const summary = JSON.parse(summaryText) as Partial<RunSummary>;
        run.failedStep = summary.failedStep ?? undefined;
        run.warnings = summary.warnings ?? [];
      } catch (err) {
        log(`run summary of ${result.executionName} is unreadable: ${describeError(err)}`);
      }
    }
    if (run.status === 'FAILED') {
      const failed = run.steps.filter((st) => st.status === 'failed').map((st) => `${st.state}: ${st.error ?? st.detail ?? ''}`);
      for (const line of failed) log(`retraining step failed: ${line.split('\n')[0]}`);
    }
    // The evaluation record next to the artifact holds the candidate's, production's and popularity's metrics.
    const evaluationKey = out.evaluation?.evaluationKey;
    if (typeof evaluationKey === 'string') {
      const record = await lake.getText(evaluationKey);
      if (record) {
        const { candidate, popularity, production, split } = JSON.parse(record) as Record<string, unknown>;
        run.metrics = { candidate, popularity, production, split };
      }
    }
    this.options.onRunEnd?.(true);
    return run;
  }
}
