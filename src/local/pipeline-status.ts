import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createDynamoDocumentClient, createS3Client } from '../adapters/aws-clients';
import { scanPartitionKeys } from '../adapters/dynamo-key-scan';
import { S3Lake } from '../adapters/s3-lake';
import { BRONZE_EVENTS_PREFIX, BRONZE_QUARANTINE_PREFIX, PRODUCTION_POINTER_KEY } from '../domain/lake-layout';
import { parseProductionPointer } from '../domain/model-registry';
import { describeError } from '../retraining/errors';
import type { ModelStore } from '../serving/model-store';
import type { RetrainingStatus } from './retraining-schedule';
import type { ConsumerCounts } from './stream-consumers';

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

/** Where the page's figures come from, read as the page is asked for. */
export interface StatusSources {
  lakeBucket: string;
  featuresTable: string;
  phase(): PipelineStatus['phase'];
  apiUrl(): string;
  produced(): number;
  consumers(): ConsumerCounts;
  retraining(): RetrainingStatus[];
  /** The served model's store, once the API is up. */
  modelStore(): ModelStore | undefined;
}

type Counts = Pick<PipelineStatus, 'lake' | 'features' | 'model'>;

/** How long the lake, feature and model counts are reused before they are read again. */
const COUNTS_TTL_MS = 3000;
/** The window the consumption rate is measured over. */
const RATE_WINDOW_MS = 10_000;

/**
 * The status page's data: live counters from the pipeline's parts, the consumption rate over the last
 * seconds, and counts of the lake, the feature table and the served model, cached for a few seconds.
 */
export class PipelineStatusPage {
  private readonly startedAt = new Date().toISOString();
  private rateSamples: { t: number; consumed: number }[] = [];
  private cachedCounts?: { at: number; value: Counts };
  private readonly bronzeLines = new Map<string, number>();
  private example: { version: string; userId: string | undefined } | undefined;

  constructor(private readonly sources: StatusSources) {}

  async read(): Promise<PipelineStatus> {
    const { sources } = this;
    const consumed = sources.consumers().consumed;
    const now = Date.now();
    this.rateSamples.push({ t: now, consumed });
    this.rateSamples = this.rateSamples.filter((s) => now - s.t <= RATE_WINDOW_MS);
    const oldest = this.rateSamples[0]!;
    const perSecond = now - oldest.t > 500 ? ((consumed - oldest.consumed) * 1000) / (now - oldest.t) : 0;
    if (!this.cachedCounts || now - this.cachedCounts.at > COUNTS_TTL_MS) this.cachedCounts = { at: now, value: await this.counts() };
    const { analyticsConsumed, sentToDlq, retries } = sources.consumers();
    const apiUrl = sources.apiUrl();
    return {
      phase: sources.phase(),
      startedAt: this.startedAt,
      urls: { api: apiUrl, page: `${apiUrl}/` },
      events: { produced: sources.produced(), consumed, analyticsConsumed, sentToDlq, perSecond: Math.round(perSecond), retries },
      ...this.cachedCounts.value,
      retraining: sources.retraining(),
      checkedAt: new Date(now).toISOString(),
    };
  }

  /** Reads the counts afresh next time (e.g. after a retraining run deployed a model). */
  invalidate(): void {
    this.cachedCounts = undefined;
  }

  private async counts(): Promise<Counts> {
    const lake = await this.lakeCounts();
    const ddb = createDynamoDocumentClient();
    const users = new Set<string>();
    const items = new Set<string>();
    for await (const pk of scanPartitionKeys(ddb, this.sources.featuresTable)) {
      if (pk.startsWith('U#')) users.add(pk);
      else if (pk.startsWith('I#')) items.add(pk);
    }
    ddb.destroy();
    const pointerText = await new S3Lake(createS3Client(), this.sources.lakeBucket).getText(PRODUCTION_POINTER_KEY);
    const pointer = pointerText ? parseProductionPointer(pointerText) : undefined;
    return {
      lake,
      features: { users: users.size, items: items.size },
      model: { version: pointer?.version ?? null, deployedAt: pointer?.deployedAt, previous: pointer?.previous?.version ?? null, exampleUser: await this.exampleUser() },
    };
  }

  private async lakeCounts(): Promise<PipelineStatus['lake']> {
    const lake = new S3Lake(createS3Client(), this.sources.lakeBucket);
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

  /** The user with the longest history in the served model (ties: first in model order), once per version. */
  private async exampleUser(): Promise<string | undefined> {
    const loaded = await this.sources.modelStore()?.get().catch(() => undefined);
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
}

export interface StatusRoutesOptions {
  status: () => Promise<PipelineStatus>;
  /** Starts a retraining run; its failure is logged. */
  retrain: () => Promise<unknown>;
  log: (line: string) => void;
}

/** Local-only routes next to the API: the status page, its JSON, and retraining on demand. */
export function statusPageRoutes(options: StatusRoutesOptions): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean> {
  return async (req, res, url) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method === 'GET' && (url.pathname === '/' || url.pathname === '/index.html')) {
      send(200, 'text/html; charset=utf-8', await readFile(new URL('./page/index.html', import.meta.url), 'utf8'));
      return true;
    }
    if (req.method === 'GET' && url.pathname === '/local/status') {
      send(200, 'application/json', JSON.stringify(await options.status()));
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/local/retrain') {
      void options.retrain().catch((err: unknown) => options.log(`retraining could not run: ${describeError(err)}`));
      send(202, 'application/json', JSON.stringify({ started: true }));
      return true;
    }
    return false;
  };
}
