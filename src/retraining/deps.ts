import { createDynamoDocumentClient, createS3Client } from '../adapters/aws-clients';
import { DynamoCatalog } from '../adapters/dynamo-catalog';
import { DynamoFeatureTable } from '../adapters/dynamo-feature-table';
import type { CatalogReader } from '../catalog/catalog-store';
import { loadRetrainingConfig, type RetrainingConfig } from '../config/retraining';
import { S3Lake } from '../adapters/s3-lake';
import type { RetrainingLake } from './lake';

export interface RetrainingDeps {
  config: RetrainingConfig;
  lake: RetrainingLake;
  /** The feature table; absent when FEATURES_TABLE is not set (only ExtractFeatures needs it). */
  table: DynamoFeatureTable | undefined;
  /**
   * The live item catalogue, read by SnapshotCatalog only; absent when CATALOG_TABLE is not set (the snapshot then
   * falls back to catalog/items.json).
   */
  catalog: CatalogReader | undefined;
}

/** CATALOG_TABLE, when set: the catalogue table's name (3-255 characters of letters, digits, `_`, `-`, `.`). */
export function catalogTableOf(env: Record<string, string | undefined>): string | undefined {
  const name = env.CATALOG_TABLE?.trim();
  if (!name) return undefined;
  if (!/^[A-Za-z0-9_.-]{3,255}$/.test(name)) throw new Error(`retraining configuration: CATALOG_TABLE must name a DynamoDB table (3-255 letters, digits, _ - .), got ${JSON.stringify(name.slice(0, 60))}`);
  return name;
}

let cached: { signature: string; deps: RetrainingDeps } | undefined;

/**
 * Config and clients, built once per container from the environment and rebuilt only if the environment
 * changes (tests and the local runner point the same process at new emulators).
 */
export function retrainingDeps(env: Record<string, string | undefined> = process.env): RetrainingDeps {
  const signature = JSON.stringify(
    Object.entries(env)
      .filter(([k]) => k.startsWith('AWS_') || /^(LAKE_BUCKET|FEATURES_TABLE|CATALOG_TABLE|VALIDATION_|TRAINING_|MODEL_|EVAL_|GATE_|DEPLOY_|API_BASE_URL|RELOAD_|ROLLOUT|CANARY_|EXPERIMENT_|RETRAINING_ENGINE|ATHENA_|FARGATE_|ERASURE_)/.test(k))
      .sort(),
  );
  if (cached?.signature !== signature) {
    const config = loadRetrainingConfig(env);
    const s3 = createS3Client(env);
    const catalogTable = catalogTableOf(env);
    const ddb = config.FEATURES_TABLE || catalogTable ? createDynamoDocumentClient(env) : undefined;
    cached = {
      signature,
      deps: {
        config,
        lake: new S3Lake(s3, config.LAKE_BUCKET),
        table: config.FEATURES_TABLE && ddb ? new DynamoFeatureTable(ddb, config.FEATURES_TABLE) : undefined,
        catalog: catalogTable && ddb ? new DynamoCatalog(ddb, catalogTable) : undefined,
      },
    };
  }
  return cached.deps;
}
