/**
 * Whether DynamoDB (through the document client's marshaller) can hold a row, decided without a request:
 * a consumer checks each row it folds, so a record whose addition would make its row unstorable is set aside
 * instead of failing the row, its neighbours and every retry.
 */

/** DynamoDB's item size limit is 400 KB; rows are kept below this estimate, with a margin. */
export const MAX_STORABLE_ROW_BYTES = 380_000;
/** DynamoDB nests maps and lists at most 32 levels deep. */
const MAX_DEPTH = 32;
/** DynamoDB numbers: magnitudes from 1e-130 to below 1e126; the marshaller refuses beyond ±2^53 - 1. */
const MIN_MAGNITUDE = 1e-130;

/** Why the row cannot be stored (naming the attribute at fault), or undefined when it can. */
export function unstorableReason(row: unknown, maxBytes = MAX_STORABLE_ROW_BYTES): string | undefined {
  return inspectRow(row, maxBytes).problem;
}

/** The row's estimated DynamoDB item size in bytes (attribute names and values; numbers counted as 21). */
export function estimatedRowBytes(row: unknown): number {
  return inspectRow(row, Infinity).bytes;
}

function inspectRow(row: unknown, maxBytes: number): { bytes: number; problem?: string } {
  let problem: string | undefined;
  const size = (value: unknown, path: string, depth: number): number => {
    if (problem) return 0;
    if (depth > MAX_DEPTH) {
      problem = `${path} is nested more than ${MAX_DEPTH} levels deep`;
      return 0;
    }
    switch (typeof value) {
      case 'undefined':
        return 0;
      case 'string':
        return Buffer.byteLength(value, 'utf8');
      case 'boolean':
        return 1;
      case 'bigint':
        return 21;
      case 'number': {
        if (!Number.isFinite(value)) problem = `${path} is ${value}, which DynamoDB cannot store`;
        else if (Math.abs(value) > Number.MAX_SAFE_INTEGER) problem = `${path} is ${value}, beyond ±${Number.MAX_SAFE_INTEGER} (the largest number stored exactly)`;
        else if (value !== 0 && Math.abs(value) < MIN_MAGNITUDE) problem = `${path} is ${value}, below DynamoDB's smallest number`;
        return 21;
      }
      case 'object': {
        if (value === null) return 1;
        if (value instanceof Uint8Array) return value.byteLength;
        if (Array.isArray(value)) {
          let n = 3;
          value.forEach((v, i) => (n += 1 + size(v, `${path}[${i}]`, depth + 1)));
          return n;
        }
        let n = 3;
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
          if (v === undefined) continue;
          n += 1 + Buffer.byteLength(k, 'utf8') + size(v, path ? `${path}.${k}` : k, depth + 1);
        }
        return n;
      }
      default:
        problem = `${path} is a ${typeof value}, which DynamoDB cannot store`;
        return 0;
    }
  };
  const bytes = size(row, '', 0);
  if (problem) return { bytes, problem };
  if (bytes > maxBytes) return { bytes, problem: `row is about ${bytes} bytes, over the ${maxBytes}-byte limit kept below DynamoDB's 400 KB` };
  return { bytes };
}
