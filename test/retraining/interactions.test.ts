import { describe, expect, it } from 'vitest';
import { itemCatalogue, toInteractions, withCatalogue } from '../../src/retraining/interactions';
import type { SilverInteraction } from '../../src/retraining/silver';

const row = (user: string, item: string, type: SilverInteraction['event_type'], t: number, extra: Partial<SilverInteraction> = {}): SilverInteraction => ({
  event_id: `${user}-${item}-${t}`,
  event_type: type,
  user_id: user,
  item_id: item,
  event_time_ms: t,
  rating: null,
  price: null,
  quantity: null,
  category: null,
  session_id: null,
  arrival_time_ms: t,
  shard_id: 's',
  sequence_number: '1',
  ...extra,
});

describe('implicit events → interactions', () => {
  it('keeps one interaction per (user, item): the strongest signal, timestamped at first contact', () => {
    const out = toInteractions([
      row('u1', 'a', 'view', 100),
      row('u1', 'a', 'purchase', 300),
      row('u1', 'a', 'click', 200),
      row('u1', 'b', 'rating', 150, { rating: 4.5 }),
      row('u1', 'b', 'add_to_cart', 120),
      row('u2', 'a', 'view', 50),
      row('u2', 'c', 'rating', 60, { rating: 1 }),
      row('u2', 'c', 'click', 70),
    ]);
    expect(out).toEqual([
      { userId: 'u1', itemId: 'a', rating: 5, timestamp: 100 },
      { userId: 'u1', itemId: 'b', rating: 4.5, timestamp: 120 },
      { userId: 'u2', itemId: 'a', rating: 1, timestamp: 50 },
      { userId: 'u2', itemId: 'c', rating: 2, timestamp: 60 },
    ]);
  });

  it('turns the latest category of each item into its genre', () => {
    expect(itemCatalogue([row('u1', 'a', 'view', 1, { category: 'old' }), row('u2', 'a', 'view', 5, { category: 'new' }), row('u1', 'b', 'view', 1)])).toEqual([{ itemId: 'a', genres: ['new'] }]);
  });

  it('joins the catalogue to every item seen, including items whose events carry no category (a replayed ratings file)', () => {
    const rows = [row('u1', '50', 'rating', 1, { rating: 5 }), row('u1', 'shoe', 'view', 2, { category: 'shoes' }), row('u2', 'mug', 'view', 3, { category: 'kitchen' }), row('u2', '99', 'rating', 4, { rating: 2 })];
    const catalogue = [
      { itemId: '50', title: 'Star Wars (1977)', genres: ['Action', 'Sci-Fi'] },
      { itemId: 'shoe', title: 'Red shoe' },
      { itemId: 'never-seen', title: 'Not in any event', genres: ['Drama'] },
    ];
    expect(withCatalogue(itemCatalogue(rows), catalogue, new Set(rows.map((r) => r.item_id)))).toEqual([
      { itemId: '50', title: 'Star Wars (1977)', genres: ['Action', 'Sci-Fi'] },
      { itemId: 'mug', genres: ['kitchen'] },
      { itemId: 'shoe', title: 'Red shoe', genres: ['shoes'] },
    ]);
    // Without a catalogue, only the events' categories are known.
    expect(withCatalogue(itemCatalogue(rows), undefined, rows.map((r) => r.item_id))).toEqual([{ itemId: 'mug', genres: ['kitchen'] }, { itemId: 'shoe', genres: ['shoes'] }]);
  });

  it('refuses a malformed catalogue naming the field', () => {
    expect(() => withCatalogue([], [{ itemId: '', title: 'x' }], ['a'])).toThrow(/catalog\/items\.json is invalid: 0\.itemId/);
  });
});
