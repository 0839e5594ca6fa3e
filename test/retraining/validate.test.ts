import { describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import type { BronzeRecord, BronzeWindow } from '../../src/retraining/bronze';
import { DEFAULT_VALIDATION_THRESHOLDS, nextValidationHistory, recentSummaries, validateWindow, type ValidationThresholds } from '../../src/retraining/validate';
import { loadRetrainingConfig, validationThresholds } from '../../src/config/retraining';
import { resolveRun } from '../../src/retraining/run-window';

const thresholds: ValidationThresholds = { ...DEFAULT_VALIDATION_THRESHOLDS, maxInvalidRatio: 0.05 };
const window = { from: '2026-11-20', to: '2026-11-21' };
const arrival = Date.parse('2026-11-21T12:00:00Z');

function record(i: number, overrides: Partial<{ timestamp: string; eventId: string }> = {}): BronzeRecord {
  const r = parseEvent({ eventId: `e${i}`, type: 'view', userId: `u${i % 7}`, itemId: `i${i % 5}`, timestamp: '2026-11-21T10:00:00Z', ...overrides });
  return { event: (r as { ok: true; event: UserEvent }).event, arrivalMs: arrival + i, arrivalDt: '2026-11-21', shardId: 'shardId-000', sequenceNumber: String(1000 + i) };
}
function bronze(records: BronzeRecord[], extra: Partial<BronzeWindow> = {}): BronzeWindow {
  return { records, invalid: [], quarantined: 0, objects: 1, lines: records.length, perDay: { '2026-11-20': 0, '2026-11-21': records.length }, ...extra };
}

describe('validateWindow', () => {
  it('passes a clean window and counts days and volume', () => {
    const report = validateWindow('r1', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), null, thresholds);
    expect(report.status).toBe('passed');
    expect(report).toMatchObject({ uniqueEvents: 100, days: 2, eventsPerDay: 50 });
    expect(report.checks.find((c) => c.name === 'empty-days')).toMatchObject({ status: 'warn', detail: 'no events arrived on 2026-11-20' });
  });

  it('fails an empty window', () => {
    const report = validateWindow('r1', window, bronze([], { objects: 0 }), null, thresholds);
    expect(report.status).toBe('failed');
    expect(report.text).toContain('[FAIL] volume: 0 unique valid events (at least 1 needed, VALIDATION_MIN_EVENTS)');
    expect(report.failedRules).toEqual(['volume']);
  });

  it('fails on Bronze lines outside the contract (a lake fault) and names the rule, the numbers and an example', () => {
    const records = Array.from({ length: 90 }, (_, i) => record(i));
    const invalid = Array.from({ length: 6 }, (_, i) => ({ key: 'bronze/events/dt=2026-11-21/shard=s/1.jsonl', line: i + 1, reason: 'rating must be between 0.5 and 5', kind: 'contract' as const }));
    const report = validateWindow('r1', window, bronze(records, { invalid, quarantined: 4, lines: 96 }), null, thresholds);
    expect(report.status).toBe('failed');
    expect(report.failedRules).toEqual(['bronze-contract']);
    expect(report.checks.find((c) => c.name === 'bronze-contract')).toMatchObject({
      status: 'fail',
      value: 6 / 96,
      limit: 0.05,
      detail:
        '6 of 96 Bronze event lines fail re-validation against the event contract as of their arrival (6.25%, max 5.00%, VALIDATION_MAX_INVALID_RATIO): 0 not JSON, 0 without _ingest, 6 outside the contract; the consumer writes none of these; e.g. bronze/events/dt=2026-11-21/shard=s/1.jsonl line 1: rating must be between 0.5 and 5',
    });
    expect(report.text).toMatch(/^Data validation FAILED .*: failed rule bronze-contract\n/);
    // By default more than 1 % of such lines fails (the consumer never writes one); a few only warn.
    expect(validateWindow('r1', window, bronze(records, { invalid: invalid.slice(0, 2), lines: 92 }), null, {}).failedRules).toEqual(['bronze-contract']);
    const few = validateWindow('r1', window, bronze(Array.from({ length: 500 }, (_, i) => record(i)), { invalid: invalid.slice(0, 2), lines: 502 }), null, {});
    expect(few.status).toBe('passed');
    expect(few.checks.find((c) => c.name === 'bronze-contract')?.status).toBe('warn');
  });

  it('passes thousands of repeats of one eventId with a warning and the numbers: clients cannot fail the gate', () => {
    const records = Array.from({ length: 50 }, (_, i) => record(i));
    const repeats = Array.from({ length: 5000 }, (_, i) => ({ ...record(7), sequenceNumber: String(10_000 + i), arrivalMs: arrival + 100 + i }));
    const report = validateWindow('r1', window, bronze([...records, ...repeats]), null, {});
    expect(report.status).toBe('passed');
    expect(report.stats).toMatchObject({ duplicates: 5000, repeatedEventIds: 1 });
    expect(report.uniqueEvents).toBe(50);
    expect(report.warnings).toContain('duplicates');
    expect(report.checks.find((c) => c.name === 'duplicates')).toMatchObject({ status: 'warn', value: 5000, detail: expect.stringContaining('5,000 repeats of 1 already-seen eventIds dropped') });
    expect(report.checks.find((c) => c.name === 'duplicates')!.detail).toContain('most repeated: e7 ×5,001');
    expect(report.samples.mostRepeatedEventIds).toEqual([{ eventId: 'e7', copies: 5001 }]);
    // Repeats do not inflate the volume either: the next night compares unique events.
    expect(report.eventsPerDay).toBe(25);
  });

  it('fails when the same stream record (shard + sequence number) is in Bronze twice, naming both places', () => {
    const records = Array.from({ length: 20 }, (_, i) => record(i));
    const report = validateWindow('r1', window, bronze(records, {
      repeatedStreamRecords: 1,
      repeatedStreamRecordSamples: [{ shardId: 'shardId-000', sequenceNumber: '1003', first: { key: 'a.jsonl', line: 4 }, repeat: { key: 'b.jsonl', line: 1 }, sameEvent: false }],
    }), null, {});
    expect(report.status).toBe('failed');
    expect(report.failedRules).toEqual(['stream-records']);
    expect(report.checks.find((c) => c.name === 'stream-records')?.detail).toBe(
      '1 Bronze lines repeat a stream record (shard + sequence number) already read (max 0, VALIDATION_MAX_REPEATED_STREAM_RECORDS); e.g. shardId-000 #1003 in a.jsonl line 4 and b.jsonl line 1 (different events)',
    );
    expect(validateWindow('r1', window, bronze(records, { repeatedStreamRecords: 1 }), null, { maxRepeatedStreamRecords: 1 }).status).toBe('passed');
  });

  it('warns, not fails, on a high quarantine share (client errors) unless configured to fail', () => {
    const records = Array.from({ length: 60 }, (_, i) => record(i));
    const report = validateWindow('r1', window, bronze(records, { quarantined: 40 }), null, {});
    expect(report.status).toBe('passed');
    expect(report.checks.find((c) => c.name === 'quarantine')).toMatchObject({ status: 'warn', value: 0.4, limit: 0.05 });
    const strict = validateWindow('r1', window, bronze(records, { quarantined: 40 }), null, { quarantineFails: true });
    expect(strict.failedRules).toEqual(['quarantine']);
  });

  it('compares the volume per day with the previous validated run', () => {
    const previous = { runId: 'r0', window: { from: '2026-11-19', to: '2026-11-19' }, validEvents: 10_000, uniqueEvents: 10_000, days: 1, eventsPerDay: 10_000 };
    const low = validateWindow('r1', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), previous, thresholds);
    expect(low.status).toBe('failed');
    expect(low.checks.find((c) => c.name === 'volume-vs-previous')?.detail).toContain('50 events/day against 10,000 in run r0');
    const fine = validateWindow('r1', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), { ...previous, eventsPerDay: 60 }, thresholds);
    expect(fine.status).toBe('passed');
  });

  it('warns on a spike in volume (unless configured to fail), and one flooded night does not move the baseline', () => {
    const summary = (runId: string, eventsPerDay: number) => ({ runId, window: { from: '2026-11-19', to: '2026-11-19' }, validEvents: eventsPerDay, uniqueEvents: eventsPerDay, days: 1, eventsPerDay });
    const spike = validateWindow('r1', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), summary('r0', 0.5), {});
    expect(spike.status).toBe('passed');
    expect(spike.checks.find((c) => c.name === 'volume-vs-previous')).toMatchObject({ status: 'warn', value: 100 });
    expect(validateWindow('r1', window, bronze(Array.from({ length: 200 }, (_, i) => record(i))), summary('r0', 0.5), { volumeSpikeFails: true }).failedRules).toEqual(['volume-vs-previous']);

    // Normal nights of 50 a day, then a flood of 100,000 a day: the next normal night still passes.
    let history = undefined as ReturnType<typeof nextValidationHistory> | undefined;
    for (const [runId, perDay] of [['n1', 50], ['n2', 50], ['flood', 100_000]] as const) {
      const r = validateWindow(runId, window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), recentSummaries(history, runId), {});
      history = nextValidationHistory({ ...r, eventsPerDay: perDay }, history, 7);
    }
    const after = validateWindow('n3', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), recentSummaries(history, 'n3'), {});
    expect(after.status).toBe('passed');
    expect(after.baseline).toEqual({ eventsPerDay: 50, runs: ['flood', 'n2', 'n1'] });
  });

  it('takes every threshold from the configuration, with the documented defaults', () => {
    expect(validationThresholds(loadRetrainingConfig({ LAKE_BUCKET: 'lake' }))).toEqual(DEFAULT_VALIDATION_THRESHOLDS);
    const c = loadRetrainingConfig({
      LAKE_BUCKET: 'lake',
      VALIDATION_MAX_INVALID_RATIO: '0.01',
      VALIDATION_MAX_REPEATED_STREAM_RECORDS: '3',
      VALIDATION_MAX_AFTER_ARRIVAL_RATIO: '0.02',
      VALIDATION_MIN_EVENTS: '100',
      VALIDATION_MAX_QUARANTINE_RATIO: '0.5',
      VALIDATION_QUARANTINE_FAILS: 'true',
      VALIDATION_MIN_VOLUME_RATIO: '0.2',
      VALIDATION_MAX_VOLUME_RATIO: '10',
      VALIDATION_VOLUME_SPIKE_FAILS: 'true',
      VALIDATION_BASELINE_RUNS: '3',
    });
    expect(validationThresholds(c)).toEqual({
      maxInvalidRatio: 0.01,
      maxRepeatedStreamRecords: 3,
      maxAfterArrivalRatio: 0.02,
      minEvents: 100,
      maxQuarantineRatio: 0.5,
      quarantineFails: true,
      minVolumeRatio: 0.2,
      maxVolumeRatio: 10,
      volumeSpikeFails: true,
      baselineRuns: 3,
    });
  });
});

describe('resolveRun', () => {
  it('defaults to the day before the scheduled time', () => {
    expect(resolveRun({ trigger: 'schedule', scheduledTime: '2026-11-22T02:00:00Z' }, 'exec:1', '2026-11-22T02:00:03Z')).toMatchObject({
      runId: 'exec-1',
      trigger: 'schedule',
      window: { from: '2026-11-21', to: '2026-11-21' },
    });
    expect(resolveRun({}, 'manual-1', '2026-01-01T05:00:00Z').window).toEqual({ from: '2025-12-31', to: '2025-12-31' });
  });

  it('takes an explicit window and rejects nonsense with a clear message', () => {
    expect(resolveRun({ from: '2026-11-01', to: '2026-11-03' }, 'x', '2026-11-22T00:00:00Z').window).toEqual({ from: '2026-11-01', to: '2026-11-03' });
    expect(resolveRun({ date: '2026-11-05' }, 'x', '2026-11-22T00:00:00Z').window).toEqual({ from: '2026-11-05', to: '2026-11-05' });
    expect(() => resolveRun({ from: '2026-11-03', to: '2026-11-01' }, 'x', '2026-11-22T00:00:00Z')).toThrow('invalid execution input: (input) from must not be after to');
    expect(() => resolveRun({ date: '2026-02-30' }, 'x', '2026-11-22T00:00:00Z')).toThrow('date is not a calendar date');
  });
});

describe('resolveRun catch-up of missed nights', () => {
  const at = '2026-11-22T02:00:00Z';
  it('starts the day after the last extracted window, up to yesterday', () => {
    expect(resolveRun({ scheduledTime: at }, 'x', at, { lastExtractedTo: '2026-11-18', maxDays: 7 }).window).toEqual({ from: '2026-11-19', to: '2026-11-21' });
    expect(resolveRun({ scheduledTime: at }, 'x', at, { lastExtractedTo: '2026-11-20', maxDays: 7 }).window).toEqual({ from: '2026-11-21', to: '2026-11-21' });
  });

  it('catches up on at most maxDays days, and reprocesses yesterday when it is already extracted', () => {
    expect(resolveRun({ scheduledTime: at }, 'x', at, { lastExtractedTo: '2026-10-01', maxDays: 7 }).window).toEqual({ from: '2026-11-15', to: '2026-11-21' });
    expect(resolveRun({ scheduledTime: at }, 'x', at, { lastExtractedTo: '2026-11-21', maxDays: 7 }).window).toEqual({ from: '2026-11-21', to: '2026-11-21' });
    expect(resolveRun({ scheduledTime: at }, 'x', at, { maxDays: 7 }).window).toEqual({ from: '2026-11-21', to: '2026-11-21' });
  });

  it('leaves explicit windows alone', () => {
    expect(resolveRun({ date: '2026-11-01' }, 'x', at, { lastExtractedTo: '2026-10-01', maxDays: 7 }).window).toEqual({ from: '2026-11-01', to: '2026-11-01' });
  });
});
