import { Command, InvalidArgumentError, Option } from 'commander';
import type { AttributionMetrics, AttributionSource, Estimate } from '../analytics/attribution';
import { DEFAULT_NAMES } from '../config/runtime';
import { ExperimentStateError } from '../domain/experiment';
import { EXPERIMENT_METRICS, type Experiment, type ProductionPointer } from '../domain/model-registry';
import {
  DEFAULT_EXPERIMENT_SETTINGS,
  ExperimentRequestError,
  experimentStatus,
  promoteExperiment,
  settingsOf,
  startExperiment,
  stopExperiment,
  type ExperimentOperatorDeps,
  type ExperimentSettings,
} from '../experiments/operator';
import { experimentStatusWithAttribution, type ExperimentStatusAnswer } from '../serving/experiment-api';
import { UserError } from './files';

export interface ExperimentCommandIo {
  say(line: string): void;
  /** The operator's ports for a lake bucket; by default the S3 bucket the environment points at (AWS, LocalStack, an emulator). */
  openOperator?: (bucket: string) => Promise<{ deps: ExperimentOperatorDeps; close(): void }>;
  /** The attribution of an analytics window table; by default the DynamoDB table the environment points at. */
  openAttribution?: (table: string) => Promise<{ source: AttributionSource; close(): void }>;
}

/** The analytics window table's reader through the SDK client of the environment. */
async function openTableAttribution(table: string): Promise<{ source: AttributionSource; close(): void }> {
  const [{ createDynamoDocumentClient }, { dynamoAnalyticsReader }] = await Promise.all([import('../adapters/aws-clients'), import('../adapters/dynamo-analytics-reader')]);
  const ddb = createDynamoDocumentClient();
  return { source: dynamoAnalyticsReader(ddb, table), close: () => ddb.destroy() };
}

/** The registry and the experiment log in the lake bucket through the SDK client of the environment. */
async function openLakeOperator(bucket: string): Promise<{ deps: ExperimentOperatorDeps; close(): void }> {
  const [{ createS3Client }, { S3Lake }, { S3ModelRegistry }, { lakeExperimentLog }] = await Promise.all([
    import('../adapters/aws-clients'),
    import('../adapters/s3-lake'),
    import('../adapters/s3-model-registry'),
    import('../experiments/operator'),
  ]);
  const s3 = createS3Client();
  const lake = new S3Lake(s3, bucket);
  return { deps: { registry: new S3ModelRegistry(lake), log: lakeExperimentLog(lake) }, close: () => s3.destroy() };
}

const number = (flag: string) => (raw: string): number => {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) throw new InvalidArgumentError(`${flag} must be a number (got ${JSON.stringify(raw)})`);
  return value;
};

interface LakeOptions {
  bucket?: string;
}
interface StartOptions extends LakeOptions {
  challenger: string;
  share?: number;
  metric?: ExperimentSettings['metric'];
  minImpressions?: number;
  alpha?: number;
  maxHours?: number;
}
interface ActOptions extends LakeOptions {
  experiment?: string;
  reason?: string;
}

/**
 * `experiment start|status|promote|stop`: experiment control on the lake's production pointer, the same
 * functions as `POST /admin/experiment/…` (src/experiments/operator.ts). Exit code 1 with the reason when the
 * state refuses an action (nothing to stop, one already running, an unknown version, …).
 */
export function addExperimentCommands(program: Command, io: ExperimentCommandIo): void {
  const experiment = program.command('experiment').description('A/B experiments on the production model: a challenger version serves a share of users');
  const bucketOption = () => new Option('--bucket <name>', `lake bucket (default: $LAKE_BUCKET, else ${DEFAULT_NAMES.lakeBucket})`);
  const withOperator = async <T>(opts: LakeOptions, run: (deps: ExperimentOperatorDeps) => Promise<T>): Promise<T> => {
    const bucket = opts.bucket ?? (process.env.LAKE_BUCKET?.trim() || DEFAULT_NAMES.lakeBucket);
    const { deps, close } = await (io.openOperator ?? openLakeOperator)(bucket);
    try {
      return await run(deps);
    } catch (err) {
      if (err instanceof ExperimentStateError || err instanceof ExperimentRequestError) throw new UserError(err.message);
      throw err;
    } finally {
      close();
    }
  };
  const d = DEFAULT_EXPERIMENT_SETTINGS;

  experiment
    .command('start')
    .description('start an experiment: the challenger version serves --share % of users, production the rest')
    .requiredOption('--challenger <version>', 'the model version to try (stored under models/<version>/)')
    .option('--share <percent>', `percent of users the challenger serves, 1-50 (default ${d.sharePercent})`, number('--share'))
    .addOption(new Option('--metric <metric>', `what the scheduled check decides on (default ${d.metric})`).choices([...EXPERIMENT_METRICS]))
    .option('--min-impressions <n>', `impressions each variant needs before anything is decided (default ${d.minImpressions})`, number('--min-impressions'))
    .option('--alpha <level>', `two-sided significance level of each check (default ${d.alpha})`, number('--alpha'))
    .option('--max-hours <hours>', `roll back after this long without a significant difference (default ${d.maxDurationHours})`, number('--max-hours'))
    .addOption(bucketOption())
    .addHelpText(
      'after',
      `
The bucket is reached with the AWS environment (region, credentials, AWS_ENDPOINT_URL for LocalStack or an emulator).
Every read instance follows the pointer within MODEL_REFRESH_SECONDS.

Examples:
  npm run cli -- experiment start --challenger v20261203T020000Z --share 20
  npm run cli -- experiment status`,
    )
    .action(async (opts: StartOptions) => {
      const settings: Partial<ExperimentSettings> = {
        ...(opts.share !== undefined ? { sharePercent: opts.share } : {}),
        ...(opts.metric !== undefined ? { metric: opts.metric } : {}),
        ...(opts.minImpressions !== undefined ? { minImpressions: opts.minImpressions } : {}),
        ...(opts.alpha !== undefined ? { alpha: opts.alpha } : {}),
        ...(opts.maxHours !== undefined ? { maxDurationHours: opts.maxHours } : {}),
      };
      const result = await withOperator(opts, (deps) => startExperiment(deps, { challengerVersion: opts.challenger, startedBy: 'operator', settings }));
      io.say(`started experiment ${result.experiment.id}: ${result.experiment.challenger.version} serves ${result.experiment.sharePercent} % of users, ${result.pointer.version} the rest`);
      describeSettings(io, result.experiment);
      io.say(`log: ${result.logKey}`);
    });

  experiment
    .command('status')
    .description('the production model, the running experiment, its attribution so far and what the check would decide now')
    .option('--json', 'print the status as JSON (the answer of GET /admin/experiment)')
    .addOption(bucketOption())
    .addOption(new Option('--analytics-table <name>', 'analytics window table the attribution is read from (default: $ANALYTICS_TABLE; none: no attribution)'))
    .action(async (opts: LakeOptions & { json?: boolean; analyticsTable?: string }) => {
      const table = opts.analyticsTable ?? (process.env.ANALYTICS_TABLE?.trim() || undefined);
      const analytics = table ? await (io.openAttribution ?? openTableAttribution)(table) : undefined;
      let status: ExperimentStatusAnswer;
      try {
        status = await withOperator(opts, (deps) =>
          experimentStatusWithAttribution(deps, { attribution: analytics?.source, withoutSource: 'ANALYTICS_TABLE is not set (nor --analytics-table): no attribution to show' }),
        );
      } finally {
        analytics?.close();
      }
      if (opts.json) {
        io.say(JSON.stringify(status, null, 2));
        return;
      }
      io.say(status.pointer ? `production: ${status.pointer.version} (deployed ${status.pointer.deployedAt})` : 'production: nothing deployed');
      if (!status.experiment) {
        io.say('experiment: none running');
        return;
      }
      const e = status.experiment;
      io.say(`experiment ${e.id}: challenger ${e.challenger.version} at ${e.sharePercent} %, started ${e.startedAt} by ${e.startedBy}${e.runId ? ` (run ${e.runId})` : ''}`);
      describeSettings(io, e);
      describeAttribution(io, status);
    });

  experiment
    .command('promote')
    .description('make the running experiment\'s challenger production (the control becomes the previous deployment)')
    .option('--experiment <id>', 'act only if this is the running experiment (default: whichever runs)')
    .option('--reason <text>', 'recorded in the experiment log')
    .addOption(bucketOption())
    .action(async (opts: ActOptions) => {
      const result = await withOperator(opts, async (deps) => promoteExperiment(deps, opts.experiment ?? (await runningId(deps)), new Date(), opts.reason ?? 'promoted from the CLI'));
      io.say(`promoted ${result.experiment.challenger.version} (experiment ${result.experiment.id}): production is now ${result.pointer.version}, previous ${previousOf(result.pointer)}`);
      io.say(`log: ${result.logKey}`);
    });

  experiment
    .command('stop')
    .description('stop the running experiment: production serves every user again')
    .option('--experiment <id>', 'act only if this is the running experiment (default: whichever runs)')
    .option('--reason <text>', 'recorded in the experiment log')
    .addOption(bucketOption())
    .action(async (opts: ActOptions) => {
      const result = await withOperator(opts, (deps) => stopExperiment(deps, opts.experiment, new Date(), opts.reason ?? 'stopped from the CLI'));
      io.say(`stopped experiment ${result.experiment.id} (challenger ${result.experiment.challenger.version}): ${result.pointer.version} serves every user`);
      io.say(`log: ${result.logKey}`);
    });
}

async function runningId(deps: ExperimentOperatorDeps): Promise<string> {
  const { experiment } = await experimentStatus(deps);
  if (!experiment) throw new ExperimentStateError('no experiment is running: nothing to promote');
  return experiment.id;
}

function describeSettings(io: ExperimentCommandIo, experiment: Experiment): void {
  const s = settingsOf(experiment);
  io.say(`decision: ${s.metric}, at least ${s.minImpressions} impressions a variant, alpha ${s.alpha} per check, at most ${s.maxDurationHours} h`);
}

const percent = (e: Estimate) => `${(e.value * 100).toFixed(2)} % (95 % ${(e.low * 100).toFixed(2)}-${(e.high * 100).toFixed(2)} %)`;
const variantLine = (m: AttributionMetrics) =>
  `${m.impressions} impressions, ${m.clicks} clicks, ctr ${percent(m.ctr)}, ${m.purchases} purchases, conversion ${percent(m.conversion)}, revenue ${m.revenue.toFixed(2)}`;

function describeAttribution(io: ExperimentCommandIo, status: ExperimentStatusAnswer): void {
  if (!status.attribution || !status.wouldDecide) {
    io.say(`attribution: unavailable (${status.attributionUnavailable ?? 'unknown reason'})`);
    return;
  }
  const { attribution: a, wouldDecide: d } = status;
  io.say(`attribution from ${a.from} to ${a.to}:`);
  io.say(`  control:    ${variantLine(a.variants.control)}`);
  io.say(`  challenger: ${variantLine(a.variants.challenger)}`);
  const stats = d.z === null || d.pValue === null ? 'no z-test yet' : `z ${d.z.toFixed(3)}, p ${d.pValue.toPrecision(3)}`;
  io.say(`would decide now: ${d.action} (${stats}, alpha ${d.alpha}, enough data: ${d.enoughData ? 'yes' : 'no'}): ${d.reason}`);
}

function previousOf(pointer: ProductionPointer): string {
  return pointer.previous?.version ?? 'none';
}
