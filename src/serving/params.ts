import { ID_PATTERN } from '../domain/events';
import { HttpError } from './http';

export const DEFAULT_K = 10;
export const MAX_K = 100;

/**
 * The one convention for a bad query parameter, on every route (recommendations and analytics alike): throw
 * this, and the route answers 400 `{ error: { code: 'INVALID_PARAMETER', message: '<field> <message>', field } }`.
 */
export function invalidParameter(field: string, message: string): HttpError {
  return new HttpError(400, 'INVALID_PARAMETER', `${field} ${message}`, field);
}

/** `k`: an integer from 1 to MAX_K, DEFAULT_K when absent. Anything else is the client's mistake (400). */
export function parseK(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_K;
  if (!/^\d{1,4}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_K) {
    throw invalidParameter('k', `must be an integer from 1 to ${MAX_K} (got ${JSON.stringify(raw.slice(0, 20))})`);
  }
  return Number(raw);
}

/** An id the pipeline can have seen: the events' pattern, and no dot segment (no path games). */
export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value) && value !== '.' && value !== '..';
}

/**
 * A user or item id from the path: percent-decoded, then held to the same pattern events use, so an id the
 * API accepts is an id the pipeline can have seen. Dot segments are refused (no path games).
 */
export function parseId(name: string, raw: string | undefined): string {
  let value: string;
  try {
    value = decodeURIComponent(raw ?? '');
  } catch {
    throw new HttpError(400, 'INVALID_ID', `${name} is not valid percent-encoding`, name);
  }
  if (!isValidId(value)) {
    throw new HttpError(400, 'INVALID_ID', `${name} must be 1-128 characters of letters, digits or . _ : @ + = ~ - (got ${JSON.stringify(value.slice(0, 40))})`, name);
  }
  return value;
}
