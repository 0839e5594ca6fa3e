/**
 * The erasure rewrite as pure functions over lines, rows and JSON values: which Bronze lines, Silver rows and
 * report strings belong to (or mention) an erased user. The nightly EraseUsers step streams the lake's objects
 * through them one at a time (src/retraining/erase-users.ts); the Athena engine can apply the same rules in SQL.
 *
 * Two ways an id is found:
 * - by field: a line's `userId` (string, or the number the contract also accepts), a row's `user_id`: exact
 *   equality, so `u1` never matches `u10`;
 * - by mention, in text that cannot be read by field (quarantined records, lines that are not JSON, reports): the
 *   id with no letter or digit right before or after it. That may also catch `u1.x` or `u1-b` for `u1` in such
 *   text: over-erasing a record that was refused anyway is the safe side; valid events are judged by field only.
 */

export type ErasedUsers = ReadonlySet<string>;

const ALNUM = /[A-Za-z0-9]/;

/** True when `id` occurs in `text` with no letter or digit on either side. */
export function mentionsId(text: string, id: string): boolean {
  if (id.length === 0) return false;
  for (let at = text.indexOf(id); at !== -1; at = text.indexOf(id, at + 1)) {
    const before = at > 0 ? text[at - 1]! : '';
    const after = text[at + id.length] ?? '';
    if (!ALNUM.test(before) && !ALNUM.test(after)) return true;
  }
  return false;
}

export function mentionsAny(text: string, users: ErasedUsers): boolean {
  for (const id of users) if (mentionsId(text, id)) return true;
  return false;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The event's user id by field: own `userId`, a string or a number as the contract accepts; undefined when none. */
function userIdField(value: unknown): string | undefined {
  if (!isRecord(value) || !Object.hasOwn(value, 'userId')) return undefined;
  const u = value.userId;
  return typeof u === 'string' ? u : typeof u === 'number' ? String(u) : undefined;
}

/**
 * A `bronze/events/` line belongs to an erased user: its `userId` is one of them. A line that is not a JSON object
 * with a user id (Bronze should hold none: the consumer quarantines those) is judged by mention.
 */
export function isErasedEventLine(line: string, users: ErasedUsers): boolean {
  if (line.trim() === '') return false;
  const userId = userIdField(parseJson(line));
  return userId !== undefined ? users.has(userId) : mentionsAny(line, users);
}

/**
 * A `bronze/_quarantine/` line holds a refused record: its text (`data`) or, when it was not UTF-8, its bytes
 * base64-encoded (`dataBase64`), plus the reason (which may quote a value). It belongs to an erased user when the
 * record parses to an object whose `userId` is one of them, or when the line, or the decoded record, mentions one.
 */
export function isErasedQuarantineLine(line: string, users: ErasedUsers): boolean {
  if (line.trim() === '') return false;
  if (mentionsAny(line, users)) return true;
  const parsed = parseJson(line);
  if (!isRecord(parsed)) return false;
  const records: string[] = [];
  if (typeof parsed.data === 'string') records.push(parsed.data);
  if (typeof parsed.dataBase64 === 'string') records.push(Buffer.from(parsed.dataBase64, 'base64').toString('utf8'));
  for (const record of records) {
    const userId = userIdField(parseJson(record));
    if (userId !== undefined && users.has(userId)) return true;
    if (mentionsAny(record, users)) return true;
  }
  return false;
}

export interface LinesRewrite {
  /** The object's new text: the lines kept, byte for byte, in order, with the same line ends. */
  text: string;
  kept: number;
  dropped: number;
}

/** Drops the lines `erased` picks; every other byte stays (empty lines and a missing final newline included). */
export function rewriteLines(text: string, erased: (line: string) => boolean): LinesRewrite {
  const parts = text.split('\n');
  const out: string[] = [];
  let dropped = 0;
  let kept = 0;
  // A final newline leaves an empty last part: it is the end of the last line, not a line.
  const last = parts.length - 1;
  for (let i = 0; i < parts.length; i++) {
    const line = parts[i]!;
    if (i === last && line === '') break;
    if (erased(line.endsWith('\r') ? line.slice(0, -1) : line)) dropped++;
    else {
      kept++;
      out.push(line);
    }
  }
  if (dropped === 0) return { text, kept, dropped };
  const endsWithNewline = text.endsWith('\n');
  return { text: out.length === 0 ? '' : out.join('\n') + (endsWithNewline ? '\n' : ''), kept, dropped };
}

/** The rows of a Silver table whose `column` (user_id) is not an erased user; exact equality on the value as text. */
export function rowsWithoutUsers<R extends Record<string, unknown>>(rows: readonly R[], users: ErasedUsers, column = 'user_id'): { rows: R[]; dropped: number } {
  const kept = rows.filter((r) => {
    const v = Object.hasOwn(r, column) ? r[column] : undefined;
    return !(typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' ? users.has(String(v)) : false);
  });
  return { rows: kept, dropped: rows.length - kept.length };
}

export const REDACTED = '[erased]';

/**
 * A JSON value (a run report) with every mention of an erased user, in strings and in object keys, replaced by
 * `[erased]`; `changed` says whether anything was. Keys are rebuilt with defineProperty so `__proto__` stays data.
 */
export function redactUsers(value: unknown, users: ErasedUsers): { value: unknown; changed: boolean } {
  let changed = false;
  const redact = (s: string): string => {
    let out = s;
    for (const id of users) {
      if (!mentionsId(out, id)) continue;
      let result = '';
      let from = 0;
      for (let at = out.indexOf(id); at !== -1; at = out.indexOf(id, at + 1)) {
        const before = at > 0 ? out[at - 1]! : '';
        const after = out[at + id.length] ?? '';
        if (at < from || ALNUM.test(before) || ALNUM.test(after)) continue;
        result += out.slice(from, at) + REDACTED;
        from = at + id.length;
      }
      out = result + out.slice(from);
    }
    if (out !== s) changed = true;
    return out;
  };
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v);
    if (Array.isArray(v)) return v.map(walk);
    if (isRecord(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) Object.defineProperty(out, redact(k), { value: walk(inner), enumerable: true, writable: true, configurable: true });
      return out;
    }
    return v;
  };
  return { value: walk(value), changed };
}

/** One section of a model payload as the manifest lays it out (src/recommender/serialize.ts). */
interface SectionLayout {
  name: string;
  type: string;
  offset: number;
  bytes: number;
}

function sectionsOf(manifest: unknown): SectionLayout[] | undefined {
  if (!isRecord(manifest) || !isRecord(manifest.payload) || !Array.isArray(manifest.payload.sections)) return undefined;
  const out: SectionLayout[] = [];
  for (const s of manifest.payload.sections as unknown[]) {
    if (!isRecord(s) || typeof s.name !== 'string' || typeof s.type !== 'string' || typeof s.offset !== 'number' || typeof s.bytes !== 'number') return undefined;
    out.push({ name: s.name, type: s.type, offset: s.offset, bytes: s.bytes });
  }
  return out;
}

/**
 * The erased users a model holds: those in the payload's `userIds` section (one id a line), read through the
 * manifest's layout. A payload whose manifest cannot be read is judged by mention of its bytes as text, so an
 * unreadable model that may hold a user is never kept by mistake.
 */
export function erasedUsersInModel(manifest: unknown, payload: Uint8Array | undefined, users: ErasedUsers): Set<string> {
  const found = new Set<string>();
  if (!payload) return found;
  const section = sectionsOf(manifest)?.find((s) => s.name === 'userIds' && s.type === 'lines');
  if (section && section.offset >= 0 && section.offset + section.bytes <= payload.byteLength) {
    const text = Buffer.from(payload.buffer, payload.byteOffset + section.offset, section.bytes).toString('utf8');
    for (const id of text.split('\n')) if (users.has(id)) found.add(id);
    return found;
  }
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('latin1');
  for (const id of users) if (mentionsId(text, id)) found.add(id);
  return found;
}
