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

  constructor(readonly options: LocalPipelineOptions) {
    const { names } = this;
    this.dataDir = resolve(options.dataDir);
    this.consumers = new StreamConsumers({ dataDir: this.dataDir, stream: names.eventsStream, analytics: options.analytics, log: options.log });
    this.load = new EventLoad({ ...options, stream: names.eventsStream, lakeBucket: names.lakeBucket });
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
    const localRoutes = statusPageRoutes({ status: () => this.status(), retrain: () => this.retrain(), log });
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
    this.load.stop();
    this.schedule.stop();
    await this.consumers.stop();
    await this.schedule.finished();
    await this.api?.stop();
    await this.emulators?.stop();
  }
}
