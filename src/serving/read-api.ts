import type { UserFeatures } from '../domain/features';
import { FreshEventsCache } from './fresh-events-cache';
import { freshInteractions } from './fresh-history';
import type { UserFeatureReader } from './features-reader';
import { HttpError, json, negotiate, readJsonBody, text, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import type { LoadedModel, ModelStore } from './model-store';
import { isValidId, parseId, parseK } from './params';
import type { RouteId } from './routes';

export interface ScoredItemView {
  itemId: string;
  score: number;
  title?: string;
}

export interface RecommendResponse {
  userId: string;
  modelVersion: string | null;
  strategy: 'personalized' | 'popular';
  items: ScoredItemView[];
}

export interface ReadApiOptions {
  /** How long a recommendation waits for the user's fresh events before answering without them (ms). */
  freshEventsTimeoutMs: number;
  /** How long one read of a user's fresh events may be reused by this instance (ms); 0 disables. */
  freshEventsCacheMs?: number;
  log?: ServingLog;
  /**
   * The shop's most popular items right now (the analytics windows of the last day), best first: what
   * `/recommend` and `/items/popular` answer before the first model is deployed, instead of an empty list.
   * `exclude` are items the user already touched.
   */
  livePopular?: (k: number, exclude: ReadonlySet<string>) => Promise<ScoredItemView[]>;
  /** Called once per recommendation, for metrics. */
  onRecommend?: (outcome: { strategy: 'personalized' | 'popular'; freshEvents: number; freshUnavailable: boolean; modelLoaded: boolean }) => void;
}

export type RouteImplementation = (request: ApiRequest) => Promise<ApiResponse>;

/** How long a request before the first model waits for the live popular items. */
export const LIVE_POPULAR_TIMEOUT_MS = 1000;

/** Most items one `POST /rank` orders, as Amazon Personalize's personalized-ranking takes. */
export const MAX_RANK_ITEMS = 500;
const MAX_RANK_BODY_BYTES = 128 * 1024;

/** The body of `POST /rank/{userId}`: `{ "itemIds": [...] }`, JSON only, 1-500 valid ids, none repeated. */
function parseItemList(request: ApiRequest): string[] {
  // 500 ids of at most 128 characters, quoted and separated, fit well inside the size bound.
  const body = readJsonBody(request, { what: 'the item list', maxBytes: MAX_RANK_BODY_BYTES, sendHint: 'send { "itemIds": ["…", …] }' });
  const list = typeof body === 'object' && body !== null && Object.hasOwn(body, 'itemIds') ? (body as { itemIds: unknown }).itemIds : undefined;
  if (!Array.isArray(list)) throw new HttpError(400, 'INVALID_BODY', 'send { "itemIds": ["…", …] }', 'itemIds');
  if (list.length === 0) throw new HttpError(400, 'INVALID_PARAMETER', 'itemIds must name at least one item', 'itemIds');
  if (list.length > MAX_RANK_ITEMS) throw new HttpError(413, 'TOO_MANY_ITEMS', `at most ${MAX_RANK_ITEMS} items per request (got ${list.length})`, 'itemIds');
  const seen = new Set<string>();
  return list.map((raw, i) => {
    const field = `itemIds[${i}]`;
    // Ids in a JSON body are taken as they are (no percent-decoding), held to the pattern events use.
    if (typeof raw !== 'string' || !isValidId(raw)) {
      throw new HttpError(400, 'INVALID_ID', `${field} must be an id of 1-128 letters, digits or . _ : @ + = ~ - (got ${JSON.stringify(raw)?.slice(0, 40) ?? typeof raw})`, field);
    }
    const id = raw;
    if (seen.has(id)) throw new HttpError(400, 'DUPLICATE_ITEM', `${field} repeats ${id}: name each item once`, field);
    seen.add(id);
    return id;
  });
}

/** An item of a `POST /rank` list the model cannot score: kept, unscored and marked. */
const unknownItem = (itemId: string) => ({ itemId, score: null, unknown: true });

/** Popular and similar lists change only with the model: let clients and CDNs keep them briefly. */
const MODEL_DERIVED_CACHE = { 'Cache-Control': 'public, max-age=30' };
const NO_STORE = { 'Cache-Control': 'no-store' };

/**
 * The read side of the API: recommendations, related and popular items, user features, model health and
 * reload. Business logic only; the Lambda handler adds routing, errors and CORS.
 */
export class ReadApi {
  private readonly freshCache: FreshEventsCache;

  constructor(
    private readonly models: ModelStore,
    private readonly features: UserFeatureReader,
    private readonly options: ReadApiOptions,
  ) {
    this.freshCache = new FreshEventsCache(async (userId) => (await this.features.realtime(userId))?.recent ?? [], { ttlMs: options.freshEventsCacheMs ?? 0 });
  }

  routes(): Partial<Record<RouteId, RouteImplementation>> {
    return {
      recommend: (r) => this.recommend(r),
      rankItems: (r) => this.rankItems(r),
      similarItems: (r) => this.similar(r),
      popularItems: (r) => this.popular(r),
      userFeatures: (r) => this.userFeatures(r),
      // Health runs the same bounded-staleness check as a recommendation, so it reports what would be served.
      health: async () => {
        await this.models.get();
        return json(200, this.models.health(), NO_STORE);
      },
      adminReload: (r) => this.reload(r),
    };
  }

  /**
   * `POST /admin/reload`: re-checks the production pointer now. Only for a caller the handler verified
   * (`request.caller`, the SigV4 identity API Gateway attached); anything else is refused here too.
   */
  async reload(request: ApiRequest): Promise<ApiResponse> {
    if (!request.caller) {
      this.options.log?.warn('refused a model reload without a verified caller', { requestId: request.requestId });
      throw new HttpError(403, 'FORBIDDEN', 'POST /admin/reload needs an IAM-authorised (SigV4-signed) request');
    }
    this.options.log?.info('model reload requested', { caller: request.caller, requestId: request.requestId });
    return json(200, await this.models.reload(), NO_STORE);
  }

  /** `GET /recommend/{userId}?k=10`: the model's ranking over training history plus the user's fresh events. */
  async recommend(request: ApiRequest): Promise<ApiResponse> {
    const userId = parseId('userId', request.params.userId);
    const k = parseK(request.query.k);
    const format = negotiate(request.headers.accept, ['application/json', 'text/plain'] as const);
    const [loaded, fresh] = await Promise.all([this.models.get(), this.freshEvents(userId)]);
    const body = loaded ? this.rank(loaded, userId, k, fresh.recent) : { userId, modelVersion: null, strategy: 'popular' as const, items: await this.beforeFirstModel(k, new Set(fresh.recent.map((r) => r.itemId))) };
    this.options.onRecommend?.({ strategy: body.strategy, freshEvents: fresh.recent.length, freshUnavailable: fresh.unavailable, modelLoaded: Boolean(loaded) });
    const headers = { ...NO_STORE, Vary: 'Accept' };
    if (format === 'text/plain') return text(200, body.items.map((i) => i.itemId).join(','), headers);
    return json(200, body, headers);
  }

  rank(loaded: LoadedModel, userId: string, k: number, recent: UserFeatures['recent']): RecommendResponse {
    const history = freshInteractions(userId, recent);
    // Everything the user touched since the model was trained counts as seen, whatever its weight.
    const { strategy, items } = loaded.model.recommend(userId, k, { history, exclude: history.map((h) => h.itemId) });
    return { userId, modelVersion: loaded.version, strategy, items: items.map((i) => withTitle(loaded, i)) };
  }

  /**
   * `POST /rank/{userId}` with `{ "itemIds": [...] }` (1-500, no repeats): the same items ordered for the user,
   * best first, with the scores `/recommend` would give them (a page that already has a list — search results,
   * a category — personalises its order). Items the model does not know are kept, last, in the order given,
   * marked `unknown: true` with no score.
   */
  async rankItems(request: ApiRequest): Promise<ApiResponse> {
    const userId = parseId('userId', request.params.userId);
    const itemIds = parseItemList(request);
    const [loaded, fresh] = await Promise.all([this.models.get(), this.freshEvents(userId)]);
    // Without a model every item is unknown: the list comes back as given.
    if (!loaded) return json(200, { userId, modelVersion: null, strategy: 'popular', items: itemIds.map(unknownItem) }, NO_STORE);
    const ranked = loaded.model.rankItems(userId, itemIds, { history: freshInteractions(userId, fresh.recent) });
    const items = [...ranked.items.map((i) => withTitle(loaded, i)), ...ranked.unknown.map(unknownItem)];
    return json(200, { userId, modelVersion: loaded.version, strategy: ranked.strategy, items }, NO_STORE);
  }

  async similar(request: ApiRequest): Promise<ApiResponse> {
    const itemId = parseId('itemId', request.params.itemId);
    const k = parseK(request.query.k);
    const loaded = await this.models.get();
    if (!loaded) return json(200, { itemId, modelVersion: null, items: [] }, NO_STORE);
    if (!loaded.model.hasItem(itemId)) throw new HttpError(404, 'ITEM_NOT_FOUND', `item ${itemId} is not in model ${loaded.version}`, 'itemId');
    const items = loaded.model.similar(itemId, k).map((i) => withTitle(loaded, i));
    return json(200, { itemId, modelVersion: loaded.version, items }, MODEL_DERIVED_CACHE);
  }

  async popular(request: ApiRequest): Promise<ApiResponse> {
    const k = parseK(request.query.k);
    const loaded = await this.models.get();
    if (!loaded) return json(200, { modelVersion: null, items: await this.beforeFirstModel(k, new Set()) }, NO_STORE);
    const items = loaded.model.popular(k).map((i) => withTitle(loaded, i));
    return json(200, { modelVersion: loaded.version, items }, MODEL_DERIVED_CACHE);
  }

  /** `GET /users/{userId}/features`: the speed layer and, once the nightly job has run, the exact row. */
  async userFeatures(request: ApiRequest): Promise<ApiResponse> {
    const userId = parseId('userId', request.params.userId);
    const [realtime, exact] = await Promise.all([this.features.realtime(userId), this.features.exact(userId)]);
    if (!realtime && !exact) throw new HttpError(404, 'USER_NOT_FOUND', `no features for user ${userId}`, 'userId');
    return json(200, { userId, realtime: realtime ?? null, exact: exact ?? null }, NO_STORE);
  }

  /**
   * Before the first model: the shop's live popular items, or none if analytics is off, empty, slow (more than
   * LIVE_POPULAR_TIMEOUT_MS) or failing — never an error for the caller.
   */
  private async beforeFirstModel(k: number, exclude: ReadonlySet<string>): Promise<ScoredItemView[]> {
    if (!this.options.livePopular) return [];
    try {
      return await withinMs(this.options.livePopular(k, exclude), LIVE_POPULAR_TIMEOUT_MS);
    } catch (err) {
      this.options.log?.warn('live popular items unavailable; answering no items until a model is deployed', { reason: (err as Error).message });
      return [];
    }
  }

  /**
   * The user's latest events. Freshness is worth a few milliseconds, not an outage: if the feature table
   * is slow or failing, the answer comes from the model's training history alone.
   */
  private async freshEvents(userId: string): Promise<{ recent: UserFeatures['recent']; unavailable: boolean }> {
    try {
      return { recent: await withinMs(this.freshCache.get(userId), this.options.freshEventsTimeoutMs), unavailable: false };
    } catch (err) {
      this.options.log?.warn('fresh events unavailable; answering from the model alone', { userId, reason: (err as Error).message });
      return { recent: [], unavailable: true };
    }
  }
}

/** The promise's value, or an error once `ms` have passed without one. */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function withTitle(loaded: LoadedModel, item: { itemId: string; score: number }): ScoredItemView {
  const title = loaded.model.itemMeta(item.itemId)?.title;
  return { itemId: item.itemId, score: round(item.score), ...(title ? { title } : {}) };
}

/** Six significant digits are plenty for a ranking score and keep the payload small. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}
