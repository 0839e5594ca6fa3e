import { describe, expect, it } from 'vitest';
import { aggregatesOfBronzeWindow, validationAggregatesFromRows, validationReportFromAggregates } from '../../src/batch/validation-report';
import type { UserEvent } from '../../src/domain/events';
import type { BronzeRecord, BronzeWindow, InvalidLine } from '../../src/retraining/bronze';
import type { DateWindow } from '../../src/retraining/run-window';
import { validateWindow, type ValidationSummary, type ValidationThresholds } from '../../src/retraining/validate';

/**
 * validationReportFromAggregates is validateWindow's rules over aggregates: on the same window (its aggregates
 * taken by aggregatesOfBronzeWindow) it must give the very same report, texts included, for every rule outcome.
 */

const W: DateWindow = { from: '2026-11-10', to: '2026-11-12' };
const NOW = new Date('2026-11-13T03:00:00Z');
const arrival = Date.parse('2026-11-10T12:00:00Z');

function record(i: number, over: Partial<UserEvent> = {}, arrivalOffset = 0): BronzeRecord {
  const types = ['view', 'click', 'impression', 'purchase'] as const;
  const type = types[i % types.length]!;
  const event = { eventId: `e${i}`, userId: `u${i % 3}`, itemId: `i${i % 5}`, timestamp: new Date(arrival - 3_600_000).toISOString(), type, ...(type === 'purchase' ? { price: 1, quantity: 1 } : {}), ...over } as UserEvent;
  return { event, arrivalMs: arrival + arrivalOffset + i, arrivalDt: '2026-11-10', shardId: 'shardId-0', sequenceNumber: String(100 + i) };
}
const invalid = (i: number, kind: InvalidLine['kind']): InvalidLine => ({ key: `bronze/events/dt=2026-11-10/shard=s/${i}.jsonl`, line: i + 1, reason: `reason ${i}`, kind, eventId: `x${i}` });

function window(over: Partial<BronzeWindow> = {}): BronzeWindow {
  const records = Array.from({ length: 200 }, (_, i) => record(i));
  return { records, invalid: [], quarantined: 0, objects: 4, lines: records.length, perDay: { '2026-11-10': 120, '2026-11-11': 80, '2026-11-12': 0 }, repeatedStreamRecords: 0, repeatedStreamRecordSamples: [], ...over };
}
const summary = (runId: string, eventsPerDay: number): ValidationSummary => ({ runId, window: { from: '2026-11-01', to: '2026-11-01' }, validEvents: eventsPerDay, uniqueEvents: eventsPerDay, days: 1, eventsPerDay });

const CASES: [string, BronzeWindow, ValidationSummary | ValidationSummary[] | null, Partial<ValidationThresholds>][] = [
  ['a clean window with an empty day', window(), null, {}],
  ['nothing at all', window({ records: [], lines: 0, objects: 0, perDay: { '2026-11-10': 0 } }), null, {}],
  ['client repeats, most repeated first', window({ records: [...window().records, record(1, {}, 10), record(1, {}, 20), record(2, {}, 10), record(7, {}, 30)] }), null, {}],
  ['invalid lines of every kind, after-arrival first', window({ invalid: [invalid(0, 'after-arrival'), invalid(1, 'json'), invalid(2, 'ingest'), invalid(3, 'contract'), invalid(4, 'after-arrival')], lines: 205 }), null, {}],
  ['one unparseable line: a warning', window({ invalid: [invalid(9, 'json')], lines: 201 }), null, {}],
  ['only after-arrival lines, above the ratio', window({ invalid: [invalid(0, 'after-arrival'), invalid(1, 'after-arrival'), invalid(2, 'after-arrival')], lines: 203 }), null, {}],
  [
    'repeated stream records',
    window({ repeatedStreamRecords: 2, repeatedStreamRecordSamples: [{ shardId: 's', sequenceNumber: '5', first: { key: 'a', line: 1 }, repeat: { key: 'b', line: 2 }, sameEvent: false }] }),
    null,
    {},
  ],
  ['quarantine above the ratio, failing', window({ quarantined: 40 }), null, { quarantineFails: true }],
  ['quarantine above the ratio, warning', window({ quarantined: 40 }), null, {}],
  ['late events', window({ records: [...window().records, record(500, { timestamp: '2026-10-01T00:00:00Z' })] }), null, {}],
  ['volume below the previous run', window(), summary('r1', 10_000), {}],
  ['volume spike against the lower median', window(), [summary('r3', 1), summary('r2', 2), summary('r1', 3), summary('self', 1)], { volumeSpikeFails: true }],
  ['volume within the median of several', window(), [summary('r3', 60), summary('r2', 70), summary('r1', 80)], {}],
  ['too few events for the threshold', window(), null, { minEvents: 1000 }],
];

describe('validationReportFromAggregates', () => {
  for (const [name, bronze, previous, thresholds] of CASES) {
    it(`gives validateWindow's report: ${name}`, () => {
      const expected = validateWindow('self', W, bronze, previous, thresholds, NOW);
      expect(validationReportFromAggregates('self', W, aggregatesOfBronzeWindow(bronze), previous, thresholds, NOW)).toEqual(expected);
    });
  }

  it('covers every rule outcome the cases are meant to', () => {
    const outcomes = new Set(CASES.flatMap(([, b, p, t]) => validateWindow('self', W, b, p, t, NOW).checks.map((c) => `${c.name}:${c.status}`)));
    for (const o of ['volume:fail', 'bronze-contract:warn', 'bronze-contract:fail', 'stream-records:fail', 'event-times:fail', 'duplicates:warn', 'quarantine:fail', 'quarantine:warn', 'volume-vs-previous:fail', 'volume-vs-previous:pass', 'empty-days:warn', 'late-events:warn']) {
      expect(outcomes).toContain(o);
    }
  });

  it('reads the query rows, filling the window days nothing arrived on, and refuses an unknown section', () => {
    const agg = validationAggregatesFromRows(
      [
        { section: 'count', name: 'unique', n: 5n },
        { section: 'day', name: '2026-11-11', n: 5n },
        { section: 'top', name: 'b', n: 2n, ord: 2n },
        { section: 'top', name: 'a', n: 3n, ord: 1n },
        { section: 'first', name: 'after-arrival', object_key: 'k', reason: 'r', kind: 'after-arrival', event_id: null },
      ],
      W,
    );
    expect(agg).toMatchObject({ uniqueEvents: 5, perDay: { '2026-11-10': 0, '2026-11-11': 5, '2026-11-12': 0 }, mostRepeated: [{ eventId: 'a', copies: 3 }, { eventId: 'b', copies: 2 }], firstAfterArrival: { key: 'k', line: 0, kind: 'after-arrival' } });
    expect(() => validationAggregatesFromRows([{ section: 'nope' }], W)).toThrow(/unknown section/);
  });
});
