import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  deserializeModel,
  generateSyntheticDataset,
  MANIFEST_FILE,
  PAYLOAD_FILE,
  readModelDir,
  serializeModel,
  trainHybridModel,
  writeModelDir,
  type HybridModel,
} from '../../src/recommender/index';

const data = generateSyntheticDataset({ users: 150, items: 120, events: 4000, seed: 5 });
const models: Record<string, HybridModel> = {
  ease: trainHybridModel(data.interactions, { items: data.items, modelVersion: 'v-test' }),
  rp3beta: trainHybridModel(data.interactions, { config: { algorithm: 'rp3beta', neighbors: 20 } }),
};
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function sameBehaviour(a: HybridModel, b: HybridModel): void {
  expect(b.metadata).toEqual(a.metadata);
  for (const user of ['u1', 'u7', 'u42', 'nobody']) expect(b.recommend(user, 10)).toEqual(a.recommend(user, 10));
  for (const item of ['i1', 'i5', 'i99']) expect(b.similar(item, 5)).toEqual(a.similar(item, 5));
  expect(b.popular(10)).toEqual(a.popular(10));
  expect(b.itemMeta('i3')).toEqual(a.itemMeta('i3'));
}

describe('model artifact', () => {
  for (const [name, model] of Object.entries(models)) {
    it(`round-trips a ${name} model exactly (same arrays, metadata and answers)`, () => {
      const artifact = serializeModel(model);
      const json = JSON.parse(JSON.stringify(artifact.manifest));
      const copy = deserializeModel({ manifest: json, payload: artifact.payload.slice() });
      for (const key of ['userPtr', 'userItems', 'nbrPtr', 'nbrIdx', 'nbrW', 'itemCounts', 'genrePtr', 'genreIdx'] as const) {
        expect(Array.from(copy.state[key])).toEqual(Array.from(model.state[key]));
      }
      expect(copy.state.itemIds).toEqual(model.state.itemIds);
      expect(copy.state.userIds).toEqual(model.state.userIds);
      sameBehaviour(model, copy);
      // Serialising the copy gives the same bytes.
      expect(Buffer.from(serializeModel(copy).payload).equals(Buffer.from(artifact.payload))).toBe(true);
    });
  }

  it('is self-describing: format version, config, training range and algorithm in the manifest', () => {
    const { manifest } = serializeModel(models.ease);
    expect(manifest.formatVersion).toBe(1);
    expect(manifest.metadata.modelVersion).toBe('v-test');
    expect(manifest.metadata.algorithm).toBe('ease');
    expect(manifest.metadata.config.easeLambda).toBeGreaterThan(0);
    expect(manifest.metadata.trainingData.interactions).toBe(4000);
    expect(manifest.payload.sections.map((s) => s.name)).toContain('nbrW');
  });

  it('refuses a corrupted, truncated or newer-format artifact with a clear error', () => {
    const artifact = serializeModel(models.ease);
    const flipped = artifact.payload.slice();
    flipped[flipped.length - 9] ^= 0xff;
    expect(() => deserializeModel({ manifest: artifact.manifest, payload: flipped })).toThrow(/checksum mismatch/);
    expect(() => deserializeModel({ manifest: artifact.manifest, payload: artifact.payload.slice(0, 100) })).toThrow(/truncated/);
    expect(() => deserializeModel({ manifest: { ...artifact.manifest, formatVersion: 99 }, payload: artifact.payload })).toThrow(
      /format version 99 is not supported/,
    );
    const notModel = new Uint8Array(artifact.payload.length);
    expect(() => deserializeModel({ manifest: artifact.manifest, payload: notModel })).toThrow(/signature/);
  });

  it('writes and reads a model directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'model-dir-'));
    dirs.push(dir);
    await writeModelDir(dir, models.ease);
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'));
    expect(manifest.metadata.algorithm).toBe('ease');
    sameBehaviour(models.ease, await readModelDir(dir));
    await writeFile(join(dir, MANIFEST_FILE), '{not json');
    await expect(readModelDir(dir)).rejects.toThrow(/manifest.json is not valid JSON/);
    await expect(readModelDir(join(dir, 'missing'))).rejects.toThrow(/not a model directory/);
    expect(PAYLOAD_FILE).toBe('model.bin');
  });
});
