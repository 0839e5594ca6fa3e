import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli';


let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('cli', () => {
  it('prints help listing every command', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    for (const cmd of ['train', 'evaluate', 'recommend', 'similar', 'generate']) expect(stdout).toContain(cmd);
  });

  it('generates data, trains, recommends and evaluates end to end', async () => {
    const ratings = join(dir, 'ratings.csv');
    const gen = await cli('-q', 'generate', '--users', '200', '--items', '120', '--events', '5000', '--out', ratings);
    expect(gen.code).toBe(0);
    expect(gen.stdout).toContain('wrote 5000 interactions');
    expect((await readFile(ratings, 'utf8')).split('\n')[0]).toBe('userId,itemId,rating,timestamp');

    const model = join(dir, 'model');
    const train = await cli('-q', 'train', '--ratings', ratings, '--items', join(dir, 'ratings.items.csv'), '--out', model, '--evaluate');
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(train.stdout).toMatch(/trained ease model on 5000 interactions \(200 users, 120 items\)/);
    expect(train.stdout).toMatch(/holdout: precision@10 0\.\d+/);
    const manifest = JSON.parse(await readFile(join(model, 'manifest.json'), 'utf8'));
    expect(manifest.metadata.metrics['ndcg@10']).toBeGreaterThan(0);

    const one = await cli('recommend', '--model', model, '--user', 'u1', '--k', '5');
    expect(one.code).toBe(0);
    const rec = JSON.parse(one.stdout);
    expect(rec).toMatchObject({ userId: 'u1', strategy: 'personalized' });
    expect(rec.items).toHaveLength(5);
    expect(rec.items[0]).toHaveProperty('itemId');
    expect(rec.items[0]).toHaveProperty('score');

    const all = await cli('recommend', '--model', model, '--all-users', '--k', '3');
    const lines = all.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(200);
    expect(Object.keys(lines[0])).toEqual(['userId', 'items']);
    expect(lines[0].items).toHaveLength(3);
    expect(lines.find((l) => l.userId === 'u1').items).toEqual(rec.items.slice(0, 3).map((i: { itemId: string }) => i.itemId));

    const cold = JSON.parse((await cli('recommend', '--model', model, '--user', 'stranger')).stdout);
    expect(cold.strategy).toBe('popular');

    const similar = await cli('similar', '--model', model, '--item', 'i1', '--k', '4');
    expect(JSON.parse(similar.stdout).items).toHaveLength(4);

    const evaluation = await cli('-q', 'evaluate', '--ratings', ratings, '--json');
    expect(evaluation.code).toBe(0);
    const result = JSON.parse(evaluation.stdout);
    expect(result.models.map((m: { name: string }) => m.name)).toEqual(['popularity', 'hybrid (auto)']);
    expect(result.models[1].result.ndcg).toBeGreaterThan(result.models[0].result.ndcg);

    const table = await cli('-q', 'evaluate', '--ratings', ratings, '--split', 'temporal');
    expect(table.stdout).toMatch(/temporal split 0\.75/);
    expect(table.stdout).toMatch(/nDCG@10/);
  });

  it('names the file and line of a malformed ratings file, without a stack trace', async () => {
    const bad = join(dir, 'bad.data');
    await writeFile(bad, '1\t10\t4\t881250949\n2\t20\t3\t881250950\n3\t30\tfour\t881250951\n');
    const { code, stderr } = await cli('train', '--ratings', bad, '--out', join(dir, 'never'));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('error: bad.data:3: rating "four" is not a number');
  });

  it('reports missing files, bad models and bad options clearly', async () => {
    const missing = await cli('evaluate', '--ratings', join(dir, 'nope.csv'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: cannot read ratings file .*nope\.csv: no such file/);

    const notModel = await cli('recommend', '--model', dir, '--user', '1');
    expect(notModel.code).toBe(1);
    expect(notModel.stderr).toMatch(/is not a model directory/);

    const both = await cli('recommend', '--model', dir);
    expect(both.stderr).toMatch(/exactly one of --user <id> or --all-users/);

    const badK = await cli('recommend', '--model', dir, '--user', '1', '--k', '0');
    expect(badK.code).not.toBe(0);
    expect(badK.stderr).toMatch(/--k.*must be a positive integer/);

    const unknown = await cli('frobnicate');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});
