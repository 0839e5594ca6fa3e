import { z } from 'zod';
import { ID_PATTERN, MAX_CATEGORY_LENGTH, type FieldError } from '../domain/events';
import { MINOR_PER_MAJOR, parseMoneyMinor } from '../domain/money';
import { formatIssues } from '../domain/zod-issues';

/**
 * The live item catalogue's one item contract: what `PUT /items`, the catalogue import (`npm run cli --
 * catalog import`), the DynamoDB table, the serving replica, the lake snapshot and the filters all share.
 * Pure: no AWS SDK.
 */

/** Most items one `PUT /items` takes (as `POST /events` and Personalize's PutItems). */
export const MAX_ITEMS_PER_PUT = 500;
export const MAX_TITLE_LENGTH = 512;
export const MAX_ITEM_CATEGORIES = 20;
export const MAX_ITEM_ATTRIBUTES = 32;
export const MAX_ATTRIBUTE_STRING_LENGTH = 256;
/** A custom attribute's name: a letter, then letters, digits or `_` (so a filter can name it bare). */
export const ATTRIBUTE_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/**
 * Names an attribute may not take: the standard fields (a filter names those bare, so an attribute of the same
 * name would be ambiguous) and the filter language's own words. Compared case-insensitively.
 */
export const RESERVED_ATTRIBUTE_NAMES: readonly string[] = [
  'itemId', 'title', 'categories', 'category', 'price', 'available', 'createdAt', 'updatedAt', 'withdrawn', 'attributes',
  'and', 'or', 'not', 'in', 'true', 'false', 'null', 'user', 'within', 'is', 'has', 'like', 'between',
];
const RESERVED = new Set(RESERVED_ATTRIBUTE_NAMES.map((n) => n.toLowerCase()));

export type AttributeValue = string | number | boolean;

/** An item as the shop sends it (after validation and normalisation). */
export interface CatalogItem {
  itemId: string;
  title?: string;
  /** Distinct, in the order given; feed filters (`category = …`) and the content signal. */
  categories: string[];
  /** Major units, exact to the cent. */
  price?: number;
  /** False: out of stock (kept, not recommended unless a filter asks for `available = false`). Default true. */
  available: boolean;
  /** ISO-8601 instant the item was first offered; new-item exploration prefers recent items. */
  createdAt?: string;
  /** Custom values a filter can test; a null-prototype object (names like `constructor` are data). */
  attributes: Record<string, AttributeValue>;
}

/** An item as stored and replicated: the shop's fields plus the table's bookkeeping. */
export interface CatalogRecord extends CatalogItem {
  /** Epoch ms of the last write (set by the store's writer, never by the client). */
  updatedAt: number;
  /** `DELETE /items/{itemId}`: a tombstone, kept so every replica learns of it; never recommended again. */
  withdrawn: boolean;
}

const idSchema = z
  .string({ message: 'must be a string' })
  .regex(ID_PATTERN, 'must be 1-128 letters, digits or . _ : @ + = ~ -')
  .refine((v) => v !== '.' && v !== '..', 'must not be a dot segment');

const attributeValue = z.union([
  z.string().max(MAX_ATTRIBUTE_STRING_LENGTH, `strings hold at most ${MAX_ATTRIBUTE_STRING_LENGTH} characters`),
  z.number().finite('must be a finite number'),
  z.boolean(),
], { message: 'must be a string, a finite number or a boolean' });

const ItemInputSchema = z
  .object({
    itemId: idSchema,
    title: z.string().min(1).max(MAX_TITLE_LENGTH).optional(),
    categories: z
      .array(z.string().min(1, 'must not be empty').max(MAX_CATEGORY_LENGTH), { message: 'must be an array of strings' })
      .max(MAX_ITEM_CATEGORIES, `at most ${MAX_ITEM_CATEGORIES} categories`)
      .default([]),
    price: z.unknown().optional(),
    available: z.boolean({ message: 'must be true or false' }).default(true),
    createdAt: z
      .string()
      .refine((v) => v.length <= 40 && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v)), 'must be an ISO-8601 instant with Z or an offset')
      .optional(),
    attributes: z.record(z.string(), attributeValue).default({}),
  })
  .strict();

export type ItemParse = { ok: true; item: CatalogItem } | { ok: false; errors: FieldError[]; message: string };

/** One item, validated and normalised (categories de-duplicated, price exact, createdAt in UTC). Never throws. */
export function parseCatalogItem(input: unknown): ItemParse {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return fail([{ field: '(item)', message: 'must be an object with at least itemId' }]);
  }
  // zod copies a record into a plain object, where a `__proto__` key would vanish: refuse it by name first.
  const rawAttributes = (input as { attributes?: unknown }).attributes;
  if (typeof rawAttributes === 'object' && rawAttributes !== null && Object.hasOwn(rawAttributes, '__proto__')) {
    return fail([{ field: 'attributes.__proto__', message: '__proto__ is reserved (a standard field or a filter keyword)' }]);
  }
  const parsed = ItemInputSchema.safeParse(input);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => ({
      field: i.path.length ? i.path.join('.') : '(item)',
      message: i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}: custom values go in attributes` : i.message,
    }));
    return { ok: false, errors, message: formatIssues(parsed.error.issues, { limit: 3 }) };
  }
  const v = parsed.data;
  const errors: FieldError[] = [];
  let price: number | undefined;
  if (v.price !== undefined) {
    const money = parseMoneyMinor(v.price);
    if (money.ok) price = money.minor / MINOR_PER_MAJOR;
    else errors.push({ field: 'price', message: money.message });
  }
  const names = Object.keys(v.attributes);
  if (names.length > MAX_ITEM_ATTRIBUTES) errors.push({ field: 'attributes', message: `at most ${MAX_ITEM_ATTRIBUTES} attributes (got ${names.length})` });
  const attributes: Record<string, AttributeValue> = Object.create(null);
  for (const name of names) {
    if (!ATTRIBUTE_NAME_PATTERN.test(name)) errors.push({ field: `attributes.${name.slice(0, 40)}`, message: 'names start with a letter, then letters, digits or _ (at most 64)' });
    else if (RESERVED.has(name.toLowerCase())) errors.push({ field: `attributes.${name}`, message: `${name} is reserved (a standard field or a filter keyword)` });
    else attributes[name] = v.attributes[name]!;
  }
  if (errors.length > 0) return fail(errors);
  const item: CatalogItem = { itemId: v.itemId, categories: [...new Set(v.categories)], available: v.available, attributes };
  if (v.title !== undefined) item.title = v.title;
  if (price !== undefined) item.price = price;
  if (v.createdAt !== undefined) item.createdAt = new Date(Date.parse(v.createdAt)).toISOString();
  return { ok: true, item };
}

function fail(errors: FieldError[]): ItemParse {
  return { ok: false, errors, message: errors.map((e) => `${e.field}: ${e.message}`).slice(0, 3).join('; ') };
}
