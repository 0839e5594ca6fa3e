import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HybridModel } from './hybrid-model';
import { MANIFEST_FILE, PAYLOAD_FILE } from '../domain/lake-layout';
import { deserializeModel, serializeModel, type ModelManifest } from './serialize';

/** Writes `manifest.json` and `model.bin` into dir (created if missing). */
export async function writeModelDir(dir: string, model: HybridModel): Promise<void> {
  const { manifest, payload } = serializeModel(model);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, PAYLOAD_FILE), payload);
  await writeFile(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + '\n');
}

/** Loads a model written by writeModelDir; throws a clear Error if files are missing or corrupt. */
export async function readModelDir(dir: string): Promise<HybridModel> {
  let manifestText: string;
  let payload: Uint8Array;
  try {
    manifestText = await readFile(join(dir, MANIFEST_FILE), 'utf8');
    payload = await readFile(join(dir, PAYLOAD_FILE));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new Error(`${dir} is not a model directory: ${e.path ?? 'file'} not found`);
    throw new Error(`cannot read model from ${dir}: ${e.message}`);
  }
  let manifest: ModelManifest;
  try {
    manifest = JSON.parse(manifestText) as ModelManifest;
  } catch (err) {
    throw new Error(`${join(dir, MANIFEST_FILE)} is not valid JSON: ${(err as Error).message}`);
  }
  return deserializeModel({ manifest, payload });
}
