import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/adapters/aws-clients';
import { S3Lake } from '../../src/adapters/s3-lake';
import { PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { ModelStore } from '../../src/serving/model-store';
import { startTestAws, type TestAws } from '../support/aws-env';
import { deploy, deployCorrupt, deployMissing, lakeOf, recordS3Requests, trainSmallModel, versionFor } from './support';

let aws: TestAws;
const modelA = trainSmallModel(1);
const modelB = trainSmallModel(2);

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});
beforeEach(async () => {
  const keys = await lakeOf(aws).listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
});

/** A store with its own S3 client (so its requests can be recorded) and a hand-driven clock. */
function storeWithClock(refreshSeconds = 30) {
  const s3 = createS3Client();
  const requests = recordS3Requests(s3);
  const clock = { now: Date.UTC(2026, 5, 1) };
  const store = new ModelStore(new S3ModelRegistry(new S3Lake(s3, aws.names.lakeBucket)), { refreshSeconds, now: () => clock.now });
  const pointerRequests = () => requests.calls.filter((c) => c.key === PRODUCTION_POINTER_KEY);
  return { store, clock, requests, pointerRequests, advance: (s: number) => (clock.now += s * 1000) };
}

describe('ModelStore against s3rver', () => {
  it('loads the production model at first use and reports it healthy', async () => {
    const v1 = versionFor(1);
    await deploy(aws, modelA, v1);
    const { store } = storeWithClock();
    const loaded = await store.get();
    expect(loaded?.version).toBe(v1);
    expect(loaded?.model.itemCount).toBe(modelA.itemCount);
    expect(store.health()).toMatchObject({ status: 'ok', modelVersion: v1, refreshSeconds: 30, stalenessBoundSeconds: 30 });
    expect(store.health().error).toBeUndefined();
    expect(store.health().loadedAt).toEqual(expect.any(String));
  });

  it('re-checks the pointer at most every refreshSeconds, with a conditional GET that costs a 304 when nothing changed', async () => {
    await deploy(aws, modelA, versionFor(1));
    const { store, advance, pointerRequests } = storeWithClock(30);
    await store.get();
    expect(pointerRequests()).toHaveLength(1);

    advance(10);
    await store.get();
    await store.get();
    expect(pointerRequests()).toHaveLength(1);

    advance(25);
    await store.get();
    const [first, second] = pointerRequests();
    expect(second).toMatchObject({ command: 'GetObjectCommand', ifNoneMatch: expect.stringMatching(/^"?[0-9a-f]+"?$/), status: 304 });
    expect(first!.ifNoneMatch).toBeUndefined();
  });

  it('serves a newly deployed version once the staleness bound has passed, not before', async () => {
    const v1 = versionFor(1);
    const v2 = versionFor(2);
    await deploy(aws, modelA, v1);
    const { store, advance } = storeWithClock(30);
    expect((await store.get())?.version).toBe(v1);

    await deploy(aws, modelB, v2);
    advance(29);
    expect((await store.get())?.version).toBe(v1);
    advance(1);
    expect((await store.get())?.version).toBe(v2);
    expect(store.health()).toMatchObject({ status: 'ok', modelVersion: v2 });
  });

  it('reload() picks up a new version immediately and says what it replaced', async () => {
    const v1 = versionFor(1);
    const v2 = versionFor(2);
    await deploy(aws, modelA, v1);
    const { store } = storeWithClock(3600);
    await store.get();
    await deploy(aws, modelB, v2);
    const out = await store.reload();
    expect(out).toMatchObject({ reloaded: true, previousVersion: v1, health: { status: 'ok', modelVersion: v2 } });
    expect((await store.reload()).reloaded).toBe(false);
  });

  it('keeps serving the current model when the new artifact is corrupt, and says so in health', async () => {
    const v1 = versionFor(1);
    await deploy(aws, modelA, v1);
    const { store, advance, requests } = storeWithClock(30);
    await store.get();
    await deployCorrupt(aws, modelB, versionFor(2));
    advance(30);
    expect((await store.get())?.version).toBe(v1);
    const health = store.health();
    expect(health).toMatchObject({ status: 'degraded', modelVersion: v1 });
    expect(health.error).toMatch(/could not be loaded: .*checksum/);
    // The error names the objects it came from.
    expect(health.error).toContain(`models/${versionFor(2)}/`);
    expect(health.error).toMatch(new RegExp(`still serving ${v1}`));

    // The broken artifact is not downloaded again until the pointer changes.
    const payloadGets = () => requests.calls.filter((c) => c.key.endsWith('model.bin')).length;
    const before = payloadGets();
    advance(30);
    await store.get();
    expect(payloadGets()).toBe(before);
    expect(store.health().status).toBe('degraded');

    // A good deployment afterwards heals it.
    const v3 = versionFor(3);
    await deploy(aws, modelB, v3);
    advance(30);
    expect((await store.get())?.version).toBe(v3);
    expect(store.health()).toMatchObject({ status: 'ok', modelVersion: v3 });
  });

  it('at cold start, falls back to the previous deployment when the production artifact is corrupt', async () => {
    const v1 = versionFor(1);
    await deploy(aws, modelA, v1);
    await deployCorrupt(aws, modelB, versionFor(2));
    const { store } = storeWithClock();
    const loaded = await store.get();
    expect(loaded?.version).toBe(v1);
    expect(store.health()).toMatchObject({ status: 'degraded', modelVersion: v1 });
    expect(store.health().error).toMatch(new RegExp(`serving the previous deployment ${v1}`));
  });

  it('with no usable model at all, answers undefined and a degraded health naming the reason', async () => {
    const { store, advance } = storeWithClock();
    expect(await store.get()).toBeUndefined();
    expect(store.health()).toMatchObject({ status: 'degraded', modelVersion: null, loadedAt: null });
    expect(store.health().error).toMatch(/production\.json does not exist/);

    await deployMissing(aws, versionFor(4));
    advance(30);
    expect(await store.get()).toBeUndefined();
    expect(store.health().error).toMatch(/model v\S+ could not be loaded: models\/.*manifest\.json does not exist/);

    await lakeOf(aws).putObject(PRODUCTION_POINTER_KEY, '{"formatVersion": 1, "version": "nope"}', 'application/json');
    advance(30);
    expect(await store.get()).toBeUndefined();
    expect(store.health().error).toMatch(/production\.json is invalid/);
  });

  it('does not throw when S3 itself fails; the current model keeps serving', async () => {
    const v1 = versionFor(1);
    await deploy(aws, modelA, v1);
    const s3 = createS3Client();
    let failing = false;
    s3.middlewareStack.add(
      (next) => async (args) => {
        if (failing) throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' });
        return next(args);
      },
      { step: 'initialize', name: 'failS3' },
    );
    const clock = { now: 0 };
    const store = new ModelStore(new S3ModelRegistry(new S3Lake(s3, aws.names.lakeBucket)), { refreshSeconds: 30, now: () => clock.now });
    await store.get();
    failing = true;
    clock.now += 31_000;
    expect((await store.get())?.version).toBe(v1);
    expect(store.health()).toMatchObject({ status: 'degraded', modelVersion: v1 });
    expect(store.health().error).toMatch(/could not read models\/production\.json: connect ECONNREFUSED/);
    failing = false;
    clock.now += 31_000;
    await store.get();
    expect(store.health().status).toBe('ok');
  });
});
