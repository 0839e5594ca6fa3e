import { describe, expect, it } from 'vitest';
import { TrinoSQL } from 'dt-sql-parser';
import { checkedBronzeSelect, DEFAULT_QUERY_CONTRACT } from '../../../src/batch/queries/bronze';
import { silverCountsQuery, silverInteractionsSelect, silverLaterPartitionsQuery, silverPartitionRewriteSelect } from '../../../src/batch/queries/silver';
import { validationQuery } from '../../../src/batch/queries/validate';

const input = { window: { from: '2026-11-10', to: '2026-11-11' }, contract: DEFAULT_QUERY_CONTRACT };

describe('the ValidateData and Bronze → Silver queries', () => {
  it('parse with the Trino grammar (Athena engine v3); a DuckDB-only form would not', () => {
    // One parse per query text: the three share the Bronze view, so its syntax is checked three times.
    const parser = new TrinoSQL();
    expect(parser.validate(validationQuery(input))).toEqual([]);
    expect(parser.validate(silverInteractionsSelect(input))).toEqual([]);
    expect(parser.validate(silverCountsQuery(input))).toEqual([]);
    expect(parser.validate(silverLaterPartitionsQuery(input))).toEqual([]);
    expect(parser.validate(silverPartitionRewriteSelect(input, '2026-11-10', '2026-11-12'))).toEqual([]);
    // The state machine's forms: Bronze judged once (CheckBronze), the later queries over that table, a Silver chunk.
    const checked = { ...input, checkedRunId: 'run-1' };
    expect(parser.validate(checkedBronzeSelect(input))).toEqual([]);
    expect(parser.validate(validationQuery(checked))).toEqual([]);
    expect(parser.validate(silverInteractionsSelect(checked, ['2026-11-01/2026-11-10', '2026-11-02/2026-11-11']))).toEqual([]);
    expect(parser.validate(silverCountsQuery(checked))).toEqual([]);
    expect(parser.validate(validationQuery(input).replace('count(DISTINCT object_path)', 'count(DISTINCT object_path)::BIGINT')).length).toBeGreaterThan(0);
  }, 40_000);

  it('put only validated dates and integers into the SQL text', () => {
    expect(() => validationQuery({ ...input, window: { from: "2026-11-10'; DROP TABLE x; --", to: '2026-11-11' } })).toThrow(/not a date/);
    expect(() => validationQuery({ ...input, contract: { timeFloorMs: Number.NaN, maxFutureSkewMs: 900_000 } })).toThrow(/integer/);
    expect(() => silverPartitionRewriteSelect(input, '2026-11-10', '2026-11-11')).toThrow(/not after the window/);
    expect(validationQuery(input)).toContain("dt BETWEEN '2026-11-10' AND '2026-11-11'");
  });
});
