import { decodeJson, deploymentBackupKey, encodeJson, modelKeys, PRODUCTION_POINTER_KEY } from '../domain/lake-layout';
import {
  ArtifactUnusableError,
  parseProductionPointer,
  type DeploymentBackup,
  type Deployment,
  type ModelRegistry,
  type PointerRead,
  type ProductionPointer,
} from '../domain/model-registry';
import { parseModelManifest, type ModelArtifact, type ModelManifest } from '../recommender/serialize';
import type { S3Lake } from './s3-lake';

export interface S3ModelRegistryOptions {
  /**
   * The error for an object that is absent where it must be, or unreadable as stored (it names `key`).
   * By default an `ArtifactUnusableError`; the retraining steps raise their `CorruptObjectError`.
   */
  unreadable?: (key: string, message: string, cause?: unknown) => Error;
}

/** The model registry in the lake bucket (keys from src/domain/lake-layout.ts). */
export class S3ModelRegistry implements ModelRegistry {
  readonly location: string;
  private readonly unreadable: (key: string, message: string, cause?: unknown) => Error;

  constructor(
    private readonly lake: S3Lake,
    options: S3ModelRegistryOptions = {},
  ) {
    this.location = `s3://${lake.bucket}`;
    this.unreadable = options.unreadable ?? ((_key, message, cause) => new ArtifactUnusableError(message, { cause }));
  }

  async readPointer(): Promise<{ text: string; pointer: ProductionPointer } | undefined> {
    const text = await this.lake.getText(PRODUCTION_POINTER_KEY);
    if (text === undefined) return undefined;
    return { text, pointer: this.parsed(PRODUCTION_POINTER_KEY, () => parseProductionPointer(text, this.url(PRODUCTION_POINTER_KEY))) };
  }

  async readPointerIfChanged(etag?: string): Promise<PointerRead> {
    const res = await this.lake.getIfChanged(PRODUCTION_POINTER_KEY, etag);
    return res.status === 'changed' ? { status: 'changed', text: Buffer.from(res.body).toString('utf8'), etag: res.etag } : res;
  }

  writePointer(pointer: ProductionPointer): Promise<void> {
    return this.putJson(PRODUCTION_POINTER_KEY, pointer);
  }

  async restorePointer(text: string | null): Promise<void> {
    if (text === null) await this.lake.deleteObject(PRODUCTION_POINTER_KEY);
    else await this.lake.putObject(PRODUCTION_POINTER_KEY, text, 'application/json');
  }

  async writeDeploymentBackup(backup: DeploymentBackup): Promise<string> {
    const key = deploymentBackupKey(backup.runId);
    await this.putJson(key, backup);
    return key;
  }

  async readDeploymentBackup(runId: string): Promise<DeploymentBackup | undefined> {
    return (await this.getJson(deploymentBackupKey(runId))) as DeploymentBackup | undefined;
  }

  async hasArtifact(version: string): Promise<boolean> {
    const keys = modelKeys(version);
    return (await this.lake.getBytes(keys.manifest)) !== undefined && (await this.lake.getBytes(keys.payload)) !== undefined;
  }

  async readManifest(key: string): Promise<ModelManifest | undefined> {
    const text = await this.lake.getText(key);
    return text === undefined ? undefined : this.parsed(key, () => parseModelManifest(text, this.url(key)));
  }

  readPayload(key: string): Promise<Uint8Array | undefined> {
    return this.lake.getBytes(key);
  }

  async readArtifact(deployment: Pick<Deployment, 'manifestKey' | 'payloadKey'>): Promise<ModelArtifact> {
    const [manifest, payload] = await Promise.all([this.readManifest(deployment.manifestKey), this.readPayload(deployment.payloadKey)]);
    if (!manifest) throw this.unreadable(deployment.manifestKey, `${deployment.manifestKey} does not exist`);
    if (!payload) throw this.unreadable(deployment.payloadKey, `${deployment.payloadKey} does not exist`);
    return { manifest, payload };
  }

  async writeArtifact(version: string, artifact: ModelArtifact): Promise<void> {
    const keys = modelKeys(version);
    await this.lake.putObject(keys.payload, artifact.payload, 'application/octet-stream');
    await this.putJson(keys.manifest, artifact.manifest);
  }

  readTraining(version: string): Promise<unknown> {
    return this.getJson(modelKeys(version).training);
  }

  async writeTraining(version: string, record: unknown): Promise<string> {
    const key = modelKeys(version).training;
    await this.putJson(key, record);
    return key;
  }

  async writeEvaluation(version: string, record: unknown): Promise<string> {
    const key = modelKeys(version).evaluation;
    await this.putJson(key, record);
    return key;
  }

  private url(key: string): string {
    return `${this.location}/${key}`;
  }

  /** `parse()`'s value; its failure becomes the registry's error naming `key`. */
  private parsed<T>(key: string, parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      throw this.unreadable(key, (err as Error).message, err);
    }
  }

  private async getJson(key: string): Promise<unknown> {
    const text = await this.lake.getText(key);
    return text === undefined ? undefined : this.parsed(key, () => decodeJson(text, this.url(key)));
  }

  private putJson(key: string, value: unknown): Promise<void> {
    return this.lake.putObject(key, encodeJson(value), 'application/json');
  }
}
