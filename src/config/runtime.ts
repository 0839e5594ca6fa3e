import { z } from 'zod';
import { parseEnvironment, type Env } from './environment';

/**
 * Runtime configuration of the handlers: one home, read from the environment (set by CDK in AWS and by the
 * local runner on this machine), validated once at start-up so a missing variable fails loudly at cold start.
 */
const RuntimeConfigSchema = z.object({
  LAKE_BUCKET: z.string().min(3, 'LAKE_BUCKET must name the data lake bucket'),
  FEATURES_TABLE: z.string().min(3, 'FEATURES_TABLE must name the DynamoDB feature table'),
  EVENTS_STREAM: z.string().min(1).optional(),
  /** How many recent interactions each user feature row keeps (the API's fresh history). */
  RECENT_ITEMS_LIMIT: z.coerce.number().int().min(1).max(200).default(50),
});

export type RuntimeConfig = z.output<typeof RuntimeConfigSchema>;

export function loadRuntimeConfig(env: Env = process.env): RuntimeConfig {
  return parseEnvironment(RuntimeConfigSchema, env, 'stream consumer');
}

/** Default resource names, shared by the CDK stacks (overridable by context) and the local runner. */
export const DEFAULT_NAMES = {
  prefix: 'recsys',
  lakeBucket: 'recsys-lake',
  featuresTable: 'recsys-features',
  eventsStream: 'recsys-events',
  eventsStreamShards: 2,
  /** The live item catalogue (PUT /items, DELETE /items/{itemId}; read by the serving replica). */
  catalogTable: 'recsys-catalog',
} as const;
