import {
  evaluateRecommender,
  popularityModel,
  trainHybridModel,
  type EvaluationResult,
  type HybridConfig,
  type Interaction,
  type ItemMeta,
} from '../recommender/index';

export interface ModelRow {
  name: string;
  result: EvaluationResult;
  trainSeconds?: number;
}

/** Evaluates popularity plus one hybrid model per config on the same split. */
export function compareModels(
  train: Interaction[],
  test: Interaction[],
  models: { name: string; config: Partial<HybridConfig> }[],
  options: { items?: ItemMeta[]; k?: number; onProgress?: (stage: string, fraction: number) => void } = {},
): ModelRow[] {
  const k = options.k ?? 10;
  const popularity = popularityModel(train);
  const rows: ModelRow[] = [
    { name: 'popularity', result: evaluateRecommender((u, n) => popularity.recommend(u, n).items, train, test, { k, items: options.items }) },
  ];
  for (const { name, config } of models) {
    const started = performance.now();
    const model = trainHybridModel(train, { items: options.items, config, onProgress: options.onProgress });
    const trainSeconds = (performance.now() - started) / 1000;
    options.onProgress?.('evaluate', 0);
    const result = evaluateRecommender((u, n) => model.recommend(u, n).items, train, test, { k, items: options.items });
    rows.push({ name, result, trainSeconds });
  }
  return rows;
}

/** Plain-text table of evaluation rows (plus optional extra columns), aligned for a terminal. */
export function formatTable(rows: ModelRow[], extra: { header: string; values: string[] }[] = []): string {
  const k = rows[0]?.result.k ?? 10;
  const header = ['model', `P@${k}`, `R@${k}`, `nDCG@${k}`, `MAP@${k}`, 'coverage', 'diversity', 'train s', ...extra.map((e) => e.header)];
  const body = rows.map((r, i) => [
    r.name,
    r.result.precision.toFixed(4),
    r.result.recall.toFixed(4),
    r.result.ndcg.toFixed(4),
    r.result.map.toFixed(4),
    r.result.coverage.toFixed(4),
    r.result.diversity.toFixed(4),
    r.trainSeconds === undefined ? '-' : r.trainSeconds.toFixed(2),
    ...extra.map((e) => e.values[i] ?? '-'),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}
