import { describe, expect, it } from 'vitest';
import { TrinoSQL } from 'dt-sql-parser';
import { interactionsSelect, itemCategoriesSelect, itemFeaturesSelect, userFeaturesSelect } from '../../../src/batch/queries/features';

describe('the feature and interaction queries', () => {
  it('parse with the Trino grammar (Athena engine v3); a DuckDB-only form would not', () => {
    const parser = new TrinoSQL();
    for (const sql of [userFeaturesSelect(50), itemFeaturesSelect(), interactionsSelect(), interactionsSelect('2026-01-01'), itemCategoriesSelect('2026-01-01')]) {
      expect(parser.validate(sql), sql.slice(0, 80)).toEqual([]);
    }
    // DuckDB's list slicing is not Trino: the check would catch it.
    expect(parser.validate(userFeaturesSelect(50).replace('array_agg(item_id ORDER BY recency)', 'array_agg(item_id ORDER BY recency)[1:50]')).length).toBeGreaterThan(0);
  }, 40_000);

  it('put only validated dates and integers into the SQL text', () => {
    expect(() => interactionsSelect("2026-01-01' OR 1=1 --")).toThrow();
    expect(() => userFeaturesSelect(0)).toThrow();
    expect(() => userFeaturesSelect(Number.NaN)).toThrow();
    expect(interactionsSelect('2026-01-01')).toContain("dt >= '2026-01-01'");
  });
});
