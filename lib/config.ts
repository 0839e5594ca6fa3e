import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Node } from 'constructs';
import { MAX_ATTRIBUTION_WINDOW_MINUTES } from '../src/analytics/implicit-attribution';
import { DEFAULT_NAMES } from '../src/config/runtime';
import { compileRules } from '../src/rules/rules-definition';

/**
 * Everything a user can set with `cdk deploy -c key=value` (or in cdk.json "context"), with defaults.
 * Physical names are left to CloudFormation unless given, so two deployments never collide.
 */
export interface RecsysConfig {
  stackName: string;
  /** Prefix of generated physical names where a name is needed (metrics, alarms, dashboards). */
  namePrefix: string;
  lakeBucketName?: string;
  featuresTableName?: string;
  eventsStreamName?: string;
  analyticsTableName?: string;
  /** Physical name of the live item catalogue table (lib/item-catalogue.ts); CloudFormation's otherwise. */
  catalogTableName?: string;
  /** Run the real-time shop analytics consumer (a second consumer of the stream). */
  analyticsEnabled: boolean;
  /**
   * Implicit attribution window of the analytics consumer, minutes (`ATTRIBUTION_WINDOW_MINUTES`, README
   * "Attribution"): 0 = off (the default), at most a week.
   */
  attributionWindowMinutes: number;
  /** Provisioned shards of the event stream; 0 selects on-demand capacity. */
  streamShards: number;
  streamRetentionHours: number;
  consumerBatchSize: number;
  consumerBatchingWindowSeconds: number;
  consumerMaxRetries: number;
  consumerMaxRecordAgeHours: number;
  /** Days before Bronze objects move to Infrequent Access, Glacier Instant Retrieval, and expire. */
  bronzeInfrequentAccessDays: number;
  bronzeGlacierDays: number;
  bronzeExpirationDays: number;
  /** Days a retraining run's batch outputs (silver/_batch/<runId>/: checked Bronze, feature and interaction tables) are kept. */
  batchOutputExpirationDays: number;
  quarantineExpirationDays: number;
  logRetentionDays: number;
  /** `true` lets `cdk destroy` delete the bucket and table with their data (development stacks only). */
  destroyOnRemoval: boolean;
  /** E-mail subscribed to the pipeline alarm topic. */
  alarmEmail?: string;
  /** Alarm when events wait in the stream longer than this. */
  iteratorAgeAlarmMinutes: number;
  /** Alarm when no model has been deployed for this many days. */
  modelStaleDays: number;
  // [event contract] every function that validates events (see README "Event contract")
  /** Events stamped before this ISO-8601 instant are refused (`EVENT_TIME_FLOOR`); the code's default otherwise. */
  eventTimeFloor?: string;
  /** How far ahead of its arrival an event may be stamped, seconds (`EVENT_MAX_FUTURE_SKEW_SECONDS`). */
  eventMaxFutureSkewSeconds?: number;
  /** How long the consumers remember an eventId to count it once, minutes (`EVENT_LEDGER_HORIZON_MINUTES`). */
  eventLedgerHorizonMinutes?: number;
  // [serving] the recommend API (lib/recommend-api.ts)
  /** API Gateway stage name (the last part of the API URL). */
  apiStageName: string;
  /** Stage-wide steady-state request rate (requests/s) and burst; excess requests get 429. */
  apiThrottlingRateLimit: number;
  apiThrottlingBurstLimit: number;
  /** Allowed CORS origins, comma-separated, or `*`. */
  apiCorsAllowOrigins: string;
  /** Every API instance re-checks models/production.json at most this often: the staleness bound (s). */
  modelRefreshSeconds: number;
  /** How long a recommendation waits for the user's fresh events before answering without them (ms). */
  freshEventsTimeoutMs: number;
  /** How long one API instance may reuse a read of a user's fresh events (ms); 0 reads on every request. */
  freshEventsCacheMs: number;
  /** Memory of the read function (MB); more memory is more CPU for the cold-start model load. */
  apiMemorySize: number;
  /** Create the account-level role API Gateway needs to write access and execution logs. */
  apiCloudWatchRole: boolean;
  /** How often every read instance asks the catalogue's change feed for updates (ms): the catalogue's staleness bound. */
  catalogRefreshMs: number;
  /** What users with no usable history get: the model's popular items, or the items trending now (needs analytics). */
  coldStartStrategy: 'popular' | 'trending';
  /**
   * The business rules (filters, promotions, exploration) of context `rulesFile` (default `rules.json` at the
   * project root), validated at synth and compacted; undefined when the default file does not exist.
   */
  rulesJson?: string;
  /** The rules file `rulesJson` was read from, relative to the project root when inside it. */
  rulesFile?: string;
  // [retraining] the nightly retraining (lib/nightly-retraining.ts)
  /** EventBridge Scheduler expression (UTC) that starts the nightly retraining. */
  retrainSchedule: string;
  /** `false` keeps the schedule but disabled: runs start only by hand. */
  retrainScheduleEnabled: boolean;
  /** The candidate may be this much (relative) below production and still deploy. */
  deployTolerance: number;
  /** Days of history the model is trained on; 0 = all of Silver. */
  trainingWindowDays: number;
  /** Memory (MB) of the extract, train and evaluate functions; more memory is more CPU. */
  retrainMemorySize: number;
  /** How long ReloadApi waits beyond modelRefreshSeconds for every API instance to report the new model. */
  reloadMarginSeconds: number;
  /** E-mail address subscribed to the retraining failure topic, if any. */
  retrainNotificationEmail?: string;
  /**
   * The batch engine of the set-based steps (`RETRAINING_ENGINE`): `lambda` (one function per step, no Athena cost),
   * `athena` (SQL on Athena over the Glue tables of lib/lake-catalog.ts), or `auto` (Athena once the window's Bronze
   * bytes exceed `athenaMinBronzeBytes`).
   */
  retrainingEngine: 'lambda' | 'athena' | 'auto';
  /** `auto` picks Athena above this many Bronze bytes in the window (`ATHENA_MIN_BRONZE_BYTES`). */
  athenaMinBronzeBytes: number;
  /** The workgroup's per-query scan limit (bytes): a query that would scan more is cancelled, and costs at most this. */
  athenaBytesScannedCutoffPerQuery: number;
  /**
   * Training as an ECS Fargate task past `minInteractions` compact interactions (lib/training-task.ts); disabled
   * creates nothing (no VPC, no endpoints, no cluster). Context keys `fargateTrainingEnabled`, `fargateTrainingCpu`,
   * `fargateTrainingMemoryMiB`, `fargateMinInteractions`.
   */
  fargateTraining: FargateTrainingConfig;
  /**
   * Days a model version that holds an erased user is kept after the erasure request (`ERASURE_MODEL_RETENTION_DAYS`)
   * before the nightly EraseUsers step deletes it; 0 deletes it at the next run. Production and a running experiment's
   * challenger wait until a deploy replaces them (src/erasure/request.ts).
   */
  erasureModelRetentionDays: number;
  // [experiments] the canary rollout and the experiment check (lib/experiments.ts)
  /** How DeployModel rolls out a passing candidate: replace production, or start a canary experiment with it. */
  rollout: 'replace' | 'canary';
  /** Percent of users a canary challenger serves. */
  canarySharePercent: number;
  /** How the check decides a canary; unset: the experiment defaults (ctr, 1000 impressions, 0.01, 72 h). */
  experimentMetric?: 'ctr' | 'conversion';
  experimentMinImpressions?: number;
  experimentAlpha?: number;
  experimentMaxDurationHours?: number;
  /** EventBridge Scheduler expression (UTC) that starts the experiment check. */
  experimentCheckSchedule: string;
  /** `false` keeps the check's schedule but disabled. */
  experimentCheckScheduleEnabled: boolean;
}

export interface FargateTrainingConfig {
  enabled: boolean;
  /** Task CPU units (1024 = 1 vCPU) and memory (MiB): one of the combinations Fargate accepts (FARGATE_SIZES). */
  cpu: number;
  memoryMiB: number;
  /** Compact interactions above which training runs as the task instead of TrainModel (`FARGATE_MIN_INTERACTIONS`). */
  minInteractions: number;
}

/**
 * The task sizes Fargate accepts: memory (MiB) from `min` to `max` in steps of `step` for each CPU value
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size);
 * CloudFormation accepts any other pair, and RunTask refuses it at the first training.
 */
export const FARGATE_SIZES: Readonly<Record<number, { min: number; max: number; step: number }>> = {
  256: { min: 512, max: 2048, step: 512 },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16_384, step: 1024 },
  4096: { min: 8192, max: 30_720, step: 1024 },
  8192: { min: 16_384, max: 61_440, step: 4096 },
  16384: { min: 32_768, max: 122_880, step: 8192 },
};

const num = (node: Node, key: string, fallback: number, min: number, max: number): number => {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`context ${key} must be a number from ${min} to ${max} (got ${String(raw)})`);
  return n;
};
/**
 * The retention periods CloudWatch Logs accepts (AWS::Logs::LogGroup RetentionInDays,
 * https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html): any other
 * number synthesises, but CloudFormation refuses it at deploy time.
 */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;
const oneOf = (node: Node, key: string, fallback: number, allowed: readonly number[]): number => {
  const n = num(node, key, fallback, Math.min(...allowed), Math.max(...allowed));
  if (!allowed.includes(n)) throw new Error(`context ${key} must be one of ${allowed.join(', ')} (got ${n})`);
  return n;
};
const str = (node: Node, key: string): string | undefined => {
  const raw: unknown = node.tryGetContext(key);
  return raw === undefined || raw === '' ? undefined : String(raw);
};
const bool = (node: Node, key: string, fallback: boolean): boolean => {
  const raw: unknown = node.tryGetContext(key);
  return raw === undefined ? fallback : raw === true || raw === 'true';
};

const COLD_START_STRATEGIES = ['popular', 'trending'] as const;
const coldStart = (node: Node): RecsysConfig['coldStartStrategy'] => {
  const raw = str(node, 'coldStartStrategy') ?? 'popular';
  if (!(COLD_START_STRATEGIES as readonly string[]).includes(raw)) throw new Error(`context coldStartStrategy must be one of ${COLD_START_STRATEGIES.join(', ')} (got ${raw})`);
  if (raw === 'trending' && !bool(node, 'analyticsEnabled', true)) throw new Error('context coldStartStrategy=trending needs the shop analytics (analyticsEnabled=true): trending items come from its windows');
  return raw as RecsysConfig['coldStartStrategy'];
};

const RETRAINING_ENGINES = ['lambda', 'athena', 'auto'] as const;
const retrainingEngine = (node: Node): RecsysConfig['retrainingEngine'] => {
  const raw = str(node, 'retrainingEngine') ?? 'auto';
  if (!(RETRAINING_ENGINES as readonly string[]).includes(raw)) throw new Error(`context retrainingEngine must be one of ${RETRAINING_ENGINES.join(', ')} (got ${raw})`);
  return raw as RecsysConfig['retrainingEngine'];
};

/** The Fargate training settings; the size is checked against the combinations Fargate runs. */
const fargateTraining = (node: Node): FargateTrainingConfig => {
  const cpu = wholeNum(node, 'fargateTrainingCpu', 4096, 256, 16_384);
  const size = FARGATE_SIZES[cpu];
  if (!size) throw new Error(`context fargateTrainingCpu must be one of ${Object.keys(FARGATE_SIZES).join(', ')} (got ${cpu})`);
  const memoryMiB = wholeNum(node, 'fargateTrainingMemoryMiB', Math.min(30_720, size.max), size.min, size.max);
  if ((memoryMiB - size.min) % size.step !== 0) {
    throw new Error(`context fargateTrainingMemoryMiB must be a multiple of ${size.step} from ${size.min} to ${size.max} with fargateTrainingCpu=${cpu} (got ${memoryMiB})`);
  }
  return {
    enabled: bool(node, 'fargateTrainingEnabled', false),
    cpu,
    memoryMiB,
    minInteractions: wholeNum(node, 'fargateMinInteractions', 20_000_000, 1, Number.MAX_SAFE_INTEGER),
  };
};

const ROLLOUTS = ['replace', 'canary'] as const;
const rolloutOf = (node: Node): RecsysConfig['rollout'] => {
  const raw = str(node, 'rollout') ?? 'replace';
  if (!(ROLLOUTS as readonly string[]).includes(raw)) throw new Error(`context rollout must be one of ${ROLLOUTS.join(', ')} (got ${raw})`);
  if (raw === 'canary' && !bool(node, 'analyticsEnabled', true)) throw new Error('context rollout=canary needs the shop analytics (analyticsEnabled=true): the experiment check decides on its attribution');
  return raw as RecsysConfig['rollout'];
};
const EXPERIMENT_METRIC_NAMES = ['ctr', 'conversion'] as const;
const experimentMetric = (node: Node): RecsysConfig['experimentMetric'] => {
  const raw = str(node, 'experimentMetric');
  if (raw !== undefined && !(EXPERIMENT_METRIC_NAMES as readonly string[]).includes(raw)) throw new Error(`context experimentMetric must be one of ${EXPERIMENT_METRIC_NAMES.join(', ')} (got ${raw})`);
  return raw as RecsysConfig['experimentMetric'];
};
const wholeNum = (node: Node, key: string, fallback: number, min: number, max: number): number => {
  const n = num(node, key, fallback, min, max);
  if (!Number.isInteger(n)) throw new Error(`context ${key} must be a whole number from ${min} to ${max} (got ${n})`);
  return n;
};

const attributionWindow = (node: Node): number => {
  const minutes = wholeNum(node, 'attributionWindowMinutes', 0, 0, MAX_ATTRIBUTION_WINDOW_MINUTES);
  if (minutes > 0 && !bool(node, 'analyticsEnabled', true)) throw new Error('context attributionWindowMinutes needs the shop analytics (analyticsEnabled=true): implicit attribution runs in its consumer');
  return minutes;
};

const optionalNum = (node: Node, key: string, min: number, max: number): number | undefined =>
  node.tryGetContext(key) === undefined ? undefined : num(node, key, min, min, max);
const isoInstant = (node: Node, key: string): string | undefined => {
  const raw = str(node, key);
  if (raw !== undefined && !(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(raw) && Number.isFinite(Date.parse(raw)))) {
    throw new Error(`context ${key} must be an ISO-8601 instant with Z or an offset, e.g. 2015-01-01T00:00:00Z (got ${raw})`);
  }
  return raw;
};

/** Context experimentAlpha: the check's two-sided level per check, above 0 and at most 0.2. */
const optionalAlpha = (node: Node): number | undefined => {
  const raw: unknown = node.tryGetContext('experimentAlpha');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || n > 0.2) throw new Error(`context experimentAlpha must be a number above 0 and at most 0.2 (got ${String(raw)})`);
  return n;
};

/** The canary rollout's settings, as DeployModel's environment (src/config/retraining.ts; only those set). */
export function rolloutEnvironment(config: RecsysConfig): Record<string, string> {
  return {
    ROLLOUT: config.rollout,
    CANARY_SHARE_PERCENT: String(config.canarySharePercent),
    ...(config.experimentMetric !== undefined ? { EXPERIMENT_METRIC: config.experimentMetric } : {}),
    ...(config.experimentMinImpressions !== undefined ? { EXPERIMENT_MIN_IMPRESSIONS: String(config.experimentMinImpressions) } : {}),
    ...(config.experimentAlpha !== undefined ? { EXPERIMENT_ALPHA: String(config.experimentAlpha) } : {}),
    ...(config.experimentMaxDurationHours !== undefined ? { EXPERIMENT_MAX_DURATION_HOURS: String(config.experimentMaxDurationHours) } : {}),
  };
}

/** The event contract's and the ledger's settings, as environment variables for every function (only those set). */
export function eventContractEnvironment(config: RecsysConfig): Record<string, string> {
  return {
    ...(config.eventTimeFloor !== undefined ? { EVENT_TIME_FLOOR: config.eventTimeFloor } : {}),
    ...(config.eventMaxFutureSkewSeconds !== undefined ? { EVENT_MAX_FUTURE_SKEW_SECONDS: String(config.eventMaxFutureSkewSeconds) } : {}),
    ...(config.eventLedgerHorizonMinutes !== undefined ? { EVENT_LEDGER_HORIZON_MINUTES: String(config.eventLedgerHorizonMinutes) } : {}),
  };
}

const scheduleExpression = (node: Node, key: string, fallback: string): string => {
  const raw = str(node, key) ?? fallback;
  if (!/^(cron\([^()]+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$/.test(raw)) {
    throw new Error(`context ${key} must be an EventBridge Scheduler cron(...) or rate(...) expression (got ${raw})`);
  }
  return raw;
};

/** `line L column C` of a character offset in a text (1-based). */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length} column ${before[before.length - 1]!.length + 1}`;
}

/** The project root: relative `rulesFile` paths are resolved against it, whatever the working directory. */
const PROJECT_ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
/** The rules travel in the read function's environment, which Lambda caps at 4 KB for all variables together. */
export const MAX_RULES_JSON_CHARS = 4000;

/**
 * Reads and validates the rules definition of context `rulesFile` at synth, so a deploy never ships a broken
 * filter: unreadable JSON or any problem `compileRules` finds throws, naming the file. A missing default file
 * means no rules; a missing file the context names is an error.
 */
export function readRulesFile(node: Node, projectRoot: string = PROJECT_ROOT): { rulesJson: string; rulesFile: string } | undefined {
  const given = str(node, 'rulesFile');
  const path = given === undefined ? join(projectRoot, 'rules.json') : isAbsolute(given) ? given : join(projectRoot, given);
  const inside = relative(projectRoot, path);
  const shown = inside.startsWith('..') || isAbsolute(inside) ? path : inside;
  if (!existsSync(path)) {
    if (given === undefined) return undefined;
    throw new Error(`context rulesFile: ${shown} does not exist`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`context rulesFile: ${shown} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const where = position === undefined || /line \d+ column \d+/.test(message) ? '' : ` (${lineColumn(text, Number(position))})`;
    throw new Error(`context rulesFile: ${shown} is not valid JSON: ${message}${where}`, { cause: err });
  }
  try {
    compileRules(json, shown);
  } catch (err) {
    throw new Error(`context rulesFile: ${shown} is not a valid rules definition, so nothing was synthesised:\n${(err as Error).message}`, { cause: err });
  }
  const rulesJson = JSON.stringify(json);
  const bytes = Buffer.byteLength(rulesJson, 'utf8');
  if (bytes > MAX_RULES_JSON_CHARS) {
    throw new Error(
      `context rulesFile: ${shown} is ${bytes} bytes as compact JSON, more than the ${MAX_RULES_JSON_CHARS} the read function's environment variable RULES_JSON can hold (Lambda allows 4 KB for all variables together): shorten descriptions or filters`,
    );
  }
  return { rulesJson, rulesFile: shown };
}

export function readConfig(node: Node): RecsysConfig {
  const rules = readRulesFile(node);
  return {
    stackName: str(node, 'stackName') ?? 'Recsys',
    namePrefix: str(node, 'namePrefix') ?? DEFAULT_NAMES.prefix,
    lakeBucketName: str(node, 'lakeBucketName'),
    featuresTableName: str(node, 'featuresTableName'),
    eventsStreamName: str(node, 'eventsStreamName'),
    analyticsTableName: str(node, 'analyticsTableName'),
    catalogTableName: str(node, 'catalogTableName'),
    analyticsEnabled: bool(node, 'analyticsEnabled', true),
    attributionWindowMinutes: attributionWindow(node),
    streamShards: num(node, 'streamShards', DEFAULT_NAMES.eventsStreamShards, 0, 500),
    streamRetentionHours: num(node, 'streamRetentionHours', 24, 24, 8760),
    consumerBatchSize: num(node, 'consumerBatchSize', 1000, 1, 10_000),
    consumerBatchingWindowSeconds: num(node, 'consumerBatchingWindowSeconds', 5, 0, 300),
    consumerMaxRetries: num(node, 'consumerMaxRetries', 10, 0, 10_000),
    consumerMaxRecordAgeHours: num(node, 'consumerMaxRecordAgeHours', 24, 1, 168),
    bronzeInfrequentAccessDays: num(node, 'bronzeInfrequentAccessDays', 30, 30, 3650),
    bronzeGlacierDays: num(node, 'bronzeGlacierDays', 90, 31, 3650),
    bronzeExpirationDays: num(node, 'bronzeExpirationDays', 730, 32, 36500),
    batchOutputExpirationDays: num(node, 'batchOutputExpirationDays', 7, 1, 3650),
    quarantineExpirationDays: num(node, 'quarantineExpirationDays', 90, 1, 3650),
    logRetentionDays: oneOf(node, 'logRetentionDays', 30, LOG_RETENTION_DAYS),
    destroyOnRemoval: bool(node, 'destroyOnRemoval', false),
    alarmEmail: str(node, 'alarmEmail'),
    iteratorAgeAlarmMinutes: num(node, 'iteratorAgeAlarmMinutes', 60, 1, 10_080),
    modelStaleDays: num(node, 'modelStaleDays', 3, 1, 90),
    // [event contract]
    eventTimeFloor: isoInstant(node, 'eventTimeFloor'),
    eventMaxFutureSkewSeconds: optionalNum(node, 'eventMaxFutureSkewSeconds', 0, 604_800),
    eventLedgerHorizonMinutes: optionalNum(node, 'eventLedgerHorizonMinutes', 60, 10_080),
    // [serving]
    apiStageName: str(node, 'apiStageName') ?? 'prod',
    apiThrottlingRateLimit: num(node, 'apiThrottlingRateLimit', 200, 1, 10_000),
    apiThrottlingBurstLimit: num(node, 'apiThrottlingBurstLimit', 400, 1, 5_000),
    apiCorsAllowOrigins: str(node, 'apiCorsAllowOrigins') ?? '*',
    modelRefreshSeconds: num(node, 'modelRefreshSeconds', 30, 0, 3600),
    freshEventsTimeoutMs: num(node, 'freshEventsTimeoutMs', 250, 1, 10_000),
    freshEventsCacheMs: num(node, 'freshEventsCacheMs', 1000, 0, 60_000),
    apiMemorySize: num(node, 'apiMemorySize', 1024, 256, 10_240),
    apiCloudWatchRole: bool(node, 'apiCloudWatchRole', true),
    catalogRefreshMs: num(node, 'catalogRefreshMs', 2000, 100, 60_000),
    coldStartStrategy: coldStart(node),
    ...(rules ?? {}),
    // [retraining]
    retrainSchedule: scheduleExpression(node, 'retrainSchedule', 'cron(0 2 * * ? *)'),
    retrainScheduleEnabled: bool(node, 'retrainScheduleEnabled', true),
    deployTolerance: num(node, 'deployTolerance', 0.02, 0, 1),
    trainingWindowDays: num(node, 'trainingWindowDays', 0, 0, 36_500),
    retrainMemorySize: num(node, 'retrainMemorySize', 3008, 512, 10_240),
    reloadMarginSeconds: num(node, 'reloadMarginSeconds', 60, 0, 600),
    retrainNotificationEmail: str(node, 'retrainNotificationEmail'),
    retrainingEngine: retrainingEngine(node),
    athenaMinBronzeBytes: wholeNum(node, 'athenaMinBronzeBytes', 256 * 1024 * 1024, 0, Number.MAX_SAFE_INTEGER),
    // 1 TiB: a runaway query (a lost partition filter) costs at most ~$5 at $5/TB, while the largest planned one, the
    // compact interactions over 10B events of Silver history (README "Scale"), reads well under it. Athena's floor is 10 MB.
    athenaBytesScannedCutoffPerQuery: wholeNum(node, 'athenaBytesScannedCutoffPerQuery', 1024 ** 4, 10_000_000, Number.MAX_SAFE_INTEGER),
    fargateTraining: fargateTraining(node),
    // Ten years bounds a typo (days for hours, an extra zero) rather than any legal retention period.
    erasureModelRetentionDays: wholeNum(node, 'erasureModelRetentionDays', 0, 0, 3650),
    // [experiments]
    rollout: rolloutOf(node),
    canarySharePercent: wholeNum(node, 'canarySharePercent', 10, 1, 50),
    experimentMetric: experimentMetric(node),
    experimentMinImpressions: node.tryGetContext('experimentMinImpressions') === undefined ? undefined : wholeNum(node, 'experimentMinImpressions', 1000, 1, 1_000_000_000),
    experimentAlpha: optionalAlpha(node),
    experimentMaxDurationHours: optionalNum(node, 'experimentMaxDurationHours', 1, 24 * 90),
    experimentCheckSchedule: scheduleExpression(node, 'experimentCheckSchedule', 'rate(1 hour)'),
    experimentCheckScheduleEnabled: bool(node, 'experimentCheckScheduleEnabled', true),
  };
}
