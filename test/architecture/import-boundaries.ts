import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

/** A source file: its path relative to the repository root (with `/`), and its text. */
export interface SourceFile {
  path: string;
  source: string;
}

export type BoundaryRule = 'aws-sdk-outside-adapters' | 'local-imported-outside-local' | 'core-imports-infrastructure';

export interface BoundaryViolation {
  rule: BoundaryRule;
  file: string;
  specifier: string;
  message: string;
}

type Token = { kind: 'word' | 'string' | 'punct'; text: string };

const REGEX_AFTER_WORD = new Set(['return', 'typeof', 'case', 'do', 'else', 'in', 'of', 'new', 'delete', 'void', 'throw', 'yield', 'await']);

/** Identifiers, string literals (their value) and punctuation, with comments, template text and regular expressions left out. */
function tokens(source: string): Token[] {
  const out: Token[] = [];
  let i = source.startsWith('#!') ? source.indexOf('\n') + 1 || source.length : 0;
  const regexAllowed = () => {
    const prev = out[out.length - 1];
    if (!prev) return true;
    if (prev.kind === 'word') return REGEX_AFTER_WORD.has(prev.text);
    if (prev.kind === 'string') return false;
    return ![')', ']', '}', '/regex/', '`…`'].includes(prev.text);
  };
  const skipTemplate = () => {
    // i is just past the opening backtick; `${…}` holds code, scanned for its braces only.
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') i += 2;
      else if (source[i] === '$' && source[i + 1] === '{') {
        i += 2;
        for (let depth = 1; i < source.length && depth > 0; i++) {
          const c = source[i];
          if (c === '{') depth++;
          else if (c === '}') depth--;
          else if (c === '`') {
            i++;
            skipTemplate();
            i--; // the loop steps past the closing backtick
          } else if (c === "'" || c === '"') {
            for (i++; i < source.length && source[i] !== c; i++) if (source[i] === '\\') i++;
          }
        }
      } else i++;
    }
    i++;
  };
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (/\s/.test(c)) i++;
    else if (c === '/' && next === '/') i = source.indexOf('\n', i) === -1 ? source.length : source.indexOf('\n', i);
    else if (c === '/' && next === '*') i = source.indexOf('*/', i + 2) === -1 ? source.length : source.indexOf('*/', i + 2) + 2;
    else if (c === "'" || c === '"') {
      let text = '';
      for (i++; i < source.length && source[i] !== c; i++) {
        if (source[i] === '\\') i++;
        text += source[i];
      }
      i++;
      out.push({ kind: 'string', text });
    } else if (c === '`') {
      i++;
      skipTemplate();
      out.push({ kind: 'punct', text: '`…`' });
    } else if (c === '/' && regexAllowed()) {
      for (i++; i < source.length && source[i] !== '/' && source[i] !== '\n'; i++) {
        if (source[i] === '\\') i++;
        else if (source[i] === '[') while (i < source.length && source[i] !== ']' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      }
      if (source[i] === '/') {
        i++;
        while (/[a-z]/i.test(source[i] ?? '')) i++;
      }
      out.push({ kind: 'punct', text: '/regex/' });
    } else if (/[A-Za-z_$]/.test(c)) {
      const m = /^[\w$]+/.exec(source.slice(i, i + 200))!;
      out.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

/**
 * Every module specifier a file imports: static `import … from` and `import '…'`, `export … from`,
 * `import x = require('…')`, dynamic `import('…')`, `require('…')`, and `import('…')` types.
 */
export function importsOf(file: SourceFile): string[] {
  const t = tokens(file.source);
  const out: string[] = [];
  const is = (k: number, text: string) => t[k]?.text === text && t[k]?.kind !== 'string';
  for (let k = 0; k < t.length; k++) {
    const word = t[k]!;
    if (word.kind !== 'word' || is(k - 1, '.')) continue;
    if ((word.text === 'import' || word.text === 'require') && is(k + 1, '(') && t[k + 2]?.kind === 'string') {
      out.push(t[k + 2]!.text);
    } else if (word.text === 'import' && t[k + 1]?.kind === 'string') {
      out.push(t[k + 1]!.text);
    } else if ((word.text === 'import' && !is(k + 1, '(') && !is(k + 1, '.')) || (word.text === 'export' && (is(k + 1, '{') || is(k + 1, '*') || (is(k + 1, 'type') && (is(k + 2, '{') || is(k + 2, '*')))))) {
      // The clause up to `from '…'`; an import without one is `import x = require('…')`, found above.
      for (let j = k + 1; j < t.length && !is(j, ';') && !is(j, '=') && !is(j, '('); j++) {
        if (is(j, 'from') && t[j + 1]?.kind === 'string') {
          out.push(t[j + 1]!.text);
          break;
        }
      }
    }
  }
  return out;
}

const isSdk = (specifier: string) => specifier.startsWith('@aws-sdk/') || specifier.startsWith('@smithy/');
const under = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`);

/** The repository path a relative specifier points at (without extension), or undefined for a package. */
function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return posix.normalize(posix.join(posix.dirname(file), specifier));
}

/**
 * The layer rules, for files under `src/` and `lambdas/`:
 * - only `src/adapters/` imports the AWS SDK (`@aws-sdk/*`, `@smithy/*`);
 * - nothing under `src/` outside `src/local/`, and no Lambda handler, imports `src/local/` (development code never ships);
 * - `src/domain/` and `src/recommender/` import none of `src/adapters/`, `src/local/`, `lambdas/` or the SDK.
 */
export function checkBoundaries(files: readonly SourceFile[]): BoundaryViolation[] {
  const violations: BoundaryViolation[] = [];
  for (const file of files) {
    const inSrc = under(file.path, 'src');
    if (!inSrc && !under(file.path, 'lambdas')) continue;
    const core = under(file.path, 'src/domain') || under(file.path, 'src/recommender');
    for (const specifier of importsOf(file)) {
      const to = target(file.path, specifier);
      const report = (rule: BoundaryRule, why: string) => violations.push({ rule, file: file.path, specifier, message: `${file.path} imports '${specifier}': ${why}` });
      if (isSdk(specifier) && !under(file.path, 'src/adapters')) report('aws-sdk-outside-adapters', 'only src/adapters/ may import the AWS SDK');
      if (to && under(to, 'src/local') && !under(file.path, 'src/local')) report('local-imported-outside-local', 'only src/local/ may import src/local/');
      if (core && (isSdk(specifier) || (to && (under(to, 'src/adapters') || under(to, 'src/local') || under(to, 'lambdas'))))) {
        report('core-imports-infrastructure', 'src/domain/ and src/recommender/ may not import adapters, local, lambdas or the AWS SDK');
      }
    }
  }
  return violations;
}

/** Every .ts file under the given folders of the repository at `root`. */
export function readSourceFiles(root: string, folders: readonly string[]): SourceFile[] {
  const files: SourceFile[] = [];
  for (const folder of folders) {
    for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const full = join(entry.parentPath, entry.name);
      files.push({ path: relative(root, full).split(sep).join('/'), source: readFileSync(full, 'utf8') });
    }
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}
