import { describe, expect, it } from 'vitest';
import { EVENT_TYPES, INTERACTION_TYPES, isInteraction, isInteractionType, MAX_IMPRESSION_POSITION, parseEvent, parseEventPayload, type ParseResult, type UserEvent } from '../../src/domain/events';
import { newRecommendationId, parseRecommendationId } from '../../src/domain/recommendation-id';

const at = { now: Date.parse('2026-11-01T12:00:00Z') };
const base = { eventId: 'e1', userId: 'u1', itemId: 'i1', timestamp: '2026-11-01T10:00:00Z' };
const accepted = (r: ParseResult): UserEvent => {
  if (!r.ok) throw new Error(r.message);
  return r.event;
};
const refusal = (r: ParseResult) => {
  if (r.ok) throw new Error('expected a refusal');
  return r.errors[0]!;
};
const extras: Record<string, Record<string, unknown>> = { rating: { rating: 4 }, purchase: { price: 3, quantity: 1 }, add_to_cart: {}, view: {}, click: {}, impression: { position: 0 } };
const recommendationId = newRecommendationId({ experimentId: null, variant: 'control', strategy: 'similar', modelVersion: 'v20261201T020000Z-abc' });

describe('the impression event', () => {
  it('is accepted with or without a position 0..MAX_IMPRESSION_POSITION, and is not an interaction', () => {
    const shown = accepted(parseEvent({ ...base, type: 'impression', position: 0, recommendationId }, at));
    expect(shown).toMatchObject({ type: 'impression', position: 0, recommendationId });
    expect(accepted(parseEvent({ ...base, type: 'impression', position: MAX_IMPRESSION_POSITION }, at))).toMatchObject({ position: 999 });
    expect(accepted(parseEvent({ ...base, type: 'impression' }, at))).not.toHaveProperty('position');
    expect(isInteraction(shown)).toBe(false);
    expect(isInteractionType('impression')).toBe(false);
    expect(EVENT_TYPES).toContain('impression');
    expect(INTERACTION_TYPES).not.toContain('impression');
  });

  it.each([
    [-1, 'position must be between 0 and 999'],
    [1000, 'position must be between 0 and 999'],
    [1.5, 'position must be a whole number'],
    ['3', 'position must be a number'],
    [Number.NaN, 'position must be JSON data: a finite number (got NaN)'],
    [null, 'position must be a number'],
  ])('refuses position %s, naming the field and the bound', (position, message) => {
    const r = parseEvent({ ...base, type: 'impression', position }, at);
    expect(refusal(r).field).toBe('position');
    expect((r as { message: string }).message).toBe(message);
  });

  it('needs an itemId (one impression event per item shown)', () => {
    const { itemId: _, ...noItem } = base;
    expect(refusal(parseEvent({ ...noItem, type: 'impression' }, at))).toEqual({ field: 'itemId', message: 'is required' });
  });
});

describe('recommendationId on every event type', () => {
  it.each(EVENT_TYPES.map((t) => [t]))('%s keeps a recommendationId', (type) => {
    const event = accepted(parseEvent({ ...base, type, ...extras[type], recommendationId }, at));
    expect(event.recommendationId).toBe(recommendationId);
    expect(parseRecommendationId(event.recommendationId!)).toMatchObject({ strategy: 'similar', variant: 'control' });
  });

  it('an id the API never issued is kept (and parses to nothing)', () => {
    const event = accepted(parseEvent({ ...base, type: 'click', recommendationId: 'not-one-of-ours' }, at));
    expect(event.recommendationId).toBe('not-one-of-ours');
    expect(parseRecommendationId('not-one-of-ours')).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['10k characters', 'r'.repeat(10_000)],
    ['a slash', 'a/b'],
    ['a space', 'a b'],
    ['an empty string', ''],
    ['an object', { id: 'x' }],
    ['a negative number', -1],
    ['a control character', 'a\u0000b'],
  ])('refuses a recommendationId with %s, naming the field', (_, value) => {
    expect(refusal(parseEvent({ ...base, type: 'impression', recommendationId: value }, at)).field).toBe('recommendationId');
  });

  it('hostile payloads never throw: __proto__ as recommendationId, a __proto__ key, a huge payload', () => {
    const proto = parseEventPayload(`{"eventId":"e","userId":"u","itemId":"i","type":"impression","timestamp":"2026-11-01T10:00:00Z","recommendationId":"__proto__","position":2}`, at);
    expect(proto.ok && proto.event.recommendationId).toBe('__proto__');
    expect(parseRecommendationId('__proto__')).toBeUndefined();
    const polluted = parseEventPayload(`{"__proto__":{"recommendationId":"x"},"eventId":"e","userId":"u","itemId":"i","type":"impression","timestamp":"2026-11-01T10:00:00Z"}`, at);
    expect(polluted.ok && polluted.event.recommendationId).toBeUndefined();
    expect(() => parseEventPayload(JSON.stringify({ ...base, type: 'impression', recommendationId: 'r'.repeat(100_000) }), at)).not.toThrow();
  });
});
