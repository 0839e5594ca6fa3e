import type { DynamoFeatureTable } from '../adapters/dynamo-feature-table';
import type { UserFeatures } from '../domain/features';

/** The nightly job's batch-truth row of a user (`sk = EXACT`), as far as the API shows it. */
export interface ExactUserFeatures {
  features: Record<string, unknown>;
  asOf?: string;
  /** Event-time range the nightly job computed the features over. */
  window?: { from: string; to: string };
}

/** What the read API needs from the feature store. */
export interface UserFeatureReader {
  /** The speed layer: merged real-time rows, with `recent` newest first. */
  realtime(userId: string): Promise<UserFeatures | undefined>;
  /** The nightly exact features, absent until the nightly job has written them. */
  exact(userId: string): Promise<ExactUserFeatures | undefined>;
}

/** The DynamoDB feature table, read side: Query for the real-time rows, BatchGetItem for the exact row. */
export class DynamoUserFeatureReader implements UserFeatureReader {
  constructor(private readonly table: DynamoFeatureTable) {}

  realtime(userId: string): Promise<UserFeatures | undefined> {
    return this.table.userFeatures(userId);
  }

  async exact(userId: string): Promise<ExactUserFeatures | undefined> {
    const row = (await this.table.exactUserFeatures(userId)) as
      | { features?: unknown; asOf?: unknown; window?: { from: string; to: string } }
      | undefined;
    // Tolerate rows written before the nightly contract settled: show only what is well-formed.
    if (!row || typeof row.features !== 'object' || row.features === null) return undefined;
    return {
      features: row.features as Record<string, unknown>,
      ...(typeof row.asOf === 'string' ? { asOf: row.asOf } : {}),
      ...(row.window && typeof row.window === 'object' ? { window: row.window } : {}),
    };
  }
}
