import { describe, expect, it } from 'vitest';
import { SpaceSaving } from '../../src/analytics/space-saving';
import { seededRandom, zipfSampler } from '../../src/domain/event-generator';

describe('Space-Saving heavy hitters', () => {
  const random = seededRandom(3);
  const pick = zipfSampler(5000, 1.1, random);
  const stream = Array.from({ length: 50_000 }, () => `i${pick()}`);
  const truth = new Map<string, number>();
  for (const k of stream) truth.set(k, (truth.get(k) ?? 0) + 1);
  const trueTop = [...truth.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k]) => k);

  it('finds the true top 10 of a skewed stream, each count within its error bound', () => {
    const ss = new SpaceSaving(100);
    for (const k of stream) ss.add(k);
    const top = ss.top(10);
    expect(top.map((h) => h.key)).toEqual(trueTop);
    for (const h of top) {
      expect(h.count).toBeGreaterThanOrEqual(truth.get(h.key)!);
      expect(h.count - h.error).toBeLessThanOrEqual(truth.get(h.key)!);
    }
  });

  it('merges summaries of parts into the same top 10', () => {
    const parts = [new SpaceSaving(100), new SpaceSaving(100), new SpaceSaving(100)];
    stream.forEach((k, i) => parts[i % 3]!.add(k));
    const merged = parts[0]!.merge(parts[1]!).merge(parts[2]!);
    expect(merged.top(10).map((h) => h.key)).toEqual(trueTop);
    expect(merged.total).toBe(stream.length);
    expect(SpaceSaving.fromJSON(JSON.parse(JSON.stringify(merged.toJSON()))).top(10)).toEqual(merged.top(10));
  });
});
