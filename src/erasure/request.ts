import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ID_PATTERN } from '../domain/events';
import { erasureRequestKey } from '../domain/lake-layout';

/**
 * An erasure request as the admin route records it in the lake (`reports/erasure/requests/<time>-<hash>.json`):
 * the one lake object that holds the user id on purpose, because the nightly EraseUsers step must know whom to
 * erase. It is deleted once the lake holds no trace of the user; `reports/erasure/done/<hash>.json` (no id) stays.
 */
export const ErasureRequestSchema = z.object({
  formatVersion: z.literal(1),
  requestId: z.string().min(1).max(100),
  userId: z.string().regex(ID_PATTERN),
  /** SHA-256 of `userId`, hex: what keys, reports, logs and metrics carry instead of the id. */
  userHash: z.string().regex(/^[0-9a-f]{64}$/),
  requestedAt: z.string(),
  /** Who asked (the IAM caller of the admin route). */
  requestedBy: z.string().max(300),
  /** Feature and analytics rows the route removed at once. */
  removedRows: z.object({ features: z.number().int().min(0), analytics: z.number().int().min(0) }),
});
export type ErasureRequest = z.output<typeof ErasureRequestSchema>;

/** What `reports/erasure/done/<hash>.json` records: the hash only, never the id. */
export interface ErasureDone {
  formatVersion: 1;
  userHash: string;
  requestIds: string[];
  firstRequestedAt: string;
  doneAt: string;
  runId: string;
}

/** The user id rule of the event contract (src/domain/events.ts): the only ids the lake can hold. */
export function isErasableUserId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** SHA-256 of the user id, lowercase hex. */
export function userIdHash(userId: string): string {
  return createHash('sha256').update(userId, 'utf8').digest('hex');
}

/** A short form of the hash for logs and metrics dimensions (still no id). */
export const shortHash = (userHash: string): string => userHash.slice(0, 12);

export function newErasureRequest(userId: string, at: Date, requestedBy: string, removedRows: ErasureRequest['removedRows'], requestId: string): { key: string; request: ErasureRequest } {
  if (!isErasableUserId(userId)) throw new Error('not a user id of the event contract');
  const userHash = userIdHash(userId);
  return {
    key: erasureRequestKey(at, userHash),
    request: { formatVersion: 1, requestId, userId, userHash, requestedAt: at.toISOString(), requestedBy: requestedBy.slice(0, 300), removedRows },
  };
}

/** The request parsed, or undefined for an object that is not one (it is then reported, by key, and left alone). */
export function parseErasureRequest(value: unknown): ErasureRequest | undefined {
  const parsed = ErasureRequestSchema.safeParse(value);
  if (!parsed.success || userIdHash(parsed.data.userId) !== parsed.data.userHash) return undefined;
  return parsed.data;
}

/**
 * ERASURE_MODEL_RETENTION_DAYS (default 0): how long a model version that holds an erased user is kept after the
 * request (0: deleted by the next run). Production and a running experiment's challenger are never deleted; the
 * next deploy replaces them, and the run after it deletes them.
 */
export function erasureModelRetentionDays(env: Record<string, string | undefined>): number {
  const raw = env.ERASURE_MODEL_RETENTION_DAYS?.trim();
  if (!raw) return 0;
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 0 || days > 3650) throw new Error(`retraining configuration: ERASURE_MODEL_RETENTION_DAYS must be a whole number of days 0-3650, got ${JSON.stringify(raw.slice(0, 20))}`);
  return days;
}

/**
 * The tables the erasure removes rows from: FEATURES_TABLE (U#<userId>) and ANALYTICS_TABLE (IMP#<userId>), each
 * when set. Read here rather than in the admin API's config so the read-only experiment routes keep theirs.
 */
export function erasureTablesOf(env: Record<string, string | undefined>): { features?: string; analytics?: string } {
  const name = (key: 'FEATURES_TABLE' | 'ANALYTICS_TABLE'): string | undefined => {
    const v = env[key]?.trim();
    if (!v) return undefined;
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(v)) throw new Error(`erasure configuration: ${key} must name a DynamoDB table (3-255 letters, digits, _ - .)`);
    return v;
  };
  const features = name('FEATURES_TABLE');
  const analytics = name('ANALYTICS_TABLE');
  return { ...(features ? { features } : {}), ...(analytics ? { analytics } : {}) };
}
