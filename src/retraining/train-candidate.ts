import { newModelVersion } from '../domain/model-registry';
import { serializeModel, trainHybridModel, type HybridConfig, type ItemMeta } from '../recommender/index';
import type { SilverInteraction } from './silver';
import { DataError, describeError, NoTrainingDataError } from './errors';
import { SetAsideLog, usableInteractions, type SetAside } from './poison';
import { readSilverHistory } from './extract';
import { INTERACTION_MAPPING_DOC, interactionRows, itemCatalogue, withCatalogue, type CatalogueEntry } from './interactions';
import { categoryRows, compactFromSilver, readCompactInteractions, readItemCategories, usableCompact } from './compact-interactions';
import type { CompactInteractions } from '../recommender/types';
import { getJson, modelRegistryOf, type RetrainingLake } from './lake';
import { modelKeys } from '../domain/lake-layout';
import { isoDate, type DateWindow } from './run-window';

export interface TrainRequest {
  runId: string;
  window: DateWindow;
  modelConfig: Partial<HybridConfig>;
  /** Days of event history counted back from the window's end; 0 = all history. */
  trainingWindowDays: number;
  /**
   * The run's catalogue snapshot (SnapshotCatalog's `key`): titles and categories joined to the items. Absent or
   * null: no catalogue, items keep the categories their events carry.
   */
  catalogKey?: string | null;
}

/** What `models/<version>/training.json` records next to the artifact. */
export interface TrainingRecord {
  version: string;
  runId: string;
  window: DateWindow;
  createdAt: string;
  /** Silver selection: event dates from `fromDt` (null = all history). */
  silver: { fromDt: string | null; files: number; events: number };
  interactions: { count: number; users: number; items: number; from: string; to: string; mapping: string };
  config: HybridConfig;
  /** The catalogue snapshot joined to the items (null: none) and how many trained items it gave metadata; EvaluateModel checks it reads the same one. */
  catalogue: { key: string | null; joinedItems: number };
  algorithm: string | undefined;
  trainingSeconds: number;
  artifact: { manifestKey: string; payloadKey: string; payloadBytes: number };
}

export type TrainResult = Pick<TrainingRecord, 'version' | 'trainingSeconds' | 'algorithm'> & {
  trainingKey: string;
  manifestKey: string;
  events: number;
  interactions: number;
  users: number;
  items: number;
  payloadBytes: number;
  /** Silver rows the model artifact cannot hold (same rule as ExtractFeatures), left out of training. */
  setAside: SetAside;
};

/**
 * The item metadata of a run: the events' categories, joined with the catalogue snapshot at `catalogKey` (null:
 * none). A snapshot the run names but the lake lacks fails (as a corrupt one does): training without the
 * catalogue the run froze would ship a model the gate did not judge.
 */
export async function runCatalogue(lake: RetrainingLake, catalogKey: string | null, rows: readonly SilverInteraction[]): Promise<{ items: ItemMeta[]; joined: number }> {
  const fromEvents = itemCatalogue(rows);
  if (catalogKey === null) return { items: fromEvents, joined: 0 };
  const snapshot = await getJson<unknown>(lake, catalogKey);
  if (snapshot === undefined) throw new DataError(`the run's catalogue snapshot ${catalogKey} is missing`);
  const seen = new Set(rows.map((r) => r.item_id));
  let items: ItemMeta[];
  try {
    items = withCatalogue(fromEvents, snapshot, seen, catalogKey);
  } catch (err) {
    throw new DataError(describeError(err), { cause: err });
  }
  // withCatalogue validated the snapshot: count the seen items it gave metadata to.
  const joined = (snapshot as CatalogueEntry[]).filter((e) => e.withdrawn !== true && seen.has(e.itemId)).length;
  return { items, joined };
}

/** First event date of the training history, or undefined for all of it. */
export function trainingFromDt(window: DateWindow, trainingWindowDays: number): string | undefined {
  return trainingWindowDays > 0 ? isoDate(Date.parse(`${window.to}T00:00:00Z`) - (trainingWindowDays - 1) * 86_400_000) : undefined;
}

/**
 * Trains the candidate from Silver and stores it as a new version: `model.bin` first, then `manifest.json`
 * (so a manifest always has its payload), then `training.json`. Nothing here touches production.
 */
export async function trainCandidate(request: TrainRequest, lake: RetrainingLake, now: Date = new Date()): Promise<TrainResult> {
  const fromDt = trainingFromDt(request.window, request.trainingWindowDays);
  const { rows: stored, files } = await readSilverHistory(lake, fromDt);
  const setAside = new SetAsideLog();
  // Impressions stay in Silver (attribution) but never train: interactionRows leaves them out.
  const rows = interactionRows(usableInteractions(stored, setAside, 'Silver history'));
  if (rows.length === 0) throw new NoTrainingDataError(`no Silver interactions${fromDt ? ` with event date >= ${fromDt}` : ''}: nothing to train on`);
  // Columns, not one object per pair: the same model as toInteractions gives (test/retraining/compact-interactions.test.ts).
  const interactions = compactFromSilver(rows);
  // Titles and genres from the run's catalogue snapshot join the items seen in events.
  const catalogKey = request.catalogKey ?? null;
  const { items, joined } = await runCatalogue(lake, catalogKey, rows);
  return storeTrained(request, lake, now, { interactions, items, joined, catalogKey, silver: { fromDt: fromDt ?? null, files, events: rows.length }, setAside });
}

/** A training request over the compact interaction table the Athena engine wrote. */
export type CompactTrainRequest = TrainRequest & {
  /** The compact interaction table (Parquet, COMPACT_INTERACTION_COLUMNS of src/retraining/compact-interactions.ts). */
  interactionsPrefix: string;
  /** The item categories table (ITEM_CATEGORY_COLUMNS); null: none, items get genres from the catalogue only. */
  itemCategoriesPrefix: string | null;
};

/**
 * Trains the candidate from the compact table and stores it as TrainModel does (`trainCandidate`,
 * src/retraining/train-candidate.ts): `model.bin`, then `manifest.json`, then `training.json`; nothing touches
 * production. The table was cut to the training window by the query that wrote it; `fromDt` is recorded as there.
 */
export async function trainFromCompact(request: CompactTrainRequest, lake: RetrainingLake, now: Date = new Date()): Promise<TrainResult> {
  const fromDt = trainingFromDt(request.window, request.trainingWindowDays);
  const table = await readCompactInteractions(lake, request.interactionsPrefix);
  const setAside = new SetAsideLog();
  const interactions = usableCompact(table.interactions, setAside);
  if (interactions.length === 0) throw new NoTrainingDataError(`no compact interactions under ${request.interactionsPrefix}${fromDt ? ` (event date >= ${fromDt})` : ''}: nothing to train on`);
  const categories = request.itemCategoriesPrefix ? await readItemCategories(lake, request.itemCategoriesPrefix) : new Map<string, string | null>();
  const catalogKey = request.catalogKey ?? null;
  // One stand-in row per item (not per interaction) lets runCatalogue join exactly as it does for Silver rows.
  const { items, joined } = await runCatalogue(lake, catalogKey, categoryRows(interactions.items, categories));
  return storeTrained(request, lake, now, { interactions, items, joined, catalogKey, silver: { fromDt: fromDt ?? null, files: table.files, events: table.events }, setAside });
}

/**
 * Trains and stores a candidate from interactions already in columns: what TrainModel does after reading, from Silver
 * (`trainCandidate`) or from the compact table (`trainFromCompact`, the Athena engine and the Fargate task).
 */
export async function storeTrained(
  request: Pick<TrainRequest, 'runId' | 'window' | 'modelConfig'>,
  lake: RetrainingLake,
  now: Date,
  input: { interactions: CompactInteractions; items: ItemMeta[]; joined: number; catalogKey: string | null; silver: TrainingRecord['silver']; setAside: SetAsideLog },
): Promise<TrainResult> {
  const { interactions } = input;
  const version = newModelVersion(now, request.runId.replace(/[^A-Za-z0-9]/g, '').slice(-8));
  const model = trainHybridModel(interactions, { items: input.items, config: request.modelConfig, modelVersion: version });
  let artifact: ReturnType<typeof serializeModel>;
  try {
    artifact = serializeModel(model);
  } catch (err) {
    // Serialising is pure: what fails here fails on every attempt.
    throw new DataError(`model ${version} cannot be serialised: ${describeError(err)}`, { cause: err });
  }
  const { manifest, payload } = artifact;
  const keys = modelKeys(version);
  const registry = modelRegistryOf(lake);
  await registry.writeArtifact(version, artifact);
  const meta = manifest.metadata;
  const record: TrainingRecord = {
    version,
    runId: request.runId,
    window: request.window,
    createdAt: now.toISOString(),
    silver: input.silver,
    interactions: {
      count: interactions.length,
      users: meta.trainingData.users,
      items: meta.trainingData.items,
      from: meta.trainingData.from,
      to: meta.trainingData.to,
      mapping: INTERACTION_MAPPING_DOC,
    },
    config: meta.config,
    catalogue: { key: input.catalogKey, joinedItems: input.joined },
    algorithm: meta.algorithm,
    trainingSeconds: meta.trainingSeconds ?? 0,
    artifact: { manifestKey: keys.manifest, payloadKey: keys.payload, payloadBytes: payload.byteLength },
  };
  const key = await registry.writeTraining(version, record);
  return {
    version,
    trainingKey: key,
    manifestKey: keys.manifest,
    events: input.silver.events,
    interactions: interactions.length,
    users: record.interactions.users,
    items: record.interactions.items,
    algorithm: record.algorithm,
    trainingSeconds: record.trainingSeconds,
    payloadBytes: payload.byteLength,
    setAside: input.setAside.summary(),
  };
}

