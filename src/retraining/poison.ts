import { MAX_LINE_TOTAL, MAX_PRICE, MAX_QUANTITY, MAX_RATING, MIN_RATING } from '../domain/events';
import type { ParquetColumns } from './parquet';
import { INTERACTION_COLUMNS, type SilverInteraction } from './silver';

/**
 * Rows derived from client data that no store can hold are set aside, counted and reported, never allowed
 * to fail the step (or their neighbours). These checks are pure, so they give the same answer on every
 * attempt: a row they refuse would be refused again by a retry.
 */

/** What a step set aside: how many rows, why (by reason), and a few examples. */
export interface SetAside {
  count: number;
  /** Rows per reason class, e.g. `{"exact feature row: number beyond 2^53": 2}`. */
  reasons: Record<string, number>;
  samples: { where: string; id: string; reason: string }[];
}

export const SET_ASIDE_SAMPLES = 5;

export function emptySetAside(): SetAside {
  return { count: 0, reasons: {}, samples: [] };
}

/** Collects set-aside rows for a step's result. */
export class SetAsideLog {
  private readonly state = emptySetAside();

  add(where: string, id: string, reason: string): void {
    this.state.count += 1;
    const kind = `${where}: ${reasonClass(reason)}`;
    this.state.reasons[kind] = (this.state.reasons[kind] ?? 0) + 1;
    if (this.state.samples.length < SET_ASIDE_SAMPLES) this.state.samples.push({ where, id, reason: reason.slice(0, 300) });
  }

  merge(other: SetAside): void {
    this.state.count += other.count;
    for (const [k, v] of Object.entries(other.reasons)) this.state.reasons[k] = (this.state.reasons[k] ?? 0) + v;
    for (const s of other.samples) if (this.state.samples.length < SET_ASIDE_SAMPLES) this.state.samples.push(s);
  }

  get count(): number {
    return this.state.count;
  }

  summary(): SetAside {
    return { count: this.state.count, reasons: { ...this.state.reasons }, samples: [...this.state.samples] };
  }
}

/** The reason without the numbers and ids in it, so equal problems group together. */
function reasonClass(reason: string): string {
  return reason
    .replace(/"[^"]*"/g, '"…"')
    .replace(/-?\d[\d.,e+]*/gi, 'N')
    .slice(0, 120);
}

/** One line for a report: `3 rows set aside (2 × exact feature row: …); e.g. U#u1: …`. */
export function describeSetAside(s: SetAside | undefined): string {
  if (!s || s.count === 0) return '';
  const reasons = Object.entries(s.reasons).map(([r, n]) => `${n} × ${r}`).join('; ');
  const first = s.samples[0];
  return `${s.count.toLocaleString('en-US')} row${s.count === 1 ? '' : 's'} set aside (${reasons})${first ? `; e.g. ${first.where} ${first.id}: ${first.reason}` : ''}`;
}

const columnEntries = new WeakMap<ParquetColumns, [string, ParquetColumns[string]][]>();
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Largest string value a Silver/feature Parquet column takes from client data (bytes). */
export const MAX_PARQUET_STRING_BYTES = 64 * 1024;

/**
 * Why `row` cannot be written to a Parquet file of `columns`, or undefined: required columns present,
 * integers within their physical type (INT64 through parquetjs-lite: 53 bits), doubles finite, strings
 * bounded. parquetjs-lite would otherwise throw (or silently wrap) for the whole file.
 */
export function parquetRowProblem(columns: ParquetColumns, row: Record<string, unknown>): string | undefined {
  let entries = columnEntries.get(columns);
  if (!entries) columnEntries.set(columns, (entries = Object.entries(columns)));
  for (const [name, def] of entries) {
    const v = row[name];
    if (v === undefined || v === null) {
      if (!def.optional) return `column ${name} is required but missing`;
      continue;
    }
    switch (def.type as string) {
      case 'INT32':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) return `column ${name} (INT32) cannot hold ${show(v)}`;
        break;
      case 'INT64':
        if (typeof v === 'bigint') {
          if (v < INT64_MIN || v > INT64_MAX) return `column ${name} (INT64) cannot hold ${show(v)}`;
        } else if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `column ${name} (INT64) cannot hold ${show(v)} (integers up to 2^53)`;
        break;
      case 'DOUBLE':
      case 'FLOAT':
        if (typeof v !== 'number' || !Number.isFinite(v)) return `column ${name} (${def.type}) cannot hold ${show(v)} (finite numbers only)`;
        break;
      case 'UTF8':
      case 'BYTE_ARRAY':
        if (typeof v !== 'string') return `column ${name} (${def.type}) cannot hold ${show(v)}`;
        if (Buffer.byteLength(v, 'utf8') > MAX_PARQUET_STRING_BYTES) return `column ${name} is ${Buffer.byteLength(v, 'utf8')} bytes (max ${MAX_PARQUET_STRING_BYTES})`;
        break;
      case 'BOOLEAN':
        if (typeof v !== 'boolean') return `column ${name} (BOOLEAN) cannot hold ${show(v)}`;
        break;
      default:
        break;
    }
  }
  return undefined;
}

function show(v: unknown): string {
  if (typeof v === 'string') return `a string of ${v.length} characters`;
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

/** Ids the model artifact stores one a line (see src/recommender/serialize.ts). */
const LINE_BREAK = /[\n\r]/;

/**
 * Why a Silver interaction cannot be used by the nightly steps, or undefined. One rule for Silver
 * writing, the features, training and evaluation, so every step sees the same history: the row fits the
 * Silver Parquet schema, its totals (price × quantity) are finite and exact (within 2^53, what the
 * feature rows and DynamoDB hold), and its ids fit the model artifact.
 */
export function interactionProblem(row: SilverInteraction): string | undefined {
  // Null columns count as missing, so the row is checked as is (no copy per row of the whole history).
  const parquet = parquetRowProblem(INTERACTION_COLUMNS, row as unknown as Record<string, unknown>);
  if (parquet) return parquet;
  if (row.rating !== null && row.rating !== undefined && !(row.rating >= MIN_RATING && row.rating <= MAX_RATING)) return `rating ${row.rating} is outside the event contract (${MIN_RATING}..${MAX_RATING})`;
  if (row.quantity !== null && row.quantity !== undefined && !(row.quantity >= 1 && row.quantity <= MAX_QUANTITY)) return `quantity ${row.quantity} is outside the event contract (1..${MAX_QUANTITY})`;
  if (row.price !== null && row.price !== undefined) {
    const quantity = row.quantity ?? 1;
    const total = row.price * quantity;
    if (!Number.isFinite(total) || Math.abs(total) > Number.MAX_SAFE_INTEGER) {
      return `price × quantity = ${row.price} × ${quantity} = ${total} cannot be stored exactly (beyond ±2^53 − 1)`;
    }
    // Rows written before the contract bounded money (or written around it): the features' sums rely on it.
    if (!(row.price >= 0 && row.price <= MAX_PRICE)) return `price ${row.price} is outside the event contract (0..${MAX_PRICE})`;
    if (!(total <= MAX_LINE_TOTAL)) return `price × quantity = ${total} is beyond the event contract's line total (${MAX_LINE_TOTAL})`;
  }
  if (LINE_BREAK.test(row.user_id) || LINE_BREAK.test(row.item_id)) return 'userId or itemId contains a line break, which the model artifact cannot store';
  if (row.user_id === '' || row.item_id === '') return 'userId or itemId is empty';
  return undefined;
}


/** The usable part of a Silver history, and what was set aside from it (`where` names the step's stage). */
export function usableInteractions<T extends SilverInteraction>(rows: readonly T[], log: SetAsideLog, where = 'Silver interaction'): T[] {
  const out: T[] = [];
  for (const row of rows) {
    const problem = interactionProblem(row);
    if (problem) log.add(where, row.event_id, problem);
    else out.push(row);
  }
  return out;
}
