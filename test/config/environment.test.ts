import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnvironment, withoutEmpty } from '../../src/config/environment';
import { loadAnalyticsConsumerConfig } from '../../src/config/analytics';
import { loadRetrainingConfig } from '../../src/config/retraining';
import { loadRuntimeConfig } from '../../src/config/runtime';
import { loadEventsApiConfig, loadReadApiConfig } from '../../src/config/serving';

const Schema = z.object({
  BUCKET: z.string().min(3, 'BUCKET must name a bucket'),
  LIMIT: z.coerce.number().int().min(1).max(10).default(5),
  FLAG: z.stringbool().default(false),
});

describe('parseEnvironment', () => {
  it('applies the defaults and coerces what is set', () => {
    expect(parseEnvironment(Schema, { BUCKET: 'lake' }, 'test')).toEqual({ BUCKET: 'lake', LIMIT: 5, FLAG: false });
    expect(parseEnvironment(Schema, { BUCKET: 'lake', LIMIT: '7', FLAG: 'true', OTHER: 'x' }, 'test')).toEqual({ BUCKET: 'lake', LIMIT: 7, FLAG: true });
  });

  it('names every bad variable in one error, saying which configuration it is', () => {
    let message = '';
    try {
      parseEnvironment(Schema, { BUCKET: 'x', LIMIT: '99', FLAG: 'maybe' }, 'test function');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Invalid configuration \(test function\): /);
    expect(message).toContain('BUCKET: BUCKET must name a bucket');
    expect(message).toMatch(/LIMIT: [^;]+/);
    expect(message).toMatch(/FLAG: [^;]+/);
    expect(message.split('; ')).toHaveLength(3);
  });

  it('names a missing variable', () => {
    expect(() => parseEnvironment(Schema, {}, 'test')).toThrow(/Invalid configuration \(test\): BUCKET: /);
  });

  it('counts empty variables as unset only where asked (withoutEmpty)', () => {
    expect(withoutEmpty({ A: '', B: undefined, C: 'c' })).toEqual({ C: 'c' });
    expect(parseEnvironment(Schema, withoutEmpty({ BUCKET: 'lake', LIMIT: '' }), 'test').LIMIT).toBe(5);
  });
});

describe('every function configuration goes through it', () => {
  it('names the bad variables of each', () => {
    expect(() => loadRuntimeConfig({ FEATURES_TABLE: 'features' })).toThrow(/^Invalid configuration \(stream consumer\): LAKE_BUCKET: /);
    expect(() => loadReadApiConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features', MODEL_REFRESH_SECONDS: '-5' })).toThrow(/^Invalid configuration \(read API\): MODEL_REFRESH_SECONDS: /);
    expect(() => loadEventsApiConfig({})).toThrow(/^Invalid configuration \(events API\): EVENTS_STREAM: /);
    expect(() => loadAnalyticsConsumerConfig({ ANALYTICS_TABLE: 'x' })).toThrow('Invalid configuration (analytics consumer): ANALYTICS_TABLE: ANALYTICS_TABLE must name the analytics DynamoDB table');
    for (const bad of ['-1', '1.5', '10081', 'thirty']) {
      expect(() => loadAnalyticsConsumerConfig({ ANALYTICS_TABLE: 'analytics', ATTRIBUTION_WINDOW_MINUTES: bad })).toThrow(/^Invalid configuration \(analytics consumer\): ATTRIBUTION_WINDOW_MINUTES: ATTRIBUTION_WINDOW_MINUTES must be a whole number of minutes from 0 \(off\) to 10080/);
    }
    expect(() => loadRetrainingConfig({ LAKE_BUCKET: 'lake', EVAL_K: '0', GATE_METRIC: 'auc' })).toThrow(/^Invalid configuration \(retraining\): EVAL_K: .*; GATE_METRIC: /);
  });

  it('applies the defaults of each', () => {
    expect(loadRuntimeConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features' }).RECENT_ITEMS_LIMIT).toBe(50);
    expect(loadReadApiConfig({ LAKE_BUCKET: 'lake', FEATURES_TABLE: 'features' })).toMatchObject({ CORS_ALLOW_ORIGIN: '*', MODEL_REFRESH_SECONDS: 30, FRESH_EVENTS_TIMEOUT_MS: 250 });
    expect(loadEventsApiConfig({ EVENTS_STREAM: 'events' })).toEqual({ CORS_ALLOW_ORIGIN: '*', EVENTS_STREAM: 'events' });
    expect(loadAnalyticsConsumerConfig({ ANALYTICS_TABLE: 'analytics' })).toEqual({ ANALYTICS_TABLE: 'analytics', ATTRIBUTION_WINDOW_MINUTES: 0 });
    expect(loadAnalyticsConsumerConfig({ ANALYTICS_TABLE: 'analytics', ATTRIBUTION_WINDOW_MINUTES: '' }).ATTRIBUTION_WINDOW_MINUTES).toBe(0);
    expect(loadAnalyticsConsumerConfig({ ANALYTICS_TABLE: 'analytics', ATTRIBUTION_WINDOW_MINUTES: '30' }).ATTRIBUTION_WINDOW_MINUTES).toBe(30);
    // The retraining functions also count "" as unset.
    expect(loadRetrainingConfig({ LAKE_BUCKET: 'lake', EVAL_K: '', MODEL_CONFIG: '' })).toMatchObject({ EVAL_K: 10, GATE_METRIC: 'ndcg', MODEL_CONFIG: {} });
  });
});
