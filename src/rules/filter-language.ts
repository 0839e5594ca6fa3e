import type { InteractionType } from '../domain/events';

/**
 * The filter language: what a shop engineer writes in `rules.json` (`"category = $category AND price <= $maxPrice"`).
 * A tokenizer and a recursive-descent parser produce an AST; a type check against the definition's fields makes
 * a broken filter fail when the definition is loaded (never at request time). Pure: no I/O.
 *
 * Grammar (keywords are case-insensitive; field names are case-sensitive):
 *
 *     expr      := or
 *     or        := and (OR and)*
 *     and       := unary (AND unary)*
 *     unary     := NOT unary | '(' expr ')' | predicate
 *     predicate := field op value                 op: = != < <= > >=
 *                | field [NOT] IN list
 *                | createdAt WITHIN duration      created in the last …
 *                | USER verb [WITHIN duration]    the user's own interactions
 *                | field                          a boolean field, meaning `field = true`
 *     value     := 'string' | "string" | number | true | false | $param
 *     list      := '(' value (',' value)* ')' | $param   (a request value split on commas)
 *     duration  := <integer>(d|h|m|s)             e.g. 30d, 12h, 15m, 90s
 *
 * Verbs: viewed (view), clicked (click), added (add_to_cart), purchased (purchase), rated (rating), interacted (any
 * event type, and — without WITHIN — the items of the user's training history).
 *
 * Semantics worth knowing:
 * - `category` is multi-valued: `category = x` holds when any of the item's categories is x; `category IN (…)`
 *   when any of them is in the list.
 * - A missing value (no price, no createdAt, an attribute that is absent or holds another type) makes every
 *   comparison on it false: `price <= 10` is false for an item without a price. `!=` is exactly `NOT (… = …)` and
 *   `NOT IN` is `NOT (… IN …)`, so both are TRUE for an item that lacks the value.
 * - Ordering (`<`, `<=`, `>`, `>=`) applies to numbers and to `createdAt` (compared with `'YYYY-MM-DD'` or a full
 *   ISO-8601 instant with Z or an offset); strings and booleans take `=`, `!=` and `IN` only.
 * - `WITHIN` windows include their boundary: an event (or a createdAt) exactly `duration` before now counts.
 */

export const MAX_EXPRESSION_LENGTH = 2000;
export const MAX_NESTING_DEPTH = 32;
export const MAX_PREDICATES = 64;
export const MAX_LIST_VALUES = 100;
export const MAX_STRING_LENGTH = 256;
/** A parameter name (`$maxPrice`): a letter, then letters, digits or `_`, at most 64 characters. */
export const PARAM_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** Query names the request itself uses; a filter parameter may not take them (compared case-insensitively). */
export const RESERVED_PARAM_NAMES: readonly string[] = ['k', 'filter', 'promotion', 'window', 'format', 'explore'];
/** Longest duration accepted: 10 years. */
export const MAX_DURATION_MS = 3650 * 86_400_000;

export type AttributeType = 'string' | 'number' | 'boolean';
/** The type a value takes in a comparison: an attribute type, or a point in time (`createdAt`). */
export type ValueType = AttributeType | 'time';
export type Comparison = '=' | '!=' | '<' | '<=' | '>' | '>=';
export type UserVerb = 'viewed' | 'clicked' | 'added' | 'purchased' | 'rated' | 'interacted';

/** The interaction type each verb matches (`undefined`: any interaction, plus the training history; never an impression). */
export const VERB_EVENT_TYPES: Readonly<Record<UserVerb, InteractionType | undefined>> = Object.freeze({
  viewed: 'view',
  clicked: 'click',
  added: 'add_to_cart',
  purchased: 'purchase',
  rated: 'rating',
  interacted: undefined,
});
const VERBS: ReadonlyMap<string, UserVerb> = new Map(Object.keys(VERB_EVENT_TYPES).map((v) => [v, v as UserVerb]));

export type Literal = string | number | boolean;
export type ValueNode = { kind: 'literal'; value: Literal; column: number } | { kind: 'param'; name: string; column: number };
export type ListNode = { kind: 'list'; values: ValueNode[]; column: number } | { kind: 'param'; name: string; column: number };

export type FilterNode =
  | { kind: 'and'; operands: FilterNode[]; column: number }
  | { kind: 'or'; operands: FilterNode[]; column: number }
  | { kind: 'not'; operand: FilterNode; column: number }
  | { kind: 'compare'; field: string; op: Comparison; value: ValueNode; column: number }
  | { kind: 'in'; field: string; negated: boolean; list: ListNode; column: number }
  | { kind: 'within'; field: string; durationMs: number; column: number }
  | { kind: 'user'; verb: UserVerb; withinMs?: number; column: number }
  | { kind: 'bool'; field: string; column: number };

/** One problem in one expression: where (1-based column) and what. */
export interface FilterIssue {
  column: number;
  reason: string;
}

/** A refused expression: every issue found, each shown with the expression and a caret under its column. */
export class FilterLanguageError extends Error {
  override readonly name = 'FilterLanguageError';
  constructor(readonly expression: string, readonly issues: readonly FilterIssue[]) {
    super(issues.map((i) => formatIssue(expression, i)).join('\n'));
  }
  /** The first issue's column. */
  get column(): number {
    return this.issues[0]?.column ?? 1;
  }
}

/** `reason (column N)`, then the expression, then a caret under column N (long expressions are windowed). */
export function formatIssue(expression: string, issue: FilterIssue, indent = '  '): string {
  const oneLine = expression.replace(/[\r\n\t]/g, ' ');
  const col = Math.max(1, Math.min(issue.column, oneLine.length + 1));
  // Keep the caret's context readable for a 2000-character expression: show at most 60 characters either side.
  const from = Math.max(0, col - 1 - 60);
  const to = Math.min(oneLine.length, col - 1 + 60);
  const prefix = from > 0 ? '…' : '';
  const shown = prefix + oneLine.slice(from, to) + (to < oneLine.length ? '…' : '');
  const caret = ' '.repeat(prefix.length + (col - 1 - from)) + '^';
  return `${issue.reason} (column ${issue.column})\n${indent}${shown}\n${indent}${caret}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { t: 'ident'; text: string; column: number }
  | { t: 'string'; value: string; column: number }
  | { t: 'number'; value: number; column: number }
  | { t: 'duration'; ms: number; column: number }
  | { t: 'param'; name: string; column: number }
  | { t: 'op'; op: Comparison; column: number }
  | { t: '(' | ')' | ','; column: number }
  | { t: 'end'; column: number };

class Fail extends Error {
  constructor(readonly column: number, readonly reason: string) {
    super(reason);
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r' };
const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isIdentStart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z_]/.test(c);
const isIdentPart = (c: string | undefined): boolean => c !== undefined && /[A-Za-z0-9_]/.test(c);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const column = i + 1;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c, column });
      i++;
    } else if (c === '=' ) {
      if (src[i + 1] === '=') throw new Fail(column, "'==' is not an operator; write '='");
      tokens.push({ t: 'op', op: '=', column });
      i++;
    } else if (c === '!') {
      if (src[i + 1] !== '=') throw new Fail(column, "'!' must be followed by '=' (for negation write NOT)");
      tokens.push({ t: 'op', op: '!=', column });
      i += 2;
    } else if (c === '<' || c === '>') {
      if (c === '<' && src[i + 1] === '>') throw new Fail(column, "'<>' is not an operator; write '!='");
      const op = (src[i + 1] === '=' ? `${c}=` : c) as Comparison;
      tokens.push({ t: 'op', op, column });
      i += op.length;
    } else if (c === "'" || c === '"') {
      let value = '';
      let j = i + 1;
      for (;;) {
        const d = src[j];
        if (d === undefined) throw new Fail(column, `unterminated string: a closing ${c} is missing`);
        if (d === c) break;
        if (d === '\\') {
          const e = src[j + 1];
          const mapped = e === undefined ? undefined : ESCAPES[e];
          if (mapped === undefined) throw new Fail(j + 1, `unknown escape \\${e ?? ''} (use \\\\, \\', \\", \\n, \\t or \\r)`);
          value += mapped;
          j += 2;
        } else {
          value += d;
          j++;
        }
        if (value.length > MAX_STRING_LENGTH) throw new Fail(column, `string longer than ${MAX_STRING_LENGTH} characters`);
      }
      tokens.push({ t: 'string', value, column });
      i = j + 1;
    } else if (isDigit(c) || (c === '-' && (isDigit(src[i + 1]) || src[i + 1] === '.')) || (c === '.' && isDigit(src[i + 1]))) {
      const m = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i, i + 400))!;
      let j = i + m[0].length;
      const unit = src[j];
      if (unit !== undefined && unit in UNIT_MS && !isIdentPart(src[j + 1])) {
        if (!/^\d+$/.test(m[0])) throw new Fail(column, `a duration is a whole number followed by d, h, m or s (got ${m[0]}${unit})`);
        const ms = Number(m[0]) * UNIT_MS[unit]!;
        if (!(ms > 0) || ms > MAX_DURATION_MS) throw new Fail(column, `a duration must be more than 0 and at most 3650d (got ${m[0]}${unit})`);
        tokens.push({ t: 'duration', ms, column });
        i = j + 1;
        continue;
      }
      if (isIdentPart(unit)) {
        while (isIdentPart(src[j])) j++;
        throw new Fail(column, `bad number ${src.slice(i, j)} (durations end in d, h, m or s)`);
      }
      const value = Number(m[0]);
      if (!Number.isFinite(value)) throw new Fail(column, `number out of range: ${m[0].slice(0, 40)}`);
      tokens.push({ t: 'number', value, column });
      i = j;
    } else if (c === '$') {
      let j = i + 1;
      while (isIdentPart(src[j])) j++;
      const name = src.slice(i + 1, j);
      if (!PARAM_NAME_PATTERN.test(name)) {
        throw new Fail(column, name === '' ? "'$' must be followed by a parameter name" : `bad parameter name $${name.slice(0, 70)}: a letter, then letters, digits or _, at most 64`);
      }
      if (RESERVED_PARAM_NAMES.includes(name.toLowerCase())) {
        throw new Fail(column, `$${name} is reserved: the request uses ${RESERVED_PARAM_NAMES.join(', ')} itself`);
      }
      tokens.push({ t: 'param', name, column });
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (isIdentPart(src[j])) j++;
      tokens.push({ t: 'ident', text: src.slice(i, j), column });
      i = j;
    } else {
      throw new Fail(column, `unexpected character ${JSON.stringify(c)}`);
    }
  }
  tokens.push({ t: 'end', column: src.length + 1 });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'within', 'user', 'true', 'false']);

function describeToken(tok: Token): string {
  switch (tok.t) {
    case 'ident': return tok.text;
    case 'string': return 'a string';
    case 'number': return String(tok.value);
    case 'duration': return 'a duration';
    case 'param': return `$${tok.name}`;
    case 'op': return `'${tok.op}'`;
    case 'end': return 'the end';
    default: return `'${tok.t}'`;
  }
}

class Parser {
  private pos = 0;
  private depth = 0;
  private predicates = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos]!;
  }
  private next(): Token {
    return this.tokens[this.pos++]!;
  }
  private isKeyword(tok: Token, word: string): boolean {
    return tok.t === 'ident' && tok.text.toLowerCase() === word;
  }

  parseAll(): FilterNode {
    if (this.peek().t === 'end') throw new Fail(1, 'empty expression');
    const node = this.parseOr();
    const tok = this.peek();
    if (tok.t !== 'end') {
      throw new Fail(tok.column, tok.t === ')' ? "unbalanced ')'" : `expected AND, OR or the end, found ${describeToken(tok)}`);
    }
    return node;
  }

  private parseOr(): FilterNode {
    const first = this.parseAnd();
    const operands = [first];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? first : { kind: 'or', operands, column: first.column };
  }

  private parseAnd(): FilterNode {
    const first = this.parseUnary();
    const operands = [first];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      operands.push(this.parseUnary());
    }
    return operands.length === 1 ? first : { kind: 'and', operands, column: first.column };
  }

  private enter(column: number): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw new Fail(column, `nested deeper than ${MAX_NESTING_DEPTH} levels (parentheses and NOT)`);
  }

  private parseUnary(): FilterNode {
    const tok = this.peek();
    if (this.isKeyword(tok, 'not')) {
      this.next();
      this.enter(tok.column);
      const operand = this.parseUnary();
      this.depth--;
      return { kind: 'not', operand, column: tok.column };
    }
    if (tok.t === '(') {
      this.next();
      this.enter(tok.column);
      const inner = this.parseOr();
      const close = this.next();
      if (close.t !== ')') throw new Fail(close.column, `expected ')' to close the '(' at column ${tok.column}, found ${describeToken(close)}`);
      this.depth--;
      return inner;
    }
    return this.parsePredicate();
  }

  private countPredicate(column: number): void {
    if (++this.predicates > MAX_PREDICATES) throw new Fail(column, `more than ${MAX_PREDICATES} predicates`);
  }

  private parsePredicate(): FilterNode {
    const tok = this.next();
    if (tok.t !== 'ident') {
      if (tok.t === 'end') throw new Fail(tok.column, 'expected a condition, found the end');
      throw new Fail(tok.column, `expected a field, NOT, '(' or user, found ${describeToken(tok)}`);
    }
    const word = tok.text.toLowerCase();
    if (word === 'user') {
      this.countPredicate(tok.column);
      const verbTok = this.next();
      const verb = verbTok.t === 'ident' ? VERBS.get(verbTok.text.toLowerCase()) : undefined;
      if (verb === undefined) {
        throw new Fail(verbTok.column, `expected one of ${[...VERBS.keys()].join(', ')} after user, found ${describeToken(verbTok)}`);
      }
      if (this.isKeyword(this.peek(), 'within')) {
        this.next();
        return { kind: 'user', verb, withinMs: this.parseDuration(), column: tok.column };
      }
      return { kind: 'user', verb, column: tok.column };
    }
    if (KEYWORDS.has(word)) throw new Fail(tok.column, `expected a field, NOT, '(' or user, found the keyword ${tok.text}`);
    this.countPredicate(tok.column);
    const field = tok.text;
    const after = this.peek();
    if (after.t === 'op') {
      this.next();
      return { kind: 'compare', field, op: after.op, value: this.parseValue(), column: tok.column };
    }
    if (this.isKeyword(after, 'not')) {
      this.next();
      const inTok = this.next();
      if (!this.isKeyword(inTok, 'in')) throw new Fail(inTok.column, `expected IN after ${field} NOT, found ${describeToken(inTok)}`);
      return { kind: 'in', field, negated: true, list: this.parseList(), column: tok.column };
    }
    if (this.isKeyword(after, 'in')) {
      this.next();
      return { kind: 'in', field, negated: false, list: this.parseList(), column: tok.column };
    }
    if (this.isKeyword(after, 'within')) {
      this.next();
      return { kind: 'within', field, durationMs: this.parseDuration(), column: tok.column };
    }
    if (after.t === 'end' || after.t === ')' || this.isKeyword(after, 'and') || this.isKeyword(after, 'or')) {
      return { kind: 'bool', field, column: tok.column };
    }
    throw new Fail(after.column, `expected an operator (= != < <= > >=), IN, NOT IN or WITHIN after ${field}, found ${describeToken(after)}`);
  }

  private parseDuration(): number {
    const tok = this.next();
    if (tok.t !== 'duration') throw new Fail(tok.column, `expected a duration such as 30d, 12h, 15m or 90s, found ${describeToken(tok)}`);
    return tok.ms;
  }

  private parseValue(): ValueNode {
    const tok = this.next();
    switch (tok.t) {
      case 'string': return { kind: 'literal', value: tok.value, column: tok.column };
      case 'number': return { kind: 'literal', value: tok.value, column: tok.column };
      case 'param': return { kind: 'param', name: tok.name, column: tok.column };
      case 'ident': {
        const w = tok.text.toLowerCase();
        if (w === 'true' || w === 'false') return { kind: 'literal', value: w === 'true', column: tok.column };
        throw new Fail(tok.column, `expected a value, found ${tok.text} (quote strings: '${tok.text}')`);
      }
      default:
        throw new Fail(tok.column, `expected a value (a quoted string, a number, true, false or $param), found ${describeToken(tok)}`);
    }
  }

  private parseList(): ListNode {
    const open = this.next();
    if (open.t === 'param') return { kind: 'param', name: open.name, column: open.column };
    if (open.t !== '(') throw new Fail(open.column, `expected a list such as ('a', 'b') or a $param, found ${describeToken(open)}`);
    const values: ValueNode[] = [];
    for (;;) {
      const v = this.parseValue();
      if (v.kind === 'param') throw new Fail(v.column, 'a list literal holds literal values; pass a whole list as one $param instead');
      values.push(v);
      if (values.length > MAX_LIST_VALUES) throw new Fail(v.column, `a list holds at most ${MAX_LIST_VALUES} values`);
      const sep = this.next();
      if (sep.t === ')') break;
      if (sep.t !== ',') throw new Fail(sep.column, `expected ',' or ')' in the list, found ${describeToken(sep)}`);
    }
    return { kind: 'list', values, column: open.column };
  }
}

/** The AST of one expression; throws FilterLanguageError (with column) on a syntax error or a limit. */
export function parseFilter(expression: string): FilterNode {
  if (typeof expression !== 'string') throw new FilterLanguageError(String(expression), [{ column: 1, reason: 'an expression must be a string' }]);
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw new FilterLanguageError(expression, [{ column: MAX_EXPRESSION_LENGTH + 1, reason: `expression longer than ${MAX_EXPRESSION_LENGTH} characters (${expression.length})` }]);
  }
  try {
    return new Parser(tokenize(expression)).parseAll();
  } catch (e) {
    if (e instanceof Fail) throw new FilterLanguageError(expression, [{ column: e.column, reason: e.reason }]);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Type check

/** What a field holds. `category` is a multi-valued string; `createdAt` a point in time. */
export interface FieldInfo {
  type: ValueType;
  multi?: boolean;
}

export const STANDARD_FIELDS: ReadonlyMap<string, FieldInfo> = new Map<string, FieldInfo>([
  ['itemId', { type: 'string' }],
  ['title', { type: 'string' }],
  ['category', { type: 'string', multi: true }],
  ['price', { type: 'number' }],
  ['available', { type: 'boolean' }],
  ['createdAt', { type: 'time' }],
]);

/** The type of a parameter, fixed by where it is used; `list`: the request value is split on commas. */
export interface ParamSpec {
  type: ValueType;
  list: boolean;
}

/** A type-checked expression, ready to bind request parameters. */
export interface CompiledFilter {
  readonly expression: string;
  readonly ast: FilterNode;
  /** Parameter name → its type, in first-use order. */
  readonly params: ReadonlyMap<string, ParamSpec>;
  /** Mentions the `available` field (so the default "available only" rule does not apply). */
  readonly mentionsAvailable: boolean;
  /** Has `user …` predicates (the request needs the user's history). */
  readonly usesUser: boolean;
  /** Has `createdAt WITHIN …` (depends on the request's time). */
  readonly usesNow: boolean;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** `'2024-05-01'` or a full ISO-8601 instant with Z or an offset, as epoch ms; undefined when it is neither. */
export function parseTimeValue(text: string): number | undefined {
  if (!ISO_TIME.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : undefined;
}

function typeOfLiteral(v: Literal): AttributeType {
  return typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : 'boolean';
}
const describeType = (t: ValueType): string => (t === 'time' ? "a time ('YYYY-MM-DD' or an ISO-8601 instant)" : `a ${t}`);

/**
 * Parses and type-checks one expression against the standard fields and the declared attributes. Throws
 * FilterLanguageError listing every type problem (or the one syntax problem).
 */
export function compileFilter(expression: string, attributes: ReadonlyMap<string, AttributeType> = new Map()): CompiledFilter {
  const ast = parseFilter(expression);
  const issues: FilterIssue[] = [];
  const params = new Map<string, ParamSpec & { column: number }>();
  let mentionsAvailable = false;
  let usesUser = false;
  let usesNow = false;

  const fieldInfo = (field: string, column: number): FieldInfo | undefined => {
    const std = STANDARD_FIELDS.get(field);
    if (std) return std;
    const attr = attributes.get(field);
    if (attr) return { type: attr };
    const known = [...STANDARD_FIELDS.keys(), ...attributes.keys()];
    const near = known.find((k) => k.toLowerCase() === field.toLowerCase()) ?? (field === 'categories' ? 'category' : undefined);
    issues.push({ column, reason: `unknown field ${field}${near ? ` (did you mean ${near}?)` : ''}; known fields: ${known.join(', ')}` });
    return undefined;
  };

  const useParam = (name: string, column: number, spec: ParamSpec): void => {
    const seen = params.get(name);
    if (!seen) {
      params.set(name, { ...spec, column });
      return;
    }
    if (seen.type !== spec.type || seen.list !== spec.list) {
      const show = (s: ParamSpec) => `${s.type}${s.list ? ' list' : ''}`;
      issues.push({ column, reason: `$${name} is used as ${show(spec)} here but as ${show(seen)} at column ${seen.column}` });
    }
  };

  const checkValue = (field: string, info: FieldInfo, value: ValueNode, list: boolean): void => {
    if (value.kind === 'param') {
      useParam(value.name, value.column, { type: info.type, list });
      return;
    }
    const got = typeOfLiteral(value.value);
    if (info.type === 'time') {
      if (got !== 'string' || parseTimeValue(value.value as string) === undefined) {
        issues.push({ column: value.column, reason: `${field} is compared with ${describeType('time')}, got ${got === 'string' ? JSON.stringify(value.value) : String(value.value)}` });
      }
    } else if (got !== info.type) {
      issues.push({ column: value.column, reason: `${field} is ${describeType(info.type)}, cannot compare it with ${got === 'string' ? `the string ${JSON.stringify(value.value)}` : `${got} ${String(value.value)}`}` });
    }
  };

  const visit = (node: FilterNode): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        node.operands.forEach(visit);
        return;
      case 'not':
        visit(node.operand);
        return;
      case 'user':
        usesUser = true;
        return;
      case 'bool': {
        if (node.field === 'available') mentionsAvailable = true;
        const info = fieldInfo(node.field, node.column);
        if (info && info.type !== 'boolean') {
          issues.push({ column: node.column, reason: `${node.field} is ${describeType(info.type)}, not a boolean: compare it (e.g. ${node.field} = …)` });
        }
        return;
      }
      case 'within': {
        const info = fieldInfo(node.field, node.column);
        if (info && node.field !== 'createdAt') issues.push({ column: node.column, reason: `WITHIN applies to createdAt only (or to user …), not to ${node.field}` });
        usesNow = true;
        return;
      }
      case 'compare': {
        if (node.field === 'available') mentionsAvailable = true;
        const info = fieldInfo(node.field, node.column);
        if (!info) return;
        const ordering = node.op !== '=' && node.op !== '!=';
        if (ordering && info.type !== 'number' && info.type !== 'time') {
          issues.push({ column: node.column, reason: `${node.field} is ${describeType(info.type)}: ${node.op} applies to numbers and createdAt only (use =, != or IN)` });
          return;
        }
        checkValue(node.field, info, node.value, false);
        return;
      }
      case 'in': {
        if (node.field === 'available') mentionsAvailable = true;
        const info = fieldInfo(node.field, node.column);
        if (!info) return;
        if (info.type === 'time') {
          issues.push({ column: node.column, reason: `${node.field} takes comparisons or WITHIN, not IN` });
          return;
        }
        if (node.list.kind === 'param') checkValue(node.field, info, node.list, true);
        else for (const v of node.list.values) checkValue(node.field, info, v, false);
        return;
      }
    }
  };
  visit(ast);
  if (issues.length > 0) throw new FilterLanguageError(expression, issues.sort((a, b) => a.column - b.column));
  const publicParams = new Map<string, ParamSpec>([...params].map(([name, p]) => [name, { type: p.type, list: p.list }]));
  return { expression, ast, params: publicParams, mentionsAvailable, usesUser, usesNow };
}
