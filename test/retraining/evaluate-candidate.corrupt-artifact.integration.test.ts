import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bronzeKeyFor, modelKeys, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { newModelVersion } from '../../src/domain/model-registry';
import { deserializeModel, parseModelManifest, serializeModel, trainHybridModel } from '../../src/recommender/index';
import { evaluateCandidate } from '../../src/retraining/evaluate-candidate';
import { extractWindow, type ExactFeatureWriter } from '../../src/retraining/extract';
import { getJson } from '../../src/retraining/lake';
import { generateTasteEvents } from '../../src/local/synthetic-events';
import { trainCandidate } from '../../src/retraining/train-candidate';
import { startTestAws, type TestAws } from '../support/aws-env';
import { lakeOf } from './support';

let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws?.stop();
});

const DT = '2026-11-15';
const noTable: ExactFeatureWriter = { putExactFeatures: async () => ({ failed: new Set<string>() }) };

describe('a corrupt production manifest or artifact fails with an error that names its key', () => {
  it('EvaluateModel: CorruptObjectError naming the manifest key, not a bare SyntaxError', async () => {
    const lake = lakeOf(aws);
    const events = [...generateTasteEvents({ events: 1500, users: 60, items: 40, seed: 5, startMs: Date.parse(`${DT}T00:00:00Z`), endMs: Date.parse(`${DT}T20:00:00Z`) })];
    const lines = events.map((e, i) => JSON.stringify({ ...e, _ingest: { shardId: 'shardId-000000000000', sequenceNumber: String(100 + i), arrivalTime: `${DT}T23:00:00.000Z` } }));
    await lake.putObject(bronzeKeyFor({ kind: 'events', dt: DT, shardId: 'shardId-000000000000', firstSequenceNumber: '100' }), lines.join('\n') + '\n', 'application/x-ndjson');
    await extractWindow({ from: DT, to: DT }, { lake, table: noTable });
    const trained = await trainCandidate({ runId: 'corrupt-1', window: { from: DT, to: DT }, modelConfig: {}, trainingWindowDays: 0 }, lake);
    expect(trained.setAside.count).toBe(0);
    const request = { runId: 'corrupt-1', version: trained.version, holdoutRatio: 0.2, k: 10, metric: 'ndcg' as const, tolerance: 0.02 };

    // Production points at a version whose manifest is truncated.
    const prod = newModelVersion(new Date('2026-11-01T00:00:00Z'), 'prod');
    const keys = modelKeys(prod);
    await lake.putObject(keys.manifest, '{"formatVersion":1,"metadata":{"config"', 'application/json');
    await lake.putObject(PRODUCTION_POINTER_KEY, JSON.stringify({ formatVersion: 1, version: prod, manifestKey: keys.manifest, payloadKey: keys.payload, deployedAt: '2026-11-01T00:00:00.000Z', previous: null }), 'application/json');
    const manifestError = (await evaluateCandidate(request, lake).then(() => undefined, (e: unknown) => e)) as Error;
    expect(manifestError).toMatchObject({ name: 'CorruptObjectError', key: keys.manifest });
    expect(manifestError.message).toContain(`s3://${aws.names.lakeBucket}/${keys.manifest} is not a model manifest: not valid JSON`);

    // A corrupt production pointer names its key too.
    await lake.putObject(PRODUCTION_POINTER_KEY, '{"formatVersion":1,', 'application/json');
    await expect(evaluateCandidate(request, lake)).rejects.toMatchObject({ name: 'CorruptObjectError', key: PRODUCTION_POINTER_KEY, message: expect.stringContaining(`${PRODUCTION_POINTER_KEY} is not valid JSON`) });
    await lake.deleteObject(PRODUCTION_POINTER_KEY);

    // The candidate's own payload, corrupted: the error names both keys of the artifact.
    const own = modelKeys(trained.version);
    const payload = (await lake.getBytes(own.payload))!;
    payload[payload.length - 1] ^= 0xff;
    await lake.putObject(own.payload, payload, 'application/octet-stream');
    await expect(evaluateCandidate(request, lake)).rejects.toMatchObject({ name: 'CorruptObjectError', message: expect.stringMatching(new RegExp(`${own.manifest} \\+ ${own.payload}: model payload checksum mismatch`)) });

    // Any JSON object the steps read back (reports, state) names its key when corrupt.
    await lake.putObject('reports/retraining/last-validation.json', 'not json', 'application/json');
    await expect(getJson(lake, 'reports/retraining/last-validation.json')).rejects.toMatchObject({ name: 'CorruptObjectError', message: expect.stringContaining('reports/retraining/last-validation.json is not valid JSON') });
  });

  it('the recommender reader names its source for a manifest or section that is not JSON', () => {
    expect(() => parseModelManifest('{', 's3://lake/models/v1/manifest.json')).toThrow(/^s3:\/\/lake\/models\/v1\/manifest\.json is not a model manifest: not valid JSON/);
    const model = trainHybridModel([{ userId: 'u1', itemId: 'i1', rating: 5, timestamp: 1 }, { userId: 'u2', itemId: 'i2', rating: 4, timestamp: 2 }], {});
    const { manifest, payload } = serializeModel(model);
    const titles = manifest.payload.sections.find((s) => s.name === 'titles')!;
    const broken = payload.slice();
    broken[titles.offset] = 0x7b; // "{" where the titles' JSON starts
    expect(() => deserializeModel({ manifest, payload: broken }, 'models/v1')).toThrow(/^models\/v1: model payload checksum mismatch/);
  });
});
