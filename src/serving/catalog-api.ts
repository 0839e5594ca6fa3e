import type { CatalogWriter } from '../catalog/catalog-store';
import { MAX_ITEMS_PER_PUT, parseCatalogItem, type CatalogItem } from '../catalog/item';
import type { FieldError } from '../domain/events';
import { unstorableReason } from '../ingest/storable';
import { errorBody, HttpError, json, readJsonBody, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import { parseId } from './params';

/**
 * Largest `PUT /items` body (bytes). 500 items of a few KB each (title, 20 categories, 32 attributes) fit; the
 * validated maximum of one item is about 20 KB, so a request of 500 maximal items is refused here rather than
 * half-written.
 */
export const MAX_ITEMS_BODY_BYTES = 2 * 1024 * 1024;
export const MAX_ITEMS_PER_REQUEST = MAX_ITEMS_PER_PUT;

export type ItemResult =
  | { index: number; status: 200; itemId: string }
  | { index: number; status: 400; itemId?: string; error: { code: 'INVALID_ITEM' | 'DUPLICATE_ITEM'; message: string; field: string; errors: FieldError[] } }
  | { index: number; status: 503; itemId: string; error: { code: 'STORE_FAILED'; message: string } };

export interface CatalogApiOptions {
  log?: ServingLog;
  now?: () => number;
  /** Called once per answered request with its counts (the handler's metrics). */
  onOutcome?: (counts: { written: number; rejected: number; failed: number; withdrawn: number }) => void;
}

const NO_STORE = { 'Cache-Control': 'no-store' };

/**
 * The catalogue's write routes, both IAM-only: `PUT /items` creates or replaces 1-500 items (`{ "items": [...] }`
 * or a bare array); `DELETE /items/{itemId}` withdraws one (a tombstone: never recommended again).
 *
 * `PUT /items` validates each item with the shared contract (src/catalog/item.ts); valid ones are written even
 * when others are not, and the answer lists every item's outcome in request order: 200 all written, 400 none
 * valid (naming the first field at fault), 207 a mix, 503 the store failed all that were valid. An id given
 * twice in one request is refused at its later position (the earlier one is written).
 */
export class CatalogApi {
  private readonly now: () => number;

  constructor(
    private readonly writer: CatalogWriter,
    private readonly options: CatalogApiOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  async put(request: ApiRequest): Promise<ApiResponse> {
    this.requireCaller(request, 'PUT /items');
    const parsed = readJsonBody(request, {
      what: 'the item list',
      maxBytes: MAX_ITEMS_BODY_BYTES,
      sendHint: 'send { "items": [...] } or an array of items',
      tooLargeHint: `send at most ${MAX_ITEMS_PER_REQUEST} items per request`,
    });
    const items = unwrap(parsed);
    if (items.length === 0) throw new HttpError(400, 'NO_ITEMS', 'send at least one item', 'items');
    if (items.length > MAX_ITEMS_PER_REQUEST) {
      throw new HttpError(413, 'TOO_MANY_ITEMS', `at most ${MAX_ITEMS_PER_REQUEST} items per request (got ${items.length})`, 'items');
    }

    const results: (ItemResult | undefined)[] = new Array(items.length);
    const outgoing: { index: number; item: CatalogItem }[] = [];
    const seen = new Map<string, number>();
    items.forEach((input, index) => {
      const where = `items[${index}]`;
      const check = parseCatalogItem(input);
      const rawId = typeof (input as { itemId?: unknown } | null)?.itemId === 'string' ? String((input as { itemId: string }).itemId).slice(0, 128) : undefined;
      if (!check.ok) {
        const first = check.errors[0]!;
        const field = first.field === '(item)' ? where : `${where}.${first.field}`;
        results[index] = { index, status: 400, ...(rawId !== undefined ? { itemId: rawId } : {}), error: { code: 'INVALID_ITEM', message: `${where}: ${check.message}`, field, errors: check.errors } };
        return;
      }
      const item = check.item;
      const problem = lostAttribute(input, item) ?? unstorableReason(item);
      if (problem) {
        const field = problem.split(' ')[0] ?? '(item)';
        results[index] = { index, status: 400, itemId: item.itemId, error: { code: 'INVALID_ITEM', message: `${where}: ${problem}`, field: `${where}.${field}`, errors: [{ field, message: problem }] } };
        return;
      }
      const earlier = seen.get(item.itemId);
      if (earlier !== undefined) {
        const message = `${where}: itemId ${item.itemId} is already at items[${earlier}] in this request; send each item once`;
        results[index] = { index, status: 400, itemId: item.itemId, error: { code: 'DUPLICATE_ITEM', message, field: `${where}.itemId`, errors: [{ field: 'itemId', message: `duplicate of items[${earlier}]` }] } };
        return;
      }
      seen.set(item.itemId, index);
      outgoing.push({ index, item });
    });

    if (outgoing.length > 0) {
      let failed: Map<string, string>;
      try {
        const out = await this.writer.put(outgoing.map((o) => o.item), this.now());
        failed = new Map(out.failed.map((f) => [f.itemId, f.reason]));
      } catch (err) {
        // The port reports per item; a throw means the store was unreachable for all of them.
        this.options.log?.error('catalogue write failed', { error: err as Error, items: outgoing.length, caller: request.caller, requestId: request.requestId });
        const reason = (err instanceof Error ? err.message : String(err)).slice(0, 200);
        failed = new Map(outgoing.map((o) => [o.item.itemId, reason]));
      }
      for (const { index, item } of outgoing) {
        const reason = failed.get(item.itemId);
        results[index] = reason === undefined
          ? { index, status: 200, itemId: item.itemId }
          : { index, status: 503, itemId: item.itemId, error: { code: 'STORE_FAILED', message: `not written: ${reason}` } };
      }
    }

    const all = results as ItemResult[];
    const written = all.filter((r) => r.status === 200).length;
    const rejected = all.filter((r) => r.status === 400).length;
    const failedCount = all.filter((r) => r.status === 503).length;
    this.options.onOutcome?.({ written, rejected, failed: failedCount, withdrawn: 0 });
    this.options.log?.info('catalogue items written', { caller: request.caller, requestId: request.requestId, written, rejected, failed: failedCount });
    const summary = { written, rejected, failed: failedCount, results: all };
    if (written === all.length) return json(200, summary, NO_STORE);
    if (rejected === all.length) {
      const first = all[0] as Extract<ItemResult, { status: 400 }>;
      return json(400, { ...errorBody(first.error.code, first.error.message, first.error.field), ...summary }, NO_STORE);
    }
    if (failedCount > 0 && written === 0 && rejected === 0) {
      return json(503, { ...errorBody('CATALOG_UNAVAILABLE', 'the catalogue store wrote none of the items; retry later'), ...summary }, { ...NO_STORE, 'Retry-After': '1' });
    }
    return json(207, summary, NO_STORE);
  }

  /** `DELETE /items/{itemId}`: 200 `{ itemId, withdrawn: true }`; 404 ITEM_NOT_FOUND when the catalogue never had it. */
  async delete(request: ApiRequest): Promise<ApiResponse> {
    this.requireCaller(request, 'DELETE /items/{itemId}');
    const itemId = parseId('itemId', request.params.itemId);
    const found = await this.writer.withdraw(itemId, this.now());
    this.options.log?.info('catalogue item withdrawal', { caller: request.caller, requestId: request.requestId, itemId, found });
    if (!found) throw new HttpError(404, 'ITEM_NOT_FOUND', `item ${itemId} is not in the catalogue`, 'itemId');
    this.options.onOutcome?.({ written: 0, rejected: 0, failed: 0, withdrawn: 1 });
    return json(200, { itemId, withdrawn: true }, NO_STORE);
  }

  /** Both routes only for a caller the handler verified (`request.caller`, the SigV4 identity); refused here too. */
  private requireCaller(request: ApiRequest, route: string): void {
    if (request.caller) return;
    this.options.log?.warn('refused a catalogue write without a verified caller', { route, requestId: request.requestId });
    throw new HttpError(403, 'FORBIDDEN', `${route} needs an IAM-authorised (SigV4-signed) request`);
  }
}

/**
 * An attribute the client sent that validation did not keep, as a problem naming it: JSON.parse makes
 * `"__proto__"` an own key, but copying it into an ordinary object sets the prototype instead, so such a
 * name would be dropped without a word. Refused like any other bad attribute name.
 */
function lostAttribute(input: unknown, item: CatalogItem): string | undefined {
  const raw = (input as { attributes?: unknown }).attributes;
  if (typeof raw !== 'object' || raw === null) return undefined;
  for (const name of Object.keys(raw)) {
    if (!Object.hasOwn(item.attributes, name)) return `attributes.${name.slice(0, 40)} is not a valid attribute name (names start with a letter, then letters, digits or _)`;
  }
  return undefined;
}

/** `{ "items": [...] }` or a bare array. */
function unwrap(body: unknown): unknown[] {
  if (Array.isArray(body)) return body;
  if (typeof body === 'object' && body !== null && Object.hasOwn(body, 'items')) {
    const items = (body as { items: unknown }).items;
    if (!Array.isArray(items)) throw new HttpError(400, 'INVALID_BODY', 'items must be an array of items', 'items');
    const extra = Object.keys(body).filter((k) => k !== 'items');
    if (extra.length > 0) throw new HttpError(400, 'INVALID_BODY', `unknown field(s) ${extra.slice(0, 3).map((k) => JSON.stringify(k.slice(0, 40))).join(', ')} next to items`, '(body)');
    return items;
  }
  throw new HttpError(400, 'INVALID_BODY', 'send { "items": [...] } or an array of items', '(body)');
}
