import { describe, expect, it } from 'vitest';
import { bronzeKeyFor, compareSequenceNumbers, parseBronzeKey, parseSilverInteractionsKey, partitionDate, silverInteractionsKey, silverInteractionsPartitionPrefix } from '../../src/domain/lake-layout';

describe('lake layout', () => {
  it('puts Bronze objects under Hive partitions by date and shard, named by the first sequence number', () => {
    const key = bronzeKeyFor({ kind: 'events', dt: '2026-11-22', shardId: 'shardId-000000000001', firstSequenceNumber: '4968' });
    expect(key).toBe('bronze/events/dt=2026-11-22/shard=shardId-000000000001/4968.jsonl');
    expect(bronzeKeyFor({ kind: 'quarantine', dt: '2026-11-22', shardId: 's', firstSequenceNumber: '1' })).toBe(
      'bronze/_quarantine/dt=2026-11-22/shard=s/1.jsonl',
    );
  });

  it('parses its own keys back and ignores foreign ones', () => {
    const id = { kind: 'events' as const, dt: '2026-01-31', shardId: 'shardId-000000000000', firstSequenceNumber: '123' };
    expect(parseBronzeKey(bronzeKeyFor(id))).toEqual(id);
    expect(parseBronzeKey('silver/interactions/dt=2026-01-31/part.parquet')).toBeUndefined();
  });

  it('dates partitions in UTC', () => {
    expect(partitionDate(Date.UTC(2026, 10, 21, 23, 59, 59))).toBe('2026-11-21');
    expect(partitionDate(Date.UTC(2026, 10, 22, 0, 0, 0))).toBe('2026-11-22');
  });

  it('compares Kinesis sequence numbers numerically, not as text', () => {
    expect(compareSequenceNumbers('9', '10')).toBe(-1);
    expect(compareSequenceNumbers('49680448745139131299602588026467992212747009159604469778', '49680448745139131299602588026467992212747009159604469779')).toBe(-1);
    expect(compareSequenceNumbers('42', '42')).toBe(0);
  });

  it('puts Silver interactions under event-date then arrival-date partitions, and still reads the legacy one-level files', () => {
    expect(silverInteractionsKey('2026-11-20', '2026-11-22')).toBe('silver/interactions/dt=2026-11-20/arrival_dt=2026-11-22/part-0.parquet');
    expect(silverInteractionsPartitionPrefix('2026-11-20', '2026-11-22')).toBe('silver/interactions/dt=2026-11-20/arrival_dt=2026-11-22/');
    // Athena's UNLOAD names its files itself: any Parquet file of a partition belongs to it.
    expect(parseSilverInteractionsKey('silver/interactions/dt=2026-11-20/arrival_dt=2026-11-22/20261122_020312_00042_abcde_3f0c.parquet')).toEqual({ eventDt: '2026-11-20', arrivalDt: '2026-11-22', legacy: false });
    expect(parseSilverInteractionsKey('silver/interactions/dt=2026-11-20/part-2026-11-22.parquet')).toEqual({ eventDt: '2026-11-20', arrivalDt: '2026-11-22', legacy: true });
    for (const foreign of ['silver/interactions/dt=2026-11-20/arrival_dt=2026-11-22/x.json', 'silver/interactions/dt=2026-11-20/arrival_dt=2026-11-22/a/b.parquet', 'silver/user_features/as_of=2026-11-22/part-0.parquet', 'silver/interactions/dt=2026-11-20/part-x.parquet']) {
      expect(parseSilverInteractionsKey(foreign)).toBeUndefined();
    }
    expect(() => silverInteractionsKey('2026-11-20/../..', '2026-11-22')).toThrow(/YYYY-MM-DD/);
  });
});
