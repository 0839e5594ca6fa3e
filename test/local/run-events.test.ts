import { describe, expect, it } from 'vitest';
import { createRunEventPrinter, describeStateOutput, formatSummarySteps, RunView } from '../../src/local/run-events';
import type { RunEvent } from '../../src/local/retraining-runner';
import { summarizeRun } from '../../src/retraining/record';

const run = { runId: 'r1', window: { from: '2026-11-20', to: '2026-11-20' }, startedAt: '2026-11-21T02:00:00.000Z' };
const validation = { status: 'passed', uniqueEvents: 1529, validEvents: 1529, duplicates: 0, invalidLines: 0, quarantined: 0, durationMs: 900 };
const cause = '29 of 1529 exact feature rows could not be written';

/** What aws-local-stepfunctions reports for a Task whose error the Catch takes: failed, caught, then exited. */
const failedExtract: RunEvent[] = [
  { type: 'entered', state: 'ValidateData', at: 0 },
  { type: 'exited', state: 'ValidateData', at: 900, output: { run, validation } },
  { type: 'entered', state: 'ExtractFeatures', at: 1000 },
  { type: 'failed', state: 'ExtractFeatures', at: 2000, error: 'TransientError', cause: 'SlowDown: Please reduce your request rate.' },
  { type: 'retried', state: 'ExtractFeatures', at: 2001, attempt: 1 },
  { type: 'failed', state: 'ExtractFeatures', at: 50_270, error: 'DataError', cause },
  { type: 'caught', state: 'ExtractFeatures', at: 50_270 },
  { type: 'exited', state: 'ExtractFeatures', at: 50_270, output: { run, validation, error: { Error: 'DataError', Cause: cause } } },
  { type: 'entered', state: 'NotifyFailure', at: 50_300 },
];

describe('a failed retraining step is shown failed, with its error', () => {
  it('the CLI prints ✗ and the error for a caught step, never ✓ with undefined figures', () => {
    const lines: string[] = [];
    const print = createRunEventPrinter((l) => lines.push(l));
    for (const e of failedExtract) print(e);
    const text = lines.join('\n');
    expect(text).toMatch(/✓ ValidateData\s+0\.90 s {2}1,529 unique events/);
    expect(text).toMatch(/✗ ExtractFeatures\s+49\.27 s {2}FAILED DataError: 29 of 1529 exact feature rows could not be written/);
    expect(text).not.toMatch(/✓ ExtractFeatures/);
    expect(text).not.toContain('undefined');
    expect(text).toContain('↻ ExtractFeatures retried (attempt 1)');
    expect(text).toContain('ExtractFeatures attempt failed: TransientError');
  });

  it('the page view keeps the step failed after the engine reports it exited, with the error as its detail', () => {
    const view = new RunView();
    for (const e of failedExtract) view.apply(e);
    expect(view.steps.map((s) => [s.state, s.status])).toEqual([
      ['ValidateData', 'succeeded'],
      ['ExtractFeatures', 'failed'],
      ['NotifyFailure', 'running'],
    ]);
    expect(view.steps[1]).toMatchObject({ error: `DataError: ${cause}`, detail: `DataError: ${cause}`, seconds: 49.27 });
  });

  it('the run summary names the failed step, and its step lines print it failed with the error', () => {
    const summary = summarizeRun(
      { state: { run, validation, error: { Error: 'DataError', Cause: cause } }, status: 'failed', executionName: 'r1', startTime: run.startedAt },
      new Date('2026-11-21T02:01:00.000Z'),
    );
    expect(summary.failedStep).toBe('ExtractFeatures');
    expect(summary.steps.ExtractFeatures).toMatchObject({ status: 'failed', error: { Error: 'DataError', Cause: cause } });
    const lines = formatSummarySteps(summary);
    expect(lines[0]).toMatch(/^ {2}✓ ValidateData/);
    expect(lines[1]).toMatch(/^ {2}✗ ExtractFeatures .* FAILED DataError: 29 of 1529 exact feature rows could not be written$/);
  });

  it('rows a step set aside are in its line and among the run warnings', () => {
    const setAside = { count: 1, reasons: { 'Silver history: price × quantity …': 1 }, samples: [{ where: 'Silver history', id: 'whale-buy', reason: 'price × quantity = 1e17 cannot be stored exactly' }] };
    const extract = { windowInteractions: 10, totalInteractions: 50, users: 5, items: 5, featureRowsWritten: 10, silverFilesWritten: 1, durationMs: 10, setAside };
    const lines: string[] = [];
    const print = createRunEventPrinter((l) => lines.push(l));
    print({ type: 'entered', state: 'ExtractFeatures', at: 0 });
    print({ type: 'exited', state: 'ExtractFeatures', at: 10, output: { run, extract } });
    expect(lines.join('\n')).toMatch(/✓ ExtractFeatures .*10 Silver rows written.*1 row set aside .*e\.g\. Silver history whale-buy: price × quantity/);
    const summary = summarizeRun({ state: { run, validation, extract }, status: 'not-deployed', executionName: 'r1', startTime: run.startedAt });
    expect(summary.warnings.join('\n')).toContain('ExtractFeatures: 1 row set aside');
  });

  it('the Athena path and the Fargate path describe their steps as the Lambda steps do', () => {
    const extract = { windowInteractions: 10, totalInteractions: 50, users: 5, items: 5, featureRowsWritten: 10, silverFilesWritten: 1, durationMs: 10 };
    const training = { version: 'v20261203T020000Z-x', interactions: 50, users: 5, items: 5 };
    expect(describeStateOutput('FinishExtract', { run, validation, extract })).toBe(describeStateOutput('ExtractFeatures', { run, validation, extract }));
    expect(describeStateOutput('ValidateReport', { run, validation })).toBe(describeStateOutput('ValidateData', { run, validation }));
    expect(describeStateOutput('TrainTaskResult', { run, training })).toBe(describeStateOutput('TrainModel', { run, training }));
    expect(describeStateOutput('TrainTaskResult', { run, training })).toContain('50 interactions');
    expect(describeStateOutput('FinishExtract', { run, validation, extract })).toContain('10 Silver rows written');
  });
});
