import type { ConditionalGetResult, S3Lake } from '../adapters/s3-lake';
import { PRODUCTION_POINTER_KEY, type Deployment } from '../domain/model-registry';
import type { ModelArtifact, ModelManifest } from '../recommender/index';

/** A model artifact that can never load as stored (absent files, bad JSON); retrying will not help. */
export class ArtifactUnusableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArtifactUnusableError';
  }
}

/** Where the serving side reads the production pointer and the artifacts it names. */
export interface ModelSource {
  /** `models/production.json`, conditionally on the ETag of the copy already held. */
  pointer(etag?: string): Promise<ConditionalGetResult>;
  /** The manifest and payload of one deployment (not yet validated). */
  artifact(deployment: Pick<Deployment, 'manifestKey' | 'payloadKey'>): Promise<ModelArtifact>;
}

/** The model registry in the lake bucket. */
export class S3ModelSource implements ModelSource {
  constructor(private readonly lake: S3Lake) {}

  pointer(etag?: string): Promise<ConditionalGetResult> {
    return this.lake.getIfChanged(PRODUCTION_POINTER_KEY, etag);
  }

  async artifact(deployment: Pick<Deployment, 'manifestKey' | 'payloadKey'>): Promise<ModelArtifact> {
    const [manifestBytes, payload] = await Promise.all([this.lake.getBytes(deployment.manifestKey), this.lake.getBytes(deployment.payloadKey)]);
    if (!manifestBytes) throw new ArtifactUnusableError(`${deployment.manifestKey} does not exist`);
    if (!payload) throw new ArtifactUnusableError(`${deployment.payloadKey} does not exist`);
    let manifest: ModelManifest;
    try {
      manifest = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as ModelManifest;
    } catch (err) {
      throw new ArtifactUnusableError(`${deployment.manifestKey} is not valid JSON: ${(err as Error).message}`);
    }
    return { manifest, payload };
  }
}
