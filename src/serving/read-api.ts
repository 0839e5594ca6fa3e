import type { UserFeatures } from '../domain/features';
import { FreshEventsCache } from './fresh-events-cache';
import { freshInteractions } from './fresh-history';
import type { UserFeatureReader } from './features-reader';
import { HttpError, json, negotiate, readJsonBody, text, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import type { LoadedModel, ModelStore, UserModel } from './model-store';
import { newRecommendationId, type AttributedStrategy, type Variant } from '../domain/recommendation-id';
import { EVENT_TYPES, type EventType } from '../domain/events';
import { RequestRulesError, type BoundFilter, type UserHistory } from '../rules/eligibility';
import { compileRules } from '../rules/rules-definition';
import { composeRecommendations, type ComposedItem } from './compose-recommendations';
import type { ModelUniverse } from './item-universe';
import { ServingRules } from './serving-rules';
import { invalidParameter, isValidId, parseId, parseK } from './params';
import { parseWindow } from '../analytics/analytics-routes';
import type { RouteId } from './routes';

export interface ScoredItemView {
  itemId: string;
  score: number;
  title?: string;
  /** The user's history items that contributed most to the score. */
  because?: string[];
  /** The promotion that placed the item. */
  promoted?: string;
  /** `new`: a new catalogue item shown to explore it. */
  reason?: 'new';
}

export type Strategy = 'personalized' | 'popular' | 'trending';

/**
 * What every list answer carries (recommend, rank, similar, popular, trending): the recommendation id clients
 * send back on the events that follow from it, and what the id says in the clear.
 */
export interface Attribution {
  recommendationId: string;
  /** The model of the variant that answered; null before the first model. */
  modelVersion: string | null;
  strategy: AttributedStrategy;
  variant: Variant;
  /** Null when no experiment counts this answer. */
  experimentId: string | null;
}

/** The text/plain answers carry the recommendation id in this header. */
export const RECOMMENDATION_ID_HEADER = 'X-Recommendation-Id';

export interface RecommendResponse extends Attribution {
  userId: string;
  strategy: Strategy;
  filter?: string;
  promotion?: string;
  items: ScoredItemView[];
  /** Present when fewer than k items are eligible for this request: says how many and why. */
  fewerThanK?: { requested: number; returned: number; reason: string };
}

export interface TrendingView {
  itemId: string;
  score: number;
  now: number;
  before: number;
  category?: string;
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
  /**
   * Items growing fastest over the last `windowMs` against the window before (the analytics windows), for
   * `GET /items/trending`; absent when analytics is off (the route then answers 404 ANALYTICS_DISABLED).
   */
  trending?: (windowMs: number, k: number, accept?: (itemId: string) => boolean) => Promise<TrendingView[]>;
  /** The shop's filters, promotions, exploration and live catalogue; without them every model item is eligible. */
  rules?: ServingRules;
  /** What users with no usable history get: the model's popular items (default) or what is trending now. */
  coldStart?: 'popular' | 'trending';
  /** Called once per recommendation, for metrics. */
  onRecommend?: (outcome: { strategy: Strategy; freshEvents: number; freshUnavailable: boolean; modelLoaded: boolean; filter?: string; promoted: number; explored: number; fewerThanK: boolean }) => void;
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
  private readonly rules: ServingRules;

  constructor(
    private readonly models: ModelStore,
    private readonly features: UserFeatureReader,
    private readonly options: ReadApiOptions,
  ) {
    this.freshCache = new FreshEventsCache(async (userId) => (await this.features.realtime(userId))?.recent ?? [], { ttlMs: options.freshEventsCacheMs ?? 0 });
    this.rules = options.rules ?? new ServingRules({ rules: compileRules({}), catalogueWaitMs: 0 });
  }

  routes(): Partial<Record<RouteId, RouteImplementation>> {
    return {
      recommend: (r) => this.recommend(r),
      rankItems: (r) => this.rankItems(r),
      similarItems: (r) => this.similar(r),
      popularItems: (r) => this.popular(r),
      trendingItems: (r) => this.trendingItems(r),
      userFeatures: (r) => this.userFeatures(r),
      // Health runs the same bounded-staleness check as a recommendation, so it reports what would be served.
      health: async () => {
        await Promise.all([this.models.get(), this.rules.prepare()]);
        const { filters, promotions } = this.rules.rules;
        return json(200, { ...this.models.health(), catalogue: this.rules.catalogue?.health() ?? null, rules: { filters: [...filters.keys()], promotions: [...promotions.keys()] } }, NO_STORE);
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

  /**
   * `GET /recommend/{userId}?k=10&filter=…&promotion=…`: the model's ranking over the training history plus the
   * user's fresh events, restricted to the items the filter (and the availability rule) leaves, with the
   * promotion's items at their slots and new items at the exploration slots.
   */
  async recommend(request: ApiRequest): Promise<ApiResponse> {
    const userId = parseId('userId', request.params.userId);
    const k = parseK(request.query.k);
    const format = negotiate(request.headers.accept, ['application/json', 'text/plain'] as const);
    const filter = this.bindFilter(request.query);
    const promotion = this.bindPromotion(request.query);
    const [served, fresh] = await Promise.all([this.models.forUser(userId), this.freshEvents(userId), this.rules.prepare()]);
    const loaded = served.loaded;
    const nowMs = Date.now();
    const universe = this.rules.universeFor(loaded?.model);
    const user = userHistory(fresh.recent, loaded?.model.historyOf(userId) ?? []);
    const eligible = this.rules.engine.eligible(filter, universe, user, nowMs);
    const touched = new Set(fresh.recent.map((r) => r.itemId));
    let body: RecommendResponse;
    if (!loaded) {
      const accept = (id: string) => isEligible(universe, eligible, id, filter !== undefined);
      const trending = this.options.coldStart === 'trending' && this.options.trending ? await this.trendingFallback(k, touched, accept) : [];
      const chosen = new Set(trending.map((t) => t.itemId));
      const popular = trending.length < k ? (await this.beforeFirstModel(k, touched, accept)).filter((i) => !chosen.has(i.itemId)) : [];
      const items = [...trending.map((t) => ({ itemId: t.itemId, score: round(t.score), ...titleOf(undefined, universe, t.itemId) })), ...popular].slice(0, k);
      body = { userId, ...attribution(served, trending.length > 0 ? 'trending' : 'popular'), items };
    } else {
      const history = freshInteractions(userId, fresh.recent);
      const { exploration } = this.rules.rules;
      const composed = composeRecommendations({
        model: loaded.model,
        universe,
        userId,
        k,
        history,
        // Everything the user touched since the model was trained counts as seen, whatever its weight.
        exclude: history.map((h) => h.itemId),
        eligible,
        ...(promotion ? { promotion: { name: promotion.name, share: promotion.share, eligible: this.rules.engine.eligible(promotion.filter, universe, user, nowMs) } } : {}),
        ...(exploration.share > 0 ? { exploration: { ...exploration, nowMs } } : {}),
      });
      let strategy: Strategy = composed.strategy;
      let items = composed.items.map((i) => view(loaded, universe, i));
      if (strategy === 'popular' && this.options.coldStart === 'trending' && this.options.trending) {
        const trending = await this.trendingFallback(k, touched, (id) => isEligible(universe, eligible, id, filter !== undefined));
        if (trending.length > 0) {
          strategy = 'trending';
          const chosen = new Set(trending.map((t) => t.itemId));
          items = [...trending.map((t) => ({ itemId: t.itemId, score: round(t.score), ...titleOf(loaded, universe, t.itemId) })), ...items.filter((i) => !chosen.has(i.itemId))].slice(0, k);
        }
      }
      body = { userId, ...attribution(served, strategy), items };
    }
    if (filter) body.filter = filter.name;
    if (promotion) body.promotion = promotion.name;
    if (body.items.length < k) body.fewerThanK = { requested: k, returned: body.items.length, reason: shortfallReason(filter?.name, loaded !== undefined) };
    this.options.onRecommend?.({
      strategy: body.strategy,
      freshEvents: fresh.recent.length,
      freshUnavailable: fresh.unavailable,
      modelLoaded: Boolean(loaded),
      ...(filter ? { filter: filter.name } : {}),
      promoted: body.items.filter((i) => i.promoted).length,
      explored: body.items.filter((i) => i.reason === 'new').length,
      fewerThanK: body.fewerThanK !== undefined,
    });
    const headers = { ...NO_STORE, Vary: 'Accept' };
    if (format === 'text/plain') return text(200, body.items.map((i) => i.itemId).join(','), { ...headers, [RECOMMENDATION_ID_HEADER]: body.recommendationId });
    return json(200, body, headers);
  }

  /**
   * `POST /rank/{userId}` with `{ "itemIds": [...] }` (1-500, no repeats) and optional `?filter=`: the same
   * items ordered for the user, best first, with the scores `/recommend` would give them (a page that already
   * has a list — search results, a category — personalises its order). Items the filter or the availability
   * rule leaves out are dropped and listed in `excluded`; items the model does not know are kept, last, in the
   * order given, marked `unknown: true` with no score.
   */
  async rankItems(request: ApiRequest): Promise<ApiResponse> {
    const userId = parseId('userId', request.params.userId);
    const filter = this.bindFilter(request.query);
    const itemIds = parseItemList(request);
    const [served, fresh] = await Promise.all([this.models.forUser(userId), this.freshEvents(userId), this.rules.prepare()]);
    const loaded = served.loaded;
    const universe = this.rules.universeFor(loaded?.model);
    const eligible = this.rules.engine.eligible(filter, universe, userHistory(fresh.recent, loaded?.model.historyOf(userId) ?? []), Date.now());
    const excluded: string[] = [];
    const kept: string[] = [];
    for (const id of itemIds) (isEligible(universe, eligible, id, filter !== undefined) ? kept : excluded).push(id);
    const extra = { ...(filter ? { filter: filter.name } : {}), excluded };
    // Without a model every item is unknown: the list comes back as given.
    if (!loaded) return json(200, { userId, ...attribution(served, 'rank'), ranking: 'popular', ...extra, items: kept.map(unknownItem) }, NO_STORE);
    const ranked = loaded.model.rankItems(userId, kept, { history: freshInteractions(userId, fresh.recent), explain: true });
    const items = [...ranked.items.map((i) => view(loaded, universe, i)), ...ranked.unknown.map(unknownItem)];
    // `strategy` is what attribution counts (`rank`); `ranking` says how the model ordered the list.
    return json(200, { userId, ...attribution(served, 'rank'), ranking: ranked.strategy, ...extra, items }, NO_STORE);
  }

  /** `GET /items/{itemId}/similar?k=10&filter=…`: related items the filter leaves. */
  async similar(request: ApiRequest): Promise<ApiResponse> {
    const itemId = parseId('itemId', request.params.itemId);
    const k = parseK(request.query.k);
    const filter = this.bindFilter(request.query);
    const forUser = queryUserId(request.query);
    const [served] = await Promise.all([this.models.forUser(forUser), this.rules.prepare()]);
    const loaded = served.loaded;
    if (!loaded) return json(200, { itemId, ...attribution(served, 'similar'), items: [] }, NO_STORE);
    if (!loaded.model.hasItem(itemId)) throw new HttpError(404, 'ITEM_NOT_FOUND', `item ${itemId} is not in model ${loaded.version}`, 'itemId');
    const universe = this.rules.universeFor(loaded.model);
    const eligible = this.rules.engine.eligible(filter, universe, NO_USER, Date.now()).subarray(0, loaded.model.itemCount);
    const items = loaded.model.similar(itemId, k, { eligible }).map((i) => view(loaded, universe, i));
    return json(200, { itemId, ...attribution(served, 'similar'), ...(filter ? { filter: filter.name } : {}), items }, filter || forUser !== undefined ? NO_STORE : MODEL_DERIVED_CACHE);
  }

  /** `GET /items/popular?k=10&filter=…`: the model's most interacted-with items the filter leaves. */
  async popular(request: ApiRequest): Promise<ApiResponse> {
    const k = parseK(request.query.k);
    const filter = this.bindFilter(request.query);
    const forUser = queryUserId(request.query);
    const [served] = await Promise.all([this.models.forUser(forUser), this.rules.prepare()]);
    const loaded = served.loaded;
    const universe = this.rules.universeFor(loaded?.model);
    const eligible = this.rules.engine.eligible(filter, universe, NO_USER, Date.now());
    const extra = filter ? { filter: filter.name } : {};
    if (!loaded) {
      const items = await this.beforeFirstModel(k, new Set(), (id) => isEligible(universe, eligible, id, filter !== undefined));
      return json(200, { ...attribution(served, 'popular'), ...extra, items }, NO_STORE);
    }
    const items = loaded.model.popular(k, { eligible: eligible.subarray(0, loaded.model.itemCount) }).map((i) => view(loaded, universe, i));
    // The catalogue can change any second: a list that depends on it is not cached by clients.
    return json(200, { ...attribution(served, 'popular'), ...extra, items }, this.rules.catalogue || filter || forUser !== undefined ? NO_STORE : MODEL_DERIVED_CACHE);
  }

  /**
   * `GET /items/trending?window=1h&k=10&filter=…`: the items whose interactions grew most against the window
   * before (AnalyticsReader.trending has the formula), among those the filter leaves. Windows from 5m to 15d
   * (two windows must fit the 31 days the analytics keeps at the coarsest granularity).
   */
  async trendingItems(request: ApiRequest): Promise<ApiResponse> {
    const k = parseK(request.query.k);
    const windowMs = parseTrendingWindow(request.query.window);
    const filter = this.bindFilter(request.query);
    const forUser = queryUserId(request.query);
    if (!this.options.trending) throw new HttpError(404, 'ANALYTICS_DISABLED', 'trending needs the shop analytics (context analyticsEnabled=true)');
    const [served] = await Promise.all([this.models.forUser(forUser), this.rules.prepare()]);
    const loaded = served.loaded;
    const universe = this.rules.universeFor(loaded?.model);
    const eligible = this.rules.engine.eligible(filter, universe, NO_USER, Date.now());
    const trending = await this.options.trending(windowMs, k, (id) => isEligible(universe, eligible, id, filter !== undefined));
    const items = trending.map((i) => ({ ...i, score: round(i.score), ...titleOf(loaded, universe, i.itemId) }));
    return json(200, { window: request.query.window ?? '1h', ...attribution(served, 'trending'), ...(filter ? { filter: filter.name } : {}), items }, NO_STORE);
  }

  /** The request's `filter` with its parameters, or a 400/404 naming what is wrong. */
  private bindFilter(query: ApiRequest['query']): BoundFilter | undefined {
    try {
      return this.rules.engine.bind(query.filter, query);
    } catch (err) {
      throw requestRulesHttpError(err);
    }
  }

  private bindPromotion(query: ApiRequest['query']): { name: string; share: number; filter: BoundFilter } | undefined {
    if (query.promotion === undefined) return undefined;
    try {
      return this.rules.engine.bindPromotion(query.promotion, query);
    } catch (err) {
      throw requestRulesHttpError(err);
    }
  }

  /** Trending items of the last hour for a user without history, or [] when analytics is slow or failing. */
  private async trendingFallback(k: number, exclude: ReadonlySet<string>, accept: (itemId: string) => boolean): Promise<TrendingView[]> {
    try {
      return await withinMs(this.options.trending!(3_600_000, k, (id) => !exclude.has(id) && accept(id)), LIVE_POPULAR_TIMEOUT_MS);
    } catch (err) {
      this.options.log?.warn('trending unavailable; answering popular items', { reason: (err as Error).message });
      return [];
    }
  }

  /** `GET /users/{userId}/features`: the speed layer and, once the nightly job has run, the exact row. */
  async userFeatures(request: ApiRequest): Promise<ApiResponse> {
    const userId = parseId('userId', request.params.userId);
    const [realtime, exact] = await Promise.all([this.features.realtime(userId), this.features.exact(userId)]);
    if (!realtime && !exact) throw new HttpError(404, 'USER_NOT_FOUND', `no features for user ${userId}`, 'userId');
    return json(200, { userId, realtime: realtime ?? null, exact: exact ?? null }, NO_STORE);
  }

  /**
   * Before the first model: the shop's live popular items the rules accept, or none if analytics is off,
   * empty, slow (more than LIVE_POPULAR_TIMEOUT_MS) or failing — never an error for the caller.
   */
  private async beforeFirstModel(k: number, exclude: ReadonlySet<string>, accept: (itemId: string) => boolean): Promise<ScoredItemView[]> {
    if (!this.options.livePopular) return [];
    try {
      // Ask for more than k: the rules may leave some out (the windows keep the top 100 items).
      const items = await withinMs(this.options.livePopular(Math.min(100, k * 4), exclude), LIVE_POPULAR_TIMEOUT_MS);
      return items.filter((i) => accept(i.itemId)).slice(0, k);
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

/** An item as the API answers it: rounded score, the catalogue's (or the model's) title, its marks. */
function view(loaded: LoadedModel, universe: ModelUniverse, item: ComposedItem): ScoredItemView {
  return {
    itemId: item.itemId,
    score: round(item.score),
    ...titleOf(loaded, universe, item.itemId),
    ...(item.because && item.because.length > 0 ? { because: item.because } : {}),
    ...(item.promoted ? { promoted: item.promoted } : {}),
    ...(item.reason ? { reason: item.reason } : {}),
  };
}

function titleOf(loaded: LoadedModel | undefined, universe: ModelUniverse, itemId: string): { title?: string } {
  const j = universe.indexOf(itemId);
  const title = (j === undefined ? undefined : universe.view(j).title) ?? loaded?.model.itemMeta(itemId)?.title;
  return title ? { title } : {};
}

/**
 * Whether an item the model or the analytics named may be answered: by its mask entry when the universe holds
 * it; an item neither the model nor the catalogue knows passes only when no filter was asked for (nothing is
 * known to test against).
 */
function isEligible(universe: ModelUniverse, eligible: Uint8Array, itemId: string, filtered: boolean): boolean {
  const j = universe.indexOf(itemId);
  return j === undefined ? !filtered : eligible[j] === 1;
}

const NO_USER: UserHistory = { events: [], trainedItems: [] };

/** What the user-interaction predicates see: the speed layer's recent events and the training history. */
function userHistory(recent: UserFeatures['recent'], trainedItems: readonly string[]): UserHistory {
  const events: UserHistory['events'][number][] = [];
  for (const r of recent) {
    const timestampMs = Date.parse(r.timestamp);
    if (Number.isFinite(timestampMs) && (EVENT_TYPES as readonly string[]).includes(r.type)) events.push({ itemId: r.itemId, type: r.type as EventType, timestampMs });
  }
  return { events, trainedItems };
}

function shortfallReason(filter: string | undefined, modelLoaded: boolean): string {
  if (!modelLoaded) return 'no model is deployed yet: these are the live popular items there are';
  return filter ? `only these items are eligible under filter ${filter} (and the availability rule)` : 'only these items are eligible (the rest are unavailable, withdrawn or already seen)';
}

/** A filter or promotion the request named that does not exist or lacks its parameters: 404 or 400. */
function requestRulesHttpError(err: unknown): unknown {
  if (!(err instanceof RequestRulesError)) return err;
  const status = err.code === 'UNKNOWN_FILTER' || err.code === 'UNKNOWN_PROMOTION' ? 404 : 400;
  return new HttpError(status, err.code, err.message, err.field);
}

const MIN_TRENDING_WINDOW_MS = 5 * 60_000;
const MAX_TRENDING_WINDOW_MS = 15 * 86_400_000;

/** `window` of the trending route: 5m to 15d, default 1h. */
function parseTrendingWindow(raw: string | undefined): number {
  // The analytics routes' duration syntax, held to the range two windows of the analytics can cover.
  const ms = parseWindow(raw, '1h');
  if (typeof ms === 'string' || ms < MIN_TRENDING_WINDOW_MS || ms > MAX_TRENDING_WINDOW_MS) {
    throw invalidParameter('window', `must be a duration from 5m to 15d, like 15m, 1h or 7d (got ${JSON.stringify(String(raw).slice(0, 20))})`);
  }
  return ms;
}

/** Six significant digits are plenty for a ranking score and keep the payload small. */
function round(x: number): number {
  return Number(x.toPrecision(6));
}

/** The attribution fields of an answer from `served` (the variant's model) by `strategy`, with a new id. */
function attribution<S extends AttributedStrategy>(served: UserModel, strategy: S): Attribution & { strategy: S } {
  const context = { experimentId: served.experimentId, variant: served.variant, strategy, modelVersion: served.loaded?.version ?? null };
  return { recommendationId: newRecommendationId(context), ...context };
}

/**
 * `?userId=` of the item lists (similar, popular, trending): the user whose experiment variant answers; absent
 * → the control. Query values arrive decoded: held to the events' id pattern as they are.
 */
function queryUserId(query: ApiRequest['query']): string | undefined {
  const raw = query.userId;
  if (raw === undefined) return undefined;
  if (!isValidId(raw)) throw new HttpError(400, 'INVALID_ID', `userId must be 1-128 characters of letters, digits or . _ : @ + = ~ - (got ${JSON.stringify(raw.slice(0, 40))})`, 'userId');
  return raw;
}
