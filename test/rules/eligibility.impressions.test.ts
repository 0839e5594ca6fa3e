import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/rules/rules-definition';
import { createItemUniverse, FilterEngine, type ItemView, type UserHistory } from '../../src/rules/eligibility';

const NOW = Date.parse('2025-06-01T00:00:00Z');
const rules = compileRules({ filters: { interacted: 'user interacted', recent: 'user interacted WITHIN 1d', fresh: 'NOT user interacted WITHIN 1d', viewed: 'user viewed' } });
const item = (i: number): ItemView => ({ itemId: `i${i}`, categories: [], price: 1, available: true, withdrawn: false, createdAtMs: NOW, attributes: {} });
const ones = (mask: Uint8Array): string[] => [...mask].flatMap((v, i) => (v === 1 ? [`i${i}`] : []));

describe('filters: `user …` conditions ignore impressions', () => {
  const universe = createItemUniverse([item(0), item(1), item(2)], 1);
  const engine = new FilterEngine(rules);
  const user: UserHistory = {
    events: [
      { itemId: 'i0', type: 'view', timestampMs: NOW - 1000 },
      // Shown, never acted on: being shown an item is not interacting with it.
      { itemId: 'i1', type: 'impression', timestampMs: NOW - 1000 },
      { itemId: 'i2', type: 'impression', timestampMs: NOW - 1000 },
    ],
    trainedItems: [],
  };
  const run = (name: string) => ones(engine.eligible(engine.bind(name, {}), universe, user, NOW));

  it('an impression matches neither `user interacted` nor its negation’s exclusion', () => {
    expect(run('interacted')).toEqual(['i0']);
    expect(run('recent')).toEqual(['i0']);
    expect(run('fresh')).toEqual(['i1', 'i2']);
    expect(run('viewed')).toEqual(['i0']);
  });
});
