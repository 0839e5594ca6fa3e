// Minimal typings for parquetjs-lite (it ships none): the writer API the Silver layer uses.
declare module 'parquetjs-lite' {
  import type { Writable } from 'node:stream';
  export interface ParquetFieldDefinition {
    type: 'UTF8' | 'INT32' | 'INT64' | 'DOUBLE' | 'BOOLEAN';
    optional?: boolean;
    compression?: 'UNCOMPRESSED' | 'SNAPPY' | 'GZIP';
  }
  export class ParquetSchema {
    constructor(fields: Record<string, ParquetFieldDefinition>);
  }
  export class ParquetWriter {
    static openStream(schema: ParquetSchema, stream: Writable, options?: { rowGroupSize?: number; pageSize?: number }): Promise<ParquetWriter>;
    appendRow(row: Record<string, unknown>): Promise<void>;
    close(): Promise<void>;
  }
  const parquet: { ParquetSchema: typeof ParquetSchema; ParquetWriter: typeof ParquetWriter };
  export default parquet;
}

// Internals the flat-schema fast path replaces (src/retraining/parquet-fast-shred.ts).
declare module 'parquetjs-lite/lib/shred' {
  const shred: { shredRecord: (schema: never, record: never, buffer: never) => void };
  export default shred;
}
declare module 'parquetjs-lite/lib/types' {
  const types: { toPrimitive(type: string | undefined, value: unknown): unknown };
  export default types;
}
