import { z } from 'zod';
import { parseEnvironment, withoutEmpty, type Env } from './environment';

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
  /**
   * The live item catalogue's table. Optional: without it there is no catalogue, and every item of the model
   * counts as available.
   */
  CATALOG_TABLE: z.string().min(3, 'CATALOG_TABLE must name the DynamoDB catalogue table').optional(),
  /**
   * How often this instance pulls the catalogue's change feed (ms): a catalogue write is visible here within
   * this plus the index's propagation (src/catalog/live-catalogue.ts).
   */
  CATALOG_REFRESH_MS: z.coerce.number({ message: 'CATALOG_REFRESH_MS must be a number of milliseconds' }).int('CATALOG_REFRESH_MS must be an integer').min(100, 'CATALOG_REFRESH_MS must be at least 100').max(60_000, 'CATALOG_REFRESH_MS must be at most 60000').default(2000),
  /** What users with no usable history are answered: the model's popular items, or what is trending now. */
  COLD_START_STRATEGY: z.enum(['popular', 'trending'], { message: 'COLD_START_STRATEGY must be popular or trending' }).default('popular'),
  /** The compiled rules definition (filters, promotions, exploration) as compact JSON; none when absent. */
  RULES_JSON: z.string().min(2, 'RULES_JSON must be the rules definition as JSON').max(4000, 'RULES_JSON must be at most 4000 characters').optional(),
});

const EventsApiConfigSchema = z.object({
  ...common,
  EVENTS_STREAM: z.string().min(1, 'EVENTS_STREAM must name the Kinesis event stream'),
});

const CatalogApiConfigSchema = z.object({
  ...common,
  CATALOG_TABLE: z.string({ message: 'CATALOG_TABLE must name the DynamoDB catalogue table' }).min(3, 'CATALOG_TABLE must name the DynamoDB catalogue table'),
});

/** The experiment control function (`admin`): the lake holds the production pointer and the experiment log. */
const AdminApiConfigSchema = z.object({
  ...common,
  LAKE_BUCKET: z.string().min(3, 'LAKE_BUCKET must name the data lake bucket (models/production.json lives there)'),
  /** The read instances' refresh bound, named in the answers (they follow a change within it). */
  MODEL_REFRESH_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  /** The shop analytics window table: GET /admin/experiment reports the attribution from it; without it, none. */
  ANALYTICS_TABLE: z.string().min(3, 'ANALYTICS_TABLE must name the analytics window table').optional(),
});

export type ReadApiConfig = z.output<typeof ReadApiConfigSchema>;
export type AdminApiConfig = z.output<typeof AdminApiConfigSchema>;
export type EventsApiConfig = z.output<typeof EventsApiConfigSchema>;
export type CatalogApiConfig = z.output<typeof CatalogApiConfigSchema>;

export const loadReadApiConfig = (env: Env = process.env): ReadApiConfig => parseEnvironment(ReadApiConfigSchema, env, 'read API');
export const loadEventsApiConfig = (env: Env = process.env): EventsApiConfig => parseEnvironment(EventsApiConfigSchema, env, 'events API');
export const loadAdminApiConfig = (env: Env = process.env): AdminApiConfig => parseEnvironment(AdminApiConfigSchema, withoutEmpty(env), 'admin API');
export const loadCatalogApiConfig = (env: Env = process.env): CatalogApiConfig => parseEnvironment(CatalogApiConfigSchema, env, 'catalog API');
