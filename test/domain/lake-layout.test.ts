import { describe, expect, it } from 'vitest';
import { bronzeKeyFor, compareSequenceNumbers, parseBronzeKey, partitionDate } from '../../src/domain/lake-layout';

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
});
