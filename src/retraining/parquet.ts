import { PassThrough } from 'node:stream';
import './parquet-globals';
import parquet, { type ParquetFieldDefinition } from 'parquetjs-lite';
import { parquetMetadata, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { installFastShredder } from './parquet-fast-shred';

export type ParquetColumns = Record<string, ParquetFieldDefinition>;

const ROW_GROUP_SIZE = 20_000;

// Silver's schemas are flat: shred rows 4× faster, byte-identical (see parquet-fast-shred.ts).
installFastShredder();

/**
 * Writes rows to a Parquet file in memory (parquetjs-lite, SNAPPY). Times are stored as INT64 epoch
 * milliseconds: parquetjs-lite cannot read its own TIMESTAMP_MILLIS columns back.
 */
export async function writeParquet(columns: ParquetColumns, rows: Iterable<Record<string, unknown>>): Promise<Uint8Array> {
  const schema = new parquet.ParquetSchema(Object.fromEntries(Object.entries(columns).map(([k, v]) => [k, { compression: 'SNAPPY', ...v }])));
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    out.on('error', reject);
  });
  const writer = await parquet.ParquetWriter.openStream(schema, out, { rowGroupSize: ROW_GROUP_SIZE });
  for (const row of rows) await writer.appendRow(row);
  await writer.close();
  await ended;
  return new Uint8Array(Buffer.concat(chunks));
}

export type ParquetValue = string | number | bigint | boolean | null;

/** Reads every row of a Parquet file (hyparquet); INT64 values come back as bigint. */
export async function readParquet(bytes: Uint8Array): Promise<Record<string, ParquetValue>[]> {
  const file = toArrayBuffer(bytes);
  return (await parquetReadObjects({ file })) as Record<string, ParquetValue>[];
}

/** Column names and physical types, as a reader sees them. */
export function parquetColumns(bytes: Uint8Array): { name: string; type: string | undefined; optional: boolean }[] {
  const meta = parquetMetadata(toArrayBuffer(bytes));
  return meta.schema.slice(1).map((s) => ({ name: s.name, type: s.type, optional: s.repetition_type === 'OPTIONAL' }));
}

export function parquetRowCount(bytes: Uint8Array): number {
  return Number(parquetMetadata(toArrayBuffer(bytes)).num_rows);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** The row count of a Parquet file read from its footer only (`range` fetches bytes start..end, end exclusive). */
export async function parquetRowCountOf(size: number, range: (start: number, end: number) => Promise<Uint8Array>): Promise<number> {
  if (size === 0) return 0;
  const file = { byteLength: size, slice: async (start: number, end?: number) => toArrayBuffer(await range(start, end ?? size)) };
  return Number((await parquetMetadataAsync(file)).num_rows);
}
