import type { HybridConfig } from './model-config';

/** Bumped whenever the payload layout changes; readers refuse artifacts of another version. */
export const MODEL_FORMAT_VERSION = 1;

/** What a model says about itself: enough to audit, compare and roll back a deployed model. */
export interface ModelMetadata {
  formatVersion: number;
  /** Free-form version label (the nightly job sets it to the S3 prefix). */
  modelVersion?: string;
  /** ISO-8601 time of training. */
  createdAt: string;
  config: HybridConfig;
  trainingData: {
    interactions: number;
    users: number;
    items: number;
    /** ISO-8601 time of the earliest training interaction. */
    from: string;
    /** ISO-8601 time of the latest training interaction. */
    to: string;
  };
  /** The collaborative algorithm actually trained ('auto' resolved). */
  algorithm?: 'ease' | 'itemknn' | 'rp3beta';
  /** Offline metrics, e.g. { 'ndcg@10': 0.48 }, filled in by whoever evaluated the model. */
  metrics?: Record<string, number>;
  /** Seconds spent training. */
  trainingSeconds?: number;
}
