import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { EXPERIMENTS_PREFIX } from '../../src/domain/lake-layout';
import { serializeModel } from '../../src/recommender/index';
import { startTestAws, type TestAws } from '../support/aws-env';
import { cli } from '../support/cli';
import { deploy, lakeOf, trainSmallModel, versionFor } from '../serving/support';

/** `npm run cli -- experiment …` against s3rver: the same pointer and log the admin routes change. */
let aws: TestAws;
const V1 = versionFor(1);
const V2 = versionFor(2, 'challenger');

beforeAll(async () => {
  aws = await startTestAws();
  await deploy(aws, trainSmallModel(1), V1);
  await new S3ModelRegistry(lakeOf(aws)).writeArtifact(V2, serializeModel(trainSmallModel(2)));
});
afterAll(async () => {
  delete process.env.LAKE_BUCKET;
  await aws?.stop();
});

const pointer = async () => (await new S3ModelRegistry(lakeOf(aws)).readPointer())!.pointer;

describe('cli experiment, against s3rver', () => {
  it('status with nothing running; start with settings; refuses a second start and bad settings with exit code 1', async () => {
    const bucket = aws.names.lakeBucket;
    const idle = await cli('experiment', 'status', '--bucket', bucket);
    expect(idle).toMatchObject({ code: 0, stderr: '' });
    expect(idle.stdout).toContain(`production: ${V1}`);
    expect(idle.stdout).toContain('experiment: none running');

    const bad = await cli('experiment', 'start', '--challenger', V2, '--share', '75', '--bucket', bucket);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/error: invalid experiment settings: sharePercent/);
    expect((await cli('experiment', 'start', '--challenger', V2, '--alpha', 'lots', '--bucket', bucket)).code).not.toBe(0);
    const unknown = await cli('experiment', 'start', '--challenger', versionFor(7, 'absent'), '--bucket', bucket);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringContaining('unknown model version') });
    expect((await pointer()).experiment ?? null).toBeNull();

    const started = await cli('experiment', 'start', '--challenger', V2, '--share', '20', '--metric', 'conversion', '--min-impressions', '500', '--alpha', '0.05', '--max-hours', '24', '--bucket', bucket);
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(new RegExp(`started experiment x[a-z0-9]+: ${V2} serves 20 % of users, ${V1} the rest`));
    expect((await pointer()).experiment).toMatchObject({ challenger: { version: V2 }, sharePercent: 20, startedBy: 'operator', decision: { metric: 'conversion', minImpressions: 500, alpha: 0.05, maxDurationHours: 24 } });

    const again = await cli('experiment', 'start', '--challenger', V2, '--bucket', bucket);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('already running') });

    process.env.LAKE_BUCKET = bucket;
    const status = await cli('experiment', 'status', '--json');
    expect(JSON.parse(status.stdout)).toMatchObject({ pointer: { version: V1 }, experiment: { sharePercent: 20 }, settings: { metric: 'conversion' } });
  });

  it('stop, then start and promote; every action leaves one log object', async () => {
    const { experiment } = await pointer();
    expect((await cli('experiment', 'stop', '--experiment', 'xnotthisone')).code).toBe(1);
    const stopped = await cli('experiment', 'stop', '--reason', 'testing');
    expect(stopped).toMatchObject({ code: 0, stdout: expect.stringContaining(`stopped experiment ${experiment!.id}`) });
    expect((await pointer()).experiment).toBeNull();
    expect((await cli('experiment', 'stop')).code).toBe(1);

    expect((await cli('experiment', 'start', '--challenger', V2)).code).toBe(0);
    const second = (await pointer()).experiment!;
    const promoted = await cli('experiment', 'promote');
    expect(promoted).toMatchObject({ code: 0, stderr: '' });
    expect(promoted.stdout).toContain(`production is now ${V2}, previous ${V1}`);
    expect(await pointer()).toMatchObject({ version: V2, previous: { version: V1 }, experiment: null });

    const lake = lakeOf(aws);
    expect((await lake.listKeys(`${EXPERIMENTS_PREFIX}${experiment!.id}/`)).map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json', 'stopped.json']);
    expect((await lake.listKeys(`${EXPERIMENTS_PREFIX}${second.id}/`)).map((k) => k.replace(/^.*-/, ''))).toEqual(['started.json', 'promoted.json']);
  });
});
