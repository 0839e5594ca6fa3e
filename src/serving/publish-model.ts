import type { S3Lake } from '../adapters/s3-lake';
import { modelKeys, newModelVersion, parseProductionPointer, pointerFor, PRODUCTION_POINTER_KEY, type ProductionPointer } from '../domain/model-registry';
import { serializeModel, type HybridModel } from '../recommender/index';

/**
 * Writes a model's artifact under `models/<version>/` and then points `models/production.json` at it
 * (artifact first, pointer last, so a reader never sees a pointer to missing files). The nightly job's
 * DeployModel step does this in AWS; the local demo, the tests and the bench use this helper.
 *
 * @example
 * const pointer = await publishModel(new S3Lake(s3, bucket), trainHybridModel(ratings));
 */
export async function publishModel(lake: S3Lake, model: HybridModel, options: { version?: string; at?: Date } = {}): Promise<ProductionPointer> {
  const at = options.at ?? new Date();
  const version = options.version ?? newModelVersion(at);
  const keys = modelKeys(version);
  const { manifest, payload } = serializeModel(model);
  await Promise.all([
    lake.putObject(keys.manifest, JSON.stringify({ ...manifest, metadata: { ...manifest.metadata, modelVersion: version } }), 'application/json'),
    lake.putObject(keys.payload, payload, 'application/octet-stream'),
  ]);
  const currentText = await lake.getText(PRODUCTION_POINTER_KEY);
  const current = currentText ? safeParse(currentText) : undefined;
  const pointer = pointerFor(version, current, model.metadata.metrics, at);
  await lake.putObject(PRODUCTION_POINTER_KEY, JSON.stringify(pointer, null, 2), 'application/json');
  return pointer;
}

function safeParse(text: string): ProductionPointer | undefined {
  try {
    return parseProductionPointer(text);
  } catch {
    return undefined;
  }
}
