import { modelKeys } from '../domain/lake-layout';
import type { ModelRegistry } from '../domain/model-registry';
import {
  deserializeModel,
  evaluateRecommender,
  popularityModel,
  temporalSplit,
  trainHybridModel,
  type EvaluationResult,
  type HybridConfig,
  type Interaction,
  type ItemMeta,
  type ModelArtifact,
} from '../recommender/index';
import { CorruptObjectError, DataError } from './errors';
import { readSilverHistory } from './extract';
import { SetAsideLog, usableInteractions } from './poison';
import { gateDecision, type GateDecision } from './gate';
import { interactionRows, toInteractions } from './interactions';
import { categoryRows, readCompactInteractions, readItemCategories, usableCompact } from './compact-interactions';
import { compactToInteractions } from '../recommender/columnar';
import { modelRegistryOf, type RetrainingLake } from './lake';
import { runCatalogue, type TrainingRecord } from './train-candidate';

export type GateMetric = 'ndcg' | 'map' | 'precision' | 'recall';

export interface EvaluateRequest {
  runId: string;
  version: string;
  holdoutRatio: number;
  k: number;
  metric: GateMetric;
  tolerance: number;
  /** The run's catalogue snapshot, the one TrainModel joined (absent or null: none). */
  catalogKey?: string | null;
  /** The Athena engine's compact tables (FinishExtract's prefixes); absent or null: Silver, as TrainModel read it. */
  compact?: { interactionsPrefix: string; itemCategoriesPrefix: string | null } | null;
}

export type Metrics = Pick<EvaluationResult, 'precision' | 'recall' | 'ndcg' | 'map' | 'coverage' | 'diversity' | 'users' | 'k'>;

export interface EvaluationRecord {
  version: string;
  runId: string;
  createdAt: string;
  split: { method: 'per-user temporal hold-out'; holdoutRatio: number; trainInteractions: number; testInteractions: number; testUsers: number };
  candidate: Metrics;
  popularity: Metrics;
  /**
   * Production on the same split. Its artifact was trained on data inside this hold-out, so its recipe
   * (recommender config) is retrained on the split's train part; `sameRecipe` when it equals the candidate's.
   */
  production: { version: string; sameRecipe: boolean; metrics: Metrics } | null;
  gate: GateDecision;
}

export interface EvaluateResult {
  evaluationKey: string;
  productionVersion: string | null;
  /** Headline metrics, `<name>@<k>`, stored with the deployment. */
  headline: Record<string, number>;
  gate: GateDecision;
}

/**
 * Temporal hold-out evaluation of the candidate against production and popularity on one split:
 * each user's latest interactions are held out, every model is trained on the rest, metrics at k.
 * Also proves the stored artifact loads (checksum, layout) and answers.
 */
export async function evaluateCandidate(request: EvaluateRequest, lake: RetrainingLake, now: Date = new Date()): Promise<EvaluateResult> {
  const keys = modelKeys(request.version);
  const registry = modelRegistryOf(lake);
  const training = (await registry.readTraining(request.version)) as TrainingRecord | undefined;
  if (!training) throw new Error(`${keys.training} is missing: was ${request.version} trained by this pipeline?`);
  const manifest = await registry.readManifest(keys.manifest);
  const payload = await registry.readPayload(keys.payload);
  if (!manifest || !payload) throw new Error(`artifact ${keys.prefix} is incomplete (manifest or payload missing)`);
  const artifact = loadArtifact(registry, { manifest, payload }, keys.manifest, keys.payload);

  // The same item metadata the candidate was trained with, so the gate judges the model that ships.
  const catalogKey = request.catalogKey ?? null;
  if (training.catalogue && training.catalogue.key !== catalogKey) {
    throw new DataError(`EvaluateModel was given the catalogue ${catalogKey ?? '(none)'} but ${request.version} was trained with ${training.catalogue.key ?? '(none)'}`);
  }
  // The same usable history TrainModel trained on (rows it set aside are left out here too): Silver with the Lambda
  // engine, the compact table the Athena engine wrote otherwise.
  let interactions: Interaction[];
  let items: ItemMeta[];
  if (request.compact) {
    const table = usableCompact((await readCompactInteractions(lake, request.compact.interactionsPrefix)).interactions, new SetAsideLog());
    const categories = request.compact.itemCategoriesPrefix ? await readItemCategories(lake, request.compact.itemCategoriesPrefix) : new Map<string, string | null>();
    items = (await runCatalogue(lake, catalogKey, categoryRows(table.items, categories))).items;
    interactions = compactToInteractions(table);
  } else {
    const rows = interactionRows(usableInteractions((await readSilverHistory(lake, training.silver.fromDt ?? undefined)).rows, new SetAsideLog()));
    interactions = toInteractions(rows);
    items = (await runCatalogue(lake, catalogKey, rows)).items;
  }
  const anyUser = interactions[0]?.userId;
  if (anyUser !== undefined && artifact.recommend(anyUser, request.k).items.length === 0) {
    throw new Error(`artifact ${request.version} returns no recommendations for user ${anyUser}`);
  }

  const split = temporalSplit(interactions, { ratio: 1 - request.holdoutRatio });
  const evaluate = (recommend: (userId: string, k: number) => { itemId: string; score: number }[]) =>
    metricsOf(evaluateRecommender(recommend, split.train, split.test, { k: request.k, items }));
  const candidateConfig = manifest.metadata.config;
  const candidate = evaluate(recipeOnSplit(split.train, items, candidateConfig));
  const popular = popularityModel(split.train);
  const popularity = evaluate((u, k) => popular.recommend(u, k).items);

  let production: EvaluationRecord['production'] = null;
  const pointer = (await registry.readPointer())?.pointer;
  if (pointer) {
    const prodManifest = await registry.readManifest(pointer.manifestKey);
    if (!prodManifest) throw new Error(`production points at ${pointer.version} but ${pointer.manifestKey} is missing`);
    const sameRecipe = JSON.stringify(prodManifest.metadata.config) === JSON.stringify(candidateConfig);
    production = {
      version: pointer.version,
      sameRecipe,
      metrics: sameRecipe ? candidate : evaluate(recipeOnSplit(split.train, items, prodManifest.metadata.config)),
    };
  }

  const gate = gateDecision({
    metric: `${request.metric}@${request.k}`,
    candidate: candidate[request.metric],
    popularity: popularity[request.metric],
    production: production ? production.metrics[request.metric] : null,
    tolerance: request.tolerance,
  });
  const record: EvaluationRecord = {
    version: request.version,
    runId: request.runId,
    createdAt: now.toISOString(),
    split: {
      method: 'per-user temporal hold-out',
      holdoutRatio: request.holdoutRatio,
      trainInteractions: split.train.length,
      testInteractions: split.test.length,
      testUsers: candidate.users,
    },
    candidate,
    popularity,
    production,
    gate,
  };
  const evaluationKey = await registry.writeEvaluation(request.version, record);
  const k = request.k;
  return {
    evaluationKey,
    productionVersion: production?.version ?? null,
    headline: { [`ndcg@${k}`]: candidate.ndcg, [`precision@${k}`]: candidate.precision, [`recall@${k}`]: candidate.recall, [`map@${k}`]: candidate.map, coverage: candidate.coverage },
    gate,
  };
}

/** The stored artifact, loaded; one that does not load fails with a `CorruptObjectError` naming its payload. */
function loadArtifact(registry: ModelRegistry, artifact: ModelArtifact, manifestKey: string, payloadKey: string) {
  try {
    return deserializeModel(artifact, `artifact ${registry.location}/${manifestKey} + ${payloadKey}`);
  } catch (err) {
    throw new CorruptObjectError(payloadKey, (err as Error).message, { cause: err });
  }
}

/** A recommend function of `config` trained on the split's train part only. */
function recipeOnSplit(train: Interaction[], items: ItemMeta[], config: HybridConfig) {
  const model = trainHybridModel(train, { items, config });
  return (userId: string, k: number) => model.recommend(userId, k).items;
}

function metricsOf(r: EvaluationResult): Metrics {
  return { precision: r.precision, recall: r.recall, ndcg: r.ndcg, map: r.map, coverage: r.coverage, diversity: r.diversity, users: r.users, k: r.k };
}
