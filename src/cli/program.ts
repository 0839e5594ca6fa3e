import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  generateSyntheticDataset,
  PAYLOAD_FILE,
  readModelDir,
  stratifiedSplit,
  temporalSplit,
  trainHybridModel,
  evaluateRecommender,
  writeModelDir,
  type CollaborativeAlgorithm,
  type HybridConfig,
  type HybridModel,
} from '../recommender/index';
import { addCatalogCommands, ExitCode } from './catalog-command';
import { addExperimentCommands } from './experiment-command';
import { readItems, readRatings, UserError } from './files';
import { createProgress } from './progress';
import { compareModels, formatTable } from './report';

type Out = NodeJS.WritableStream & { isTTY?: boolean };

export interface CliIo {
  stdout: Out;
  stderr: Out;
}

const ALGORITHMS: CollaborativeAlgorithm[] = ['auto', 'ease', 'rp3beta', 'itemknn'];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer');
  return n;
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a non-negative number');
  return n;
}

function ratio(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError('must be between 0 and 1');
  return n;
}

interface ModelOptions {
  algorithm?: CollaborativeAlgorithm;
  lambda?: number;
  neighbors?: number;
  minRating?: number;
  contentWeight?: number;
}

function addModelOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--algorithm <name>', 'collaborative core (auto: EASE up to 6000 items, else RP3beta)').choices(ALGORITHMS))
    .option('--lambda <n>', 'EASE regularisation', nonNegativeNumber)
    .option('--neighbors <n>', 'neighbours kept per item', positiveInt)
    .option('--min-rating <n>', 'ignore interactions rated below this', nonNegativeNumber)
    .option('--content-weight <n>', 'weight of the genre signal for rarely seen items', nonNegativeNumber);
}

function configFrom(opts: ModelOptions): Partial<HybridConfig> {
  const config: Partial<HybridConfig> = {};
  if (opts.algorithm) config.algorithm = opts.algorithm;
  if (opts.lambda !== undefined) config.easeLambda = opts.lambda;
  if (opts.neighbors !== undefined) config.neighbors = opts.neighbors;
  if (opts.minRating !== undefined) config.minRating = opts.minRating;
  if (opts.contentWeight !== undefined) config.contentWeight = opts.contentWeight;
  return config;
}

async function loadModel(dir: string): Promise<HybridModel> {
  try {
    return await readModelDir(dir);
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

async function writeLines(out: Out, lines: Iterable<string>): Promise<void> {
  let chunk = '';
  for (const line of lines) {
    chunk += line + '\n';
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  if (chunk) out.write(chunk);
}

/** Builds the `cli` program; output goes to io so tests can run it in-process. */
export function createProgram(io: CliIo): Command {
  const say = (text: string) => io.stdout.write(text + '\n');
  const program = new Command('cli')
    .description('Train, evaluate and query the hybrid recommender on local files (no AWS needed); import a catalogue into the catalogue table.')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .option('-q, --quiet', 'no progress output on stderr');
  const progressFor = () => createProgress(io.stderr, Boolean(program.opts().quiet));

  addModelOptions(
    program
      .command('train')
      .description('train a model from a ratings file and write it to a directory (manifest.json + model.bin)')
      .requiredOption('--ratings <file>', 'u.data (tab), ratings.dat (::) or CSV userId,itemId,rating,timestamp')
      .option('--items <file>', 'item metadata: u.item, movies.dat or CSV itemId,title,genres')
      .requiredOption('--out <dir>', 'model directory to write')
      .option('--model-version <label>', 'version label stored in the model metadata')
      .option('--evaluate', 'first measure the configuration on a 75/25 stratified split and store the metrics in the model'),
  ).action(async (opts: ModelOptions & { ratings: string; items?: string; out: string; modelVersion?: string; evaluate?: boolean }) => {
    const ratings = await readRatings(opts.ratings);
    const items = opts.items ? await readItems(opts.items) : undefined;
    const config = configFrom(opts);
    const progress = progressFor();
    let metrics: Record<string, number> | undefined;
    try {
      if (opts.evaluate) {
        const { train, test } = stratifiedSplit(ratings, { seed: 42 });
        const holdout = trainHybridModel(train, { items, config, onProgress: (s, f) => progress.update(`holdout ${s}`, f) });
        progress.update('evaluate', 0);
        const r = evaluateRecommender((u, k) => holdout.recommend(u, k).items, train, test, { items, k: 10 });
        metrics = { 'precision@10': r.precision, 'recall@10': r.recall, 'ndcg@10': r.ndcg, 'map@10': r.map, 'coverage@10': r.coverage, 'diversity@10': r.diversity };
      }
      const model = trainHybridModel(ratings, { items, config, modelVersion: opts.modelVersion, onProgress: (s, f) => progress.update(s, f) });
      if (metrics) model.metadata.metrics = metrics;
      progress.update('write', 1);
      await writeModelDir(opts.out, model);
      progress.stop();
      const bytes = (await stat(`${opts.out}/${PAYLOAD_FILE}`)).size;
      const t = model.metadata.trainingData;
      say(`trained ${model.metadata.algorithm} model on ${t.interactions} interactions (${t.users} users, ${t.items} items) in ${model.metadata.trainingSeconds}s`);
      if (metrics) say(`holdout: ${Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
      say(`wrote ${opts.out} (${PAYLOAD_FILE} ${bytes} bytes)`);
    } finally {
      progress.stop();
    }
  });

  addModelOptions(
    program
      .command('evaluate')
      .description('offline evaluation: popularity vs the hybrid model on a per-user split (top-k, seen items removed)')
      .requiredOption('--ratings <file>', 'ratings file')
      .option('--items <file>', 'item metadata (content signal and genre diversity)')
      .addOption(new Option('--split <kind>', 'stratified: random 75/25 per user; temporal: each user\'s latest 25% held out').choices(['stratified', 'temporal']).default('stratified'))
      .option('--ratio <r>', 'share of each user\'s interactions used for training', ratio, 0.75)
      .option('--seed <n>', 'seed of the stratified split', nonNegativeInt, 42)
      .option('--k <n>', 'list length', positiveInt, 10)
      .option('--json', 'print the results as JSON'),
  ).action(async (opts: ModelOptions & { ratings: string; items?: string; split: string; ratio: number; seed: number; k: number; json?: boolean }) => {
    const ratings = await readRatings(opts.ratings);
    const items = opts.items ? await readItems(opts.items) : undefined;
    const { train, test } = opts.split === 'temporal' ? temporalSplit(ratings, { ratio: opts.ratio }) : stratifiedSplit(ratings, { ratio: opts.ratio, seed: opts.seed });
    const progress = progressFor();
    const config = configFrom(opts);
    let rows;
    try {
      rows = compareModels(train, test, [{ name: `hybrid (${config.algorithm ?? 'auto'})`, config }], {
        items,
        k: opts.k,
        onProgress: (s, f) => progress.update(s, f),
      });
    } finally {
      progress.stop();
    }
    if (opts.json) {
      say(JSON.stringify({ split: opts.split, ratio: opts.ratio, train: train.length, test: test.length, models: rows }, null, 2));
      return;
    }
    say(`${opts.split} split ${opts.ratio}: ${train.length} train / ${test.length} test interactions, ${rows[0].result.users} users evaluated`);
    say(formatTable(rows));
  });

  program
    .command('recommend')
    .description('top-k recommendations from a trained model, for one user or for every user (JSON lines)')
    .requiredOption('--model <dir>', 'model directory written by train')
    .option('--user <id>', 'user to recommend for (an unknown user gets popular items)')
    .option('--all-users', 'one JSON line per training user: {"userId","items":[...]}')
    .option('--k <n>', 'number of items', positiveInt, 10)
    .action(async (opts: { model: string; user?: string; allUsers?: boolean; k: number }) => {
      if (!opts.user === !opts.allUsers) throw new UserError('give exactly one of --user <id> or --all-users');
      const model = await loadModel(opts.model);
      if (opts.user !== undefined) {
        const rec = model.recommend(opts.user, opts.k);
        const items = rec.items.map((it) => ({ ...it, title: model.itemMeta(it.itemId)?.title }));
        say(JSON.stringify({ userId: opts.user, strategy: rec.strategy, items }));
        return;
      }
      const users = model.users();
      await writeLines(
        io.stdout,
        (function* () {
          for (const userId of users) yield JSON.stringify({ userId, items: model.recommend(userId, opts.k).items.map((i) => i.itemId) });
        })(),
      );
    });

  program
    .command('similar')
    .description('items related to an item (collaborative neighbours, genre similarity for rarely seen items)')
    .requiredOption('--model <dir>', 'model directory written by train')
    .requiredOption('--item <id>', 'item id')
    .option('--k <n>', 'number of items', positiveInt, 10)
    .action(async (opts: { model: string; item: string; k: number }) => {
      const model = await loadModel(opts.model);
      if (!model.hasItem(opts.item)) throw new UserError(`item ${opts.item} is not in the model`);
      const items = model.similar(opts.item, opts.k).map((it) => ({ ...it, title: model.itemMeta(it.itemId)?.title }));
      say(JSON.stringify({ itemId: opts.item, items }));
    });

  program
    .command('generate')
    .description('write a synthetic ratings CSV (and item metadata CSV) with realistic structure')
    .requiredOption('--users <n>', 'number of users', positiveInt)
    .requiredOption('--items <n>', 'number of items', positiveInt)
    .requiredOption('--events <n>', 'number of interactions', positiveInt)
    .requiredOption('--out <file>', 'ratings CSV to write (userId,itemId,rating,timestamp; epoch ms)')
    .option('--items-out <file>', 'item metadata CSV to write (default: <out>.items.csv)')
    .option('--seed <n>', 'random seed', nonNegativeInt, 7)
    .option('--genres <n>', 'number of genres', positiveInt, 18)
    .action(async (opts: { users: number; items: number; events: number; out: string; itemsOut?: string; seed: number; genres: number }) => {
      const progress = progressFor();
      progress.update('generate', 0);
      let data;
      try {
        data = generateSyntheticDataset({ users: opts.users, items: opts.items, events: opts.events, seed: opts.seed, genres: opts.genres });
      } catch (err) {
        progress.stop();
        throw new UserError((err as Error).message);
      }
      const itemsOut = opts.itemsOut ?? opts.out.replace(/(\.csv)?$/, '.items.csv');
      const { interactions, items } = data;
      const total = interactions.length;
      try {
        await writeFileLines(opts.out, (function* () {
          yield 'userId,itemId,rating,timestamp';
          for (let e = 0; e < total; e++) {
            const it = interactions[e];
            if ((e & 0xffff) === 0) progress.update('write', e / total);
            yield `${it.userId},${it.itemId},${it.rating},${it.timestamp}`;
          }
        })());
        await writeFileLines(itemsOut, (function* () {
          yield 'itemId,title,genres';
          for (const it of items) yield `${it.itemId},${it.title ?? ''},${it.genres.join('|')}`;
        })());
      } finally {
        progress.stop();
      }
      say(`wrote ${total} interactions to ${opts.out} and ${items.length} items to ${itemsOut}`);
    });

  addCatalogCommands(program, { say, progress: progressFor });
  addExperimentCommands(program, { say });

  return program;
}

async function writeFileLines(path: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  const failed = new Promise<never>((_, reject) => out.once('error', (err) => reject(new UserError(`cannot write ${path}: ${err.message}`))));
  await Promise.race([writeLines(out, lines), failed]);
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}

/** Runs the CLI with argv (without node and script), returning the exit code instead of exiting. */
export async function runCli(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const program = createProgram(io);
  program.exitOverride();
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    for (const sub of cmd.commands) override(sub);
  };
  for (const cmd of program.commands) override(cmd);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed the message
    if (err instanceof ExitCode) return err.code; // the command printed its own report
    if (err instanceof UserError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`error: ${(err as Error).message ?? String(err)}\n`);
    if (process.env.DEBUG) io.stderr.write(`${(err as Error).stack}\n`);
    return 1;
  }
}
