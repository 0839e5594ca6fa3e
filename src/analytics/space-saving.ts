/**
 * Space-Saving heavy hitters (Metwally et al. 2005) with the mergeable-summaries merge (Agarwal et al.
 * 2012). Keeps at most `capacity` counters; any key whose true count exceeds total/capacity is present,
 * and each kept count overestimates the truth by at most its `error`.
 */
export interface HeavyHitter {
  key: string;
  count: number;
  /** Upper bound of the overestimate in `count`. */
  error: number;
  /** Free-form label carried with the key (e.g. the item's category). */
  label?: string;
}

export const DEFAULT_TOP_CAPACITY = 100;

export class SpaceSaving {
  private readonly entries = new Map<string, HeavyHitter>();
  total = 0;

  constructor(
    readonly capacity = DEFAULT_TOP_CAPACITY,
    initial: readonly HeavyHitter[] = [],
    total = 0,
  ) {
    for (const e of initial) this.entries.set(e.key, { ...e });
    this.total = total;
  }

  add(key: string, weight = 1, label?: string): this {
    this.total += weight;
    const hit = this.entries.get(key);
    if (hit) {
      hit.count += weight;
      if (label !== undefined) hit.label = label;
      return this;
    }
    if (this.entries.size < this.capacity) {
      this.entries.set(key, { key, count: weight, error: 0, ...(label !== undefined ? { label } : {}) });
      return this;
    }
    const min = this.minEntry()!;
    this.entries.delete(min.key);
    this.entries.set(key, { key, count: min.count + weight, error: min.count, ...(label !== undefined ? { label } : {}) });
    return this;
  }

  /** Combines with another summary: counts add; a key missing from a full summary may have had up to its minimum. */
  merge(other: SpaceSaving): SpaceSaving {
    const capacity = Math.max(this.capacity, other.capacity);
    const minA = this.entries.size >= this.capacity ? (this.minEntry()?.count ?? 0) : 0;
    const minB = other.entries.size >= other.capacity ? (other.minEntry()?.count ?? 0) : 0;
    const keys = new Set([...this.entries.keys(), ...other.entries.keys()]);
    const merged: HeavyHitter[] = [];
    for (const key of keys) {
      const a = this.entries.get(key);
      const b = other.entries.get(key);
      merged.push({
        key,
        count: (a?.count ?? minA) + (b?.count ?? minB),
        error: (a?.error ?? minA) + (b?.error ?? minB),
        ...((b?.label ?? a?.label) !== undefined ? { label: (b?.label ?? a?.label)! } : {}),
      });
    }
    merged.sort(byCountDesc);
    return new SpaceSaving(capacity, merged.slice(0, capacity), this.total + other.total);
  }

  top(k: number, filter?: (h: HeavyHitter) => boolean): HeavyHitter[] {
    return [...this.entries.values()].filter((h) => !filter || filter(h)).sort(byCountDesc).slice(0, k);
  }

  toJSON(): { capacity: number; total: number; entries: HeavyHitter[] } {
    return { capacity: this.capacity, total: this.total, entries: [...this.entries.values()].sort(byCountDesc) };
  }

  static fromJSON(json: { capacity: number; total: number; entries: HeavyHitter[] }): SpaceSaving {
    return new SpaceSaving(json.capacity, json.entries, json.total);
  }

  private minEntry(): HeavyHitter | undefined {
    let min: HeavyHitter | undefined;
    for (const e of this.entries.values()) if (!min || e.count < min.count || (e.count === min.count && e.key > min.key)) min = e;
    return min;
  }
}

const byCountDesc = (a: HeavyHitter, b: HeavyHitter) => b.count - a.count || a.key.localeCompare(b.key);
