import { describe, expect, it } from 'vitest';
import { parseEvent, type UserEvent } from '../../src/domain/events';
import { applyToWindow, emptyWindow, mergeWindows, summarize, windowStart } from '../../src/analytics/windows';

const START = windowStart(Date.parse('2026-11-21T10:00:00Z'), 'hour');
let n = 0;
const ev = (input: Record<string, unknown>): UserEvent => {
  const r = parseEvent({ eventId: `e${n++}`, userId: 'u1', itemId: 'i1', timestamp: '2026-11-21T10:15:00Z', ...input }, { now: START + 3_600_000 });
  if (!r.ok) throw new Error(r.message);
  return r.event;
};

describe('window counters do not count impressions as interactions', () => {
  const interactions = [ev({ type: 'view', category: 'c1' }), ev({ type: 'purchase', price: 4.5, quantity: 2, recommendationId: 'r1' })];
  const impressions = [ev({ type: 'impression', userId: 'shown-only', itemId: 'i9', category: 'c9', position: 0, recommendationId: 'r1' }), ev({ type: 'impression', position: 1 })];

  it('an impression moves no count, active user, item or category, and does not throw', () => {
    const plain = applyToWindow(emptyWindow('hour', START), interactions);
    const mixed = applyToWindow(emptyWindow('hour', START), [impressions[0]!, ...interactions, impressions[1]!]);
    const end = START + 3_600_000;
    expect(summarize(mixed, end)).toEqual(summarize(plain, end));
    expect(mixed.counts).toEqual({ view: 1, click: 0, add_to_cart: 0, purchase: 1, rating: 0 });
    expect(mixed.activeUsers.count()).toBe(plain.activeUsers.count());
    expect([...mixed.categories.keys()]).toEqual(['c1']);
  });

  it('an impression-only window stays empty, and merges with others unchanged', () => {
    const shown = applyToWindow(emptyWindow('hour', START), impressions);
    expect(summarize(shown, START + 3_600_000)).toEqual(summarize(emptyWindow('hour', START), START + 3_600_000));
    const plain = applyToWindow(emptyWindow('hour', START), interactions);
    expect(mergeWindows([shown, plain], 'hour', START).counts).toEqual(plain.counts);
  });
});
