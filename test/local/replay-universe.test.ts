import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/domain/events';
import { replayUniverse } from '../../src/local/replay-universe';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import type { Interaction } from '../../src/recommender/index';

// A MovieLens-like file: numeric ids, user "7" most active, item "50" most rated.
const rating = (userId: string, itemId: string): Interaction => ({ userId, itemId, rating: 4, timestamp: 880_000_000_000 });
const file: Interaction[] = [
  rating('7', '50'), rating('7', '181'), rating('7', '1'), rating('12', '50'), rating('12', '181'), rating('3', '50'),
];
const metadata = [
  { itemId: '50', title: 'Star Wars (1977)', genres: ['Action', 'Sci-Fi'] },
  { itemId: '181', title: 'Return of the Jedi (1983)', genres: ['Action'] },
  { itemId: '1', title: 'Toy Story (1995)', genres: [] },
];

describe('live events while replaying a ratings file', () => {
  const universe = replayUniverse(file, metadata);

  it('orders the file users by activity and items by popularity', () => {
    expect(universe.users).toEqual(['7', '12', '3']);
    expect(universe.items).toEqual(['50', '181', '1']);
  });

  it('moves generated events onto the file ids, keeping their Zipf ranks, and they stay valid events', () => {
    // 40 users and 40 items with a known order: user "100" rates the most, item "1" is rated the most.
    const bigger: Interaction[] = [];
    for (let u = 0; u < 40; u++) for (let i = 0; i < 40 - u; i++) bigger.push(rating(String(100 + u), String(i + 1)));
    const genres = [{ itemId: '1', title: 'One', genres: ['Drama'] }];
    const big = replayUniverse(bigger, genres);
    expect(big.users.slice(0, 2)).toEqual(['100', '101']);
    expect(big.items.slice(0, 2)).toEqual(['1', '2']);
    const generated = [...generateTasteEvents({ events: 2_000, users: big.users.length, items: big.items.length, seed: 3 })];
    expect(generated.length).toBeGreaterThan(100);
    const live = generated.map((e) => big.remap(e));
    for (const e of live) {
      expect(big.users).toContain(e.userId);
      expect(big.items).toContain(e.itemId);
      expect(parseEvent(e).ok, JSON.stringify(e)).toBe(true);
    }
    generated.forEach((e, n) => {
      const rank = (id: unknown) => Number(String(id).slice(1)) - 1;
      expect(live[n]!.userId).toBe(big.users[rank(e.userId)]);
      expect(live[n]!.itemId).toBe(big.items[rank(e.itemId)]);
      // Categories come from the metadata only, never the generator's own.
      expect((live[n] as { category?: string }).category).toBe(live[n]!.itemId === '1' ? 'Drama' : undefined);
    });
    expect(live.some((e) => e.itemId === '1')).toBe(true);
    expect(live.some((e) => e.itemId !== '1')).toBe(true);
  });

  it('refuses an empty file with a clear error', () => {
    expect(() => replayUniverse([])).toThrow(/no interactions/);
  });
});
