import type { S3Lake } from '../adapters/s3-lake';
import { S3ModelRegistry } from '../adapters/s3-model-registry';
import { ArtifactUnusableError, newModelVersion, pointerFor, type ProductionPointer } from '../domain/model-registry';
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
  const registry = new S3ModelRegistry(lake);
  const { manifest, payload } = serializeModel(model);
  await registry.writeArtifact(version, { manifest: { ...manifest, metadata: { ...manifest.metadata, modelVersion: version } }, payload });
  // An unreadable current pointer is replaced without being remembered.
  const current = await registry.readPointer().catch((err: unknown) => {
    if (err instanceof ArtifactUnusableError) return undefined;
    throw err;
  });
  const pointer = pointerFor(version, current?.pointer, model.metadata.metrics, at);
  await registry.writePointer(pointer);
  return pointer;
}
