import { describe, expect, it } from 'vitest';
import { itemCatalogue, toInteractions } from '../../src/retraining/interactions';
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
});
