import type { RunEvent } from './retraining-runner';
import { describeSetAside, type SetAside } from '../retraining/poison';
import type { RunSummary } from '../retraining/record';

/**
 * How a retraining run is shown as it goes (`npm run retrain`, `npm start`, the local page): a state the
 * state machine caught an error in is shown failed, with its error, even though the engine reports it
 * as exited (a Catch exits the state on its failure path).
 */

type Output = Record<string, Record<string, unknown> | undefined>;

const n = (x: unknown): string => (typeof x === 'number' && Number.isFinite(x) ? x.toLocaleString('en-US') : '–');
const setAsideOf = (x: unknown): string => {
  const s = x as SetAside | undefined;
  return s && typeof s === 'object' && s.count > 0 ? `; ${describeSetAside(s)}` : '';
};

/** One line on what a state did, from the part of the execution state it wrote. */
export function describeStateOutput(state: string, output: unknown): string {
  const o = (output ?? {}) as Output;
  switch (state) {
    case 'ValidateData':
    case 'ValidateReport': {
      const v = o.validation ?? o.validated;
      if (!v) return '';
      const warnings = Array.isArray(v.warnings) && v.warnings.length > 0 ? `; warnings: ${(v.warnings as string[]).join(', ')}` : '';
      return `${n(v.uniqueEvents)} unique events, ${n(v.duplicates)} repeated eventIds dropped, ${n(Number(v.invalidLines ?? 0) + Number(v.quarantined ?? 0))} invalid${warnings}`;
    }
    case 'ExtractFeatures':
    case 'FinishExtract':
      if (!o.extract) return '';
      return `${n(o.extract.windowInteractions)} Silver rows written, ${n(o.extract.totalInteractions)} in history, ${n(o.extract.featureRowsWritten)} exact feature rows${setAsideOf(o.extract.setAside)}`;
    case 'TrainModel':
    case 'TrainTaskResult':
      if (!o.training) return '';
      return `${String(o.training.version)}: ${n(o.training.interactions)} interactions, ${n(o.training.users)} users, ${n(o.training.items)} items${setAsideOf(o.training.setAside)}`;
    case 'EvaluateModel':
    case 'Gate':
      return String((o.evaluation?.gate as { reason?: string } | undefined)?.reason ?? '');
    case 'DeployModel':
      return o.deployment ? `production → ${String(o.deployment.version)} (was ${String(o.deployment.previousVersion ?? 'none')})` : '';
    case 'ReloadApi':
      return o.reload ? String(o.reload.reason ?? (o.reload.confirmedVersion ? `API serves ${String(o.reload.confirmedVersion)}` : '')) : '';
    default:
      return '';
  }
}

export interface StepView {
  state: string;
  status: 'running' | 'succeeded' | 'failed' | 'retried';
  seconds?: number;
  detail?: string;
  /** For a failed step: the error name and its cause. */
  error?: string;
}

/**
 * Folds run events into one row per state entered, as the page and the CLI show them. A state whose error
 * was caught stays `failed` when it exits, with the error as its detail.
 */
export class RunView {
  readonly steps: StepView[] = [];
  private readonly entered = new Map<string, number>();
  private readonly lastError = new Map<string, string>();
  private readonly caught = new Set<string>();

  /** Applies an event; returns the row it changed. */
  apply(e: RunEvent): StepView | undefined {
    if (e.type === 'entered') {
      this.entered.set(e.state, e.at);
      this.caught.delete(e.state);
      this.lastError.delete(e.state);
      const step: StepView = { state: e.state, status: 'running' };
      this.steps.push(step);
      return step;
    }
    const step = [...this.steps].reverse().find((s) => s.state === e.state);
    if (!step) return undefined;
    const seconds = (e.at - (this.entered.get(e.state) ?? e.at)) / 1000;
    switch (e.type) {
      case 'failed': {
        const error = `${e.error}: ${e.cause}`;
        this.lastError.set(e.state, error);
        Object.assign(step, { status: 'failed', seconds, error, detail: error.slice(0, 600) });
        break;
      }
      case 'retried':
        step.status = 'retried';
        break;
      case 'caught':
        this.caught.add(e.state);
        Object.assign(step, { status: 'failed', seconds });
        break;
      case 'exited':
        if (this.caught.has(e.state)) {
          const caughtError = (e.output as { error?: { Error?: string; Cause?: string } } | null)?.error;
          const error = this.lastError.get(e.state) ?? (caughtError ? `${caughtError.Error}: ${caughtError.Cause ?? ''}` : 'failed');
          Object.assign(step, { status: 'failed', seconds, error, detail: error.slice(0, 600) });
        } else {
          Object.assign(step, { status: 'succeeded', seconds, detail: describeStateOutput(e.state, e.output) });
          delete step.error;
        }
        break;
    }
    return step;
  }
}

/**
 * Prints run events as `npm run retrain` and `npm start` show them:
 * `▶ State`, `✓ State  1.23 s  what it did`, `✗ State  1.23 s  FAILED Error: cause`, `↻ State retried …`.
 */
export function createRunEventPrinter(write: (line: string) => void, options: { verboseStart?: boolean; indent?: string } = {}): (e: RunEvent) => void {
  const view = new RunView();
  const pad = options.indent ?? '';
  return (e) => {
    const step = view.apply(e);
    switch (e.type) {
      case 'entered':
        if (options.verboseStart !== false) write(`${pad}▶ ${e.state}`);
        break;
      case 'failed':
        write(`${pad}  ! ${e.state} attempt failed: ${e.error}\n${indent(e.cause, `${pad}    `)}`);
        break;
      case 'retried':
        write(`${pad}↻ ${e.state} retried (attempt ${e.attempt})`);
        break;
      case 'caught':
        write(`${pad}  → failure path`);
        break;
      case 'exited': {
        const took = (step?.seconds ?? 0).toFixed(2).padStart(7);
        if (step?.status === 'failed') write(`${pad}✗ ${e.state.padEnd(31)} ${took} s  FAILED ${firstLine(step.error ?? '')}`);
        else write(`${pad}✓ ${e.state.padEnd(31)} ${took} s  ${step?.detail ?? ''}`.trimEnd());
        break;
      }
    }
  };
}

/** The run summary's steps, one line each, a failed step marked ✗ with its error. */
export function formatSummarySteps(summary: Pick<RunSummary, 'steps'>): string[] {
  return Object.entries(summary.steps).map(([step, f]) => {
    const mark = f.status === 'failed' ? '✗' : '✓';
    const seconds = f.durationMs === null ? '–' : (f.durationMs / 1000).toFixed(2);
    const rows = f.rows === null ? '–' : f.rows.toLocaleString('en-US');
    return `  ${mark} ${step.padEnd(16)} ${seconds.padStart(8)} s ${rows.padStart(12)} rows  ${f.status === 'failed' ? `FAILED ${f.detail}` : f.detail}`;
  });
}

const firstLine = (text: string) => {
  const lines = text.split('\n');
  return lines.length > 1 ? `${lines[0]} …` : text;
};

const indent = (text: string, by: string) =>
  text
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
