import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3Lake } from '../../src/adapters/s3-lake';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { deploymentBackupKey, modelKeys, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { newModelVersion, pointerFor } from '../../src/domain/model-registry';
import { generateSyntheticDataset, serializeModel, trainHybridModel } from '../../src/recommender/index';
import { startTestAws, type TestAws } from '../support/aws-env';

let aws: TestAws;
let lake: S3Lake;
beforeAll(async () => {
  aws = await startTestAws();
  lake = new S3Lake(aws.s3, aws.names.lakeBucket);
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  for (const key of await lake.listKeys('models/')) await lake.deleteObject(key);
});

const v1 = newModelVersion(new Date('2026-01-01T02:00:00Z'), 'one');
const v2 = newModelVersion(new Date('2026-01-02T02:00:00Z'), 'two');
const artifact = () => {
  const { interactions, items } = generateSyntheticDataset({ users: 60, items: 80, events: 2_000, seed: 3 });
  return serializeModel(trainHybridModel(interactions, { items }));
};

describe('S3ModelRegistry against s3rver', () => {
  it('round-trips the pointer, restores it byte for byte and removes it', async () => {
    const registry = new S3ModelRegistry(lake);
    expect(registry.location).toBe(`s3://${aws.names.lakeBucket}`);
    expect(await registry.readPointer()).toBeUndefined();

    const first = pointerFor(v1, undefined, { 'ndcg@10': 0.25 });
    await registry.writePointer(first);
    const read = await registry.readPointer();
    expect(read?.pointer).toEqual(first);
    expect(read?.text).toBe(await lake.getText(PRODUCTION_POINTER_KEY));

    await registry.writePointer(pointerFor(v2, first));
    expect((await registry.readPointer())?.pointer).toMatchObject({ version: v2, previous: { version: v1 } });

    await registry.restorePointer(read!.text);
    expect(await lake.getText(PRODUCTION_POINTER_KEY)).toBe(read!.text);
    await registry.restorePointer(null);
    expect(await registry.readPointer()).toBeUndefined();
  });

  it('re-reads the pointer conditionally: not-modified for the ETag held, changed after a write, missing when absent', async () => {
    const registry = new S3ModelRegistry(lake);
    expect(await registry.readPointerIfChanged()).toEqual({ status: 'missing' });
    await registry.writePointer(pointerFor(v1, undefined));
    const first = await registry.readPointerIfChanged();
    if (first.status !== 'changed') throw new Error(`expected changed, got ${first.status}`);
    expect(JSON.parse(first.text)).toMatchObject({ version: v1 });
    expect(await registry.readPointerIfChanged(first.etag)).toEqual({ status: 'not-modified' });

    await registry.writePointer(pointerFor(v2, undefined));
    const second = await registry.readPointerIfChanged(first.etag);
    expect(second).toMatchObject({ status: 'changed' });
    if (second.status === 'changed') expect(JSON.parse(second.text)).toMatchObject({ version: v2 });
  });

  it('names the key of a corrupt pointer, with the error the caller chose', async () => {
    await lake.putObject(PRODUCTION_POINTER_KEY, '{"formatVersion":1,', 'application/json');
    await expect(new S3ModelRegistry(lake).readPointer()).rejects.toMatchObject({
      name: 'ArtifactUnusableError',
      message: expect.stringContaining(`s3://${aws.names.lakeBucket}/${PRODUCTION_POINTER_KEY} is not valid JSON`),
    });
    class Named extends Error {
      constructor(readonly key: string, message: string) {
        super(message);
        this.name = 'Named';
      }
    }
    const registry = new S3ModelRegistry(lake, { unreadable: (key, message) => new Named(key, message) });
    await expect(registry.readPointer()).rejects.toMatchObject({ name: 'Named', key: PRODUCTION_POINTER_KEY });
  });

  it('writes and reads a version: artifact, training and evaluation records, deployment backups', async () => {
    const registry = new S3ModelRegistry(lake);
    const keys = modelKeys(v1);
    expect(await registry.hasArtifact(v1)).toBe(false);
    const { manifest, payload } = artifact();
    await registry.writeArtifact(v1, { manifest, payload });
    expect(await registry.hasArtifact(v1)).toBe(true);
    const read = await registry.readArtifact({ manifestKey: keys.manifest, payloadKey: keys.payload });
    expect(read.manifest).toEqual(manifest);
    expect(Buffer.from(read.payload).equals(Buffer.from(payload))).toBe(true);

    expect(await registry.writeTraining(v1, { version: v1 })).toBe(keys.training);
    expect(await registry.readTraining(v1)).toEqual({ version: v1 });
    expect(await registry.writeEvaluation(v1, { gate: 'pass' })).toBe(keys.evaluation);

    const backup = { runId: 'run-1', deployedVersion: v1, previousPointer: null, at: '2026-01-01T00:00:00.000Z' };
    expect(await registry.writeDeploymentBackup(backup)).toBe(deploymentBackupKey('run-1'));
    expect(await registry.readDeploymentBackup('run-1')).toEqual(backup);
    expect(await registry.readDeploymentBackup('run-2')).toBeUndefined();
  });

  it('a missing version: reads answer undefined, its artifact is unusable naming the absent file', async () => {
    const registry = new S3ModelRegistry(lake);
    const keys = modelKeys(v2);
    expect(await registry.hasArtifact(v2)).toBe(false);
    expect(await registry.readManifest(keys.manifest)).toBeUndefined();
    expect(await registry.readPayload(keys.payload)).toBeUndefined();
    expect(await registry.readTraining(v2)).toBeUndefined();
    await expect(registry.readArtifact({ manifestKey: keys.manifest, payloadKey: keys.payload })).rejects.toMatchObject({
      name: 'ArtifactUnusableError',
      message: `${keys.manifest} does not exist`,
    });
    await lake.putObject(keys.manifest, '{"formatVersion":1,"metadata"', 'application/json');
    await expect(registry.readManifest(keys.manifest)).rejects.toThrow(`s3://${aws.names.lakeBucket}/${keys.manifest} is not a model manifest: not valid JSON`);
  });
});
