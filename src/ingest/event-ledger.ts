import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseEnvironment, type Env } from '../config/environment';
import { compareSequenceNumbers } from '../domain/lake-layout';
import { rowId, type EventLedgerRow, type RowKey } from '../stream/ports';

/**
 * The per-shard event ledger: which eventIds a shard has already delivered, so that a repeated eventId (the
 * same event sent again as a new record) counts once in the speed layer and in the analytics windows, first
 * delivery wins, as Silver keeps it.
 *
 * Layout: per shard, one immutable row per batch and minute of Kinesis arrival (`pk = CTL#ledger#<shardId>`,
 * `sk = M#<epoch minute>#<sequence number of its first entry>`), holding the batch's new first deliveries as
 * packed 12-byte entries in one Binary attribute: 8 bytes of sha256(eventId), 4 bytes of sha256(sequence
 * number of the first delivery) (the tag). A batch writes only its own new entries (12 bytes an event, in the
 * same BatchWrite requests as the feature rows) and never rewrites a row, so a consumer instance keeps what it
 * read or wrote in memory: after a cold start it reads the horizon once, then one Query per shard and batch
 * asks only for rows after the last one it knows.
 *
 * Decision (a pure function of the shard's record order and the stored rows): a record is the first delivery
 * of its eventId iff the ledger holds no entry for the eventId's hash that arrived at most `horizonMinutes`
 * before it, or that entry's tag is the record's own (a retry of a batch whose ledger row was written decides
 * the same way). Arrival time, not the clock, so a retry, a replay and the other consumer agree.
 */

export const ENTRY_BYTES = 12;
export const DEFAULT_LEDGER_HORIZON_MINUTES = 60;
export const MIN_LEDGER_HORIZON_MINUTES = 60;
/** Ledger rows expire (TTL) this long after their minute, beyond the horizon. */
const LEDGER_TTL_SECONDS = 8 * 24 * 3600;
/** A minute of margin below the horizon: Kinesis arrival times are only roughly ordered within a shard. */
const OPEN_MARGIN_MINUTES = 1;

export interface LedgerConfig {
  /** How long (minutes, >= 60) a first delivery is remembered: repeats arriving later count again. */
  horizonMinutes: number;
}

export function ledgerConfig(partial: Partial<LedgerConfig> = {}): LedgerConfig {
  const horizonMinutes = partial.horizonMinutes ?? DEFAULT_LEDGER_HORIZON_MINUTES;
  if (!Number.isInteger(horizonMinutes) || horizonMinutes < MIN_LEDGER_HORIZON_MINUTES || horizonMinutes > 7 * 24 * 60) {
    throw new Error(`event ledger horizon must be a whole number of minutes from ${MIN_LEDGER_HORIZON_MINUTES} to ${7 * 24 * 60} (got ${horizonMinutes})`);
  }
  return { horizonMinutes };
}

export const ledgerPk = (shardId: string) => `CTL#ledger#${shardId}`;
export const ledgerSk = (minute: number, firstSequenceNumber: string) => `M#${String(Math.max(0, minute)).padStart(10, '0')}#${firstSequenceNumber}`;
const LAST_SK = 'M#9999999999#~';

/** What the ledger needs of a valid record. */
export interface LedgerInput {
  shardId: string;
  sequenceNumber: string;
  /** Kinesis arrival (epoch ms): the ledger's clock. */
  arrivalMs: number;
  eventId: string;
}

/** What the ledger needs of valid events with their stream position and arrival, in their order. */
export const ledgerInputsOf = (events: readonly { shardId: string; sequenceNumber: string; arrivalMs: number; value: { eventId: string } }[]): LedgerInput[] =>
  events.map((e) => ({ shardId: e.shardId, sequenceNumber: e.sequenceNumber, arrivalMs: e.arrivalMs, eventId: e.value.eventId }));

interface Entry {
  tag: number;
  minute: number;
}

const eventHash = (eventId: string): string => createHash('sha256').update(eventId, 'utf8').digest('hex').slice(0, 16);
const sequenceTag = (sequenceNumber: string): number => createHash('sha256').update(sequenceNumber, 'utf8').digest().readUInt32BE(0);
const minuteOf = (ms: number): number => Math.max(0, Math.floor(ms / 60_000));

/** The entries of a row: eventId hash (hex) → tag of its first delivery. */
export function decodeEntries(bytes: Uint8Array | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!bytes) return out;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let o = 0; o + ENTRY_BYTES <= buf.length; o += ENTRY_BYTES) out.set(buf.toString('hex', o, o + 8), buf.readUInt32BE(o + 8));
  return out;
}

function appendEntries(previous: Uint8Array | undefined, added: readonly { hex: string; tag: number }[]): Uint8Array {
  const head = previous ? Buffer.from(previous.buffer, previous.byteOffset, previous.byteLength) : Buffer.alloc(0);
  const buf = Buffer.alloc(head.length + added.length * ENTRY_BYTES);
  head.copy(buf, 0);
  added.forEach((e, i) => {
    const o = head.length + i * ENTRY_BYTES;
    buf.write(e.hex, o, 8, 'hex');
    buf.writeUInt32BE(e.tag >>> 0, o + 8);
  });
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** What the ledger needs of the table it lives in (any `RowStore` with `queryRows`). */
export interface LedgerStore {
  queryRows?(pk: string, fromSk: string, toSk: string): Promise<readonly RowKey[]>;
}

/** A shard's ledger as one consumer instance knows it: every row it read or wrote, indexed. */
interface ShardLedger {
  /** Lowest minute whose rows are held. */
  coveredFrom: number;
  /** Highest sort key read from the table: later reads ask only for rows after it. */
  lastSk: string;
  /** Hashes held, per minute (to forget them once past the horizon). */
  byMinute: Map<number, string[]>;
  /** Every held entry: eventId hash → first delivery's tag and arrival minute. */
  index: Map<string, Entry>;
}

/** The ledger rows a consumer instance holds, per store (one per instance and table) and shard. */
const held = new WeakMap<object, Map<string, ShardLedger>>();

function hold(ledger: ShardLedger, row: EventLedgerRow): void {
  const hexes = [...decodeEntries(row.entries)];
  const list = ledger.byMinute.get(row.minute) ?? [];
  for (const [hex, tag] of hexes) {
    const known = ledger.index.get(hex);
    if (known && known.minute <= row.minute) continue;
    ledger.index.set(hex, { tag, minute: row.minute });
    list.push(hex);
  }
  ledger.byMinute.set(row.minute, list);
}

/** The ledger state a batch decides against: per shard, every live entry. */
export interface LoadedLedger {
  shards: Map<string, ShardLedger>;
  /** Query requests sent (one per shard and batch, more pages after a cold start), for the benchmark. */
  queries: number;
}

/**
 * Reads what the batch's records need of their shards' ledgers. Rows are immutable (each batch adds its own
 * rows and never rewrites one), so an instance reads the horizon once after a cold start and afterwards asks
 * one Query per shard for rows after the last one it knows (rows another instance may have written).
 */
export async function loadLedger(records: readonly LedgerInput[], store: LedgerStore, config: LedgerConfig): Promise<LoadedLedger> {
  if (!store.queryRows) throw new Error('the event ledger needs a row store that can query a key range (queryRows)');
  let perStore = held.get(store);
  if (!perStore) held.set(store, (perStore = new Map()));
  const lowest = new Map<string, number>();
  for (const r of records) lowest.set(r.shardId, Math.min(lowest.get(r.shardId) ?? Infinity, minuteOf(r.arrivalMs)));
  const shards = new Map<string, ShardLedger>();
  let queries = 0;
  await Promise.all(
    [...lowest].map(async ([shardId, low]) => {
      const from = low - config.horizonMinutes - OPEN_MARGIN_MINUTES;
      let ledger = perStore.get(shardId);
      // Older records than this instance holds (a replay, a rewound stream): read the whole horizon again.
      if (!ledger || from < ledger.coveredFrom) ledger = { coveredFrom: from, lastSk: ledgerSk(from, '0'), byMinute: new Map(), index: new Map() };
      for (const [minute, hexes] of ledger.byMinute) {
        if (minute >= from) continue;
        for (const hex of hexes) if (ledger.index.get(hex)?.minute === minute) ledger.index.delete(hex);
        ledger.byMinute.delete(minute);
      }
      ledger.coveredFrom = from;
      const rows = await store.queryRows!(ledgerPk(shardId), ledger.lastSk, LAST_SK);
      queries += 1;
      for (const row of rows) {
        if (row.sk <= ledger.lastSk || (row as Partial<EventLedgerRow>).entity !== 'ledger') continue;
        hold(ledger, row as EventLedgerRow);
        ledger.lastSk = row.sk;
      }
      perStore.set(shardId, ledger);
      shards.set(shardId, ledger);
    }),
  );
  return { shards, queries };
}

/** Adds rows the consumer wrote to what its instance holds, so it never reads its own writes back. */
export function holdWrittenLedgerRows(store: object, rows: readonly EventLedgerRow[]): void {
  const perStore = held.get(store);
  for (const row of rows) {
    const ledger = perStore?.get(row.shardId);
    if (!ledger || row.minute < ledger.coveredFrom) continue;
    hold(ledger, row);
    // One writer per shard: nothing else can have written between, so the next read starts after it.
    if (row.sk > ledger.lastSk) ledger.lastSk = row.sk;
  }
}

export interface LedgerDecision {
  /** Sequence numbers of repeats of an eventId already delivered on the shard within the horizon. */
  duplicates: Set<string>;
  /** New ledger rows to write: the batch's first deliveries not yet in the ledger, one row per shard and minute. */
  rows: EventLedgerRow[];
  /** Per ledger row, the records whose decision it carries (they fail if it cannot be written). */
  recordsOfRow: Map<string, string[]>;
}

/** Decides, for valid records of a batch, which are repeats of an eventId already delivered, and builds the rows to write. */
export function decideFirstDeliveries(records: readonly LedgerInput[], loaded: LoadedLedger, config: LedgerConfig): LedgerDecision {
  const duplicates = new Set<string>();
  /** This batch's new first deliveries, per shard: hash → entry (on top of the held index). */
  const added = new Map<string, Map<string, Entry>>();
  const pending = new Map<string, { shardId: string; minute: number; entries: { hex: string; tag: number; seq: string }[] }>();
  const ordered = [...records].sort((a, b) => compareSequenceNumbers(a.sequenceNumber, b.sequenceNumber));
  for (const r of ordered) {
    const ledger = loaded.shards.get(r.shardId);
    if (!ledger) throw new Error(`the ledger of ${r.shardId} was not loaded for this batch`);
    let mine = added.get(r.shardId);
    if (!mine) added.set(r.shardId, (mine = new Map()));
    const hex = eventHash(r.eventId);
    const tag = sequenceTag(r.sequenceNumber);
    const minute = minuteOf(r.arrivalMs);
    const entry = mine.get(hex) ?? ledger.index.get(hex);
    const live = entry !== undefined && entry.minute >= minute - config.horizonMinutes;
    if (live && entry.tag !== tag) {
      duplicates.add(r.sequenceNumber);
      continue;
    }
    if (live) continue; // its own entry: a retry of a record already in the ledger
    mine.set(hex, { tag, minute });
    const key = `${r.shardId}\u0000${minute}`;
    let p = pending.get(key);
    if (!p) pending.set(key, (p = { shardId: r.shardId, minute, entries: [] }));
    p.entries.push({ hex, tag, seq: r.sequenceNumber });
  }

  const rows: EventLedgerRow[] = [];
  const recordsOfRow = new Map<string, string[]>();
  for (const { shardId, minute, entries } of pending.values()) {
    // A batch holds at most 10,000 records: one row of at most 120 KB, never rewritten.
    const bytes = appendEntries(undefined, entries);
    const row: EventLedgerRow = {
      pk: ledgerPk(shardId),
      sk: ledgerSk(minute, entries[0]!.seq),
      entity: 'ledger',
      shardId,
      minute,
      wm: entries[entries.length - 1]!.seq,
      count: entries.length,
      entries: bytes,
      expiresAt: (minute + 1) * 60 + config.horizonMinutes * 60 + LEDGER_TTL_SECONDS,
    };
    rows.push(row);
    recordsOfRow.set(rowId(row), entries.map((e) => e.seq));
  }
  return { duplicates, rows, recordsOfRow };
}

/** `EVENT_LEDGER=off` (or false, 0, disabled): count every record. */
const LEDGER_OFF = /^(off|false|0|disabled)$/i;

/** The ledger's variables: `EVENT_LEDGER_HORIZON_MINUTES` is a whole number when set (its bounds are `ledgerConfig`'s). */
const LedgerEnvSchema = z.object({
  EVENT_LEDGER_HORIZON_MINUTES: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const n = Number(raw);
      if (!Number.isInteger(n)) {
        ctx.addIssue({ code: 'custom', message: `EVENT_LEDGER_HORIZON_MINUTES must be a whole number (got ${JSON.stringify(raw)})` });
        return z.NEVER;
      }
      return n;
    }),
});

/**
 * Ledger settings from the consumer's environment: `EVENT_LEDGER_HORIZON_MINUTES` (optional; 60 otherwise), or `EVENT_LEDGER=off` to count every record. Validated: a bad
 * value fails the cold start with a message naming it.
 */
export function ledgerSettingsFromEnv(env: Env): Partial<LedgerConfig> | false {
  if (LEDGER_OFF.test(env.EVENT_LEDGER ?? '')) return false;
  const { EVENT_LEDGER_HORIZON_MINUTES: horizonMinutes } = parseEnvironment(LedgerEnvSchema, env, 'event ledger');
  const out: Partial<LedgerConfig> = horizonMinutes === undefined ? {} : { horizonMinutes };
  try {
    ledgerConfig(out); // fails fast on a value outside the bounds
  } catch (err) {
    throw new Error(`Invalid configuration: ${(err as Error).message}`);
  }
  return out;
}
