import { z } from 'zod';
import { ATTRIBUTE_NAME_PATTERN, RESERVED_ATTRIBUTE_NAMES } from '../catalog/item';
import { compileFilter, FilterLanguageError, formatIssue, type AttributeType, type CompiledFilter } from './filter-language';

/**
 * The rules definition (`rules.json`): custom attribute types, named filters, promotions and new-item exploration.
 * `compileRules` validates all of it at once — shape, names, every expression's syntax and types, references
 * between promotions and filters — and throws a RulesError listing every problem, so a deploy (lib/config.ts
 * compiles it at synth) never ships a broken filter. Pure: no I/O.
 */

/** A filter or promotion name: lower-case letters, digits and `-`, starting with a letter (at most 64). */
export const RULE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;
export const MAX_FILTERS = 200;
export const MAX_PROMOTIONS = 50;
export const MAX_DEFINITION_ATTRIBUTES = 64;
export const MAX_DESCRIPTION_LENGTH = 500;

export const DEFAULT_EXPLORATION_SHARE = 10;
export const DEFAULT_EXPLORATION_MAX_INTERACTIONS = 5;

const ATTRIBUTE_TYPES = ['string', 'number', 'boolean'] as const;
const RESERVED = new Set(RESERVED_ATTRIBUTE_NAMES.map((n) => n.toLowerCase()));

const description = z.string({ message: 'must be a string' }).max(MAX_DESCRIPTION_LENGTH, `at most ${MAX_DESCRIPTION_LENGTH} characters`);

const FilterObjectSchema = z.strictObject({ expression: z.string({ message: 'must be an expression string' }), description: description.optional() });

/** A filter: its expression alone, or with a description. */
export const FilterEntrySchema = z.union(
  [z.string(), FilterObjectSchema],
  { message: 'must be an expression string or { "expression": "…", "description": "…" }' },
);

export const PromotionSchema = z.strictObject({
  filter: z.string({ message: 'must name a filter' }),
  share: z
    .number({ message: 'must be a whole percentage 1-100' })
    .int('must be a whole percentage 1-100')
    .min(1, 'must be a whole percentage 1-100')
    .max(100, 'must be a whole percentage 1-100'),
  description: description.optional(),
});

export const ExplorationSchema = z.strictObject({
  share: z.number({ message: 'must be a whole percentage 0-100' }).int('must be a whole percentage 0-100').min(0, 'must be a whole percentage 0-100').max(100, 'must be a whole percentage 0-100').default(DEFAULT_EXPLORATION_SHARE),
  maxInteractions: z.number({ message: 'must be a whole number >= 0' }).int('must be a whole number >= 0').min(0, 'must be a whole number >= 0').max(1_000_000, 'must be at most 1000000').default(DEFAULT_EXPLORATION_MAX_INTERACTIONS),
  newWithinDays: z.number({ message: 'must be a whole number of days 1-3650' }).int('must be a whole number of days 1-3650').min(1, 'must be a whole number of days 1-3650').max(3650, 'must be a whole number of days 1-3650').optional(),
});

const plainObject = (what: string) => z.record(z.string(), z.unknown(), { message: `must be an object of ${what}` });

/**
 * The whole definition's shape (the documented schema). Names and expressions are checked by `compileRules`
 * beyond it; records are read key by key from the raw object (a `__proto__` key is a name like any other).
 */
export const RulesDefinitionSchema = z.strictObject({
  attributes: plainObject('attribute name → "string" | "number" | "boolean"').optional(),
  filters: plainObject('filter name → expression').optional(),
  promotions: plainObject('promotion name → { filter, share }').optional(),
  exploration: ExplorationSchema.optional(),
});

export type ExplorationSettings = z.output<typeof ExplorationSchema>;

export interface FilterRule {
  readonly name: string;
  readonly expression: string;
  readonly description?: string;
  readonly compiled: CompiledFilter;
}

export interface PromotionRule {
  readonly name: string;
  /** The filter's name (a key of `filters`). */
  readonly filter: string;
  /** Percentage of the k slots, 1-100. */
  readonly share: number;
  readonly description?: string;
}

export interface CompiledRules {
  /** Where the definition came from (for messages). */
  readonly source: string;
  readonly attributes: ReadonlyMap<string, AttributeType>;
  readonly filters: ReadonlyMap<string, FilterRule>;
  readonly promotions: ReadonlyMap<string, PromotionRule>;
  readonly exploration: Readonly<ExplorationSettings>;
}

export interface RulesProblem {
  /** Dotted path into the definition, e.g. `filters.cheap.expression` (`(root)` for the whole). */
  path: string;
  message: string;
  /** 1-based column in the expression, for expression problems. */
  column?: number;
}

/** A refused definition; `problems` lists every problem found, `message` shows them all. */
export class RulesError extends Error {
  override readonly name = 'RulesError';
  constructor(readonly source: string, readonly problems: readonly RulesProblem[], private readonly details: readonly string[] = problems.map((p) => p.message)) {
    super(`${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'} in the rules definition:\n${problems.map((p, i) => `- ${p.path}: ${indentMore(details[i] ?? p.message)}`).join('\n')}`);
  }
}
const indentMore = (text: string): string => text.replace(/\n/g, '\n  ');

const isPlainRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const showName = (name: string): string => (name.length > 70 ? `${name.slice(0, 70)}…` : name);

/**
 * Validates and compiles a definition (already parsed JSON). Throws RulesError listing every problem.
 * `compileRules({})` is the empty definition: no filters, no promotions, default exploration.
 */
export function compileRules(json: unknown, source = 'rules.json'): CompiledRules {
  const problems: RulesProblem[] = [];
  const details: string[] = [];
  const problem = (path: string, message: string, detail = message, column?: number): void => {
    problems.push(column === undefined ? { path, message } : { path, message, column });
    details.push(detail);
  };

  const top = RulesDefinitionSchema.safeParse(json);
  if (!top.success) {
    for (const issue of top.error.issues) {
      const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
      const message = issue.code === 'unrecognized_keys'
        ? `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map(showName).join(', ')} (known: attributes, filters, promotions, exploration)`
        : issue.path.length === 0 ? 'must be an object with attributes, filters, promotions and exploration (all optional)' : issue.message;
      problem(path, message);
    }
  }
  const raw: Record<string, unknown> = isPlainRecord(json) ? json : {};
  const own = (obj: Record<string, unknown>, key: string): unknown => (Object.hasOwn(obj, key) ? obj[key] : undefined);

  // Attributes.
  const attributes = new Map<string, AttributeType>();
  const rawAttributes = own(raw, 'attributes');
  if (isPlainRecord(rawAttributes)) {
    const names = Object.keys(rawAttributes);
    if (names.length > MAX_DEFINITION_ATTRIBUTES) problem('attributes', `at most ${MAX_DEFINITION_ATTRIBUTES} attributes (got ${names.length})`);
    for (const name of names.slice(0, MAX_DEFINITION_ATTRIBUTES)) {
      const path = `attributes.${showName(name)}`;
      const type = rawAttributes[name];
      if (!ATTRIBUTE_NAME_PATTERN.test(name)) problem(path, 'attribute names start with a letter, then letters, digits or _ (at most 64)');
      else if (RESERVED.has(name.toLowerCase())) problem(path, `${name} is reserved (a standard field or a filter keyword)`);
      else if (typeof type !== 'string' || !(ATTRIBUTE_TYPES as readonly string[]).includes(type)) problem(path, 'must be "string", "number" or "boolean"');
      else attributes.set(name, type as AttributeType);
    }
  }
  const attributesOk = !problems.some((p) => p.path.startsWith('attributes'));

  // Filters.
  const filters = new Map<string, FilterRule>();
  const declaredFilters = new Set<string>();
  const rawFilters = own(raw, 'filters');
  if (isPlainRecord(rawFilters)) {
    const names = Object.keys(rawFilters);
    if (names.length > MAX_FILTERS) problem('filters', `at most ${MAX_FILTERS} filters (got ${names.length})`);
    for (const name of names.slice(0, MAX_FILTERS)) {
      const path = `filters.${showName(name)}`;
      declaredFilters.add(name);
      if (!RULE_NAME_PATTERN.test(name)) problem(path, 'filter names are lower-case letters, digits and -, starting with a letter (at most 64)');
      const rawEntry = rawFilters[name];
      // An object is checked as one (so a problem points into it); anything else against the whole union.
      const entry = isPlainRecord(rawEntry) ? FilterObjectSchema.safeParse(rawEntry) : FilterEntrySchema.safeParse(rawEntry);
      if (!entry.success) {
        for (const issue of entry.error.issues) problem(issue.path.length ? `${path}.${issue.path.map(String).join('.')}` : path, issue.message);
        continue;
      }
      const expression = typeof entry.data === 'string' ? entry.data : entry.data.expression;
      const description = typeof entry.data === 'string' ? undefined : entry.data.description;
      const exprPath = typeof entry.data === 'string' ? path : `${path}.expression`;
      try {
        const compiled = compileFilter(expression, attributes);
        if (RULE_NAME_PATTERN.test(name)) filters.set(name, description === undefined ? { name, expression, compiled } : { name, expression, description, compiled });
      } catch (e) {
        if (!(e instanceof FilterLanguageError)) throw e;
        for (const issue of e.issues) {
          const unknownField = issue.reason.startsWith('unknown field');
          // An unknown field is expected while the attributes themselves are broken: say so rather than mislead.
          const reason = unknownField && !attributesOk ? `${issue.reason} (fix the attributes first)` : issue.reason;
          problem(exprPath, `${reason} (column ${issue.column})`, formatIssue(expression, { column: issue.column, reason }), issue.column);
        }
      }
    }
  }

  // Promotions.
  const promotions = new Map<string, PromotionRule>();
  const rawPromotions = own(raw, 'promotions');
  if (isPlainRecord(rawPromotions)) {
    const names = Object.keys(rawPromotions);
    if (names.length > MAX_PROMOTIONS) problem('promotions', `at most ${MAX_PROMOTIONS} promotions (got ${names.length})`);
    for (const name of names.slice(0, MAX_PROMOTIONS)) {
      const path = `promotions.${showName(name)}`;
      const nameOk = RULE_NAME_PATTERN.test(name);
      if (!nameOk) problem(path, 'promotion names are lower-case letters, digits and -, starting with a letter (at most 64)');
      const rawEntry = rawPromotions[name];
      const entry = PromotionSchema.safeParse(rawEntry);
      const filterName = isPlainRecord(rawEntry) && typeof rawEntry.filter === 'string' && Object.hasOwn(rawEntry, 'filter') ? rawEntry.filter : undefined;
      if (filterName !== undefined && !declaredFilters.has(filterName)) {
        const known = [...declaredFilters];
        problem(`${path}.filter`, `unknown filter ${JSON.stringify(showName(filterName))}; ${known.length ? `known filters: ${known.join(', ')}` : 'no filters are defined'}`);
      }
      if (!entry.success) {
        for (const issue of entry.error.issues) {
          const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map(showName).join(', ')} (known: filter, share, description)` : issue.message;
          problem(issue.path.length ? `${path}.${issue.path.map(String).join('.')}` : path, message);
        }
        continue;
      }
      const p = entry.data;
      if (nameOk && declaredFilters.has(p.filter)) promotions.set(name, p.description === undefined ? { name, filter: p.filter, share: p.share } : { name, filter: p.filter, share: p.share, description: p.description });
    }
  }

  let exploration: ExplorationSettings = { share: DEFAULT_EXPLORATION_SHARE, maxInteractions: DEFAULT_EXPLORATION_MAX_INTERACTIONS };
  if (top.success && top.data.exploration) exploration = top.data.exploration;

  if (problems.length > 0) throw new RulesError(source, problems, details);
  return Object.freeze({ source, attributes, filters, promotions, exploration: Object.freeze({ ...exploration }) });
}

/** Parses JSON text (a file's or the `RULES_JSON` variable's) and compiles it; a JSON syntax error is a RulesError too. */
export function compileRulesText(text: string, source = 'rules.json'): CompiledRules {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new RulesError(source, [{ path: '(root)', message: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return compileRules(json, source);
}

/** No filters, no promotions, default exploration. */
export const EMPTY_RULES: CompiledRules = compileRules({}, '(no rules)');
