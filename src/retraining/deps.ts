import { createDynamoDocumentClient, createS3Client } from '../adapters/aws-clients';
import { DynamoFeatureTable } from '../adapters/dynamo-feature-table';
import { loadRetrainingConfig, type RetrainingConfig } from '../config/retraining';
import { S3Lake } from '../adapters/s3-lake';
import type { RetrainingLake } from './lake';

export interface RetrainingDeps {
  config: RetrainingConfig;
  lake: RetrainingLake;
  /** The feature table; absent when FEATURES_TABLE is not set (only ExtractFeatures needs it). */
  table: DynamoFeatureTable | undefined;
}

let cached: { signature: string; deps: RetrainingDeps } | undefined;

/**
 * Config and clients, built once per container from the environment and rebuilt only if the environment
 * changes (tests and the local runner point the same process at new emulators).
 */
export function retrainingDeps(env: Record<string, string | undefined> = process.env): RetrainingDeps {
  const signature = JSON.stringify(
    Object.entries(env)
      .filter(([k]) => k.startsWith('AWS_') || /^(LAKE_BUCKET|FEATURES_TABLE|VALIDATION_|TRAINING_|MODEL_|EVAL_|GATE_|DEPLOY_|API_BASE_URL|RELOAD_)/.test(k))
      .sort(),
  );
  if (cached?.signature !== signature) {
    const config = loadRetrainingConfig(env);
    const s3 = createS3Client(env);
    cached = {
      signature,
      deps: {
        config,
        lake: new S3Lake(s3, config.LAKE_BUCKET),
        table: config.FEATURES_TABLE ? new DynamoFeatureTable(createDynamoDocumentClient(env), config.FEATURES_TABLE) : undefined,
      },
    };
  }
  return cached.deps;
}
