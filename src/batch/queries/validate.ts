import { sqlInteger } from '../dialect';
import { bronzeSource, OBJECT_KEY, sqlWindow, type BronzeQueryInput } from './bronze';
import { civilDate, shiftedDays } from './silver';

/**
 * ValidateData as one set-based query: every aggregate the ValidationReport's rules read, computed over the
 * window's Bronze lines (src/batch/queries/bronze.ts) and quarantine partitions, as one long table that
 * src/batch/validation-report.ts turns into the same report as src/retraining/validate.ts `validateWindow`.
 *
 * Result columns: section, name, n, ord, object_key, other_key, reason, kind, event_id, shard_id,
 * sequence_number, same_event. Sections:
 * - `count`: name ∈ objects, lines, invalid, quarantined, valid, unique, duplicates, repeated_event_ids,
 *   repeated_stream_records, records_after_arrival, late_events; n the count;
 * - `kind`: invalid lines per kind; `day`: valid lines per arrival-date partition; `type`: unique events per type;
 * - `partition`: unique events per Silver partition they fall in, name `<event date>/<arrival date>` (the Silver
 *   UNLOADs are cut into chunks of at most 100 of them: Athena writes at most 100 partitions a query);
 * - `top`: the most repeated eventIds (n copies; ord 1..10, most copies first, ties by id);
 * - `invalid`: the first invalid lines (ord 1..10 in key order) with reason, kind and readable eventId;
 * - `repeat`: the first repeated stream records (ord 1..10 in key order): the repeat's key, the kept copy's
 *   key (other_key), and whether both carry the same eventId;
 * - `first`: the first invalid line that is not `after-arrival` (name `contract`) and the first that is
 *   (name `after-arrival`), which the checks cite.
 *
 * Stream order is arrival time, shard, then sequence number as an integer: Kinesis sequence numbers are up to
 * 128-bit decimals (beyond BIGINT and DECIMAL(38)), compared by length then as text (no leading zeros: the
 * Bronze view refuses them). Athena has no line numbers: within one object, the first copy of a stream
 * record and the order of samples follow the line's text (the Lambda engine: its line number).
 */
export const SAMPLES = 10;
const LATE_MS = 7 * 86_400_000;

export function validationQuery(input: BronzeQueryInput): string {
  const { from, to } = sqlWindow(input.window);
  const skew = sqlInteger(input.contract.maxFutureSkewMs);
  const cols = (c: Partial<Record<'section' | 'name' | 'n' | 'ord' | 'object_key' | 'other_key' | 'reason' | 'kind' | 'event_id' | 'shard_id' | 'sequence_number' | 'same_event', string>>) =>
    [
      `${c.section} AS section`,
      `CAST(${c.name ?? 'NULL'} AS VARCHAR) AS name`,
      `CAST(${c.n ?? 'NULL'} AS BIGINT) AS n`,
      `CAST(${c.ord ?? 'NULL'} AS BIGINT) AS ord`,
      `CAST(${c.object_key ?? 'NULL'} AS VARCHAR) AS object_key`,
      `CAST(${c.other_key ?? 'NULL'} AS VARCHAR) AS other_key`,
      `CAST(${c.reason ?? 'NULL'} AS VARCHAR) AS reason`,
      `CAST(${c.kind ?? 'NULL'} AS VARCHAR) AS kind`,
      `CAST(${c.event_id ?? 'NULL'} AS VARCHAR) AS event_id`,
      `CAST(${c.shard_id ?? 'NULL'} AS VARCHAR) AS shard_id`,
      `CAST(${c.sequence_number ?? 'NULL'} AS VARCHAR) AS sequence_number`,
      `CAST(${c.same_event ?? 'NULL'} AS BOOLEAN) AS same_event`,
    ].join(', ');
  const count = (name: string, expr: string, fromClause: string) => `SELECT ${cols({ section: "'count'", name: `'${name}'`, n: expr })} FROM ${fromClause}`;
  return `WITH ${bronzeSource(input)},
valid_lines AS (
  SELECT *, row_number() OVER (PARTITION BY shard_id, sequence_number ORDER BY object_path, line) AS stream_copy
  FROM bronze_checked WHERE kind IS NULL
),
records AS (SELECT * FROM valid_lines WHERE stream_copy = 1),
repeats AS (
  SELECT r.object_path, r.line, r.shard_id, r.sequence_number, f.object_path AS first_path, r.event_id = f.event_id AS same_event
  FROM valid_lines r JOIN valid_lines f ON f.shard_id = r.shard_id AND f.sequence_number = r.sequence_number AND f.stream_copy = 1
  WHERE r.stream_copy > 1
),
deliveries AS (
  SELECT *,
    row_number() OVER (PARTITION BY event_id ORDER BY arrival_ms, shard_id, length(sequence_number), sequence_number) AS delivery,
    count(*) OVER (PARTITION BY event_id) AS copies
  FROM records
),
unique_events AS (SELECT * FROM deliveries WHERE delivery = 1),
repeated_ids AS (SELECT event_id, copies FROM unique_events WHERE copies > 1),
quarantine_lines AS (
  SELECT line FROM bronze_quarantine WHERE dt BETWEEN ${from} AND ${to} AND NOT regexp_like(line, '\\A[ \\t\\r\\n\\x0B\\x0C\u00a0\ufeff\u2028\u2029]*\\z')
)
${count('objects', 'count(DISTINCT object_path)', 'bronze_checked')}
UNION ALL ${count('lines', 'count(*)', 'bronze_checked')}
UNION ALL ${count('invalid', 'count(*)', 'bronze_checked WHERE kind IS NOT NULL')}
UNION ALL ${count('quarantined', 'count(*)', 'quarantine_lines')}
UNION ALL ${count('valid', 'count(*)', 'records')}
UNION ALL ${count('unique', 'count(*)', 'unique_events')}
UNION ALL ${count('duplicates', 'count(*)', 'deliveries WHERE delivery > 1')}
UNION ALL ${count('repeated_event_ids', 'count(*)', 'repeated_ids')}
UNION ALL ${count('repeated_stream_records', 'count(*)', 'repeats')}
UNION ALL ${count('records_after_arrival', 'count(*)', `unique_events WHERE event_time_ms > arrival_ms + ${skew}`)}
UNION ALL ${count('late_events', 'count(*)', `unique_events WHERE arrival_ms - event_time_ms > ${LATE_MS}`)}
UNION ALL SELECT ${cols({ section: "'kind'", name: 'kind', n: 'count(*)' })} FROM bronze_checked WHERE kind IS NOT NULL GROUP BY kind
UNION ALL SELECT ${cols({ section: "'day'", name: 'dt', n: 'count(*)' })} FROM records GROUP BY dt
UNION ALL SELECT ${cols({ section: "'type'", name: 'event_type', n: 'count(*)' })} FROM unique_events GROUP BY event_type
UNION ALL SELECT ${cols({ section: "'partition'", name: "concat(event_dt, '/', arrival_dt)", n: 'count(*)' })} FROM (
  SELECT ${civilDate(shiftedDays('event_time_ms'))} AS event_dt, arrival_dt FROM unique_events
) dated GROUP BY event_dt, arrival_dt
UNION ALL SELECT ${cols({ section: "'top'", name: 'event_id', n: 'copies', ord: 'ord' })} FROM (
  SELECT event_id, copies, row_number() OVER (ORDER BY copies DESC, event_id) AS ord FROM repeated_ids
) top_ids WHERE ord <= ${SAMPLES}
UNION ALL SELECT ${cols({ section: "'invalid'", ord: 'ord', object_key: OBJECT_KEY, reason: 'reason', kind: 'kind', event_id: 'raw_event_id' })} FROM (
  SELECT object_path, reason, kind, raw_event_id, row_number() OVER (ORDER BY object_path, line) AS ord FROM bronze_checked WHERE kind IS NOT NULL
) first_invalid WHERE ord <= ${SAMPLES}
UNION ALL SELECT ${cols({ section: "'repeat'", ord: 'ord', object_key: OBJECT_KEY, other_key: "regexp_extract(first_path, '\\As3://[^/]+/(.*)\\z', 1)", shard_id: 'shard_id', sequence_number: 'sequence_number', same_event: 'same_event' })} FROM (
  SELECT object_path, first_path, shard_id, sequence_number, same_event, row_number() OVER (ORDER BY object_path, line) AS ord FROM repeats
) first_repeats WHERE ord <= ${SAMPLES}
UNION ALL SELECT ${cols({ section: "'first'", name: 'first_of', object_key: OBJECT_KEY, reason: 'reason', kind: 'kind', event_id: 'raw_event_id' })} FROM (
  SELECT object_path, reason, kind, raw_event_id, CASE WHEN kind = 'after-arrival' THEN 'after-arrival' ELSE 'contract' END AS first_of,
    row_number() OVER (PARTITION BY kind = 'after-arrival' ORDER BY object_path, line) AS ord
  FROM bronze_checked WHERE kind IS NOT NULL
) first_of_group WHERE ord = 1`;
}
