import { describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import type { BronzeRecord, BronzeWindow } from '../../src/retraining/bronze';
import { validateWindow, type ValidationThresholds } from '../../src/retraining/validate';
import { resolveRun } from '../../src/retraining/window';

const thresholds: ValidationThresholds = { maxInvalidRatio: 0.05, maxDuplicateRatio: 0.2, minEvents: 1, minVolumeRatio: 0.1, maxVolumeRatio: 50 };
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
    expect(report.text).toContain('[FAIL] volume: 0 unique valid events (at least 1 needed)');
  });

  it('fails on too many invalid lines and names an example', () => {
    const records = Array.from({ length: 90 }, (_, i) => record(i));
    const invalid = Array.from({ length: 6 }, (_, i) => ({ key: 'bronze/events/dt=2026-11-21/shard=s/1.jsonl', line: i + 1, reason: 'rating must be between 0.5 and 5' }));
    const report = validateWindow('r1', window, bronze(records, { invalid, quarantined: 4, lines: 96 }), null, thresholds);
    expect(report.status).toBe('failed');
    expect(report.checks.find((c) => c.name === 'schema')?.detail).toBe(
      '10 of 100 records invalid (10.00%, max 5.00%): 6 Bronze lines fail the event schema, 4 quarantined at ingestion; e.g. bronze/events/dt=2026-11-21/shard=s/1.jsonl line 1: rating must be between 0.5 and 5',
    );
  });

  it('counts duplicate eventIds and fails when a producer repeats too much', () => {
    const records = Array.from({ length: 50 }, (_, i) => record(i));
    const repeats = Array.from({ length: 20 }, (_, i) => ({ ...record(i), sequenceNumber: String(5000 + i) }));
    const report = validateWindow('r1', window, bronze([...records, ...repeats]), null, thresholds);
    expect(report.stats.duplicates).toBe(20);
    expect(report.uniqueEvents).toBe(50);
    expect(report.checks.find((c) => c.name === 'duplicates')?.status).toBe('fail');
    expect(validateWindow('r1', window, bronze([...records, ...repeats.slice(0, 5)]), null, thresholds).status).toBe('passed');
  });

  it('fails when events claim to happen long after they reached the stream', () => {
    const records = Array.from({ length: 20 }, (_, i) => record(i, i < 5 ? { timestamp: '2026-11-22T23:00:00Z' } : {}));
    const report = validateWindow('r1', window, bronze(records), null, thresholds, new Date('2026-11-23T00:00:00Z'));
    expect(report.checks.find((c) => c.name === 'value-ranges')).toMatchObject({ status: 'fail' });
  });

  it('compares the volume per day with the previous validated run', () => {
    const previous = { runId: 'r0', window: { from: '2026-11-19', to: '2026-11-19' }, validEvents: 10_000, uniqueEvents: 10_000, days: 1, eventsPerDay: 10_000 };
    const low = validateWindow('r1', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), previous, thresholds);
    expect(low.status).toBe('failed');
    expect(low.checks.find((c) => c.name === 'volume-vs-previous')?.detail).toContain('50 events/day against 10,000 in run r0');
    const fine = validateWindow('r1', window, bronze(Array.from({ length: 100 }, (_, i) => record(i))), { ...previous, eventsPerDay: 60 }, thresholds);
    expect(fine.status).toBe('passed');
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
