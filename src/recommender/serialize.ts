import type { HybridModel } from './hybrid-model';
import type { ModelMetadata } from './metadata';

export const MANIFEST_FILE = 'manifest.json';
export const PAYLOAD_FILE = 'model.bin';

/** JSON half of an artifact: metadata plus the layout of the binary payload. */
export interface ModelManifest {
  formatVersion: number;
  metadata: ModelMetadata;
  payload: { bytes: number; checksum: string; sections: { name: string; type: string; offset: number; length: number }[] };
}

export interface ModelArtifact {
  manifest: ModelManifest;
  payload: Uint8Array;
}

export function serializeModel(_model: HybridModel): ModelArtifact {
  throw new Error('not implemented yet');
}

export function deserializeModel(_artifact: ModelArtifact): HybridModel {
  throw new Error('not implemented yet');
}
