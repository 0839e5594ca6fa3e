import { describe, expect, it } from 'vitest';
import { parseEvent, parseEventPayload } from '../../src/domain/events';

const base = { eventId: 'e-1', userId: 'u-1', itemId: 'i-1', timestamp: '2026-11-01T10:00:00Z' };

describe('event schema', () => {
  it('accepts each event type with its own fields and normalises the timestamp', () => {
    const cases = [
      { ...base, type: 'rating', rating: 4.5 },
      { ...base, type: 'view' },
      { ...base, type: 'click' },
      { ...base, type: 'add_to_cart', price: 12.5 },
      { ...base, type: 'purchase', price: 9.99, quantity: 2 },
    ];
    for (const input of cases) {
      const r = parseEvent(input);
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (r.ok) expect(r.event.timestamp).toBe('2026-11-01T10:00:00.000Z');
    }
  });

  it('defaults quantity to 1 and turns numeric ids into strings', () => {
    const r = parseEvent({ ...base, userId: 196, itemId: 242, type: 'purchase', price: 3 });
    expect(r).toMatchObject({ ok: true, event: { userId: '196', itemId: '242', quantity: 1 } });
  });

  it('reads epoch seconds (MovieLens) and epoch milliseconds alike', () => {
    const s = parseEvent({ ...base, type: 'view', timestamp: 881250949 });
    const ms = parseEvent({ ...base, type: 'view', timestamp: 881250949000 });
    expect(s.ok && s.event.timestamp).toBe('1997-12-04T15:55:49.000Z');
    expect(ms.ok && ms.event.timestamp).toBe('1997-12-04T15:55:49.000Z');
  });

  it('names the field at fault for each problem', () => {
    const r = parseEvent({ ...base, type: 'rating', rating: 7, userId: '../etc/passwd' });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.map((e) => e.field).sort()).toEqual(['rating', 'userId']);
      expect(r.message).toContain('rating must be between 0.5 and 5');
    }
  });

  it('explains missing and unknown types', () => {
    const missing = parseEvent({ ...base });
    const unknown = parseEvent({ ...base, type: 'teleport' });
    expect(!missing.ok && missing.message).toMatch(/^type is required/);
    expect(!unknown.ok && unknown.message).toContain('type must be one of view, click, add_to_cart, purchase, rating (got "teleport")');
  });

  it('requires the type-specific fields', () => {
    const noRating = parseEvent({ ...base, type: 'rating' });
    const noPrice = parseEvent({ ...base, type: 'purchase' });
    const zeroQty = parseEvent({ ...base, type: 'add_to_cart', quantity: 0 });
    expect(!noRating.ok && noRating.message).toBe('rating is required for rating events');
    expect(!noPrice.ok && noPrice.message).toBe('price is required for purchase events');
    expect(!zeroQty.ok && zeroQty.message).toBe('quantity must be at least 1');
  });

  it('rejects dates that cannot be right', () => {
    const future = parseEvent({ ...base, type: 'view', timestamp: Date.now() + 3 * 86_400_000 });
    const garbage = parseEvent({ ...base, type: 'view', timestamp: 'yesterday-ish' });
    const ancient = parseEvent({ ...base, type: 'view', timestamp: '1970-01-02T00:00:00Z' });
    expect(!future.ok && future.errors[0]?.field).toBe('timestamp');
    expect(!garbage.ok && garbage.message).toContain('is not a valid date');
    expect(!ancient.ok && ancient.message).toContain('before 1990');
  });

  it('refuses non-objects and invalid JSON without throwing', () => {
    expect(parseEvent([1, 2])).toMatchObject({ ok: false, message: 'event must be a JSON object' });
    expect(parseEvent(null)).toMatchObject({ ok: false });
    const bad = parseEventPayload('{"eventId": ');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^not valid JSON/);
    expect(parseEventPayload(Buffer.from(JSON.stringify({ ...base, type: 'click' }))).ok).toBe(true);
  });
});
