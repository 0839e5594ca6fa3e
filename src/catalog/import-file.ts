import { isUtf8 } from 'node:buffer';
import { InputFileError, MOVIELENS_GENRES, parseItemsFile } from '../recommender/parse';
import type { CatalogWriter } from './catalog-store';
import { ATTRIBUTE_NAME_PATTERN, MAX_ITEM_ATTRIBUTES, MAX_ITEMS_PER_PUT, parseCatalogItem, RESERVED_ATTRIBUTE_NAMES, type AttributeValue, type CatalogItem } from './item';

/**
 * Catalogue files → validated items, for `npm run cli -- catalog import` and `npm start --item-metadata`:
 * MovieLens `u.item` (`|`-separated, 19 genre flags → category names), CSV with a header (RFC 4180 quoting) and
 * JSON lines (one item object a line). Every item goes through `parseCatalogItem`, the contract `PUT /items`
 * applies; a line that fails is rejected with its line number and the rest still import. Pure: no AWS SDK, no fs.
 */

export type CatalogFileFormat = 'uitem' | 'csv' | 'jsonl';
export const CATALOG_FILE_FORMATS: readonly CatalogFileFormat[] = ['uitem', 'csv', 'jsonl'];

/** Longest line (or CSV record) read, in characters: anything longer is refused without being parsed. */
export const MAX_CATALOG_LINE_LENGTH = 64 * 1024;
/** The standard CSV columns (matched case-insensitively); every other column is a custom attribute. */
export const CSV_STANDARD_COLUMNS = ['itemId', 'title', 'categories', 'price', 'available', 'createdAt'] as const;
/** Separator of the values in a CSV `categories` cell. */
export const CSV_CATEGORY_SEPARATOR = '|';

export interface CatalogRejection {
  /** 1-based line of the file (a CSV record's first line). */
  line: number;
  message: string;
}

export interface CatalogFileImport {
  format: CatalogFileFormat;
  /** Distinct by itemId, in order of first appearance; a repeated itemId takes the later line's values. */
  items: CatalogItem[];
  rejected: CatalogRejection[];
  /** Lines whose itemId an earlier line had already given (the later line won). */
  duplicates: number;
  /** Item lines read (blank lines and the CSV header not counted). */
  records: number;
}

/** A problem with the file as a whole (unknown format, unusable header, not UTF-8): nothing is imported. */
export class CatalogFileError extends Error {
  override name = 'CatalogFileError';
  constructor(readonly fileName: string, readonly line: number, reason: string) {
    super(`${fileName}${line > 0 ? `:${line}` : ''}: ${reason}`);
  }
}

/** The format a file name implies (`u.item`/`*.item`, `*.csv`, `*.jsonl`/`*.ndjson`), or undefined. */
export function formatOfFileName(fileName: string): CatalogFileFormat | undefined {
  const name = fileName.toLowerCase().split(/[\\/]/).pop() ?? '';
  if (name.endsWith('.item')) return 'uitem';
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  return undefined;
}

export interface ParseCatalogFileOptions {
  /** Explicit format; otherwise taken from `fileName`'s extension. */
  format?: CatalogFileFormat;
  /** For the messages and the format. */
  fileName?: string;
}

function resolveFormat(options: ParseCatalogFileOptions): CatalogFileFormat {
  const fileName = options.fileName ?? 'catalogue';
  if (options.format !== undefined) {
    if (!CATALOG_FILE_FORMATS.includes(options.format)) throw new CatalogFileError(fileName, 0, `unknown format ${JSON.stringify(String(options.format).slice(0, 20))}: use ${CATALOG_FILE_FORMATS.join(', ')}`);
    return options.format;
  }
  const format = formatOfFileName(fileName);
  if (!format) throw new CatalogFileError(fileName, 0, `cannot tell the format from the file name: name it *.item (MovieLens u.item), *.csv or *.jsonl, or give the format (${CATALOG_FILE_FORMATS.join(', ')})`);
  return format;
}

/**
 * A catalogue file's bytes, decoded and parsed: UTF-8 (a leading BOM is skipped); a `u.item` file that is not
 * valid UTF-8 is read as Latin-1, as MovieLens ships it. CSV and JSON lines must be UTF-8.
 */
export function parseCatalogBytes(bytes: Uint8Array, options: ParseCatalogFileOptions = {}): CatalogFileImport {
  const format = resolveFormat(options);
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let text: string;
  if (isUtf8(buffer)) text = buffer.toString('utf8');
  else if (format === 'uitem') text = buffer.toString('latin1');
  else throw new CatalogFileError(options.fileName ?? 'catalogue', 0, `is not valid UTF-8 (${format} files must be UTF-8)`);
  return parseCatalogFile(text, { ...options, format });
}

/** A catalogue file's text parsed into validated items and rejected lines. Throws `CatalogFileError` only for the file as a whole. */
export function parseCatalogFile(text: string, options: ParseCatalogFileOptions = {}): CatalogFileImport {
  const format = resolveFormat(options);
  const fileName = options.fileName ?? 'catalogue';
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const collector = new Collector(format);
  if (format === 'uitem') readUItem(body, collector);
  else if (format === 'jsonl') readJsonLines(body, collector);
  else readCsv(body, fileName, collector);
  return collector.result();
}

/** Items by id (later line wins), rejections, counts. */
class Collector {
  private readonly byId = new Map<string, CatalogItem>();
  private readonly rejected: CatalogRejection[] = [];
  private duplicates = 0;
  private records = 0;

  constructor(private readonly format: CatalogFileFormat) {}

  reject(line: number, message: string): void {
    this.records++;
    this.rejected.push({ line, message });
  }

  /** Validates one item-shaped input through the item contract. */
  offer(line: number, input: unknown): void {
    const parsed = parseCatalogItem(input);
    if (!parsed.ok) {
      this.reject(line, parsed.errors.slice(0, 5).map((e) => `${e.field}: ${e.message}`).join('; ') + (parsed.errors.length > 5 ? `; … ${parsed.errors.length - 5} more` : ''));
      return;
    }
    this.records++;
    if (this.byId.has(parsed.item.itemId)) this.duplicates++;
    this.byId.set(parsed.item.itemId, parsed.item);
  }

  result(): CatalogFileImport {
    return { format: this.format, items: [...this.byId.values()], rejected: this.rejected, duplicates: this.duplicates, records: this.records };
  }
}

/** Physical lines with their 1-based numbers, CR of CRLF removed, blank ones skipped. */
function* lines(text: string): Generator<{ line: number; text: string }> {
  let start = 0;
  let n = 0;
  while (start <= text.length) {
    const end = text.indexOf('\n', start);
    const stop = end === -1 ? text.length : end;
    n++;
    let line = text.slice(start, stop);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() !== '') yield { line: n, text: line };
    if (end === -1) break;
    start = end + 1;
  }
}

const tooLong = (length: number) => `line is ${length} characters long; at most ${MAX_CATALOG_LINE_LENGTH} are read`;

// --- MovieLens u.item -----------------------------------------------------------------------------------------

const UITEM_FIELDS = 5 + MOVIELENS_GENRES.length;
const PARSE_NAME = 'u.item';

/**
 * `id|title|release date|video release date|IMDb URL|19 genre flags`: each line is read by the recommender's
 * own u.item reader (`parseItemsFile`), so training from a file and importing it agree on titles and genres.
 */
function readUItem(text: string, out: Collector): void {
  for (const { line, text: row } of lines(text)) {
    if (row.length > MAX_CATALOG_LINE_LENGTH) {
      out.reject(line, tooLong(row.length));
      continue;
    }
    const fields = row.split('|').length;
    if (fields !== UITEM_FIELDS) {
      out.reject(line, `expected ${UITEM_FIELDS} |-separated fields (MovieLens u.item: id, title, dates, URL, ${MOVIELENS_GENRES.length} genre flags), got ${fields}`);
      continue;
    }
    if (row.includes('::')) {
      // parseItemsFile would take a lone line holding `::` for movies.dat; the field count says it is u.item.
      out.reject(line, 'a u.item line must not contain "::"');
      continue;
    }
    let meta;
    try {
      meta = parseItemsFile(row, PARSE_NAME)[0];
    } catch (err) {
      const message = err instanceof InputFileError ? err.message.replace(`${PARSE_NAME}:1: `, '') : (err as Error).message;
      out.reject(line, message);
      continue;
    }
    if (!meta) continue;
    out.offer(line, { itemId: meta.itemId, ...(meta.title !== undefined ? { title: meta.title } : {}), categories: meta.genres });
  }
}

// --- JSON lines -----------------------------------------------------------------------------------------------

function readJsonLines(text: string, out: Collector): void {
  for (const { line, text: row } of lines(text)) {
    if (row.length > MAX_CATALOG_LINE_LENGTH) {
      out.reject(line, tooLong(row.length));
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch (err) {
      out.reject(line, `not valid JSON (${(err as Error).message.slice(0, 120)})`);
      continue;
    }
    out.offer(line, value);
  }
}

// --- CSV ------------------------------------------------------------------------------------------------------

type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

/**
 * An RFC 4180 reader: fields separated by `,`, records by CRLF or LF; a field in double quotes may hold commas,
 * line breaks and `""` (one quote). A quote inside an unquoted field is kept as text; text after a closing quote
 * and an unterminated quote make the record an error (its first line), and reading goes on at the next line.
 */
export function* readCsvRecords(text: string): Generator<CsvRecord> {
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const startLine = line;
    const start = i;
    const fields: string[] = [];
    let field = '';
    let error: string | undefined;
    let ended = false;
    while (!ended) {
      if (i - start > MAX_CATALOG_LINE_LENGTH) {
        error = `record is longer than ${MAX_CATALOG_LINE_LENGTH} characters`;
        break;
      }
      if (i >= n) {
        fields.push(field);
        ended = true;
        break;
      }
      const c = text[i]!;
      if (c === '"' && field === '' ) {
        // A quoted field.
        i++;
        let closed = false;
        while (i < n) {
          if (i - start > MAX_CATALOG_LINE_LENGTH) break;
          const q = text[i]!;
          if (q === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (q === '\n') line++;
          field += q;
          i++;
        }
        if (!closed) {
          error = i - start > MAX_CATALOG_LINE_LENGTH ? `record is longer than ${MAX_CATALOG_LINE_LENGTH} characters` : `unterminated quoted field (opened on line ${startLine})`;
          break;
        }
        const next = text[i];
        if (next !== undefined && next !== ',' && next !== '\n' && !(next === '\r' && text[i + 1] === '\n') && next !== '\r') {
          error = `unexpected ${JSON.stringify(next)} after a closing quote (a quote inside a quoted field is written "")`;
          break;
        }
        continue;
      }
      if (c === ',') {
        fields.push(field);
        field = '';
        i++;
      } else if (c === '\n' || c === '\r') {
        fields.push(field);
        i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
        line++;
        ended = true;
      } else {
        field += c;
        i++;
      }
    }
    if (error !== undefined) {
      // Skip to the end of the physical line the reader stopped on.
      while (i < n && text[i] !== '\n') i++;
      if (i < n) {
        i++;
        line++;
      }
      yield { line: startLine, error };
      continue;
    }
    if (fields.length === 1 && fields[0]!.trim() === '') continue; // a blank line
    yield { line: startLine, fields };
  }
}

const RESERVED = new Set(RESERVED_ATTRIBUTE_NAMES.map((r) => r.toLowerCase()));
type StandardColumn = (typeof CSV_STANDARD_COLUMNS)[number];

interface CsvLayout {
  width: number;
  standard: Partial<Record<StandardColumn, number>>;
  attributes: { name: string; index: number }[];
}

function csvLayout(header: string[], fileName: string, line: number): CsvLayout {
  const standard: Partial<Record<StandardColumn, number>> = {};
  const attributes: { name: string; index: number }[] = [];
  const seen = new Set<string>();
  header.forEach((raw, index) => {
    const name = raw.trim();
    const lower = name.toLowerCase();
    const shown = JSON.stringify(name.slice(0, 40));
    if (name === '') throw new CatalogFileError(fileName, line, `column ${index + 1} of the header has no name`);
    if (seen.has(lower)) throw new CatalogFileError(fileName, line, `column ${shown} appears twice in the header`);
    seen.add(lower);
    const std = CSV_STANDARD_COLUMNS.find((c) => c.toLowerCase() === lower);
    if (std) standard[std] = index;
    else if (!ATTRIBUTE_NAME_PATTERN.test(name)) throw new CatalogFileError(fileName, line, `column ${index + 1} ${shown} is not a valid attribute name (a letter, then letters, digits or _, at most 64)`);
    else if (RESERVED.has(lower)) throw new CatalogFileError(fileName, line, `column ${shown} is reserved (a standard field or a filter keyword) and cannot be a custom attribute`);
    else attributes.push({ name, index });
  });
  if (standard.itemId === undefined) throw new CatalogFileError(fileName, line, `the header needs an itemId column (columns: ${CSV_STANDARD_COLUMNS.join(',')}, then custom attributes)`);
  if (attributes.length > MAX_ITEM_ATTRIBUTES) throw new CatalogFileError(fileName, line, `${attributes.length} custom attribute columns; at most ${MAX_ITEM_ATTRIBUTES}`);
  return { width: header.length, standard, attributes };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A custom attribute cell: `true`/`false` (any case) → boolean, a decimal number → number, anything else a string. */
export function inferAttributeValue(cell: string): AttributeValue {
  const lower = cell.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (NUMBER.test(cell)) {
    const n = Number(cell);
    if (Number.isFinite(n)) return n;
  }
  return cell;
}

function availability(cell: string): boolean | string {
  const lower = cell.toLowerCase();
  if (lower === 'true' || lower === '1' || lower === 'yes') return true;
  if (lower === 'false' || lower === '0' || lower === 'no') return false;
  return cell; // refused by the item contract, naming the field
}

function readCsv(text: string, fileName: string, out: Collector): void {
  let layout: CsvLayout | undefined;
  for (const record of readCsvRecords(text)) {
    if (!layout) {
      if ('error' in record) throw new CatalogFileError(fileName, record.line, `the header is unreadable: ${record.error}`);
      layout = csvLayout(record.fields, fileName, record.line);
      continue;
    }
    if ('error' in record) {
      out.reject(record.line, record.error);
      continue;
    }
    const f = record.fields;
    if (f.length !== layout.width) {
      out.reject(record.line, `expected ${layout.width} comma-separated fields (as the header), got ${f.length}`);
      continue;
    }
    const cell = (c: StandardColumn) => {
      const index = layout!.standard[c];
      return index === undefined ? '' : f[index]!.trim();
    };
    const input: Record<string, unknown> = { itemId: cell('itemId') };
    if (cell('title') !== '') input.title = cell('title');
    const categories = cell('categories');
    input.categories = categories === '' ? [] : categories.split(CSV_CATEGORY_SEPARATOR).map((s) => s.trim()).filter((s) => s !== '');
    if (cell('price') !== '') input.price = cell('price');
    if (cell('available') !== '') input.available = availability(cell('available'));
    if (cell('createdAt') !== '') input.createdAt = cell('createdAt');
    const attributes: Record<string, AttributeValue> = Object.create(null);
    for (const { name, index } of layout.attributes) {
      const value = f[index]!.trim();
      if (value !== '') attributes[name] = inferAttributeValue(value);
    }
    input.attributes = attributes;
    out.offer(record.line, input);
  }
  if (!layout) throw new CatalogFileError(fileName, 1, 'is empty: a CSV catalogue starts with a header row (itemId,title,categories,price,available,createdAt, then custom attributes)');
}

// --- Writing ----------------------------------------------------------------------------------------------------

export interface CatalogWriteReport {
  written: number;
  failed: { itemId: string; reason: string }[];
}

export interface WriteCatalogOptions {
  /** Epoch ms stamped on every item (one import, one `updatedAt`). */
  nowMs: number;
  /** Items a `put` call takes; default and most `MAX_ITEMS_PER_PUT` (500), as `PUT /items`. */
  batchSize?: number;
  /** After each batch: items done so far (written or failed) of the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes items through a `CatalogWriter`, `batchSize` at a time, collecting per-item failures. A batch whose
 * `put` throws fails as a whole with the reason; when the very first batch throws (no table, no access) the rest
 * is not attempted, each item failed with that reason, instead of repeating the same error a thousand times.
 */
export async function writeCatalogItems(writer: CatalogWriter, items: readonly CatalogItem[], options: WriteCatalogOptions): Promise<CatalogWriteReport> {
  const size = Math.max(1, Math.min(MAX_ITEMS_PER_PUT, Math.floor(options.batchSize ?? MAX_ITEMS_PER_PUT)));
  const failed: CatalogWriteReport['failed'] = [];
  let written = 0;
  let anyWritten = false;
  for (let start = 0; start < items.length; start += size) {
    const batch = items.slice(start, start + size);
    try {
      const result = await writer.put(batch, options.nowMs);
      const bad = new Set(result.failed.map((f) => f.itemId));
      failed.push(...result.failed);
      written += batch.filter((i) => !bad.has(i.itemId)).length;
      anyWritten = true;
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err);
      if (!anyWritten) {
        for (const item of items.slice(start)) failed.push({ itemId: item.itemId, reason });
        options.onProgress?.(items.length, items.length);
        break;
      }
      for (const item of batch) failed.push({ itemId: item.itemId, reason });
    }
    options.onProgress?.(Math.min(items.length, start + size), items.length);
  }
  return { written, failed };
}
