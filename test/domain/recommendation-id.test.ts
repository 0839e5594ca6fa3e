import { describe, expect, it } from 'vitest';
import { ID_PATTERN, parseEvent } from '../../src/domain/events';
import { newRecommendationId, parseRecommendationId, type RecommendationContext } from '../../src/domain/recommendation-id';

describe('recommendation ids', () => {
  const contexts: RecommendationContext[] = [
    { experimentId: null, variant: 'control', strategy: 'personalized', modelVersion: 'v20261201T020000Z-abc' },
    { experimentId: 'xmiabc123', variant: 'challenger', strategy: 'rank', modelVersion: 'v20261202T020000Z' },
    { experimentId: 'x' + 'z'.repeat(24), variant: 'control', strategy: 'trending', modelVersion: null },
  ];

  it('round-trips what attribution needs, fits the event contract and is unique', () => {
    const seen = new Set<string>();
    for (const c of contexts) {
      for (let i = 0; i < 200; i++) {
        const id = newRecommendationId(c);
        expect(ID_PATTERN.test(id)).toBe(true);
        expect(parseRecommendationId(id)).toEqual(c);
        seen.add(id);
      }
    }
    expect(seen.size).toBe(600);
    const event = parseEvent({ eventId: 'e1', type: 'click', userId: 'u', itemId: 'i', timestamp: '2026-01-01T00:00:00Z', recommendationId: newRecommendationId(contexts[0]!) });
    expect(event.ok).toBe(true);
  });

  it('reads anything else as no recommendation id, without throwing', () => {
    const good = newRecommendationId(contexts[1]!);
    const bad: unknown[] = [
      undefined, null, 42, {}, '', 'r1', good.replace('r1.', 'r2.'), `${good}.x`, good.replace('.x.', '.q.'),
      good.replace('.r.', '.constructor.'), good.replace('.r.', '.__proto__.'), good.slice(0, -1), `${good.slice(0, -1)}A`,
      'r1.-.x.p.v20261201T020000Z.abcdefghij', // a challenger without an experiment
      'r1.toString.c.p.v20261201T020000Z.abcdefghij', 'r1.-.c.p.v2026.abcdefghij', 'x'.repeat(10_000),
    ];
    for (const b of bad) expect(parseRecommendationId(b)).toBeUndefined();
  });

  it('refuses to issue an id for a context no id can carry', () => {
    expect(() => newRecommendationId({ ...contexts[0]!, modelVersion: 'latest' })).toThrow(/model version/);
    expect(() => newRecommendationId({ ...contexts[0]!, experimentId: 'X1' })).toThrow(/experiment id/);
    expect(() => newRecommendationId({ ...contexts[0]!, strategy: 'toString' as never })).toThrow(/strategy/);
  });
});
