import type { CompactInteractions, Interaction } from './types';

/**
 * Builders and transforms of CompactInteractions (src/recommender/types.ts): interactions as typed-array columns and
 * two interned id tables, so millions of rows are held and trained on without one object each.
 */

export function isCompactInteractions(value: Interaction[] | CompactInteractions): value is CompactInteractions {
  return !Array.isArray(value);
}

/** Grows typed-array columns and interns ids as rows are appended (Map lookups per row, no per-row objects). */
export class CompactBuilder {
  private readonly userIndex = new Map<string, number>();
  private readonly itemIndex = new Map<string, number>();
  private readonly users: string[] = [];
  private readonly items: string[] = [];
  private user: Uint32Array;
  private item: Uint32Array;
  private strength: Float64Array;
  private firstContactMs: Float64Array;
  private size = 0;

  constructor(capacity = 1024) {
    const cap = Math.max(16, capacity);
    this.user = new Uint32Array(cap);
    this.item = new Uint32Array(cap);
    this.strength = new Float64Array(cap);
    this.firstContactMs = new Float64Array(cap);
  }

  get length(): number {
    return this.size;
  }

  /** Makes room for `more` rows at once: a reader that knows a file's row count grows once, not by doubling. */
  reserve(more: number): void {
    const need = this.size + more;
    if (need <= this.user.length) return;
    const grow = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(need);
      b.set(a.subarray(0, this.size));
      return b;
    };
    this.user = grow(this.user, (n) => new Uint32Array(n));
    this.item = grow(this.item, (n) => new Uint32Array(n));
    this.strength = grow(this.strength, (n) => new Float64Array(n));
    this.firstContactMs = grow(this.firstContactMs, (n) => new Float64Array(n));
  }

  add(userId: string, itemId: string, strength: number, firstContactMs: number): void {
    if (this.size === this.user.length) this.reserve(this.size);
    const r = this.size++;
    this.user[r] = intern(userId, this.userIndex, this.users);
    this.item[r] = intern(itemId, this.itemIndex, this.items);
    this.strength[r] = strength;
    this.firstContactMs[r] = firstContactMs;
  }

  /** The rows as appended, in that order (ids in order of first appearance). The builder must not be used after. */
  build(): CompactInteractions {
    return { users: this.users, items: this.items, user: this.user, item: this.item, strength: this.strength, firstContactMs: this.firstContactMs, length: this.size };
  }
}

function intern(id: string, index: Map<string, number>, table: string[]): number {
  let code = index.get(id);
  if (code === undefined) {
    code = table.push(id) - 1;
    index.set(id, code);
  }
  return code;
}

/** Interaction[] as columns, in the same row order (ids in order of first appearance). */
export function compactFromInteractions(interactions: readonly Interaction[]): CompactInteractions {
  const b = new CompactBuilder(interactions.length);
  for (const it of interactions) b.add(it.userId, it.itemId, it.rating, it.timestamp);
  return b.build();
}

/** The rows as Interaction objects (for evaluation, small data and tests: it allocates one object per row). */
export function compactToInteractions(c: CompactInteractions): Interaction[] {
  const out = new Array<Interaction>(c.length);
  for (let r = 0; r < c.length; r++) out[r] = { userId: c.users[c.user[r]], itemId: c.items[c.item[r]], rating: c.strength[r], timestamp: c.firstContactMs[r] };
  return out;
}

const byString = (table: readonly string[]) => (a: number, b: number): number => {
  const x = table[a];
  const y = table[b];
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Sorts an id table; returns the sorted table and each old code's new one. */
function rankTable(table: readonly string[]): { sorted: string[]; rank: Uint32Array } {
  const order = Array.from({ length: table.length }, (_, i) => i).sort(byString(table));
  const rank = new Uint32Array(table.length);
  const sorted = new Array<string>(table.length);
  for (let r = 0; r < order.length; r++) {
    rank[order[r]] = r;
    sorted[r] = table[order[r]];
  }
  return { sorted, rank };
}

/**
 * The canonical form, the order of `toInteractions` (src/retraining/interactions.ts): both id tables sorted (by UTF-16
 * code units, as `<` compares), rows by user then item, one row per pair. Rows of one pair merge the way
 * `toInteractions` merges events: in input order, the strongest strength and the earliest first contact win.
 * Cost: O(U log U + I log I) for the tables, O(N + U + I) for the rows (two stable counting sorts), 8·N bytes of
 * permutation plus the output columns; an input already in row order (a sorted query output) is not permuted.
 */
export function canonicalCompact(c: CompactInteractions): CompactInteractions {
  const n = c.length;
  const users = rankTable(c.users);
  const items = rankTable(c.items);
  const user = new Uint32Array(n);
  const item = new Uint32Array(n);
  let ordered = true;
  for (let r = 0; r < n; r++) {
    user[r] = users.rank[c.user[r]];
    item[r] = items.rank[c.item[r]];
    // Strictly increasing (user, item): already sorted and free of repeated pairs.
    if (ordered && r > 0 && !(user[r] > user[r - 1] || (user[r] === user[r - 1] && item[r] > item[r - 1]))) ordered = false;
  }
  if (ordered) {
    return { users: users.sorted, items: items.sorted, user, item, strength: c.strength.slice(0, n), firstContactMs: c.firstContactMs.slice(0, n), length: n };
  }
  // LSD: stable by item, then stable by user, so rows of one pair keep their input order.
  const byItem = countingOrder(item, items.sorted.length, n, undefined);
  const order = countingOrder(user, users.sorted.length, n, byItem);
  const outUser = new Uint32Array(n);
  const outItem = new Uint32Array(n);
  const strength = new Float64Array(n);
  const firstContactMs = new Float64Array(n);
  let out = -1;
  for (let k = 0; k < n; k++) {
    const r = order[k];
    const s = c.strength[r];
    const t = c.firstContactMs[r];
    if (out >= 0 && outUser[out] === user[r] && outItem[out] === item[r]) {
      if (s > strength[out]) strength[out] = s;
      if (t < firstContactMs[out]) firstContactMs[out] = t;
      continue;
    }
    out++;
    outUser[out] = user[r];
    outItem[out] = item[r];
    strength[out] = s;
    firstContactMs[out] = t;
  }
  return { users: users.sorted, items: items.sorted, user: outUser, item: outItem, strength, firstContactMs, length: out + 1 };
}

/** Row order stably sorted by `key` (values < buckets), visiting rows in `input` order (identity when undefined). */
function countingOrder(key: Uint32Array, buckets: number, n: number, input: Uint32Array | undefined): Uint32Array {
  const start = new Uint32Array(buckets + 1);
  for (let r = 0; r < n; r++) start[key[r] + 1]++;
  for (let b = 0; b < buckets; b++) start[b + 1] += start[b];
  const out = new Uint32Array(n);
  for (let k = 0; k < n; k++) {
    const r = input ? input[k] : k;
    out[start[key[r]]++] = r;
  }
  return out;
}

/** Rows `rows` of `c` (by index, in that order) with the same id tables. */
function gather(c: CompactInteractions, rows: Uint32Array, from: number, to: number): CompactInteractions {
  const n = to - from;
  const out: CompactInteractions = { users: c.users, items: c.items, user: new Uint32Array(n), item: new Uint32Array(n), strength: new Float64Array(n), firstContactMs: new Float64Array(n), length: n };
  for (let k = 0; k < n; k++) {
    const r = rows[from + k];
    out.user[k] = c.user[r];
    out.item[k] = c.item[r];
    out.strength[k] = c.strength[r];
    out.firstContactMs[k] = c.firstContactMs[r];
  }
  return out;
}

/**
 * `temporalSplit` (src/recommender/split.ts) on columns: per user, the latest (1 - ratio) rows are held out; users in
 * order of first appearance, each user's rows by first contact, ties in input order — so the rows of `train` and
 * `test` are those of `temporalSplit(compactToInteractions(c))`, in the same order. Both halves share `c`'s id tables
 * (an id may have no row in one half; trainers index only the ids their rows use).
 */
export function temporalSplitCompact(c: CompactInteractions, options: { ratio?: number } = {}): { train: CompactInteractions; test: CompactInteractions } {
  const ratio = options.ratio ?? 0.75;
  if (!(ratio > 0 && ratio < 1)) throw new Error(`split ratio must be between 0 and 1 (got ${ratio})`);
  const n = c.length;
  // Users numbered by first appearance, then rows grouped by that number (stable: input order inside a group).
  const group = new Int32Array(c.users.length).fill(-1);
  const rowGroup = new Uint32Array(n);
  let groups = 0;
  for (let r = 0; r < n; r++) {
    const u = c.user[r];
    if (group[u] === -1) group[u] = groups++;
    rowGroup[r] = group[u];
  }
  const order = countingOrder(rowGroup, groups, n, undefined);
  const time = c.firstContactMs;
  const train = new Uint32Array(n);
  const test = new Uint32Array(n);
  let nTrain = 0;
  let nTest = 0;
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && rowGroup[order[end]] === rowGroup[order[start]]) end++;
    const rows = order.subarray(start, end);
    rows.sort((a, b) => time[a] - time[b] || a - b);
    const cut = Math.round(ratio * rows.length);
    for (let k = 0; k < rows.length; k++) {
      if (k < cut) train[nTrain++] = rows[k];
      else test[nTest++] = rows[k];
    }
    start = end;
  }
  return { train: gather(c, train, 0, nTrain), test: gather(c, test, 0, nTest) };
}
