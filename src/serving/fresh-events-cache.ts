import type { RecentInteraction } from '../domain/features';

export interface FreshEventsCacheOptions {
  /** How long a user's fresh events may be reused (ms); 0 reads DynamoDB on every request. */
  ttlMs: number;
  /** Users kept at most (least recently stored dropped first). */
  maxUsers?: number;
  now?: () => number;
}

type Entry = { at: number; recent: RecentInteraction[] };

/**
 * A per-instance micro-cache of users' fresh events. Within `ttlMs`, a user's repeated requests (a page
 * asking for several widgets, a burst from one client) and concurrent ones share one DynamoDB read. Fresh
 * events already reach the table after the consumer's batching window (seconds), so a TTL of about a
 * second changes how fresh answers are very little while removing most reads under load. Failures are
 * never cached.
 */
export class FreshEventsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<RecentInteraction[]>>();
  private readonly now: () => number;
  private readonly maxUsers: number;

  constructor(
    private readonly load: (userId: string) => Promise<RecentInteraction[]>,
    private readonly options: FreshEventsCacheOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.maxUsers = options.maxUsers ?? 10_000;
  }

  async get(userId: string): Promise<RecentInteraction[]> {
    if (this.options.ttlMs <= 0) return this.load(userId);
    const hit = this.entries.get(userId);
    if (hit && this.now() - hit.at < this.options.ttlMs) return hit.recent;
    const pending = this.inflight.get(userId);
    if (pending) return pending;
    const started = this.now();
    const read = this.load(userId)
      .then((recent) => {
        this.entries.delete(userId);
        this.entries.set(userId, { at: started, recent });
        if (this.entries.size > this.maxUsers) this.entries.delete(this.entries.keys().next().value!);
        return recent;
      })
      .finally(() => this.inflight.delete(userId));
    this.inflight.set(userId, read);
    return read;
  }
}
