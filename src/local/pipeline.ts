import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDynamoDocumentClient, createKinesisClient, createS3Client, usesEndpointOverride } from '../adapters/aws-clients';
import { scanPartitionKeys } from '../adapters/dynamo-key-scan';
import { S3Lake } from '../adapters/s3-lake';
import { DEFAULT_NAMES } from '../config/runtime';
import type { UserEventInput } from '../domain/events';
import { replayUniverse, type ReplayUniverse } from './replay-universe';
import { BRONZE_EVENTS_PREFIX, BRONZE_QUARANTINE_PREFIX, CATALOG_KEY, PRODUCTION_POINTER_KEY } from '../domain/lake-layout';
import { parseProductionPointer } from '../domain/model-registry';
import { parseItemsFile, parseRatingsFile, type ItemMeta } from '../recommender/index';
import { generateTasteEvents } from './synthetic-events';
import type { RunEvent } from './retraining-runner';
import { describeError } from '../retraining/errors';
import type { RunSummary } from '../retraining/record';
import { RunView, type StepView } from './run-events';
import { startEmulators, type RunningEmulators } from './emulators';
import { formatDeadLetterLine, type FailedBatchRecord } from '../stream/dead-letters';
import { EventSourcePoller, type KinesisHandler } from './event-source-poller';
import { produceEvents } from './event-producer';
import { ensureResources, type ResourceNames } from '../adapters/local-resources';
import type { RunningApiServer } from './api-server';


export interface LocalPipelineOptions {
  /** Folder for emulator data, checkpoints and the dead-letter file (`.local` by default). */
  dataDir: string;
  /** Wipe `dataDir` first. */
  fresh: boolean;
  port: number;
  host: string;
  /** Generated data (used unless `ratingsFile` is given). */
  events: number;
  users: number;
  items: number;
  seed: number;
  /** Events per second onto Kinesis for the initial load (0 = as fast as possible). */
  rate: number;
  /** Live trickle of fresh events after start-up, per second (0 = none), so the page shows activity. */
  liveRate: number;
  /** Replay a ratings file (MovieLens u.data / ratings.dat / CSV) as rating events. */
  ratingsFile?: string;
  /** Item metadata (u.item / movies.dat / CSV) for titles and genres. */
  itemsFile?: string;
  /** Run the retraining state machine again every N minutes (0 = only at start and on demand). */
  retrainEveryMinutes: number;
  analytics: boolean;
  log: (line: string) => void;
  onProduceProgress?: (sent: number, total: number) => void;
  onRetrainEvent?: (event: RunEvent) => void;
}

export interface RetrainingStatus {
  executionName: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  startedAt: string;
  finishedAt?: string;
  /** One row per state entered; a state whose error was caught is `failed`, with `error`. */
  steps: StepView[];
  outcome?: string;
  /** The step whose error failed the run. */
  failedStep?: string;
  /** Validation warnings and rows set aside, from the run summary. */
  warnings?: string[];
  deployedVersion?: string;
  metrics?: Record<string, unknown>;
}

export interface PipelineStatus {
  phase: 'starting' | 'producing' | 'consuming' | 'retraining' | 'serving' | 'stopped';
  startedAt: string;
  urls: { api: string; page: string };
  events: { produced: number; consumed: number; analyticsConsumed: number; sentToDlq: number; perSecond: number; retries: number };
  lake: { bronzeObjects: number; bronzeRecords?: number; quarantineObjects: number };
  features: { users: number; items: number };
  /** `exampleUser`: the most active user the served model knows, for examples and the page's placeholder. */
  model: { version: string | null; deployedAt?: string; previous?: string | null; exampleUser?: string };
  retraining: RetrainingStatus[];
  checkedAt: string;
}

interface StateFile {
  produced: number;
  source: string;
}

/**
 * The whole pipeline on one machine: emulators for S3, DynamoDB and Kinesis (or whatever AWS_ENDPOINT_URL
 * points at), the same resources the CDK stack defines, events produced onto Kinesis, the consumer and
 * analytics handlers fed by local event source mappings, the nightly state machine run from its ASL file,
 * and the API served over HTTP — every piece the same code as in AWS.
 */
export class LocalPipeline {
  private emulators?: RunningEmulators;
  private api?: RunningApiServer;
  private pollers: EventSourcePoller[] = [];
  private consumerPoller?: EventSourcePoller;
  private analyticsPoller?: EventSourcePoller;
  private readonly names: ResourceNames & { analyticsTable: string };
  private produced = 0;
  private phase: PipelineStatus['phase'] = 'starting';
  private readonly startedAt = new Date().toISOString();
  private readonly runs: RetrainingStatus[] = [];
  private retraining?: Promise<RetrainingStatus>;
  private timers: NodeJS.Timeout[] = [];
  private liveAbort = new AbortController();
  private rateSamples: { t: number; consumed: number }[] = [];
  private cachedCounts?: { at: number; value: Pick<PipelineStatus, 'lake' | 'features' | 'model'> };
  private readonly s3 = () => createS3Client();

  constructor(readonly options: LocalPipelineOptions) {
    this.names = {
      lakeBucket: process.env.LAKE_BUCKET ?? DEFAULT_NAMES.lakeBucket,
      featuresTable: process.env.FEATURES_TABLE ?? DEFAULT_NAMES.featuresTable,
      eventsStream: process.env.EVENTS_STREAM ?? DEFAULT_NAMES.eventsStream,
      eventsStreamShards: DEFAULT_NAMES.eventsStreamShards,
      analyticsTable: process.env.ANALYTICS_TABLE ?? `${DEFAULT_NAMES.prefix}-analytics`,
    };
  }

  get apiUrl(): string {
    return this.api?.url ?? `http://${this.options.host}:${this.options.port}`;
  }

  /** Starts everything and returns once the first model is deployed and the API serves it. */
  async start(): Promise<void> {
    const { log } = this.options;
    const dataDir = resolve(this.options.dataDir);
    if (this.options.fresh) await rm(dataDir, { recursive: true, force: true });
    await mkdir(dataDir, { recursive: true });

    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
    if (!usesEndpointOverride()) {
      this.emulators = await startEmulators({ dataDir: join(dataDir, 'data') });
      Object.assign(process.env, this.emulators.env);
      log(`AWS emulators in-process (data in ${join(this.options.dataDir, 'data')}): S3 ${this.emulators.endpoints.s3}, DynamoDB ${this.emulators.endpoints.dynamodb}, Kinesis ${this.emulators.endpoints.kinesis}`);
    } else {
      log(`using AWS endpoints from the environment (${process.env.AWS_ENDPOINT_URL ?? 'service-specific AWS_ENDPOINT_URL_*'})`);
    }
    Object.assign(process.env, {
      LAKE_BUCKET: this.names.lakeBucket,
      FEATURES_TABLE: this.names.featuresTable,
      EVENTS_STREAM: this.names.eventsStream,
      ANALYTICS_TABLE: this.names.analyticsTable,
      // Serving instances re-check the production pointer often here: a demo should not wait 30 s.
      MODEL_REFRESH_SECONDS: process.env.MODEL_REFRESH_SECONDS ?? '2',
      RELOAD_POLL_INTERVAL_MS: process.env.RELOAD_POLL_INTERVAL_MS ?? '250',
      RELOAD_CONSECUTIVE_ANSWERS: process.env.RELOAD_CONSECUTIVE_ANSWERS ?? '3',
      RELOAD_MARGIN_SECONDS: process.env.RELOAD_MARGIN_SECONDS ?? '20',
    });
    const clients = { s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis: createKinesisClient() };
    await ensureResources(clients, { ...this.names, analyticsTable: this.options.analytics ? this.names.analyticsTable : undefined });
    log(`resources ready: bucket ${this.names.lakeBucket}, tables ${this.names.featuresTable}${this.options.analytics ? ` and ${this.names.analyticsTable}` : ''}, stream ${this.names.eventsStream} (${this.names.eventsStreamShards} shards)`);

    // The API comes up first, so the page can show the pipeline filling up.
    const { startApiServer } = await import('./api-server');
    process.env.API_BASE_URL = `http://${this.options.host}:${this.options.port}`;
    this.api = await startApiServer({ port: this.options.port, host: this.options.host, localRoutes: (req, res, url) => this.localRoutes(req, res, url) });
    process.env.API_BASE_URL = this.api.url;
    log(`API and status page on ${this.api.url}/`);

    await this.startPollers(dataDir);
    await this.loadCatalog(clients.s3);

    const state = await this.readState(dataDir);
    let producedNow = 0;
    const source = this.options.ratingsFile ? `ratings:${resolve(this.options.ratingsFile)}` : `generated:${this.options.events}:${this.options.users}:${this.options.items}:${this.options.seed}`;
    if (state && state.source === source) {
      this.produced = state.produced;
      log(`reusing ${state.produced.toLocaleString('en-US')} events already in ${this.options.dataDir} (use --fresh to start over)`);
    } else {
      this.phase = 'producing';
      const events = this.initialEvents();
      const total = events.length;
      log(`producing ${total.toLocaleString('en-US')} events onto Kinesis${this.options.rate ? ` at ${this.options.rate}/s` : ''} (${this.options.ratingsFile ? `replaying ${this.options.ratingsFile}` : `generated: ${this.options.users} users, ${this.options.items} items`})`);
      const before = this.produced;
      await produceEvents(events, {
        kinesis: clients.kinesis,
        stream: this.names.eventsStream,
        ratePerSecond: this.options.rate,
        onProgress: (sent) => this.options.onProduceProgress?.(sent, total),
      });
      this.produced = before + total;
      producedNow = total;
      await this.writeState(dataDir, { produced: this.produced, source });
    }

    this.phase = 'consuming';
    await this.waitForConsumers(producedNow);
    log(`consumed ${this.consumerPoller!.stats.recordsSucceeded.toLocaleString('en-US')} records into Bronze and features${this.options.analytics ? ' and analytics' : ''}`);

    const run = await this.retrain();
    if (run.status !== 'SUCCEEDED') log(`retraining ${run.status}: ${run.outcome ?? ''}`);
    this.phase = 'serving';
    if (this.options.retrainEveryMinutes > 0) {
      this.timers.push(setInterval(() => void this.retrain().catch((err: unknown) => log(`scheduled retraining failed: ${describeError(err)}`)), this.options.retrainEveryMinutes * 60_000));
    }
    if (this.options.liveRate > 0) void this.trickle(clients.kinesis);
  }

  private initialEvents(): UserEventInput[] {
    if (this.options.ratingsFile) {
      const interactions = parseRatingsFile(requireText(this.options.ratingsFile), this.options.ratingsFile);
      return interactions.map((i, n) => ({
        eventId: `r-${i.userId}-${i.itemId}-${i.timestamp}-${n}`,
        type: 'rating' as const,
        userId: i.userId,
        itemId: i.itemId,
        rating: i.rating,
        timestamp: new Date(i.timestamp).toISOString(),
      }));
    }
    return [...generateTasteEvents({ events: this.options.events, users: this.options.users, items: this.options.items, seed: this.options.seed })];
  }

  /** Titles and genres, from `--items` or the generator, put in the lake for training to join. */
  private async loadCatalog(s3: ReturnType<typeof createS3Client>): Promise<void> {
    let items: ItemMeta[] | undefined;
    if (this.options.itemsFile) items = parseItemsFile(requireText(this.options.itemsFile, 'latin1'), this.options.itemsFile);
    else if (!this.options.ratingsFile) items = syntheticCatalog(this.options.items);
    if (!items) return;
    await new S3Lake(s3, this.names.lakeBucket).putObject(CATALOG_KEY, JSON.stringify(items), 'application/json');
  }

  private async startPollers(dataDir: string): Promise<void> {
    const consumer = await import('../../lambdas/consumer/index');
    consumer.resetConsumer();
    const checkpointsFile = join(dataDir, 'checkpoints.json');
    const saved = existsSync(checkpointsFile) ? (JSON.parse(await readFile(checkpointsFile, 'utf8')) as Record<string, Record<string, string>>) : {};
    const checkpoints: Record<string, Record<string, string>> = { consumer: saved.consumer ?? {}, analytics: saved.analytics ?? {} };
    const persist = () =>
      void writeFile(checkpointsFile, JSON.stringify(checkpoints)).catch((err: unknown) => this.options.log(`could not save checkpoints to ${checkpointsFile}: ${describeError(err)}`));
    const dlqFile = join(dataDir, 'dead-letters.jsonl');
    const onFailure = async (f: FailedBatchRecord) => {
      this.options.log(`DLQ: ${f.batchSize} records of ${f.shardId} from ${f.startSequenceNumber} (${f.error}) → ${dlqFile}`);
      try {
        await writeFile(dlqFile, formatDeadLetterLine(f), { flag: 'a' });
      } catch (err) {
        this.options.log(`could not append the dead letter to ${dlqFile}: ${describeError(err)}`);
        throw err;
      }
    };
    const kinesis = createKinesisClient();
    const poller = (which: 'consumer' | 'analytics', handler: KinesisHandler, functionName: string, maxRetries?: number) => {
      const p = new EventSourcePoller({
        kinesis,
        stream: this.names.eventsStream,
        handler,
        functionName,
        batchSize: 1000,
        ...(maxRetries === undefined ? {} : { maxRetries }),
        idleMs: 200,
        checkpoints: checkpoints[which],
        onCheckpoint: (shard, seq) => {
          checkpoints[which]![shard] = seq;
          persist();
        },
        onFailure,
      });
      this.pollers.push(p);
      return p;
    };
    this.consumerPoller = poller('consumer', consumer.handler, 'consumer', 10);
    if (this.options.analytics) {
      const analytics = await import('../../lambdas/analytics-consumer/index');
      analytics.resetAnalyticsConsumer();
      this.analyticsPoller = poller('analytics', analytics.handler, 'analytics-consumer');
    }
    await Promise.all(this.pollers.map((p) => p.start()));
  }

  /** Waits until both consumers have taken `expected` records (those produced by this run) off the stream. */
  private async waitForConsumers(expected: number, timeoutMs = 30 * 60_000): Promise<void> {
    const done = (p: EventSourcePoller | undefined) => !p || p.stats.recordsSucceeded + p.stats.sentToDlq >= expected;
    const deadline = Date.now() + timeoutMs;
    while (!(done(this.consumerPoller) && done(this.analyticsPoller))) {
      if (Date.now() > deadline) throw new Error(`the consumers did not catch up with the stream within ${timeoutMs / 60_000} minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Runs the nightly state machine now (one run at a time); resolves with how it went. */
  retrain(): Promise<RetrainingStatus> {
    if (this.retraining) return this.retraining;
    this.retraining = this.runRetraining().finally(() => {
      this.retraining = undefined;
    });
    return this.retraining;
  }

  private async runRetraining(): Promise<RetrainingStatus> {
    const previousPhase = this.phase;
    this.phase = 'retraining';
    const lake = new S3Lake(createS3Client(), this.names.lakeBucket);
    const days = [...new Set((await lake.listKeys(BRONZE_EVENTS_PREFIX)).map((k) => /dt=(\d{4}-\d{2}-\d{2})\//.exec(k)?.[1]).filter((d): d is string => !!d))].sort();
    const run: RetrainingStatus = { executionName: '', status: 'RUNNING', startedAt: new Date().toISOString(), steps: [] };
    this.runs.unshift(run);
    this.runs.splice(10);
    if (days.length === 0) {
      Object.assign(run, { status: 'FAILED', outcome: 'no Bronze data yet', finishedAt: new Date().toISOString() });
      this.phase = previousPhase === 'retraining' ? 'serving' : previousPhase;
      return run;
    }
    const { runRetrainingLocally } = await import('./retraining-runner');
    const view = new RunView();
    run.steps = view.steps;
    const result = await runRetrainingLocally(
      { from: days[0], to: days.at(-1) },
      {
        retryIntervalMs: 500,
        onEvent: (e) => {
          this.options.onRetrainEvent?.(e);
          view.apply(e);
        },
      },
    );
    run.executionName = result.executionName;
    run.status = result.status;
    run.finishedAt = new Date().toISOString();
    const out = (result.output ?? {}) as Record<string, Record<string, unknown> | undefined>;
    run.outcome = result.error ? `${result.error.name}: ${result.error.message}` : String(out.outcome?.reason ?? out.outcome?.status ?? (out.deployment ? 'deployed' : 'done'));
    run.deployedVersion = (out.deployment?.version as string | undefined) ?? undefined;
    const summaryText = await lake.getText(`reports/retraining/${result.executionName}/run.json`).catch(() => undefined);
    if (summaryText) {
      try {
        const summary = JSON.parse(summaryText) as Partial<RunSummary>;
        run.failedStep = summary.failedStep ?? undefined;
        run.warnings = summary.warnings ?? [];
      } catch (err) {
        this.options.log(`run summary of ${result.executionName} is unreadable: ${describeError(err)}`);
      }
    }
    if (run.status === 'FAILED') {
      const failed = run.steps.filter((st) => st.status === 'failed').map((st) => `${st.state}: ${st.error ?? st.detail ?? ''}`);
      for (const line of failed) this.options.log(`retraining step failed: ${line.split('\n')[0]}`);
    }
    // The evaluation record next to the artifact holds the candidate's, production's and popularity's metrics.
    const evaluationKey = out.evaluation?.evaluationKey;
    if (typeof evaluationKey === 'string') {
      const record = await lake.getText(evaluationKey);
      if (record) {
        const { candidate, popularity, production, split } = JSON.parse(record) as Record<string, unknown>;
        run.metrics = { candidate, popularity, production, split };
      }
    }
    this.cachedCounts = undefined;
    this.phase = previousPhase === 'retraining' || previousPhase === 'consuming' ? 'serving' : previousPhase;
    return run;
  }

  /** A slow stream of fresh events with current timestamps, so recommendations and analytics move. */
  private async trickle(kinesis: ReturnType<typeof createKinesisClient>): Promise<void> {
    let n = 0;
    const self = this;
    // A replayed file's users and items, so live events belong to the same shop (not generated u1/i1 ids).
    const universe = this.replayUniverse();
    function* live(): Generator<UserEventInput> {
      for (;;) {
        const users = universe?.users.length ?? self.options.users;
        const items = universe?.items.length ?? self.options.items;
        for (const e of generateTasteEvents({ events: 2_000, users, items, seed: self.options.seed + 1 + n, startMs: Date.now() - 1000, endMs: Date.now() })) {
          const event: UserEventInput = { ...e, eventId: `live-${Date.now()}-${n++}`, timestamp: new Date().toISOString() };
          yield universe ? universe.remap(event) : event;
        }
      }
    }
    try {
      await produceEvents(live(), { kinesis, stream: this.names.eventsStream, ratePerSecond: this.options.liveRate, signal: this.liveAbort.signal, onProgress: (sent) => (this.liveSent = sent) });
    } catch (err) {
      if (!this.liveAbort.signal.aborted) this.options.log(`live events stopped: ${describeError(err)}`);
    }
  }
  private liveSent = 0;

  /** With `--ratings`, the file's users and items, so live events belong to the same shop. */
  private replayUniverse(): ReplayUniverse | undefined {
    if (!this.options.ratingsFile) return undefined;
    const interactions = parseRatingsFile(requireText(this.options.ratingsFile), this.options.ratingsFile);
    const items = this.options.itemsFile ? parseItemsFile(requireText(this.options.itemsFile, 'latin1'), this.options.itemsFile) : [];
    return replayUniverse(interactions, items);
  }

  async status(): Promise<PipelineStatus> {
    const consumed = this.consumerPoller?.stats.recordsSucceeded ?? 0;
    const now = Date.now();
    this.rateSamples.push({ t: now, consumed });
    this.rateSamples = this.rateSamples.filter((s) => now - s.t <= 10_000);
    const oldest = this.rateSamples[0]!;
    const perSecond = now - oldest.t > 500 ? ((consumed - oldest.consumed) * 1000) / (now - oldest.t) : 0;
    if (!this.cachedCounts || now - this.cachedCounts.at > 3000) this.cachedCounts = { at: now, value: await this.counts() };
    return {
      phase: this.phase,
      startedAt: this.startedAt,
      urls: { api: this.apiUrl, page: `${this.apiUrl}/` },
      events: {
        produced: this.produced + this.liveSent,
        consumed,
        analyticsConsumed: this.analyticsPoller?.stats.recordsSucceeded ?? 0,
        sentToDlq: (this.consumerPoller?.stats.sentToDlq ?? 0) + (this.analyticsPoller?.stats.sentToDlq ?? 0),
        perSecond: Math.round(perSecond),
        retries: this.consumerPoller?.stats.retries ?? 0,
      },
      ...this.cachedCounts.value,
      retraining: this.runs,
      checkedAt: new Date(now).toISOString(),
    };
  }

  /** The user with the longest history in the served model (ties: first in model order), once per version. */
  private async exampleUser(): Promise<string | undefined> {
    const loaded = await this.api?.modelStore().get().catch(() => undefined);
    if (!loaded) return undefined;
    if (this.example?.version !== loaded.version) {
      let best: string | undefined;
      let longest = -1;
      for (const userId of loaded.model.users()) {
        const n = loaded.model.historyOf(userId).length;
        if (n > longest) [best, longest] = [userId, n];
      }
      this.example = { version: loaded.version, userId: best };
    }
    return this.example.userId;
  }
  private example: { version: string; userId: string | undefined } | undefined;

  private async lakeCounts(): Promise<PipelineStatus['lake']> {
    const lake = new S3Lake(this.s3(), this.names.lakeBucket);
    const bronze = await lake.listKeys(BRONZE_EVENTS_PREFIX);
    const quarantine = await lake.listKeys(BRONZE_QUARANTINE_PREFIX);
    let records = 0;
    // A Bronze object is written once under its key (a retry writes the same lines): count each one once.
    for (const key of bronze) {
      let lines = this.bronzeLines.get(key);
      if (lines === undefined) {
        lines = ((await lake.getText(key)) ?? '').split('\n').filter(Boolean).length;
        this.bronzeLines.set(key, lines);
      }
      records += lines;
    }
    return { bronzeObjects: bronze.length, bronzeRecords: records, quarantineObjects: quarantine.length };
  }
  private readonly bronzeLines = new Map<string, number>();

  private async counts(): Promise<Pick<PipelineStatus, 'lake' | 'features' | 'model'>> {
    const lake = await this.lakeCounts();
    const ddb = createDynamoDocumentClient();
    const users = new Set<string>();
    const items = new Set<string>();
    for await (const pk of scanPartitionKeys(ddb, this.names.featuresTable)) {
      if (pk.startsWith('U#')) users.add(pk);
      else if (pk.startsWith('I#')) items.add(pk);
    }
    ddb.destroy();
    const pointerText = await new S3Lake(this.s3(), this.names.lakeBucket).getText(PRODUCTION_POINTER_KEY);
    const pointer = pointerText ? parseProductionPointer(pointerText) : undefined;
    return {
      lake,
      features: { users: users.size, items: items.size },
      model: { version: pointer?.version ?? null, deployedAt: pointer?.deployedAt, previous: pointer?.previous?.version ?? null, exampleUser: await this.exampleUser() },
    };
  }

  /** Local-only routes next to the API: the status page, its JSON, and retraining on demand. */
  private async localRoutes(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse, url: URL): Promise<boolean> {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      send(200, 'text/html; charset=utf-8', await readFile(new URL('./page/index.html', import.meta.url), 'utf8'));
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/local/status') {
      send(200, 'application/json', JSON.stringify(await this.status()));
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/local/retrain') {
      void this.retrain().catch((err: unknown) => this.options.log(`retraining could not run: ${describeError(err)}`));
      send(202, 'application/json', JSON.stringify({ started: true }));
      return true;
    }
    return false;
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    this.liveAbort.abort();
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled(this.pollers.map((p) => p.stop()));
    await this.retraining?.catch(() => undefined);
    await this.api?.stop();
    await this.emulators?.stop();
  }

  private async readState(dataDir: string): Promise<StateFile | undefined> {
    const file = join(dataDir, 'state.json');
    return existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as StateFile) : undefined;
  }

  private async writeState(dataDir: string, state: StateFile): Promise<void> {
    await writeFile(join(dataDir, 'state.json'), JSON.stringify(state));
  }
}

/** Readable names for generated items, so the page shows titles rather than bare ids. */
export function syntheticCatalog(items: number): ItemMeta[] {
  const adjectives = ['Classic', 'Urban', 'Cosy', 'Bold', 'Quiet', 'Bright', 'Wild', 'Smart', 'Vintage', 'Swift', 'Golden', 'Little'];
  const nouns = ['Lamp', 'Backpack', 'Novel', 'Headphones', 'Mug', 'Sneakers', 'Jacket', 'Board Game', 'Plant', 'Watch', 'Notebook', 'Speaker'];
  return Array.from({ length: items }, (_, i) => ({
    itemId: `i${i + 1}`,
    title: `${adjectives[(i * 7) % adjectives.length]} ${nouns[(i * 5 + Math.floor(i / 12)) % nouns.length]} #${i + 1}`,
    genres: [],
  }));
}

/** Read once at start-up; input files are small enough (MovieLens-1M is 24 MB). */
function requireText(path: string, encoding: BufferEncoding = 'utf8'): string {
  if (!existsSync(path)) throw new Error(`no such file: ${path}`);
  return readFileSync(path, encoding);
}
