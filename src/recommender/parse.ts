import type { Interaction, ItemMeta } from './types';

/** MovieLens u.genre order: the 19 flags at the end of each u.item line. */
export const MOVIELENS_GENRES = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
] as const;

/** Ids must be non-empty and free of whitespace (they travel in URLs, CSV and the artifact's id lists). */
const ID_RE = /^[^\s]{1,256}$/;

/** Error thrown for malformed input files; the message names the file and line. */
export class InputFileError extends Error {
  constructor(readonly fileName: string, readonly line: number, reason: string) {
    super(`${fileName}:${line}: ${reason}`);
    this.name = 'InputFileError';
  }
}

type RatingsFormat = { kind: 'tab' } | { kind: 'colons' } | { kind: 'csv'; columns: [number, number, number, number] };

const USER_COLUMNS = ['userid', 'user_id', 'user'];
const ITEM_COLUMNS = ['itemid', 'item_id', 'item', 'movieid', 'movie_id'];
const RATING_COLUMNS = ['rating', 'score'];
const TIME_COLUMNS = ['timestamp', 'time', 'ts'];

function detectRatingsFormat(firstLine: string, fileName: string): RatingsFormat {
  if (firstLine.includes('\t')) return { kind: 'tab' };
  if (firstLine.includes('::')) return { kind: 'colons' };
  if (firstLine.includes(',')) {
    const header = splitCsvLine(firstLine).map((h) => h.trim().toLowerCase());
    const find = (names: string[]) => header.findIndex((h) => names.includes(h));
    const cols = [find(USER_COLUMNS), find(ITEM_COLUMNS), find(RATING_COLUMNS), find(TIME_COLUMNS)];
    if (cols.some((c) => c < 0)) {
      throw new InputFileError(fileName, 1, `CSV ratings need a header with userId,itemId,rating,timestamp (got "${firstLine.slice(0, 80)}")`);
    }
    return { kind: 'csv', columns: cols as [number, number, number, number] };
  }
  throw new InputFileError(
    fileName,
    1,
    'unrecognised ratings format: expected MovieLens u.data (tab-separated), ratings.dat (::-separated) or CSV with a userId,itemId,rating,timestamp header',
  );
}

/** Epoch numbers below 1e11 are seconds (MovieLens), larger ones milliseconds; ISO-8601 strings are parsed. */
function parseTimestamp(raw: string): number {
  const s = raw.trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const v = Number(s);
    return Math.abs(v) < 1e11 ? v * 1000 : v;
  }
  return s === '' ? NaN : Date.parse(s);
}

/**
 * Parses a ratings file, auto-detecting MovieLens u.data (tab), ratings.dat (`::`) or CSV with a header
 * naming userId, itemId (or movieId), rating and timestamp. Throws an InputFileError naming the line on
 * the first malformed one. Timestamps come back as epoch milliseconds.
 */
export function parseRatingsFile(text: string, fileName = 'ratings'): Interaction[] {
  const lines = text.split('\n');
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first === lines.length) throw new InputFileError(fileName, 1, 'file is empty');
  const format = detectRatingsFormat(lines[first].replace(/\r$/, ''), fileName);
  const out: Interaction[] = [];
  // Interned ids: millions of interactions share a few thousand id strings.
  const ids = new Map<string, string>();
  const intern = (s: string) => {
    const hit = ids.get(s);
    if (hit !== undefined) return hit;
    ids.set(s, s);
    return s;
  };
  const start = format.kind === 'csv' ? first + 1 : first;
  for (let l = start; l < lines.length; l++) {
    let line = lines[l];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') continue;
    let fields: string[];
    let cols: [number, number, number, number] = [0, 1, 2, 3];
    if (format.kind === 'tab') fields = line.split('\t');
    else if (format.kind === 'colons') fields = line.split('::');
    else {
      fields = line.includes('"') ? splitCsvLine(line) : line.split(',');
      cols = format.columns;
    }
    const lineNo = l + 1;
    const need = format.kind === 'csv' ? Math.max(...cols) + 1 : 4;
    if (fields.length < need || (format.kind !== 'csv' && fields.length > 4)) {
      const sep = format.kind === 'tab' ? 'tab' : format.kind === 'colons' ? '::' : 'comma';
      throw new InputFileError(fileName, lineNo, `expected ${need} ${sep}-separated fields (user, item, rating, timestamp), got ${fields.length}`);
    }
    const userId = fields[cols[0]].trim();
    const itemId = fields[cols[1]].trim();
    if (!ID_RE.test(userId)) throw new InputFileError(fileName, lineNo, `invalid user id "${userId.slice(0, 40)}"`);
    if (!ID_RE.test(itemId)) throw new InputFileError(fileName, lineNo, `invalid item id "${itemId.slice(0, 40)}"`);
    const ratingText = fields[cols[2]].trim();
    const rating = ratingText === '' ? NaN : Number(ratingText);
    if (!Number.isFinite(rating)) throw new InputFileError(fileName, lineNo, `rating "${ratingText.slice(0, 40)}" is not a number`);
    const timestamp = parseTimestamp(fields[cols[3]]);
    if (!Number.isFinite(timestamp)) {
      throw new InputFileError(fileName, lineNo, `timestamp "${fields[cols[3]].trim().slice(0, 40)}" is not an epoch number or ISO-8601 date`);
    }
    out.push({ userId: intern(userId), itemId: intern(itemId), rating, timestamp });
  }
  if (out.length === 0) throw new InputFileError(fileName, lines.length, 'no ratings found');
  return out;
}

/**
 * Parses item metadata: MovieLens u.item (`|`-separated, 19 genre flags), movies.dat
 * (`id::title::Genre|Genre`) or CSV `itemId,title,genres` with a header (genres `|`-separated).
 */
export function parseItemsFile(text: string, fileName = 'items'): ItemMeta[] {
  const lines = text.split('\n');
  let first = 0;
  while (first < lines.length && lines[first].trim() === '') first++;
  if (first === lines.length) throw new InputFileError(fileName, 1, 'file is empty');
  const head = lines[first].replace(/\r$/, '');
  const out: ItemMeta[] = [];
  if (head.includes('::')) {
    for (let l = first; l < lines.length; l++) {
      const line = lines[l].replace(/\r$/, '');
      if (line.trim() === '') continue;
      const f = line.split('::');
      if (f.length !== 3) throw new InputFileError(fileName, l + 1, `expected 3 ::-separated fields (id, title, genres), got ${f.length}`);
      out.push(item(f[0], f[1], f[2].split('|'), fileName, l + 1));
    }
    return out;
  }
  if (head.split('|').length >= 6) {
    for (let l = first; l < lines.length; l++) {
      const line = lines[l].replace(/\r$/, '');
      if (line.trim() === '') continue;
      const f = line.split('|');
      if (f.length !== 5 + MOVIELENS_GENRES.length) {
        throw new InputFileError(fileName, l + 1, `expected ${5 + MOVIELENS_GENRES.length} |-separated fields (MovieLens u.item), got ${f.length}`);
      }
      const genres: string[] = [];
      for (let g = 0; g < MOVIELENS_GENRES.length; g++) {
        const flag = f[5 + g].trim();
        if (flag !== '0' && flag !== '1') throw new InputFileError(fileName, l + 1, `genre flag ${g + 1} must be 0 or 1 (got "${flag.slice(0, 10)}")`);
        if (flag === '1') genres.push(MOVIELENS_GENRES[g]);
      }
      out.push(item(f[0], f[1], genres, fileName, l + 1));
    }
    return out;
  }
  if (head.includes(',')) {
    const header = splitCsvLine(head).map((h) => h.trim().toLowerCase());
    const idCol = header.findIndex((h) => ITEM_COLUMNS.includes(h));
    const titleCol = header.indexOf('title');
    const genreCol = header.findIndex((h) => h === 'genres' || h === 'genre' || h === 'categories' || h === 'category');
    if (idCol < 0 || genreCol < 0) throw new InputFileError(fileName, first + 1, `CSV items need a header with itemId,title,genres (got "${head.slice(0, 80)}")`);
    for (let l = first + 1; l < lines.length; l++) {
      const line = lines[l].replace(/\r$/, '');
      if (line.trim() === '') continue;
      const f = splitCsvLine(line, fileName, l + 1);
      const need = Math.max(idCol, titleCol, genreCol) + 1;
      if (f.length < need) throw new InputFileError(fileName, l + 1, `expected ${need} comma-separated fields, got ${f.length}`);
      const genres = f[genreCol].split('|').filter((g) => g !== '' && g !== '(no genres listed)');
      out.push(item(f[idCol], titleCol >= 0 ? f[titleCol] : '', genres, fileName, l + 1));
    }
    return out;
  }
  throw new InputFileError(fileName, first + 1, 'unrecognised items format: expected MovieLens u.item, movies.dat or CSV itemId,title,genres');
}

function item(rawId: string, rawTitle: string, genres: string[], fileName: string, line: number): ItemMeta {
  const itemId = rawId.trim();
  if (!ID_RE.test(itemId)) throw new InputFileError(fileName, line, `invalid item id "${itemId.slice(0, 40)}"`);
  const meta: ItemMeta = { itemId, genres: genres.map((g) => g.trim()).filter((g) => g !== '') };
  const title = rawTitle.trim();
  if (title) meta.title = title;
  return meta;
}

/** Splits one CSV line, honouring double quotes ("" is an escaped quote). */
function splitCsvLine(line: string, fileName?: string, lineNo?: number): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"') {
        if (line[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  if (quoted && fileName) throw new InputFileError(fileName, lineNo ?? 0, 'unterminated quoted field');
  out.push(field);
  return out;
}
