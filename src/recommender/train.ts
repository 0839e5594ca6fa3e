import { resolveHybridConfig, type HybridConfig } from './model-config';
import { trainEase } from './ease';
import { HybridModel, type ModelState } from './hybrid-model';
import { trainSparseSimilarity } from './item-knn';
import { MODEL_FORMAT_VERSION, type ModelMetadata } from './metadata';
import type { InteractionMatrix, NeighbourLists } from './neighbours';
import { compactFromInteractions, isCompactInteractions } from './columnar';
import type { CompactInteractions, Interaction, ItemMeta } from './types';

export interface TrainOptions {
  /** Catalogue metadata: genres feed the content signal; items listed here are recommendable even unseen. */
  items?: ItemMeta[];
  config?: Partial<HybridConfig>;
  /** Called with a stage name and its completed fraction (0..1) during long work. */
  onProgress?: (stage: string, fraction: number) => void;
  /** Label stored in metadata.modelVersion. */
  modelVersion?: string;
}

/**
 * Trains the hybrid recommender: item-based collaborative neighbours (EASE for catalogues up to
 * config.easeMaxItems items, RP3beta or ItemKNN beyond), a genre profile for rarely seen items, and
 * item popularity for cold users. Repeated (user, item) pairs count once. Pure and deterministic.
 * Takes Interaction objects or the same rows as columns (CompactInteractions, src/recommender/columnar.ts): for rows
 * in the same order both give the same model, byte for byte; columns spare an object per row (24 bytes a row).
 *
 * Cost, for U users, I items, N interactions and S = Σ_u |h_u|² co-occurring pairs:
 * EASE O(N + S + I³) time and 8·I² bytes; RP3beta/ItemKNN O(N + S + I·K·log K) time and
 * O(N + I·K) memory (K = config.neighbors).
 *
 * @example
 * const model = trainHybridModel(parseRatingsFile(text), { items, config: { neighbors: 100 } });
 */
export function trainHybridModel(interactions: Interaction[] | CompactInteractions, options: TrainOptions = {}): HybridModel {
  const started = performance.now();
  const config = resolveHybridConfig(options.config);
  const progress = options.onProgress ?? (() => {});
  if (interactions.length === 0) throw new Error('cannot train a model on zero interactions');
  // One path for both forms: the array is converted once (same row order, so the same model as columns of it).
  const data = isCompactInteractions(interactions) ? interactions : compactFromInteractions(interactions);
  const n = data.length;

  // Index items (catalogue first, so unseen catalogue items are recommendable by content) and users, each in
  // order of first appearance among the kept rows; a column code is looked up by string once, not once per row.
  const itemIds: string[] = [];
  const itemIndex = new Map<string, number>();
  const addItem = (id: string): number => {
    let i = itemIndex.get(id);
    if (i === undefined) {
      i = itemIds.push(id) - 1;
      itemIndex.set(id, i);
    }
    return i;
  };
  for (const meta of options.items ?? []) addItem(meta.itemId);
  const itemOfCode = new Int32Array(data.items.length).fill(-1);
  const userOfCode = new Int32Array(data.users.length).fill(-1);
  const userIds: string[] = [];
  const pairUser = new Int32Array(n);
  const pairItem = new Int32Array(n);
  const { user, item, strength, firstContactMs } = data;
  let kept = 0;
  let from = Infinity;
  let to = -Infinity;
  for (let e = 0; e < n; e++) {
    if (!(strength[e] >= config.minRating)) continue;
    const uc = user[e];
    let u = userOfCode[uc];
    if (u === -1) u = userOfCode[uc] = userIds.push(data.users[uc]) - 1;
    const ic = item[e];
    let i = itemOfCode[ic];
    if (i === -1) i = itemOfCode[ic] = addItem(data.items[ic]);
    pairUser[kept] = u;
    pairItem[kept] = i;
    kept++;
    const t = firstContactMs[e];
    if (t < from) from = t;
    if (t > to) to = t;
    if ((e & 0xfffff) === 0) progress('index', e / n);
  }
  if (kept === 0) throw new Error(`no interaction has a rating >= minRating (${config.minRating})`);
  progress('index', 1);

  const matrix = buildUserMatrix(userIds.length, itemIds.length, pairUser, pairItem, kept);
  const itemCounts = new Float32Array(itemIds.length);
  for (let p = 0; p < matrix.userItems.length; p++) itemCounts[matrix.userItems[p]]++;

  let activeItems = 0;
  for (const c of itemCounts) if (c > 0) activeItems++;
  const algorithm =
    config.algorithm === 'auto' ? (activeItems <= config.easeMaxItems ? 'ease' : 'rp3beta') : config.algorithm;
  let neighbours: NeighbourLists;
  if (algorithm === 'ease') {
    neighbours = trainEase(matrix, config.easeLambda, config.neighbors, progress);
  } else if (algorithm === 'rp3beta') {
    neighbours = trainSparseSimilarity(matrix, { kind: 'rp3beta', alpha: config.rp3Alpha, beta: config.rp3Beta }, config.neighbors, progress);
  } else {
    neighbours = trainSparseSimilarity(matrix, { kind: 'itemknn', shrink: config.knnShrink }, config.neighbors, progress);
  }
  progress('neighbours', 1);

  const content = buildContent(itemIds, itemIndex, options.items ?? []);
  const metadata: ModelMetadata = {
    formatVersion: MODEL_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    config,
    trainingData: {
      interactions: matrix.userItems.length,
      users: userIds.length,
      items: itemIds.length,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
    },
    algorithm,
    trainingSeconds: Math.round(performance.now() - started) / 1000,
  };
  if (options.modelVersion) metadata.modelVersion = options.modelVersion;
  const state: ModelState = {
    metadata,
    itemIds,
    userIds,
    userPtr: matrix.userPtr,
    userItems: matrix.userItems,
    nbrPtr: neighbours.ptr,
    nbrIdx: neighbours.idx,
    nbrW: neighbours.w,
    itemCounts,
    ...content,
  };
  return new HybridModel(state);
}

/** Binary user×item CSR from (user, item) pairs; duplicates collapse, items sorted within each user. */
function buildUserMatrix(users: number, items: number, pairUser: Int32Array, pairItem: Int32Array, count: number): InteractionMatrix {
  const ptr = new Int32Array(users + 1);
  for (let e = 0; e < count; e++) ptr[pairUser[e] + 1]++;
  for (let u = 0; u < users; u++) ptr[u + 1] += ptr[u];
  const fill = ptr.slice(0, users);
  const raw = new Int32Array(count);
  for (let e = 0; e < count; e++) raw[fill[pairUser[e]]++] = pairItem[e];
  // Sort and de-duplicate each user's row, compacting in place.
  const userPtr = new Int32Array(users + 1);
  let out = 0;
  for (let u = 0; u < users; u++) {
    const row = raw.subarray(ptr[u], ptr[u + 1]);
    row.sort();
    for (let p = 0; p < row.length; p++) {
      if (p > 0 && row[p] === row[p - 1]) continue;
      raw[out++] = row[p];
    }
    userPtr[u + 1] = out;
  }
  return { users, items, userPtr, userItems: raw.slice(0, out) };
}

function buildContent(
  itemIds: string[],
  itemIndex: Map<string, number>,
  items: ItemMeta[],
): Pick<ModelState, 'genreNames' | 'genrePtr' | 'genreIdx' | 'titles'> {
  const genreNames: string[] = [];
  const genreIndex = new Map<string, number>();
  const perItem: number[][] = itemIds.map(() => []);
  const titles: string[] = itemIds.map(() => '');
  for (const meta of items) {
    const i = itemIndex.get(meta.itemId);
    if (i === undefined) continue;
    if (meta.title) titles[i] = meta.title;
    for (const g of meta.genres) {
      let gi = genreIndex.get(g);
      if (gi === undefined) {
        gi = genreNames.push(g) - 1;
        genreIndex.set(g, gi);
      }
      if (!perItem[i].includes(gi)) perItem[i].push(gi);
    }
  }
  const genrePtr = new Int32Array(itemIds.length + 1);
  for (let i = 0; i < itemIds.length; i++) genrePtr[i + 1] = genrePtr[i] + perItem[i].length;
  const genreIdx = new Int32Array(genrePtr[itemIds.length]);
  for (let i = 0; i < itemIds.length; i++) genreIdx.set(perItem[i], genrePtr[i]);
  return { genreNames, genrePtr, genreIdx, titles };
}
