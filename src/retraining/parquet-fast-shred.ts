import shred from 'parquetjs-lite/lib/shred';
import types from 'parquetjs-lite/lib/types';

/**
 * parquetjs-lite shreds every row through its general Dremel path (nested and repeated fields) and copies
 * it twice; for flat schemas like Silver's that is most of the write time. This replaces `shredRecord`
 * with a flat-schema fast path that fills the writer's buffer exactly as the original does (same levels,
 * values, statistics: the files are byte-identical, a test checks it) and defers to the original for any
 * nested or repeated schema.
 */
interface Field {
  name: string;
  path: string[];
  repetitionType: 'REQUIRED' | 'OPTIONAL' | 'REPEATED';
  isNested?: boolean;
  dLevelMax: number;
  originalType?: string;
  primitiveType?: string;
}
interface Column {
  dlevels: number[];
  rlevels: number[];
  values: unknown[];
  distinct_values: Set<unknown>;
  count: number;
}
interface Buffer {
  rowCount?: number;
  pageRowCount?: number;
  columnData?: Record<string, Column>;
  pages?: Record<string, unknown[]>;
}
type Shred = (schema: { fieldList: Field[] }, record: Record<string, unknown>, buffer: Buffer) => void;

const original = shred.shredRecord as Shred;
let fast: Shred | undefined;

/** Installs the fast path (idempotent); `false` puts parquetjs-lite's own shredder back. */
export function setFastShredder(enabled: boolean): void {
  fast ??= flatShredder();
  shred.shredRecord = (enabled ? fast : original) as typeof shred.shredRecord;
}

export function installFastShredder(): void {
  if (fast === undefined) setFastShredder(true);
}

function flatShredder(): Shred {
  const flat = new WeakMap<object, boolean>();
  return (schema, record, buffer) => {
    let isFlat = flat.get(schema);
    if (isFlat === undefined) {
      isFlat = schema.fieldList.every((f) => !f.isNested && f.repetitionType !== 'REPEATED' && f.path.length === 1);
      flat.set(schema, isFlat);
    }
    if (!isFlat) return original(schema, record, buffer);
    const fields = schema.fieldList;
    for (const f of fields) {
      const v = record[f.name];
      if ((v === undefined || v === null) && f.repetitionType === 'REQUIRED') throw 'missing required field: ' + f.name;
      if (v !== undefined && v !== null && (v as object).constructor === Array) return original(schema, record, buffer);
    }
    if (!buffer.columnData || buffer.rowCount === undefined) {
      buffer.rowCount = 0;
      buffer.pageRowCount = 0;
      buffer.columnData = {};
      buffer.pages = {};
      for (const f of fields) {
        buffer.columnData[String(f.path)] = { dlevels: [], rlevels: [], values: [], distinct_values: new Set(), count: 0 };
        buffer.pages[String(f.path)] = [];
      }
    }
    buffer.rowCount += 1;
    buffer.pageRowCount! += 1;
    for (const f of fields) {
      const column = buffer.columnData[String(f.path)]!;
      const v = record[f.name];
      column.rlevels.push(0);
      if (v === undefined || v === null) column.dlevels.push(0);
      else {
        column.dlevels.push(f.dLevelMax);
        column.distinct_values.add(v);
        column.values.push(types.toPrimitive(f.originalType ?? f.primitiveType, v));
      }
      column.count += 1;
    }
  };
}
