import { describe, expect, it } from 'vitest';
import {
  compileFilter,
  FilterLanguageError,
  MAX_EXPRESSION_LENGTH,
  MAX_LIST_VALUES,
  MAX_NESTING_DEPTH,
  MAX_PREDICATES,
  MAX_STRING_LENGTH,
  parseFilter,
  type AttributeType,
  type FilterNode,
} from '../../src/rules/filter-language';

const ATTRS = new Map<string, AttributeType>([['brand', 'string'], ['rating', 'number'], ['onSale', 'boolean'], ['constructor', 'string']]);

/** A compact rendering of the AST: (and …) (or …) (not …), predicates as written. */
function show(node: FilterNode): string {
  switch (node.kind) {
    case 'and':
    case 'or':
      return `(${node.kind} ${node.operands.map(show).join(' ')})`;
    case 'not':
      return `(not ${show(node.operand)})`;
    case 'compare':
      return `[${node.field}${node.op}${node.value.kind === 'param' ? `$${node.value.name}` : JSON.stringify(node.value.value)}]`;
    case 'in':
      return `[${node.field}${node.negated ? ' not' : ''} in ${node.list.kind === 'param' ? `$${node.list.name}` : JSON.stringify(node.list.values.map((v) => (v.kind === 'literal' ? v.value : v.name)))}]`;
    case 'within':
      return `[${node.field} within ${node.durationMs}]`;
    case 'user':
      return `[user ${node.verb}${node.withinMs === undefined ? '' : ` within ${node.withinMs}`}]`;
    case 'bool':
      return `[${node.field}]`;
  }
}

/** The error an expression is refused with (parse and type check). */
function refusal(expression: string, attrs = ATTRS): FilterLanguageError {
  try {
    compileFilter(expression, attrs);
  } catch (e) {
    expect(e).toBeInstanceOf(FilterLanguageError);
    return e as FilterLanguageError;
  }
  throw new Error(`expected ${JSON.stringify(expression)} to be refused`);
}

/** Asserts the message shows the expression and a caret exactly under `column`. */
function expectCaret(err: FilterLanguageError, column: number): void {
  const lines = err.message.split('\n');
  expect(lines[0]).toContain(`(column ${column})`);
  const exprLine = lines[1]!;
  const caretLine = lines[2]!;
  expect(caretLine.trimEnd().endsWith('^')).toBe(true);
  const indent = 2; // formatIssue's default indent
  // For short expressions the shown line is the expression itself: the caret sits under its column.
  if (err.expression.length <= 120) {
    expect(exprLine.slice(indent)).toBe(err.expression);
    expect(caretLine.length - 1 - indent).toBe(column - 1);
  }
}

describe('parseFilter: grammar and precedence', () => {
  it.each([
    ['a OR b AND c', '(or [a] (and [b] [c]))'],
    ['a AND b OR c', '(or (and [a] [b]) [c])'],
    ['(a OR b) AND c', '(and (or [a] [b]) [c])'],
    ['NOT a AND b', '(and (not [a]) [b])'],
    ['NOT (a AND b)', '(not (and [a] [b]))'],
    ['NOT NOT a', '(not (not [a]))'],
    ['a and b Or c', '(or (and [a] [b]) [c])'],
    ["category = 'shoes'", '[category="shoes"]'],
    ['price <= $maxPrice', '[price<=$maxPrice]'],
    ['price != -1.5e2', '[price!=-150]'],
    ['onSale = TRUE', '[onSale=true]'],
    ["brand not in ('a', \"b\")", '[brand not in ["a","b"]]'],
    ['brand IN $brands', '[brand in $brands]'],
    ['createdAt WITHIN 30d', `[createdAt within ${30 * 86_400_000}]`],
    ['user PURCHASED within 12h', `[user purchased within ${12 * 3_600_000}]`],
    ['user viewed', '[user viewed]'],
    ['NOT user interacted WITHIN 90s', '(not [user interacted within 90000])'],
    ['available', '[available]'],
    ["title = 'it\\'s \\\"x\\\" \\\\ \\n'", `[title=${JSON.stringify('it\'s "x" \\ \n')}]`],
  ])('%s → %s', (expression, ast) => {
    expect(show(parseFilter(expression))).toBe(ast);
  });

  it('records 1-based columns of predicates and values', () => {
    const node = parseFilter('  price <= $max') as FilterNode & { kind: 'compare' };
    expect(node.column).toBe(3);
    expect(node.value.column).toBe(12);
  });
});

describe('parse errors carry a column and a caret', () => {
  it.each([
    ['', 1, 'empty expression'],
    ['   ', 1, 'empty expression'],
    ['price <=', 9, 'expected a value'],
    ["category = shoes", 12, "quote strings: 'shoes'"],
    ["category = 'shoes", 12, 'unterminated string'],
    ["title = 'a\\q'", 11, 'unknown escape'],
    ['price == 3', 7, "'=='"],
    ['price <> 3', 7, "'<>'"],
    ['price ! 3', 7, "'!'"],
    ['price # 3', 7, 'unexpected character'],
    ['(price > 3', 11, "expected ')'"],
    ['price > 3)', 10, "unbalanced ')'"],
    ['price > 3 brand', 11, 'expected AND, OR or the end'],
    ['price 3', 7, 'expected an operator'],
    ['AND price > 3', 1, 'keyword AND'],
    ['price > 3 AND', 14, 'found the end'],
    ['user looked', 6, 'expected one of viewed, clicked'],
    ['user purchased WITHIN 30', 23, 'expected a duration'],
    ['user purchased WITHIN 1.5d', 23, 'whole number'],
    ['user purchased WITHIN 0d', 23, 'more than 0'],
    ['user purchased WITHIN 3651d', 23, 'at most 3650d'],
    ['price > 3x', 9, 'bad number'],
    ['price > $', 9, "'$' must be followed"],
    ['price > $_x', 9, 'bad parameter name'],
    ['price > $__proto__', 9, 'bad parameter name'],
    ['price > $k', 9, 'reserved'],
    ['category = $Filter', 12, 'reserved'],
    ['brand IN ()', 11, 'expected a value'],
    ["brand IN ('a' 'b')", 15, "expected ',' or ')'"],
    ["brand IN ('a', $b)", 16, 'pass a whole list as one $param'],
    ["brand IN 'a'", 10, 'expected a list'],
    ['brand NOT = 3', 11, 'expected IN'],
    ['price > 1e999', 9, 'out of range'],
  ])('%j → column %i (%s)', (expression, column, reason) => {
    const err = refusal(expression);
    expect(err.column).toBe(column);
    expect(err.issues[0]!.reason).toContain(reason);
    expectCaret(err, column);
  });
});

describe('type check at load', () => {
  it.each([
    ["price = 'x'", 9, 'price is a number'],
    ['brand < 3', 1, 'applies to numbers and createdAt only'],
    ["brand = 3", 9, 'brand is a string'],
    ['onSale = 1', 10, 'onSale is a boolean'],
    ['price', 1, 'not a boolean'],
    ["price WITHIN 3d", 1, 'WITHIN applies to createdAt only'],
    ["createdAt > 'yesterday'", 13, 'time'],
    ["createdAt > '2024-01-01T10:00'", 13, 'time'],
    ["createdAt IN ('2024-01-01')", 1, 'not IN'],
    ["category > 'a'", 1, 'applies to numbers'],
    ["price IN (1, 'two')", 14, 'price is a number'],
  ])('%j → column %i', (expression, column, reason) => {
    const err = refusal(expression);
    expect(err.column).toBe(column);
    expect(err.issues[0]!.reason).toContain(reason);
    expectCaret(err, column);
  });

  it('refuses an unknown field, naming the known ones (and a near miss)', () => {
    const err = refusal("colour = 'red' AND Price > 3 AND categories = 'x'");
    expect(err.issues.map((i) => i.column)).toEqual([1, 20, 34]);
    expect(err.issues[0]!.reason).toContain('known fields: itemId, title, category, price, available, createdAt, brand, rating, onSale, constructor');
    expect(err.issues[1]!.reason).toContain('did you mean price?');
    expect(err.issues[2]!.reason).toContain('did you mean category?');
    // Every issue is in the message with its own caret.
    expect(err.message.split('\n').filter((l) => l.trim() === '^' || l.trimEnd().endsWith('^'))).toHaveLength(3);
  });

  it('reports every type problem of one expression, in column order', () => {
    const err = refusal("brand < 3 OR price = 'x'");
    expect(err.issues.map((i) => i.column)).toEqual([1, 22]);
  });

  it('types parameters by use and refuses conflicting uses', () => {
    const ok = compileFilter("price <= $p AND rating >= $p AND brand IN $names AND createdAt >= $since AND onSale = $sale", ATTRS);
    expect(Object.fromEntries(ok.params)).toEqual({
      p: { type: 'number', list: false },
      names: { type: 'string', list: true },
      since: { type: 'time', list: false },
      sale: { type: 'boolean', list: false },
    });
    const conflict = refusal('price <= $x AND brand = $x');
    expect(conflict.column).toBe(25);
    expect(conflict.issues[0]!.reason).toContain('$x is used as string here but as number at column 10');
    expect(refusal('brand = $x OR brand IN $x').issues[0]!.reason).toContain('string list');
  });

  it('tracks availability, user and time dependence', () => {
    expect(compileFilter('available = false').mentionsAvailable).toBe(true);
    expect(compileFilter('NOT available').mentionsAvailable).toBe(true);
    expect(compileFilter('available IN (true)').mentionsAvailable).toBe(true);
    expect(compileFilter('price > 1').mentionsAvailable).toBe(false);
    expect(compileFilter('NOT user viewed').usesUser).toBe(true);
    expect(compileFilter('price > 1').usesUser).toBe(false);
    expect(compileFilter('createdAt WITHIN 1d').usesNow).toBe(true);
  });

  it('treats prototype names as plain names', () => {
    expect(compileFilter("constructor = 'x' AND category = $constructor", ATTRS).params.get('constructor')).toEqual({ type: 'string', list: false });
    // Without a declared attribute, `constructor`, `toString` and `hasOwnProperty` are unknown fields, not Object.prototype members.
    for (const name of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      expect(refusal(`${name} = 'x'`, new Map()).issues[0]!.reason).toContain(`unknown field ${name}`);
    }
    expect(refusal('__proto__ = 1', new Map()).issues[0]!.reason).toContain('unknown field __proto__');
    expect(compileFilter("category = '__proto__'").ast).toMatchObject({ value: { value: '__proto__' } });
  });
});

describe('limits, at and just past each bound', () => {
  const pad = (expr: string, length: number) => expr + ' '.repeat(length - expr.length);

  it(`expression length ${MAX_EXPRESSION_LENGTH}`, () => {
    expect(() => compileFilter(pad('price > 1', MAX_EXPRESSION_LENGTH))).not.toThrow();
    const err = refusal(pad('price > 1', MAX_EXPRESSION_LENGTH + 1));
    expect(err.column).toBe(MAX_EXPRESSION_LENGTH + 1);
    expect(err.message).toContain(`longer than ${MAX_EXPRESSION_LENGTH}`);
    expect(err.message.split('\n')[2]).toMatch(/\^$/); // caret shown even for a windowed, long expression
    expect(refusal('x'.repeat(1_000_000)).message.length).toBeLessThan(500);
  });

  it(`nesting depth ${MAX_NESTING_DEPTH} (parentheses and NOT)`, () => {
    const nest = (n: number) => '('.repeat(n) + 'available' + ')'.repeat(n);
    expect(() => compileFilter(nest(MAX_NESTING_DEPTH))).not.toThrow();
    const err = refusal(nest(MAX_NESTING_DEPTH + 1));
    expect(err.column).toBe(MAX_NESTING_DEPTH + 1);
    expect(err.message).toContain('nested deeper');
    expect(() => compileFilter('NOT '.repeat(MAX_NESTING_DEPTH) + 'available')).not.toThrow();
    expect(refusal('NOT '.repeat(MAX_NESTING_DEPTH + 1) + 'available').column).toBe(MAX_NESTING_DEPTH * 4 + 1);
    // Hostile depth: refused, not a stack overflow.
    expect(refusal('('.repeat(1999)).message).toContain('nested deeper');
  });

  it(`${MAX_PREDICATES} predicates`, () => {
    const preds = (n: number) => Array.from({ length: n }, () => 'available').join(' OR ');
    expect(() => compileFilter(preds(MAX_PREDICATES))).not.toThrow();
    const err = refusal(preds(MAX_PREDICATES + 1));
    expect(err.column).toBe(MAX_PREDICATES * 'available OR '.length + 1);
    expect(err.message).toContain(`more than ${MAX_PREDICATES} predicates`);
  });

  it(`list literal of ${MAX_LIST_VALUES} values`, () => {
    const list = (n: number) => `price IN (${Array.from({ length: n }, (_, i) => i).join(',')})`;
    expect(() => compileFilter(list(MAX_LIST_VALUES))).not.toThrow();
    expect(refusal(list(MAX_LIST_VALUES + 1)).message).toContain(`at most ${MAX_LIST_VALUES} values`);
  });

  it(`string literal of ${MAX_STRING_LENGTH} characters`, () => {
    expect(() => compileFilter(`title = '${'a'.repeat(MAX_STRING_LENGTH)}'`)).not.toThrow();
    const err = refusal(`title = '${'a'.repeat(MAX_STRING_LENGTH + 1)}'`);
    expect(err.column).toBe(9);
    expect(err.message).toContain(`longer than ${MAX_STRING_LENGTH}`);
  });

  it('parameter names of 64 characters', () => {
    expect(() => compileFilter(`price > $${'p'.repeat(64)}`)).not.toThrow();
    expect(refusal(`price > $${'p'.repeat(65)}`).message).toContain('bad parameter name');
  });
});
