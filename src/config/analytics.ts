import { z } from 'zod';
import { parseEnvironment, type Env } from './environment';

/** Configuration of the analytics stream consumer (set by lib/shop-analytics.ts), validated on first use. */
const AnalyticsConsumerConfigSchema = z.object({
  ANALYTICS_TABLE: z.string().min(3, 'ANALYTICS_TABLE must name the analytics DynamoDB table'),
});

export type AnalyticsConsumerConfig = z.output<typeof AnalyticsConsumerConfigSchema>;

export const loadAnalyticsConsumerConfig = (env: Env = process.env): AnalyticsConsumerConfig =>
  parseEnvironment(AnalyticsConsumerConfigSchema, env, 'analytics consumer');
