import { MAX_PRICE, MAX_QUANTITY, MAX_RATING, MIN_RATING } from '../../domain/events';
import { MAX_LINE_TOTAL } from '../../domain/money';
import { MAX_PARQUET_STRING_BYTES } from '../../retraining/poison';
import { sqlDate } from '../dialect';
import { bronzeSource, sqlWindow, type BronzeQueryInput } from './bronze';

/**
 * Bronze → Silver for one window as SQL: the window's valid Bronze lines (src/batch/queries/bronze.ts), each
 * stream record once (first copy in key order), deduplicated by eventId (first delivery in stream order
 * wins), converted as src/retraining/silver.ts `toSilverInteraction` does, rows src/retraining/poison.ts
 * `interactionProblem` refuses set aside, and events an earlier arrival date already stored in Silver (same
 * event date, `silver_interactions.arrival_dt` before the window) dropped: first delivery wins across windows.
 *
 * `silverInteractionsSelect` is the SELECT the engine unloads with `partitionedBy: ['dt', 'arrival_dt']` to
 * `silver/interactions/` (INTERACTION_COLUMNS, then the partition columns: the event's UTC date and its
 * arrival's). `silverCountsQuery` returns the step's counts in one row.
 *
 * When a window is rerun after a LATER window stored an event this window delivered first, extractWindow
 * moves the event here (rewrites the later part without it). The SELECT above alone writes the event again and
 * leaves it in the later partition too; `silverLaterPartitionsQuery` names those partitions and
 * `silverPartitionRewriteSelect` is what each of them becomes (unloaded, then put in place of the partition).
 */

/** Days since 0000-03-01 of an epoch-ms BIGINT expression (the input of civilDate). */
export function shiftedDays(ms: string): string {
  return `(floor(CAST(${ms} AS DOUBLE) / 86400000) + 719468)`;
}

/**
 * `YYYY-MM-DD` of shiftedDays(ms): Hinnant's civil_from_days in DOUBLE arithmetic with floor(), which both engines
 * compute alike (integer `/` differs: Trino truncates, DuckDB divides), exact for any date a Silver row holds.
 */
export function civilDate(z: string): string {
  const era = `floor(${z} / 146097)`;
  const doe = `(${z} - ${era} * 146097)`;
  const yoe = `floor((${doe} - floor(${doe} / 1460) + floor(${doe} / 36524) - floor(${doe} / 146096)) / 365)`;
  const doy = `(${doe} - (365 * ${yoe} + floor(${yoe} / 4) - floor(${yoe} / 100)))`;
  const mp = `floor((5 * ${doy} + 2) / 153)`;
  const day = `(${doy} - floor((153 * ${mp} + 2) / 5) + 1)`;
  const month = `(CASE WHEN ${mp} < 10 THEN ${mp} + 3 ELSE ${mp} - 9 END)`;
  const year = `(${yoe} + ${era} * 400 + (CASE WHEN ${mp} < 10 THEN 0 ELSE 1 END))`;
  const pad = (x: string, w: number) => `lpad(CAST(CAST(${x} AS BIGINT) AS VARCHAR), ${w}, '0')`;
  return `concat(${pad(year, 4)}, '-', ${pad(month, 2)}, '-', ${pad(day, 2)})`;
}

/** interactionProblem as SQL over a row of INTERACTION_COLUMNS: the first problem's reason, NULL for a usable row. */
export const INTERACTION_PROBLEM_SQL = `CASE
      WHEN length(event_id) > ${MAX_PARQUET_STRING_BYTES} OR length(user_id) > ${MAX_PARQUET_STRING_BYTES} OR length(item_id) > ${MAX_PARQUET_STRING_BYTES}
        OR length(category) > ${MAX_PARQUET_STRING_BYTES} OR length(session_id) > ${MAX_PARQUET_STRING_BYTES} OR length(recommendation_id) > ${MAX_PARQUET_STRING_BYTES}
        OR length(shard_id) > ${MAX_PARQUET_STRING_BYTES} OR length(sequence_number) > ${MAX_PARQUET_STRING_BYTES} THEN 'a string column is too long for Parquet'
      WHEN rating IS NOT NULL AND NOT (rating >= ${MIN_RATING} AND rating <= ${MAX_RATING}) THEN 'rating is outside the event contract'
      WHEN quantity IS NOT NULL AND NOT (quantity >= 1 AND quantity <= ${MAX_QUANTITY}) THEN 'quantity is outside the event contract'
      WHEN price IS NOT NULL AND NOT (abs(price * coalesce(quantity, 1)) <= 9007199254740991) THEN 'price × quantity cannot be stored exactly'
      WHEN price IS NOT NULL AND NOT (price >= 0 AND price <= ${MAX_PRICE}) THEN 'price is outside the event contract'
      WHEN price IS NOT NULL AND NOT (price * coalesce(quantity, 1) <= ${MAX_LINE_TOTAL}) THEN 'price × quantity is beyond the line total'
      WHEN strpos(user_id, chr(10)) > 0 OR strpos(user_id, chr(13)) > 0 OR strpos(item_id, chr(10)) > 0 OR strpos(item_id, chr(13)) > 0 THEN 'userId or itemId contains a line break'
      WHEN user_id = '' OR item_id = '' THEN 'userId or itemId is empty'
      ELSE NULL END`;

/** The window's rows before the cross-window check: `window_rows` (deduplicated, with `problem`), and `earlier`. */
function silverCtes(input: BronzeQueryInput): string {
  const { from } = sqlWindow(input.window);
  return `${bronzeSource(input)},
valid_lines AS (
  SELECT *, row_number() OVER (PARTITION BY shard_id, sequence_number ORDER BY object_path, line) AS stream_copy
  FROM bronze_checked WHERE kind IS NULL
),
deliveries AS (
  SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY arrival_ms, shard_id, length(sequence_number), sequence_number) AS delivery,
    count(*) OVER (PARTITION BY event_id) AS copies
  FROM valid_lines WHERE stream_copy = 1
),
window_rows AS (
  SELECT event_id, event_type, user_id, item_id, event_time_ms, rating, price, quantity, category, session_id,
    arrival_ms AS arrival_time_ms, shard_id, sequence_number, recommendation_id, position, copies,
    ${civilDate('event_z')} AS dt, arrival_dt, ${INTERACTION_PROBLEM_SQL} AS problem
  FROM (SELECT *, ${shiftedDays('event_time_ms')} AS event_z FROM deliveries WHERE delivery = 1) dated
),
earlier AS (
  SELECT DISTINCT event_id, dt FROM silver_interactions
  WHERE arrival_dt < ${from} AND dt IN (SELECT DISTINCT dt FROM window_rows)
),
judged_rows AS (
  SELECT w.*, e.event_id IS NOT NULL AS stored_earlier
  FROM window_rows w LEFT JOIN earlier e ON e.event_id = w.event_id AND e.dt = w.dt
)`;
}

/** INTERACTION_COLUMNS typed as the Parquet schema (INT64 times, DOUBLE money, INT32 quantity/position). */
const COLUMNS = `CAST(event_id AS VARCHAR) AS event_id, CAST(event_type AS VARCHAR) AS event_type, CAST(user_id AS VARCHAR) AS user_id,
  CAST(item_id AS VARCHAR) AS item_id, CAST(event_time_ms AS BIGINT) AS event_time_ms, CAST(rating AS DOUBLE) AS rating,
  CAST(price AS DOUBLE) AS price, CAST(quantity AS INTEGER) AS quantity, CAST(category AS VARCHAR) AS category,
  CAST(session_id AS VARCHAR) AS session_id, CAST(arrival_time_ms AS BIGINT) AS arrival_time_ms, CAST(shard_id AS VARCHAR) AS shard_id,
  CAST(sequence_number AS VARCHAR) AS sequence_number, CAST(recommendation_id AS VARCHAR) AS recommendation_id,
  CAST(position AS INTEGER) AS position`;

/** Athena writes at most 100 partitions a query (HIVE_TOO_MANY_OPEN_PARTITIONS, https://docs.aws.amazon.com/athena/latest/ug/ctas-insert-into.html). */
export const MAX_PARTITIONS_PER_WRITE = 100;

/**
 * The Silver rows of the window: INTERACTION_COLUMNS typed as the Parquet schema, then `dt`, `arrival_dt`. With
 * `partitions` (`<event date>/<arrival date>`, at most MAX_PARTITIONS_PER_WRITE), only the rows of those partitions:
 * one chunk of a window that spans more.
 */
export function silverInteractionsSelect(input: BronzeQueryInput, partitions?: readonly string[]): string {
  let only = '';
  if (partitions !== undefined) {
    if (partitions.length === 0 || partitions.length > MAX_PARTITIONS_PER_WRITE) throw new Error(`a Silver chunk holds 1-${MAX_PARTITIONS_PER_WRITE} partitions, got ${partitions.length}`);
    const names = partitions.map((p) => {
      const [dt = '', arrival = '', extra] = p.split('/');
      if (extra !== undefined) throw new Error(`not a partition <date>/<date>: ${JSON.stringify(p.slice(0, 40))}`);
      return `'${sqlDate(dt).slice(1, -1)}/${sqlDate(arrival).slice(1, -1)}'`;
    });
    only = `
  AND concat(dt, '/', arrival_dt) IN (${names.join(', ')})`;
  }
  return `WITH ${silverCtes(input)}
SELECT ${COLUMNS}, dt, arrival_dt
FROM judged_rows WHERE problem IS NULL AND NOT stored_earlier${only}`;
}

/** The window's partitions in chunks a query can write; no partition at all is one query (it writes nothing). */
export function silverChunks(partitions: readonly string[]): (readonly string[] | undefined)[] {
  if (partitions.length <= MAX_PARTITIONS_PER_WRITE) return [undefined];
  const sorted = [...new Set(partitions)].sort();
  const out: string[][] = [];
  for (let i = 0; i < sorted.length; i += MAX_PARTITIONS_PER_WRITE) out.push(sorted.slice(i, i + MAX_PARTITIONS_PER_WRITE));
  return out;
}

/**
 * One row: `window_events` (deduplicated valid events), `duplicates` (eventId repeats dropped in the window),
 * `set_aside` (rows interactionProblem refuses), `stored_earlier` (events an earlier arrival date already holds),
 * `silver_rows` (what silverInteractionsSelect writes), `event_dates` (distinct event dates written).
 */
export function silverCountsQuery(input: BronzeQueryInput): string {
  // One pass over the rows (DuckDB would compute the CTEs again for every scalar subquery).
  return `WITH ${silverCtes(input)}
SELECT
  count(*) AS window_events,
  coalesce(sum(copies - 1), 0) AS duplicates,
  count(*) FILTER (WHERE problem IS NOT NULL) AS set_aside,
  count(*) FILTER (WHERE problem IS NULL AND stored_earlier) AS stored_earlier,
  count(*) FILTER (WHERE problem IS NULL AND NOT stored_earlier) AS silver_rows,
  count(DISTINCT CASE WHEN problem IS NULL AND NOT stored_earlier THEN dt END) AS event_dates
FROM judged_rows`;
}


/**
 * The Silver partitions of LATER arrival dates (after the window) that hold an event this window now stores
 * (first delivery wins): columns `dt`, `arrival_dt`. Each must be rewritten without those events.
 */
export function silverLaterPartitionsQuery(input: BronzeQueryInput): string {
  const { to } = sqlWindow(input.window);
  return `WITH ${silverCtes(input)}
SELECT DISTINCT s.dt, s.arrival_dt
FROM silver_interactions s JOIN judged_rows w ON s.event_id = w.event_id AND s.dt = w.dt
WHERE w.problem IS NULL AND NOT w.stored_earlier AND s.arrival_dt > ${to}
ORDER BY s.dt, s.arrival_dt`;
}

/** What the later partition (eventDt, arrivalDt) becomes: its rows without the events this window now stores. */
export function silverPartitionRewriteSelect(input: BronzeQueryInput, eventDt: string, arrivalDt: string): string {
  const { to } = sqlWindow(input.window);
  const dt = sqlDate(eventDt);
  const arrival = sqlDate(arrivalDt);
  if (arrivalDt <= input.window.to) throw new Error(`partition arrival_dt=${arrivalDt} is not after the window ${input.window.from}..${input.window.to} (${to})`);
  return `WITH ${silverCtes(input)}
SELECT ${COLUMNS}
FROM silver_interactions s
WHERE s.dt = ${dt} AND s.arrival_dt = ${arrival}
  AND NOT EXISTS (SELECT 1 FROM judged_rows w WHERE w.problem IS NULL AND NOT w.stored_earlier AND w.event_id = s.event_id AND w.dt = s.dt)`;
}

/** The partition columns of silverInteractionsSelect, for the unload's `partitionedBy`. */
export const SILVER_PARTITION_COLUMNS = ['dt', 'arrival_dt'] as const;
