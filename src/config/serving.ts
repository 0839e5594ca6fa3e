import { z } from 'zod';
import { parseEnvironment, type Env } from './environment';

/**
 * Configuration of the API functions, from the environment (set by lib/recommend-api.ts in AWS and by the
 * local server here), validated once at cold start.
 */
const common = {
  /** Allowed CORS origins: `*` or a comma-separated list. */
  CORS_ALLOW_ORIGIN: z.string().min(1).default('*'),
};

const ReadApiConfigSchema = z.object({
  ...common,
  LAKE_BUCKET: z.string().min(3, 'LAKE_BUCKET must name the data lake bucket (models/ live there)'),
  FEATURES_TABLE: z.string().min(3, 'FEATURES_TABLE must name the DynamoDB feature table'),
  /** Re-check models/production.json at most this often; every instance serves a new version within it. */
  MODEL_REFRESH_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** How long a recommendation waits for the user's fresh events before answering without them. */
  FRESH_EVENTS_TIMEOUT_MS: z.coerce.number().int().min(1).max(10_000).default(250),
  /** How long this instance may reuse one read of a user's fresh events (ms); 0 reads on every request. */
  FRESH_EVENTS_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** The shop analytics window table; the /analytics routes answer 404 without it. */
  ANALYTICS_TABLE: z.string().min(3).optional(),
});

const EventsApiConfigSchema = z.object({
  ...common,
  EVENTS_STREAM: z.string().min(1, 'EVENTS_STREAM must name the Kinesis event stream'),
});

export type ReadApiConfig = z.output<typeof ReadApiConfigSchema>;
export type EventsApiConfig = z.output<typeof EventsApiConfigSchema>;

export const loadReadApiConfig = (env: Env = process.env): ReadApiConfig => parseEnvironment(ReadApiConfigSchema, env, 'read API');
export const loadEventsApiConfig = (env: Env = process.env): EventsApiConfig => parseEnvironment(EventsApiConfigSchema, env, 'events API');
