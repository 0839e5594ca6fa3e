import { newModelVersion } from '../domain/model-registry';
import { serializeModel, trainHybridModel, type HybridConfig } from '../recommender/index';
import { DataError, describeError, NoTrainingDataError } from './errors';
import { SetAsideLog, usableInteractions, type SetAside } from './poison';
import { readSilverHistory } from './extract';
import { INTERACTION_MAPPING_DOC, itemCatalogue, toInteractions, withCatalogue } from './interactions';
import { getJson, modelRegistryOf, type RetrainingLake } from './lake';
import { CATALOG_KEY, modelKeys } from '../domain/lake-layout';
import { isoDate, type DateWindow } from './run-window';

export interface TrainRequest {
  runId: string;
  window: DateWindow;
  modelConfig: Partial<HybridConfig>;
  /** Days of event history counted back from the window's end; 0 = all history. */
  trainingWindowDays: number;
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
  const rows = usableInteractions(stored, setAside, 'Silver history');
  if (rows.length === 0) throw new NoTrainingDataError(`no Silver interactions${fromDt ? ` with event date >= ${fromDt}` : ''}: nothing to train on`);
  const interactions = toInteractions(rows);
  // Titles and genres from the optional catalogue (catalog/items.json) join the items seen in events.
  const items = withCatalogue(itemCatalogue(rows), await getJson<unknown>(lake, CATALOG_KEY), new Set(rows.map((r) => r.item_id)));

  const version = newModelVersion(now, request.runId.replace(/[^A-Za-z0-9]/g, '').slice(-8));
  const model = trainHybridModel(interactions, { items, config: request.modelConfig, modelVersion: version });
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
    silver: { fromDt: fromDt ?? null, files, events: rows.length },
    interactions: {
      count: interactions.length,
      users: meta.trainingData.users,
      items: meta.trainingData.items,
      from: meta.trainingData.from,
      to: meta.trainingData.to,
      mapping: INTERACTION_MAPPING_DOC,
    },
    config: meta.config,
    algorithm: meta.algorithm,
    trainingSeconds: meta.trainingSeconds ?? 0,
    artifact: { manifestKey: keys.manifest, payloadKey: keys.payload, payloadBytes: payload.byteLength },
  };
  const key = await registry.writeTraining(version, record);
  return {
    version,
    trainingKey: key,
    manifestKey: keys.manifest,
    events: rows.length,
    interactions: interactions.length,
    users: record.interactions.users,
    items: record.interactions.items,
    algorithm: record.algorithm,
    trainingSeconds: record.trainingSeconds,
    payloadBytes: payload.byteLength,
    setAside: setAside.summary(),
  };
}
