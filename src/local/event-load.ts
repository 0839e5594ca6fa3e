import { readFile, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDynamoDocumentClient, type KinesisClient, type S3Client } from '../adapters/aws-clients';
import { DynamoCatalog } from '../adapters/dynamo-catalog';
import { S3Lake } from '../adapters/s3-lake';
import type { CatalogStore } from '../catalog/catalog-store';
import { writeCatalogItems } from '../catalog/import-file';
import { parseCatalogItem, type CatalogItem } from '../catalog/item';
import type { UserEventInput } from '../domain/events';
import { CATALOG_KEY } from '../domain/lake-layout';
import { parseItemsFile, parseRatingsFile, type ItemMeta } from '../recommender/index';
import { describeError } from '../retraining/errors';
import { produceEvents } from './event-producer';
import { replayUniverse, type ReplayUniverse } from './replay-universe';
import { generateTasteEvents } from './synthetic-events';
import type { LocalPipelineOptions } from './pipeline';
import { shopperCatalog, type ShopperWorld } from './shoppers';

/** What to produce (as `npm start` takes it), and where: `state.json` in `dataDir` says what is on the stream already. */
export type EventLoadOptions = Pick<
  LocalPipelineOptions,
  'dataDir' | 'events' | 'users' | 'items' | 'seed' | 'rate' | 'liveRate' | 'ratingsFile' | 'itemsFile' | 'log' | 'onProduceProgress'
> & {
  stream: string;
  lakeBucket: string;
  /**
   * Simulated shoppers (`npm start -- --shoppers`): the initial load is their history and the catalogue their
   * items (src/local/shoppers.ts), so the model learns the tastes the shoppers then act on.
   */
  shopperLoad?: { world: ShopperWorld; history: () => UserEventInput[] };
};

interface StateFile {
  produced: number;
  source: string;
}

/**
 * Producing to the stream: the catalog put in the lake, the initial load (generated events or a replayed
 * ratings file, once per data folder) and, after start-up, a live trickle of fresh events.
 */
export class EventLoad {
  private initial = 0;
  private liveSent = 0;
  private readonly liveAbort = new AbortController();

  constructor(private readonly options: EventLoadOptions) {}

  /** Events put on the stream: the initial load (this run's or an earlier one's) and the live trickle. */
  get produced(): number {
    return this.initial + this.liveSent;
  }

  /**
   * Titles and genres, from `itemsFile` or the generator: imported into the live catalogue table (CATALOG_TABLE,
   * which `npm start` creates) through the catalogue writer when that table is empty, so PUT /items, serving and
   * the nightly snapshot see them; left as they are when the table already holds items (an earlier start, or
   * changes made through the API: a restart must not undo a withdrawal). Without a usable table they go to
   * catalog/items.json, the snapshot's fallback.
   */
  async putCatalog(s3: S3Client, catalog: CatalogStore | undefined = catalogFromEnvironment()): Promise<void> {
    let items: ItemMeta[] | undefined;
    if (this.options.shopperLoad) items = shopperCatalog(this.options.shopperLoad.world);
    else if (this.options.itemsFile) items = parseItemsFile(requireText(this.options.itemsFile, 'latin1'), this.options.itemsFile);
    else if (!this.options.ratingsFile) items = syntheticCatalog(this.options.items);
    if (!items) return;
    if (catalog && (await this.importIntoTable(catalog, items))) return;
    await new S3Lake(s3, this.options.lakeBucket).putObject(CATALOG_KEY, JSON.stringify(items), 'application/json');
  }

  /** True when the table holds the catalogue afterwards (imported now, or already there). */
  private async importIntoTable(catalog: CatalogStore, metas: ItemMeta[]): Promise<boolean> {
    const { log } = this.options;
    const table = process.env.CATALOG_TABLE ?? 'the catalogue table';
    try {
      for await (const _ of catalog.scanAll()) {
        log(`catalogue table ${table} already holds items: kept as they are (--fresh starts over)`);
        return true;
      }
    } catch (err) {
      log(`catalogue table ${table} is not readable (${describeError(err)}): writing ${CATALOG_KEY} instead`);
      return false;
    }
    const items: CatalogItem[] = [];
    let invalid = 0;
    for (const meta of metas) {
      const parsed = parseCatalogItem({ itemId: meta.itemId, ...(meta.title ? { title: meta.title } : {}), categories: meta.genres });
      if (parsed.ok) items.push(parsed.item);
      else invalid++;
    }
    const report = await writeCatalogItems(catalog, items, { nowMs: Date.now() });
    log(`imported ${report.written.toLocaleString('en-US')} items into catalogue table ${table}${invalid ? `, ${invalid} refused by the item contract` : ''}${report.failed.length ? `, ${report.failed.length} failed (first: ${report.failed[0]!.itemId}: ${report.failed[0]!.reason})` : ''}`);
    return report.written > 0;
  }

  /**
   * Puts the initial events on the stream unless the data folder holds them already (same source);
   * calls `onProducing` before it starts and returns how many records this run put on the stream.
   */
  async produceInitial(kinesis: KinesisClient, onProducing: () => void): Promise<number> {
    const { log, ratingsFile } = this.options;
    const state = await this.readState();
    const source = this.options.shopperLoad
      ? `shoppers:${this.options.events}:${this.options.users}:${this.options.items}:${this.options.seed}`
      : ratingsFile ? `ratings:${resolve(ratingsFile)}` : `generated:${this.options.events}:${this.options.users}:${this.options.items}:${this.options.seed}`;
    if (state && state.source === source) {
      this.initial = state.produced;
      log(`reusing ${state.produced.toLocaleString('en-US')} events already in ${this.options.dataDir} (use --fresh to start over)`);
      return 0;
    }
    onProducing();
    const events = this.initialEvents();
    const total = events.length;
    log(`producing ${total.toLocaleString('en-US')} events onto Kinesis${this.options.rate ? ` at ${this.options.rate}/s` : ''} (${ratingsFile ? `replaying ${ratingsFile}` : `generated: ${this.options.users} users, ${this.options.items} items`})`);
    const before = this.initial;
    await produceEvents(events, {
      kinesis,
      stream: this.options.stream,
      ratePerSecond: this.options.rate,
      onProgress: (sent) => this.options.onProduceProgress?.(sent, total),
    });
    this.initial = before + total;
    await this.writeState({ produced: this.initial, source });
    return total;
  }

  /** With a `liveRate`, starts a slow stream of fresh events with current timestamps, so recommendations and analytics move. */
  startLive(kinesis: KinesisClient): void {
    if (this.options.liveRate > 0) void this.trickle(kinesis);
  }

  stop(): void {
    this.liveAbort.abort();
  }

  private initialEvents(): UserEventInput[] {
    const { ratingsFile } = this.options;
    if (this.options.shopperLoad) return this.options.shopperLoad.history();
    if (ratingsFile) {
      const interactions = parseRatingsFile(requireText(ratingsFile), ratingsFile);
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

  private async trickle(kinesis: KinesisClient): Promise<void> {
    let n = 0;
    const options = this.options;
    // A replayed file's users and items, so live events belong to the same shop (not generated u1/i1 ids).
    const universe = this.replayUniverse();
    function* live(): Generator<UserEventInput> {
      for (;;) {
        const users = universe?.users.length ?? options.users;
        const items = universe?.items.length ?? options.items;
        for (const e of generateTasteEvents({ events: 2_000, users, items, seed: options.seed + 1 + n, startMs: Date.now() - 1000, endMs: Date.now() })) {
          const event: UserEventInput = { ...e, eventId: `live-${Date.now()}-${n++}`, timestamp: new Date().toISOString() };
          yield universe ? universe.remap(event) : event;
        }
      }
    }
    try {
      await produceEvents(live(), { kinesis, stream: options.stream, ratePerSecond: options.liveRate, signal: this.liveAbort.signal, onProgress: (sent) => (this.liveSent = sent) });
    } catch (err) {
      if (!this.liveAbort.signal.aborted) options.log(`live events stopped: ${describeError(err)}`);
    }
  }

  /** With a ratings file, the file's users and items, so live events belong to the same shop. */
  private replayUniverse(): ReplayUniverse | undefined {
    const { ratingsFile, itemsFile } = this.options;
    if (!ratingsFile) return undefined;
    const interactions = parseRatingsFile(requireText(ratingsFile), ratingsFile);
    const items = itemsFile ? parseItemsFile(requireText(itemsFile, 'latin1'), itemsFile) : [];
    return replayUniverse(interactions, items);
  }

  private get stateFile(): string {
    return join(resolve(this.options.dataDir), 'state.json');
  }

  private async readState(): Promise<StateFile | undefined> {
    const file = this.stateFile;
    return existsSync(file) ? (JSON.parse(await readFile(file, 'utf8')) as StateFile) : undefined;
  }

  private async writeState(state: StateFile): Promise<void> {
    await writeFile(this.stateFile, JSON.stringify(state));
  }
}

/** The catalogue table the environment names (CATALOG_TABLE), or undefined. */
function catalogFromEnvironment(): CatalogStore | undefined {
  const table = process.env.CATALOG_TABLE?.trim();
  return table ? new DynamoCatalog(createDynamoDocumentClient(), table) : undefined;
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
