import { rm, mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { RunEvent } from './retraining-runner';
import type { RunningEmulators } from './emulators';
import type { RunningApiServer } from './api-server';
import { createLocalResources, localResourceNames, startLocalAws, type LocalResourceNames } from './local-aws';
import { StreamConsumers } from './stream-consumers';
import { EventLoad } from './event-load';
import { RetrainingSchedule, type RetrainingStatus } from './retraining-schedule';
import { PipelineStatusPage, statusPageRoutes, type PipelineStatus } from './pipeline-status';
import { createShopperWorld, generateHistory, runShoppers, type ShopperStats, type ShopperWorld } from './shoppers';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type { RetrainingStatus } from './retraining-schedule';
export type { PipelineStatus } from './pipeline-status';
export { syntheticCatalog } from './event-load';

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
  /**
   * Simulated shoppers (src/local/shoppers.ts): the initial load is the history of `users` shoppers with known
   * tastes over `items` items (about `events` events); once the API serves, with `visitsPerSecond` > 0, they
   * visit: GET /recommend/{userId}, then POST /events with impressions, clicks, carts and purchases carrying the
   * answer's recommendationId. `visitsPerSecond: 0` builds the world only (a caller drives `runShoppers`).
   * Not with `ratingsFile`.
   */
  shoppers?: { visitsPerSecond: number; k?: number };
  log: (line: string) => void;
  onProduceProgress?: (sent: number, total: number) => void;
  onRetrainEvent?: (event: RunEvent) => void;
}

/**
 * The whole pipeline on one machine: emulators for S3, DynamoDB and Kinesis (or whatever AWS_ENDPOINT_URL
 * points at), the same resources the CDK stack defines, events produced onto Kinesis, the consumer and
 * analytics handlers fed by local event source mappings, the nightly state machine run from its ASL file,
 * and the API served over HTTP — every piece the same code as in AWS.
 *
 * Each role is its own part (local-aws, stream-consumers, event-load, retraining-schedule, pipeline-status);
 * this class starts them in order, stops them, and keeps the phase the page shows.
 */
export class LocalPipeline {
  private emulators?: RunningEmulators;
  private api?: RunningApiServer;
  private readonly names: LocalResourceNames = localResourceNames();
  private readonly dataDir: string;
  private phase: PipelineStatus['phase'] = 'starting';
  /** The phase a retraining run started in, to go back to (or on to serving) when it ends. */
  private phaseBeforeRun: PipelineStatus['phase'] = 'starting';
  private readonly consumers: StreamConsumers;
  private readonly load: EventLoad;
  private readonly schedule: RetrainingSchedule;
  private readonly page: PipelineStatusPage;
  /** The simulated shoppers' world, when `options.shoppers` asks for them. */
  readonly shopperWorld?: ShopperWorld;
  private shopperTotals?: ShopperStats;
  private readonly shopperAbort = new AbortController();
  private shopperRun?: Promise<ShopperStats>;

  constructor(readonly options: LocalPipelineOptions) {
    const { names } = this;
    this.dataDir = resolve(options.dataDir);
    this.consumers = new StreamConsumers({ dataDir: this.dataDir, stream: names.eventsStream, analytics: options.analytics, log: options.log });
    if (options.shoppers) {
      if (options.ratingsFile) throw new Error('simulated shoppers need generated data: --shoppers cannot be used with --ratings');
      this.shopperWorld = createShopperWorld({ users: options.users, items: options.items, seed: options.seed });
    }
    const world = this.shopperWorld;
    // About `events` events: each browsed item gives ~1.2 events (a view, sometimes a click, cart, purchase).
    const itemsPerUser = Math.max(1, Math.min(Math.floor(options.items / 2), Math.round(options.events / Math.max(1, options.users) / 1.2)));
    this.load = new EventLoad({
      ...options,
      stream: names.eventsStream,
      lakeBucket: names.lakeBucket,
      ...(world ? { shopperLoad: { world, history: () => generateHistory(world, { itemsPerUser }) } } : {}),
    });
    this.schedule = new RetrainingSchedule({
      lakeBucket: names.lakeBucket,
      log: options.log,
      onEvent: options.onRetrainEvent,
      onRunStart: () => {
        this.phaseBeforeRun = this.phase;
        this.phase = 'retraining';
      },
      onRunEnd: (ranStateMachine) => {
        if (ranStateMachine) this.page.invalidate();
        const before = this.phaseBeforeRun;
        this.phase = before === 'retraining' || (ranStateMachine && before === 'consuming') ? 'serving' : before;
      },
    });
    this.page = new PipelineStatusPage({
      lakeBucket: names.lakeBucket,
      featuresTable: names.featuresTable,
      phase: () => this.phase,
      apiUrl: () => this.apiUrl,
      produced: () => this.load.produced,
      consumers: () => this.consumers.counts(),
      retraining: () => this.schedule.runs,
      modelStore: () => this.api?.modelStore(),
    });
  }

  /** The local stand-in for SigV4 on the IAM routes (`X-Local-Admin-Token`): catalogue writes, reload. */
  get adminToken(): string | undefined {
    return this.api?.adminToken;
  }

  get apiUrl(): string {
    return this.api?.url ?? `http://${this.options.host}:${this.options.port}`;
  }

  /** Starts everything and returns once the first model is deployed and the API serves it. */
  async start(): Promise<void> {
    const { log, analytics } = this.options;
    if (this.options.fresh) await rm(this.dataDir, { recursive: true, force: true });
    await mkdir(this.dataDir, { recursive: true });

    this.emulators = await startLocalAws({ dataDir: this.dataDir, dataDirLabel: this.options.dataDir, names: this.names, analytics, log });
    Object.assign(process.env, {
      // Serving instances re-check the production pointer often here: a demo should not wait 30 s.
      MODEL_REFRESH_SECONDS: process.env.MODEL_REFRESH_SECONDS ?? '2',
      RELOAD_POLL_INTERVAL_MS: process.env.RELOAD_POLL_INTERVAL_MS ?? '250',
      RELOAD_CONSECUTIVE_ANSWERS: process.env.RELOAD_CONSECUTIVE_ANSWERS ?? '3',
      RELOAD_MARGIN_SECONDS: process.env.RELOAD_MARGIN_SECONDS ?? '20',
    });
    const clients = await createLocalResources({ names: this.names, analytics, log });

    // The API comes up first, so the page can show the pipeline filling up.
    const { startApiServer } = await import('./api-server');
    process.env.API_BASE_URL = `http://${this.options.host}:${this.options.port}`;
    const statusRoutes = statusPageRoutes({ status: () => this.status(), retrain: () => this.retrain(), log });
    const localRoutes = async (req: IncomingMessage, res: ServerResponse, url: URL) => (await this.experimentRoutes(req, res, url)) || statusRoutes(req, res, url);
    this.api = await startApiServer({ port: this.options.port, host: this.options.host, localRoutes });
    process.env.API_BASE_URL = this.api.url;
    log(`API and status page on ${this.api.url}/`);

    await this.consumers.start();
    await this.load.putCatalog(clients.s3);
    const producedNow = await this.load.produceInitial(clients.kinesis, () => (this.phase = 'producing'));

    this.phase = 'consuming';
    await this.consumers.waitFor(producedNow);
    log(`consumed ${this.consumers.counts().consumed.toLocaleString('en-US')} records into Bronze and features${analytics ? ' and analytics' : ''}`);

    const run = await this.retrain();
    if (run.status !== 'SUCCEEDED') log(`retraining ${run.status}: ${run.outcome ?? ''}`);
    this.phase = 'serving';
    if (this.options.retrainEveryMinutes > 0) this.schedule.every(this.options.retrainEveryMinutes);
    this.load.startLive(clients.kinesis);
    this.startShoppers();
  }

  /** What the simulated shoppers did so far (undefined without `options.shoppers`). */
  get shopperStats(): ShopperStats | undefined {
    return this.shopperTotals;
  }

  private startShoppers(): void {
    const world = this.shopperWorld;
    const settings = this.options.shoppers;
    if (!world || !settings || !(settings.visitsPerSecond > 0)) return;
    this.options.log(`simulated shoppers: ${world.users.length} users with known tastes visit ${settings.visitsPerSecond}/s (GET /recommend, POST /events)`);
    this.shopperRun = runShoppers({
      apiUrl: this.apiUrl,
      world,
      ratePerSecond: settings.visitsPerSecond,
      k: settings.k ?? 10,
      concurrency: Math.min(8, Math.max(1, Math.ceil(settings.visitsPerSecond / 10))),
      signal: this.shopperAbort.signal,
      onVisit: (stats) => (this.shopperTotals = stats),
    });
    void this.shopperRun.catch((err: unknown) => this.options.log(`simulated shoppers stopped: ${err instanceof Error ? err.message : String(err)}`));
  }

  /**
   * Local-only JSON for the page: `GET /local/experiment` is GET /admin/experiment asked with this server's
   * admin token (the page never holds it; read-only, like /local/status), and `GET /local/shoppers` the simulated
   * shoppers' totals.
   */
  private async experimentRoutes(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (req.method !== 'GET' || (url.pathname !== '/local/experiment' && url.pathname !== '/local/shoppers')) return false;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/local/shoppers') {
      send(200, { enabled: this.shopperWorld !== undefined, users: this.shopperWorld?.users.length ?? 0, stats: this.shopperTotals ?? null });
      return true;
    }
    try {
      const answer = await fetch(`${this.apiUrl}/admin/experiment`, { headers: { Accept: 'application/json', 'X-Local-Admin-Token': this.adminToken ?? '' } });
      const text = await answer.text();
      res.writeHead(answer.status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(text);
    } catch (err) {
      send(502, { error: { code: 'ADMIN_UNREACHABLE', message: err instanceof Error ? err.message : String(err) } });
    }
    return true;
  }

  /** Runs the nightly state machine now (one run at a time); resolves with how it went. */
  retrain(): Promise<RetrainingStatus> {
    return this.schedule.run();
  }

  status(): Promise<PipelineStatus> {
    return this.page.read();
  }

  async stop(): Promise<void> {
    this.phase = 'stopped';
    this.shopperAbort.abort();
    await this.shopperRun?.catch(() => undefined);
    this.load.stop();
    this.schedule.stop();
    await this.consumers.stop();
    await this.schedule.finished();
    await this.api?.stop();
    await this.emulators?.stop();
  }
}
