import { describe, expect, it } from 'vitest';
import { HyperLogLog } from '../../src/analytics/hyperloglog';

describe('HyperLogLog', () => {
  it.each([100, 5_000, 200_000])('counts %i distinct users within three standard errors', (n) => {
    const hll = new HyperLogLog();
    for (let i = 0; i < n; i++) hll.add(`user-${i}`);
    for (let i = 0; i < n; i++) hll.add(`user-${i}`); // repeats change nothing
    expect(Math.abs(hll.count() - n) / n).toBeLessThan(3 * hll.standardError);
  });

  it('merges partial counters into exactly the counter of the union', () => {
    const a = new HyperLogLog();
    const b = new HyperLogLog();
    const all = new HyperLogLog();
    for (let i = 0; i < 3000; i++) {
      (i % 3 === 0 ? a : b).add(`u${i}`);
      all.add(`u${i}`);
    }
    expect(HyperLogLog.union([a, b]).registers).toEqual(all.registers);
    expect(new HyperLogLog(11, all.registers).count()).toBe(all.count());
  });
});
