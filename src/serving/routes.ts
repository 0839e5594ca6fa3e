/**
 * The one route table of the HTTP API. The Lambda handlers dispatch with it, the local server resolves
 * path parameters with it, and the CDK construct creates one API Gateway resource and method per entry,
 * so the three can never disagree.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';
/**
 * Which Lambda function serves a route: reads need the model in memory, event writes need only Kinesis,
 * catalogue writes only the catalogue table, experiment control and user erasure (`admin`) the production pointer, the
 * experiment log, the erasure requests and the per-user rows of the feature and analytics tables.
 */
export type ApiFunctionName = 'read' | 'events' | 'catalog' | 'admin';

export type RouteId =
  | 'recommend'
  | 'rankItems'
  | 'similarItems'
  | 'popularItems'
  | 'trendingItems'
  | 'putItems'
  | 'deleteItem'
  | 'userFeatures'
  | 'postEvents'
  | 'adminReload'
  | 'experimentStatus'
  | 'experimentAction'
  | 'eraseUser'
  | 'health'
  | 'analyticsRealtime'
  | 'analyticsTrends'
  | 'analyticsPopularItems'
  | 'analyticsAttribution';

export interface RouteSpec {
  id: RouteId;
  method: HttpMethod;
  /** API Gateway resource path, parameters in braces. */
  path: string;
  function: ApiFunctionName;
  /** `iam`: callers sign with SigV4 and need execute-api:Invoke (never public). */
  auth: 'none' | 'iam';
  summary: string;
}

export const ROUTES: readonly RouteSpec[] = [
  { id: 'recommend', method: 'GET', path: '/recommend/{userId}', function: 'read', auth: 'none', summary: 'Top-k items for a user (?k=10)' },
  { id: 'rankItems', method: 'POST', path: '/rank/{userId}', function: 'read', auth: 'none', summary: 'A given list of 1-500 items ordered for a user ({ "itemIds": [...] })' },
  { id: 'similarItems', method: 'GET', path: '/items/{itemId}/similar', function: 'read', auth: 'none', summary: 'Items related to an item (?k=10)' },
  { id: 'popularItems', method: 'GET', path: '/items/popular', function: 'read', auth: 'none', summary: 'Most popular items (?k=10)' },
  { id: 'trendingItems', method: 'GET', path: '/items/trending', function: 'read', auth: 'none', summary: 'Items growing fastest against the previous window (?window=1h&k=10)' },
  { id: 'putItems', method: 'PUT', path: '/items', function: 'catalog', auth: 'iam', summary: 'Create or replace 1-500 catalogue items ({ "items": [...] })' },
  { id: 'deleteItem', method: 'DELETE', path: '/items/{itemId}', function: 'catalog', auth: 'iam', summary: 'Withdraw an item: never recommended again' },
  { id: 'userFeatures', method: 'GET', path: '/users/{userId}/features', function: 'read', auth: 'none', summary: "A user's real-time and nightly features" },
  { id: 'postEvents', method: 'POST', path: '/events', function: 'events', auth: 'none', summary: '1-500 events onto the Kinesis stream' },
  { id: 'adminReload', method: 'POST', path: '/admin/reload', function: 'read', auth: 'iam', summary: 'Re-check the production model now' },
  { id: 'experimentStatus', method: 'GET', path: '/admin/experiment', function: 'admin', auth: 'iam', summary: 'The running experiment: variants, share, attribution so far, what the check would decide' },
  { id: 'experimentAction', method: 'POST', path: '/admin/experiment/{action}', function: 'admin', auth: 'iam', summary: 'Start, promote or stop an experiment (start takes { "challengerVersion", "sharePercent", … })' },
  { id: 'eraseUser', method: 'DELETE', path: '/admin/users/{userId}', function: 'admin', auth: 'iam', summary: "Erase a user's data: feature and analytics rows now, the lake and the models with the next nightly run (202)" },
  { id: 'health', method: 'GET', path: '/health', function: 'read', auth: 'none', summary: 'Model version, load time, staleness bound' },
  { id: 'analyticsRealtime', method: 'GET', path: '/analytics/realtime', function: 'read', auth: 'none', summary: 'Shop metrics of the last minutes (?window=5m)' },
  { id: 'analyticsTrends', method: 'GET', path: '/analytics/trends', function: 'read', auth: 'none', summary: 'Shop metrics per window (?from=&to=&granularity=hour)' },
  { id: 'analyticsAttribution', method: 'GET', path: '/analytics/attribution', function: 'read', auth: 'none', summary: 'CTR, conversion and revenue per impression by variant, model version and strategy (?window=24h&experiment=)' },
  { id: 'analyticsPopularItems', method: 'GET', path: '/analytics/items/popular', function: 'read', auth: 'none', summary: 'Most popular items now (?window=1h&category=&k=10)' },
];

export type RouteMatch =
  | { kind: 'match'; route: RouteSpec; params: Record<string, string> }
  | { kind: 'method-not-allowed'; allow: HttpMethod[] }
  | { kind: 'not-found' };

/** `/a/b/` and `/a/b` are the same resource; an empty segment in the middle matches nothing. */
const segments = (path: string) => (path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path).split('/').slice(1);

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = segments(pattern);
  const got = segments(path);
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      params[w.slice(1, -1)] = g;
    } else if (w !== g) return undefined;
  }
  return params;
}

/**
 * Finds the route for a method and a raw (still percent-encoded) path. Static segments win over
 * parameters, as in API Gateway. Parameters are returned raw; callers decode and validate them.
 */
export function matchRoute(method: string, path: string, routes: readonly RouteSpec[] = ROUTES): RouteMatch {
  const candidates = routes
    .map((route) => ({ route, params: matchPath(route.path, path) }))
    .filter((c): c is { route: RouteSpec; params: Record<string, string> } => c.params !== undefined)
    .sort((a, b) => Object.keys(a.params).length - Object.keys(b.params).length);
  if (candidates.length === 0) return { kind: 'not-found' };
  const upper = method.toUpperCase();
  const hit = candidates.find((c) => c.route.method === upper || (upper === 'HEAD' && c.route.method === 'GET'));
  if (hit) return { kind: 'match', route: hit.route, params: hit.params };
  return { kind: 'method-not-allowed', allow: [...new Set(candidates.map((c) => c.route.method))] };
}
