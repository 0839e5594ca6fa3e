import { z } from 'zod';
import { MAX_ATTRIBUTION_WINDOW_MINUTES } from '../analytics/implicit-attribution';
import { parseEnvironment, type Env } from './environment';

/** Configuration of the analytics stream consumer (set by lib/shop-analytics.ts), validated on first use. */
const AnalyticsConsumerConfigSchema = z.object({
  ANALYTICS_TABLE: z.string().min(3, 'ANALYTICS_TABLE must name the analytics DynamoDB table'),
  /**
   * Implicit attribution window (README "Attribution"): a click, add-to-cart or purchase without a recommendation
   * id is credited to the user's latest earlier impression of the item within this many minutes. 0 (the default) = off.
   */
  ATTRIBUTION_WINDOW_MINUTES: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return 0;
      if (/^\d{1,5}$/.test(raw) && Number(raw) <= MAX_ATTRIBUTION_WINDOW_MINUTES) return Number(raw);
      ctx.addIssue({ code: 'custom', message: `ATTRIBUTION_WINDOW_MINUTES must be a whole number of minutes from 0 (off) to ${MAX_ATTRIBUTION_WINDOW_MINUTES} (got ${JSON.stringify(raw)})` });
      return z.NEVER;
    }),
});

export type AnalyticsConsumerConfig = z.output<typeof AnalyticsConsumerConfigSchema>;

export const loadAnalyticsConsumerConfig = (env: Env = process.env): AnalyticsConsumerConfig =>
  parseEnvironment(AnalyticsConsumerConfigSchema, env, 'analytics consumer');
