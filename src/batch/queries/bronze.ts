import { DEFAULT_MAX_FUTURE_SKEW_SECONDS, DEFAULT_EVENT_TIME_FLOOR, EVENT_TYPES, MAX_CATEGORY_LENGTH, MAX_EVENT_BYTES, MAX_EVENT_DEPTH, MAX_EVENT_FIELDS, MAX_IMPRESSION_POSITION, MAX_QUANTITY, MAX_RATING, MIN_RATING, type EventContract } from '../../domain/events';
import { MAX_LINE_TOTAL_MINOR, MAX_PRICE, MINOR_PER_MAJOR } from '../../domain/money';
import type { DateWindow } from '../../retraining/run-window';
import { BATCH_TABLES, batchTableOf, sqlDate, sqlInteger } from '../dialect';

/**
 * The Bronze view of the set-based steps: every Bronze line of a window's arrival-date partitions, parsed and
 * re-validated in SQL as src/retraining/bronze.ts `readBronzeWindow` does it in a Lambda (kinds `json`,
 * `ingest`, `contract`, `after-arrival`; the event contract of src/domain/events.ts as of the line's arrival).
 * A malformed line never fails the query: every JSON function reads `j`, which is NULL unless the line is JSON.
 *
 * Written in the SQL Trino (Athena engine v3) and DuckDB both accept, calling these Trino functions that DuckDB
 * gets as macros from src/batch/dialect.ts: json_parse, json_format, json_extract_scalar, json_size,
 * regexp_like. Regular expressions use only syntax RE2 (DuckDB) and joni's Java syntax (Trino) read alike:
 * `\A`/`\z` anchors (Java's `$` also matches before a final line terminator), classes, `\xHH`, lazy `*?`.
 *
 * Where SQL cannot reproduce a rule exactly, the SQL is stricter (it refuses a line the Lambda accepts, never
 * the reverse) and the rule says so in `STRICTER` below; test/batch/queries/bronze.test.ts lists
 * the inputs that differ. Lines the consumer writes (src/ingest/parse-records.ts) are never among them.
 */

/** The differences from the Lambda engine, each stricter than it (also in the README section of issue 17). */
export const STRICTER = {
  jsonGrammar:
    'JSON validity is DuckDB/Trino parsing plus a token grammar (no NaN/Infinity, no trailing commas); DuckDB also refuses lone surrogate escapes (\\ud800) that JSON.parse accepts: such a line is `json` here',
  blankLines: 'a line of only space, tab, CR, LF, VT, FF, NBSP, U+FEFF or U+2028/9 is blank (skipped); JS trim() also skips the other Unicode spaces',
  shardId: '_ingest.shardId must be 1-128 characters of the id alphabet (Kinesis shard ids are); the Lambda accepts any string (order of exotic shard ids would differ)',
  sequenceNumber: '_ingest.sequenceNumber must not have leading zeros (Kinesis never writes them; BigInt would equate "07" and "7")',
  arrivalTime: '_ingest.arrivalTime must be YYYY-MM-DDTHH:MM:SS[.s{1,3}]Z with a real date and time (what the consumer writes); Date.parse also accepts other forms and rolls 02-30 over',
  duplicateKeys: 'a line naming one of the contract fields as a key twice (at any depth) is `contract`; JSON.parse keeps the last copy, SQL JSON functions read the first',
  exponent: 'a number written with an exponent of 3+ digits, or 309+ digits in a row, or with any exponent in a line over 2,730 characters, is `contract` (JSON.stringify may expand it past the size bound or to Infinity)',
  size: 'the event size is the line\'s length minus its _ingest member; a line with non-ASCII characters over 4,096 characters is `contract` (UTF-8 bytes cannot be measured in the common SQL)',
  ingestSize: '_ingest as SQL formats it must be under 16,374 characters (the Lambda counts its own lower bound)',
  category: 'exact: zod counts a category in code points, as SQL length() does (events.ts says UTF-16 units; zod 4 measured: 128 emoji pass, 129 fail); lone surrogates cannot reach the check (the engines do not hold them: such a line is `json`)',
} as const;

/** The window's dates as SQL literals (validated by the dialect's sqlDate). */
export function sqlWindow(window: DateWindow): { from: string; to: string } {
  const from = sqlDate(window.from);
  const to = sqlDate(window.to);
  if (window.from > window.to) throw new Error(`window ${window.from}..${window.to} ends before it starts`);
  return { from, to };
}

/** The contract bounds the Bronze lines were checked against: the environment's, as in the Lambda engine. */
export interface BronzeQueryInput {
  window: DateWindow;
  contract: EventContract;
  /**
   * Read the window's lines as run `checkedRunId`'s CheckBronze step judged them (`batch_checked_bronze`, written by
   * checkedBronzeSelect) instead of parsing Bronze again: the state machine parses a window once, its later queries
   * read the Parquet result. Absent: the query parses the Bronze lines itself (same rows).
   */
  checkedRunId?: string;
}

export const DEFAULT_QUERY_CONTRACT: EventContract = { timeFloorMs: Date.parse(DEFAULT_EVENT_TIME_FLOOR), maxFutureSkewMs: DEFAULT_MAX_FUTURE_SKEW_SECONDS * 1000 };

// ---------------------------------------------------------------------------------------------------------
// Regular expressions over the raw line (outside string literals).

const WS = '[ \\t\\r\\n]';
/** A JSON string literal (escapes are checked by the JSON parser). */
const STR = '"[^"\\\\]*(?:\\\\.[^"\\\\]*)*"';
const NUM = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?';
const VALUE = `(?:${STR}|${NUM}|true|false|null)`;
/** Strict JSON tokens: a comma is always followed by a value (no trailing commas), no NaN/Infinity. */
const TOKENS = `\\A${WS}*(?:(?:${VALUE}|[{}\\[\\]:]|,${WS}*(?:${VALUE}|[{\\[]))${WS}*)*\\z`;
/** Nesting at most `depth` levels of objects/arrays (the event object is level 1). */
function nestedAtMost(depth: number): string {
  let inner = `(?:${STR}|[^"{}\\[\\]])*`;
  for (let d = 1; d <= depth; d++) inner = `(?:${STR}|[^"{}\\[\\]]|[{\\[]${inner}[}\\]])*`;
  return `\\A${inner}\\z`;
}
/** Something outside string literals. */
const outside = (what: string) => `\\A(?:${STR}|[^"])*?${what}`;
const CONTRACT_KEYS = ['eventId', 'userId', 'itemId', 'timestamp', 'type', 'sessionId', 'category', 'recommendationId', 'rating', 'price', 'quantity', 'position', '_ingest', 'shardId', 'sequenceNumber', 'arrivalTime'];
const DUPLICATE_KEY = `(?:${CONTRACT_KEYS.map((k) => `"${k}"${WS}*:[\\s\\S]*"${k}"`).join('|')})${WS}*:`;
/** JS trim() whitespace the query also treats as blank (literal characters: no escape-syntax differences). */
const BLANK = `\\A[ \\t\\r\\n\\x0B\\x0C\u00a0\ufeff\u2028\u2029]*\\z`;
const ISO_TIME = `\\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:[0-9]{2})\\z`;
const ARRIVAL_TIME = `\\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\\.[0-9]{1,3})?Z\\z`;
const ID_OUTSIDE = "[^A-Za-z0-9._:@+=~-]";
const CONTROL = '[\\x00-\\x1F\\x7F-\\x9F]';
const DECIMAL = '\\A[0-9]{1,16}(?:\\.[0-9]{1,2})?\\z';

/** SQL string literal of a pattern (patterns hold no quote but `'` is doubled anyway). */
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

// ---------------------------------------------------------------------------------------------------------
// Expressions

/** JSON type of a field by the first character of its JSON text: `"` string, `{`, `[`, t/f, n, else a number. */
const isNumber = (t: string) => `(strpos('"{[tfn', ${t}) = 0)`;
/** `x` equals one of `values` (an OR chain: DuckDB plans a constant IN list inside CASE as a join per row). */
const oneOf = (x: string, values: readonly string[]) => `(${values.map((v) => `${x} = '${v}'`).join(' OR ')})`;
const MONEY_TYPES = ['purchase', 'add_to_cart'];
const isString = (t: string) => `(${t} = '"')`;

/** Epoch ms of a strict RFC 3339 string (parseEventTime), or NULL; `s` has passed ISO_TIME. */
function isoMillis(s: string): string {
  const part = (from: number, len: number) => `CAST(substr(${s}, ${from}, ${len}) AS BIGINT)`;
  const days = `date_diff('day', DATE '1970-01-01', try(CAST(substr(${s}, 1, 10) AS DATE)))`;
  const frac = `CAST(substr(concat(coalesce(regexp_extract(${s}, '\\.([0-9]{1,9})', 1), ''), '000'), 1, 3) AS BIGINT)`;
  const offset = `regexp_extract(${s}, '([+-])([0-9]{2}):([0-9]{2})\\z', 1)`;
  const offH = `CAST(regexp_extract(${s}, '([+-])([0-9]{2}):([0-9]{2})\\z', 2) AS BIGINT)`;
  const offM = `CAST(regexp_extract(${s}, '([+-])([0-9]{2}):([0-9]{2})\\z', 3) AS BIGINT)`;
  const hasOffset = `(substr(${s}, length(${s}), 1) <> 'Z')`;
  return `(CASE WHEN ${part(12, 2)} > 23 OR ${part(15, 2)} > 59 OR ${part(18, 2)} > 59 THEN NULL
      WHEN ${hasOffset} AND (${offH} > 23 OR ${offM} > 59) THEN NULL
      ELSE ${days} * 86400000 + ${part(12, 2)} * 3600000 + ${part(15, 2)} * 60000 + ${part(18, 2)} * 1000 + ${frac}
        - (CASE WHEN ${hasOffset} THEN (CASE WHEN ${offset} = '-' THEN -1 ELSE 1 END) * (${offH} * 60 + ${offM}) * 60000 ELSE 0 END) END)`;
}

/**
 * The CTEs `bronze_lines` (every non-blank line of the window's `.jsonl` objects) and `bronze_checked` (each
 * line parsed and judged). `bronze_checked` columns:
 * - object_key (the lake key, from `"$path"`), dt (arrival-date partition), line;
 * - kind: NULL for a valid line, else `json` | `ingest` | `contract` | `after-arrival`; reason: the first
 *   rule the line breaks (the Lambda engine's reason is zod's message);
 * - raw_event_id: the eventId when it is a JSON string (first 200 characters), for the report's samples;
 * - shard_id, sequence_number, arrival_ms (BIGINT), arrival_dt (the UTC date of arrival_ms);
 * - the event: event_id, event_type, user_id, item_id, event_time_ms (BIGINT), rating, price (DOUBLE),
 *   quantity, position (INTEGER; quantity 1 when an add_to_cart/purchase has none), category, session_id,
 *   recommendation_id — NULL when absent or when the line is invalid.
 */
export function bronzeCtes(input: BronzeQueryInput): string {
  const { from, to } = sqlWindow(input.window);
  const floor = sqlInteger(input.contract.timeFloorMs);
  const skew = sqlInteger(input.contract.maxFutureSkewMs);
  // Each top-level field is extracted from the whole line once (as its JSON text); its type and scalar value are
  // then read from that small text: DuckDB re-parses a JSON document on every json_extract call.
  const f = (name: string) => `substr(x_${name}, 1, 1) AS t_${name}, json_extract_scalar(x_${name}, '$') AS s_${name}`;
  const fields: [string, string][] = [
    ['$.eventId', 'event_id'],
    ['$.userId', 'user_id'],
    ['$.itemId', 'item_id'],
    ['$.sessionId', 'session_id'],
    ['$.recommendationId', 'recommendation_id'],
    ['$.type', 'type'],
    ['$.timestamp', 'timestamp'],
    ['$.category', 'category'],
    ['$.rating', 'rating'],
    ['$.price', 'price'],
    ['$.quantity', 'quantity'],
    ['$.position', 'position'],
  ];
  const ingestFields: [string, string][] = [
    ['$.shardId', 'shard'],
    ['$.sequenceNumber', 'seq'],
    ['$.arrivalTime', 'arrival'],
  ];
  /** An id (string, or non-negative safe integer read as its decimal digits), NULL when not one. */
  const id = (n: string) => `(CASE WHEN ${isString(`t_${n}`)} THEN (CASE WHEN length(s_${n}) BETWEEN 1 AND 128 AND NOT regexp_like(s_${n}, ${lit(ID_OUTSIDE)}) THEN s_${n} END)
      WHEN ${isNumber(`t_${n}`)} THEN (CASE WHEN try(CAST(s_${n} AS DOUBLE)) BETWEEN 0 AND 9007199254740991 AND try(CAST(s_${n} AS DOUBLE)) = floor(try(CAST(s_${n} AS DOUBLE)))
        THEN CAST(CAST(CAST(s_${n} AS DOUBLE) AS BIGINT) AS VARCHAR) END) END)`;
  const num = (n: string) => `(CASE WHEN ${isNumber(`t_${n}`)} THEN try(CAST(s_${n} AS DOUBLE)) END)`;
  const wholeIn = (n: string, lo: number, hi: number) => `(${num(n)} BETWEEN ${lo} AND ${hi} AND ${num(n)} = floor(${num(n)}))`;
  /** Minor units of a price (parseMoneyMinor), NULL when refused. */
  const priceMinor = `(CASE WHEN ${isNumber('t_price')} THEN (CASE WHEN ${num('price')} BETWEEN 0 AND ${MAX_PRICE} AND CAST(round(${num('price')} * ${MINOR_PER_MAJOR}) AS DOUBLE) / ${MINOR_PER_MAJOR} = ${num('price')}
        THEN CAST(round(${num('price')} * ${MINOR_PER_MAJOR}) AS BIGINT) END)
      WHEN ${isString('t_price')} THEN (CASE WHEN length(s_price) <= 40 AND regexp_like(s_price, ${lit(DECIMAL)})
        AND CAST(regexp_extract(s_price, '\\A([0-9]+)', 1) AS DOUBLE) <= ${MAX_PRICE}
        THEN CAST(regexp_extract(s_price, '\\A([0-9]+)', 1) AS BIGINT) * ${MINOR_PER_MAJOR} + CAST(substr(concat(coalesce(regexp_extract(s_price, '\\.([0-9]+)', 1), ''), '00'), 1, 2) AS BIGINT) END) END)`;
  const timeMs = `(CASE WHEN ${isString('t_timestamp')} THEN (CASE WHEN length(s_timestamp) <= 40 AND regexp_like(s_timestamp, ${lit(ISO_TIME)}) THEN ${isoMillis('s_timestamp')} END)
      WHEN ${isNumber('t_timestamp')} THEN (CASE WHEN abs(${num('timestamp')}) < 1e11 THEN round(${num('timestamp')} * 1000) ELSE round(${num('timestamp')}) END) END)`;

  return `bronze_lines AS (
  SELECT "$path" AS object_path, dt, line
  FROM bronze_events
  WHERE dt BETWEEN ${from} AND ${to} AND "$path" LIKE '%.jsonl'
    -- A line starting with '{' (every line the consumer writes) is not blank: no regex for it.
    AND (substr(line, 1, 1) = '{' OR NOT regexp_like(line, ${lit(BLANK)}))
),
bronze_json AS (
  SELECT object_path, dt, line,
    CASE WHEN regexp_like(line, ${lit(TOKENS)}) THEN try(json_parse(line)) END AS j
  FROM bronze_lines
),
bronze_members AS (
  SELECT object_path, dt, line, j,
    CASE WHEN j IS NOT NULL THEN regexp_extract(line, '\\A[ \\t\\r\\n]*(.)', 1) END AS t_root,
    json_format(json_extract(j, '$._ingest')) AS x_ingest,
    ${fields.map(([p, n]) => `json_format(json_extract(j, '${p}')) AS x_${n}`).join(',\n    ')}
  FROM bronze_json
),
bronze_fields AS (
  SELECT object_path, dt, line, j, t_root,
    substr(x_ingest, 1, 1) AS t_ingest,
    length(x_ingest) AS ingest_chars,
    ${ingestFields.map(([p, n]) => `json_format(json_extract(x_ingest, '${p}')) AS x_${n}`).join(',\n    ')},
    ${fields.map(([, n]) => f(n)).join(',\n    ')}
  FROM bronze_members
),
bronze_scalars AS (
  SELECT *, ${ingestFields.map(([, n]) => f(n)).join(',\n    ')}
  FROM bronze_fields
),
bronze_values AS (
  SELECT object_path, dt, line, j, t_root, t_ingest, t_event_id, s_event_id, t_type, s_type, t_category, s_category, t_position, t_quantity, t_price, t_rating,
    ${id('event_id')} AS v_event_id,
    ${id('user_id')} AS v_user_id,
    ${id('item_id')} AS v_item_id,
    ${id('session_id')} AS v_session_id,
    ${id('recommendation_id')} AS v_recommendation_id,
    t_session_id, t_recommendation_id, t_timestamp,
    (CASE WHEN ${isString('t_shard')} AND length(s_shard) BETWEEN 1 AND 128 AND NOT regexp_like(s_shard, ${lit(ID_OUTSIDE)}) THEN s_shard END) AS v_shard,
    (CASE WHEN ${isString('t_seq')} AND length(s_seq) >= 1 AND NOT regexp_like(s_seq, '[^0-9]') AND (length(s_seq) = 1 OR substr(s_seq, 1, 1) <> '0') THEN s_seq END) AS v_seq,
    (CASE WHEN ${isString('t_arrival')} AND regexp_like(s_arrival, ${lit(ARRIVAL_TIME)}) THEN ${isoMillis('s_arrival')} END) AS v_arrival_ms,
    substr(s_arrival, 1, 10) AS v_arrival_dt,
    ${timeMs} AS v_time_ms,
    ${num('rating')} AS v_rating,
    ${priceMinor} AS v_price_minor,
    (CASE WHEN t_quantity IS NULL THEN 1 WHEN ${wholeIn('quantity', 1, MAX_QUANTITY)} THEN CAST(${num('quantity')} AS BIGINT) END) AS v_quantity,
    (CASE WHEN ${wholeIn('position', 0, MAX_IMPRESSION_POSITION)} THEN CAST(${num('position')} AS BIGINT) END) AS v_position,
    (CASE WHEN ${isString('t_category')} AND length(s_category) BETWEEN 1 AND ${MAX_CATEGORY_LENGTH} AND NOT regexp_like(s_category, ${lit(CONTROL)}) THEN s_category END) AS v_category,
    json_size(j, '$') - (CASE WHEN t_ingest IS NULL THEN 0 ELSE 1 END) AS v_fields,
    (CASE WHEN regexp_like(line, '[^\\x00-\\x7F]') THEN (CASE WHEN length(line) <= ${MAX_EVENT_BYTES / 4} THEN 0 ELSE ${MAX_EVENT_BYTES + 1} END)
      ELSE length(line) - (CASE WHEN t_ingest IS NULL THEN 0 ELSE ingest_chars + 11 END) END) AS v_event_bytes,
    ingest_chars
  FROM bronze_scalars
),
bronze_checked AS (
  SELECT object_path, dt, line, kind, reason, raw_event_id,
    CASE WHEN kind IS NULL THEN v_shard END AS shard_id,
    CASE WHEN kind IS NULL THEN v_seq END AS sequence_number,
    CASE WHEN kind IS NULL THEN CAST(v_arrival_ms AS BIGINT) END AS arrival_ms,
    CASE WHEN kind IS NULL THEN v_arrival_dt END AS arrival_dt,
    CASE WHEN kind IS NULL THEN v_event_id END AS event_id,
    CASE WHEN kind IS NULL THEN s_type END AS event_type,
    CASE WHEN kind IS NULL THEN v_user_id END AS user_id,
    CASE WHEN kind IS NULL THEN v_item_id END AS item_id,
    CASE WHEN kind IS NULL THEN CAST(v_time_ms AS BIGINT) END AS event_time_ms,
    CASE WHEN kind IS NULL AND s_type = 'rating' THEN v_rating END AS rating,
    CASE WHEN kind IS NULL AND ${oneOf('s_type', MONEY_TYPES)} AND v_price_minor IS NOT NULL THEN CAST(v_price_minor AS DOUBLE) / ${MINOR_PER_MAJOR} END AS price,
    CASE WHEN kind IS NULL AND ${oneOf('s_type', MONEY_TYPES)} THEN CAST(v_quantity AS INTEGER) END AS quantity,
    CASE WHEN kind IS NULL THEN v_category END AS category,
    CASE WHEN kind IS NULL THEN v_session_id END AS session_id,
    CASE WHEN kind IS NULL THEN v_recommendation_id END AS recommendation_id,
    CASE WHEN kind IS NULL AND s_type = 'impression' THEN CAST(v_position AS INTEGER) END AS position
  FROM (
    SELECT *,
      CASE WHEN reason IS NULL THEN NULL
        WHEN reason = 'not valid JSON' THEN 'json'
        WHEN reason = '_ingest {shardId, sequenceNumber, arrivalTime} is missing or malformed' THEN 'ingest'
        WHEN v_time_ms IS NOT NULL AND v_time_ms > v_arrival_ms + ${skew} THEN 'after-arrival'
        ELSE 'contract' END AS kind
    FROM (
      SELECT *,
        CASE WHEN ${isString('t_event_id')} THEN substr(s_event_id, 1, 200) END AS raw_event_id,
        CASE
          WHEN j IS NULL THEN 'not valid JSON'
          WHEN t_root <> '{' OR t_ingest IS DISTINCT FROM '{' OR v_shard IS NULL OR v_seq IS NULL OR v_arrival_ms IS NULL
            THEN '_ingest {shardId, sequenceNumber, arrivalTime} is missing or malformed'
          WHEN v_fields > ${MAX_EVENT_FIELDS} THEN 'event has more than ${MAX_EVENT_FIELDS} fields (MAX_EVENT_FIELDS)'
          WHEN NOT regexp_like(line, ${lit(nestedAtMost(MAX_EVENT_DEPTH))}) THEN 'nests deeper than ${MAX_EVENT_DEPTH} levels (MAX_EVENT_DEPTH)'
          WHEN v_event_bytes > ${MAX_EVENT_BYTES} OR ingest_chars > ${MAX_EVENT_BYTES - 10} THEN 'event is larger than ${MAX_EVENT_BYTES} bytes of UTF-8 (MAX_EVENT_BYTES)'
          WHEN regexp_like(line, ${lit(outside('(?:[0-9][eE][+-]?[0-9]{3}|[0-9]{309})'))})
            OR (length(line) > 2730 AND regexp_like(line, ${lit(outside('[0-9][eE]'))})) THEN 'has a number the event contract cannot hold exactly (exponent form)'
          WHEN regexp_like(line, ${lit(DUPLICATE_KEY)}) THEN 'names a field of the event contract twice'
          WHEN NOT ${isString('t_type')} OR NOT ${oneOf('s_type', EVENT_TYPES)} THEN 'type must be one of ${EVENT_TYPES.join(', ')}'
          WHEN v_event_id IS NULL THEN 'eventId must be an id'
          WHEN v_user_id IS NULL THEN 'userId must be an id'
          WHEN v_item_id IS NULL THEN 'itemId must be an id'
          WHEN t_session_id IS NOT NULL AND v_session_id IS NULL THEN 'sessionId must be an id'
          WHEN t_recommendation_id IS NOT NULL AND v_recommendation_id IS NULL THEN 'recommendationId must be an id'
          WHEN t_category IS NOT NULL AND v_category IS NULL THEN 'category must be 1-${MAX_CATEGORY_LENGTH} characters, no control characters'
          WHEN v_time_ms IS NULL THEN 'timestamp must be an ISO-8601 date-time or epoch seconds/milliseconds'
          WHEN NOT (v_time_ms >= ${floor}) THEN 'timestamp is before EVENT_TIME_FLOOR'
          WHEN NOT (v_time_ms <= v_arrival_ms + ${skew}) THEN 'timestamp is after its arrival plus EVENT_MAX_FUTURE_SKEW_SECONDS'
          WHEN s_type = 'rating' AND NOT (v_rating BETWEEN ${MIN_RATING} AND ${MAX_RATING}) THEN 'rating must be between ${MIN_RATING} and ${MAX_RATING}'
          WHEN s_type = 'rating' AND v_rating IS NULL THEN 'rating must be between ${MIN_RATING} and ${MAX_RATING}'
          WHEN s_type = 'impression' AND t_position IS NOT NULL AND v_position IS NULL THEN 'position must be a whole number between 0 and ${MAX_IMPRESSION_POSITION}'
          WHEN ${oneOf('s_type', MONEY_TYPES)} AND v_quantity IS NULL THEN 'quantity must be a whole number between 1 and ${MAX_QUANTITY}'
          WHEN s_type = 'purchase' AND t_price IS NULL THEN 'price is required for purchase events'
          WHEN ${oneOf('s_type', MONEY_TYPES)} AND t_price IS NOT NULL AND v_price_minor IS NULL THEN 'price must be 0..${MAX_PRICE} with at most 2 decimals'
          WHEN ${oneOf('s_type', MONEY_TYPES)} AND v_price_minor * v_quantity > ${MAX_LINE_TOTAL_MINOR} THEN 'price × quantity must be at most MAX_LINE_TOTAL'
          ELSE NULL END AS reason
      FROM bronze_values
    ) judged
  ) kinded
)`;
}

/** The lake key of a `"$path"` value (`s3://<bucket>/<key>`). */
export const OBJECT_KEY = `regexp_extract(object_path, '\\As3://[^/]+/(.*)\\z', 1)`;

/**
 * The CTE `bronze_checked` of a query over the window's Bronze: parsed in the query (bronzeCtes), or read from the
 * run's CheckBronze output when `input.checkedRunId` is set (one parse of the window a night, not one per query).
 */
export function bronzeSource(input: BronzeQueryInput): string {
  if (input.checkedRunId === undefined) return bronzeCtes(input);
  sqlWindow(input.window);
  return `bronze_checked AS ${batchTableOf('checked_bronze', input.checkedRunId)}`;
}

/**
 * CheckBronze: bronze_checked of the window, every line once (valid or not), as the Parquet table `checked_bronze`
 * (BATCH_TABLES) that the validation and Silver queries read. Parsing and judging a line is the costly part of the
 * batch (about 25 µs a line on one DuckDB core, measured with bench:retrain); done once, it is paid once.
 */
export function checkedBronzeSelect(input: BronzeQueryInput): string {
  return `WITH ${bronzeCtes({ window: input.window, contract: input.contract })}
SELECT ${BATCH_TABLES.checked_bronze.map(([c, t]) => `CAST(${c} AS ${t}) AS ${c}`).join(', ')}
FROM bronze_checked`;
}
