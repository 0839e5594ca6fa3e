import { describe, expect, it } from 'vitest';
import {
  decideFirstDeliveries,
  decodeEntries,
  ENTRY_BYTES,
  holdWrittenLedgerRows,
  ledgerConfig,
  ledgerSettingsFromEnv,
  ledgerSk,
  loadLedger,
  type LedgerConfig,
  type LedgerInput,
} from '../../src/ingest/event-ledger';
import { rowId, type EventLedgerRow } from '../../src/stream/ports';

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0);
const MINUTE0 = Math.floor(T0 / 60_000);
let seq = 1000;
const rec = (eventId: string, minutesAfter = 0, shardId = 'shardId-0'): LedgerInput => ({ shardId, sequenceNumber: String(++seq), arrivalMs: T0 + minutesAfter * 60_000, eventId });

/** A table partition as DynamoDB keeps it, with the Query ranges asked of it. */
class MemoryLedgerTable {
  rows = new Map<string, EventLedgerRow>();
  readonly queries: { pk: string; fromSk: string; toSk: string }[] = [];
  async queryRows(pk: string, fromSk: string, toSk: string): Promise<EventLedgerRow[]> {
    this.queries.push({ pk, fromSk, toSk });
    return [...this.rows.values()].filter((r) => r.pk === pk && r.sk >= fromSk && r.sk <= toSk).sort((a, b) => a.sk.localeCompare(b.sk));
  }
  write(rows: readonly EventLedgerRow[]): void {
    for (const r of rows) this.rows.set(rowId(r), r);
  }
}

/** One consumer invocation: load, decide, write what it decided (as the consumer does when every write succeeds). */
async function batch(table: MemoryLedgerTable, records: LedgerInput[], config: LedgerConfig = ledgerConfig(), write = true) {
  const loaded = await loadLedger(records, table, config);
  const decision = decideFirstDeliveries(records, loaded, config);
  if (write) {
    table.write(decision.rows);
    holdWrittenLedgerRows(table, decision.rows);
  }
  return decision;
}

describe('event ledger', () => {
  it('keeps the first delivery of an eventId and marks later ones as duplicates, within a batch and across batches', async () => {
    const table = new MemoryLedgerTable();
    const [a, b, c] = [rec('e1'), rec('e1'), rec('e2')];
    const first = await batch(table, [a, b, c]);
    expect([...first.duplicates]).toEqual([b.sequenceNumber]);
    const [d, e] = [rec('e1', 30), rec('e2', 59)];
    expect([...(await batch(table, [d, e])).duplicates].sort()).toEqual([d.sequenceNumber, e.sequenceNumber].sort());
  });

  it('decides the same when a batch is retried after its ledger row was written, from its start or from inside it', async () => {
    const table = new MemoryLedgerTable();
    const records = [rec('x'), rec('x'), rec('y'), rec('x')];
    const first = await batch(table, records);
    const again = await batch(table, records);
    expect(again.duplicates).toEqual(first.duplicates);
    expect(again.rows).toEqual([]); // every first delivery is already in the ledger: nothing to write
    expect((await batch(table, records.slice(1))).duplicates).toEqual(first.duplicates);
    // A fresh instance (cold start, nothing in memory) reads the rows and decides the same.
    const cold = new MemoryLedgerTable();
    cold.write([...table.rows.values()]);
    expect((await batch(cold, records)).duplicates).toEqual(first.duplicates);
  });

  it('decides the same when the ledger row write failed and the batch comes again', async () => {
    const table = new MemoryLedgerTable();
    const records = [rec('f'), rec('f'), rec('g')];
    const lost = await batch(table, records, ledgerConfig(), false);
    const retried = await batch(table, records);
    expect(retried.duplicates).toEqual(lost.duplicates);
    expect(retried.rows.map((r) => r.count)).toEqual([2]);
    expect(retried.rows).toEqual(lost.rows);
  });

  it('forgets an eventId once it arrived more than the horizon before (by Kinesis arrival time)', async () => {
    const table = new MemoryLedgerTable();
    await batch(table, [rec('h')]);
    expect((await batch(table, [rec('h', 60)])).duplicates.size).toBe(1);
    expect((await batch(table, [rec('h', 61)])).duplicates.size).toBe(0);
  });

  it('writes only its own new first deliveries, 12 bytes each, and never rewrites a row, whatever the horizon holds', async () => {
    const table = new MemoryLedgerTable();
    for (let m = 0; m < 50; m++) await batch(table, Array.from({ length: 20 }, (_, i) => rec(`m${m}-${i}`, m)));
    const before = new Map(table.rows);
    const later = await batch(table, [rec('late-1', 50), rec('late-2', 50), rec('m3-4', 50)]);
    expect(later.duplicates.size).toBe(1);
    expect(later.rows).toHaveLength(1);
    expect(later.rows[0]).toMatchObject({ minute: MINUTE0 + 50, count: 2 });
    expect(later.rows[0]!.entries!.byteLength).toBe(2 * ENTRY_BYTES);
    for (const [id, row] of before) expect(table.rows.get(id)).toBe(row);
    // A batch across a minute boundary writes one row a minute.
    expect((await batch(table, [rec('b1', 51), rec('b2', 52)])).rows.map((r) => r.minute)).toEqual([MINUTE0 + 51, MINUTE0 + 52]);
  });

  it('reads the horizon once per instance, then only rows after the last one it knows', async () => {
    const table = new MemoryLedgerTable();
    const written: string[] = [];
    for (let m = 0; m < 5; m++) written.push(...(await batch(table, [rec(`q${m}`, m)])).rows.map((r) => r.sk));
    const [first, ...rest] = table.queries;
    expect(first!.fromSk).toBe(ledgerSk(MINUTE0 - 61, '0')); // the first batch reads the whole horizon (and a minute of margin)
    // Later ones start after the row the previous batch wrote: nothing it already holds is read again.
    expect(rest.map((q) => q.fromSk)).toEqual(written.slice(0, -1));
    expect(table.queries.every((q) => q.pk === 'CTL#ledger#shardId-0')).toBe(true);
  });

  it('sees rows another instance wrote after it last read (a consumer that moved to a new instance and back)', async () => {
    const table = new MemoryLedgerTable();
    await batch(table, [rec('a1')]);
    // Another instance (its own memory, same table) delivers later records.
    const other = new MemoryLedgerTable();
    other.rows = table.rows;
    const elsewhere = await batch(other, [rec('moved', 1)]);
    expect(decodeEntries(elsewhere.rows[0]!.entries).size).toBe(1);
    expect((await batch(table, [rec('moved', 2), rec('a1', 2)])).duplicates.size).toBe(2);
  });

  it('keeps one ledger per shard: the same eventId on another shard is decided there', async () => {
    const table = new MemoryLedgerTable();
    const out = await batch(table, [rec('s', 0, 'shardId-1'), rec('s', 0, 'shardId-2'), rec('s', 0, 'shardId-1')]);
    expect(out.duplicates.size).toBe(1);
    expect(new Set(out.rows.map((r) => r.pk))).toEqual(new Set(['CTL#ledger#shardId-1', 'CTL#ledger#shardId-2']));
  });

  it('refuses settings outside their bounds, by name', () => {
    expect(() => ledgerConfig({ horizonMinutes: 30 })).toThrow(/horizon must be a whole number of minutes from 60/);
    expect(() => ledgerSettingsFromEnv({ EVENT_LEDGER_HORIZON_MINUTES: 'many' })).toThrow(/EVENT_LEDGER_HORIZON_MINUTES must be a whole number/);
    expect(() => ledgerSettingsFromEnv({ EVENT_LEDGER_HORIZON_MINUTES: '5' })).toThrow(/Invalid configuration: event ledger horizon/);
    expect(ledgerSettingsFromEnv({ EVENT_LEDGER: 'off' })).toBe(false);
    expect(ledgerSettingsFromEnv({ EVENT_LEDGER_HORIZON_MINUTES: '120' })).toEqual({ horizonMinutes: 120 });
  });
});
