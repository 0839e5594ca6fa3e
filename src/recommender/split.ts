import { createRng, shuffleInPlace } from './rng';
import type { Interaction } from './types';

export interface SplitResult {
  train: Interaction[];
  test: Interaction[];
}

function groupByUser(interactions: Interaction[]): Map<string, Interaction[]> {
  const groups = new Map<string, Interaction[]>();
  for (const e of interactions) {
    let g = groups.get(e.userId);
    if (!g) groups.set(e.userId, (g = []));
    g.push(e);
  }
  return groups;
}

function checkRatio(ratio: number): void {
  if (!(ratio > 0 && ratio < 1)) throw new Error(`split ratio must be between 0 and 1 (got ${ratio})`);
}

/**
 * Per-user stratified random split (as python_stratified_split in Microsoft Recommenders): each user's
 * interactions are shuffled with a seeded PRNG and the first round(ratio·n) go to train, so every user
 * keeps the same share in train. Same input order and seed give the same split.
 */
export function stratifiedSplit(interactions: Interaction[], options: { ratio?: number; seed?: number } = {}): SplitResult {
  const ratio = options.ratio ?? 0.75;
  checkRatio(ratio);
  const rng = createRng(options.seed ?? 42);
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const group of groupByUser(interactions).values()) {
    shuffleInPlace(group, rng);
    const cut = Math.round(ratio * group.length);
    for (let i = 0; i < group.length; i++) (i < cut ? train : test).push(group[i]);
  }
  return { train, test };
}

/**
 * Per-user temporal split: each user's latest (1 - ratio) interactions are held out, the way the nightly
 * job sees data (train on the past, serve the future). Ties in time keep input order.
 */
export function temporalSplit(interactions: Interaction[], options: { ratio?: number } = {}): SplitResult {
  const ratio = options.ratio ?? 0.75;
  checkRatio(ratio);
  const train: Interaction[] = [];
  const test: Interaction[] = [];
  for (const group of groupByUser(interactions).values()) {
    group.sort((a, b) => a.timestamp - b.timestamp);
    const cut = Math.round(ratio * group.length);
    for (let i = 0; i < group.length; i++) (i < cut ? train : test).push(group[i]);
  }
  return { train, test };
}
