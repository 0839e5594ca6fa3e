import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { observability } from '../../src/adapters/observability';
import { S3Lake } from '../../src/adapters/s3-lake';
import { publishMetrics } from '../../src/serving/publish-metrics';
import { servingLog } from '../../src/serving/powertools-log';
import { createApiHandler, type ProxyHandler } from '../../src/serving/api-handler';
import { loadReadApiConfig } from '../../src/config/serving';
import { DynamoUserFeatureReader } from '../../src/serving/features-reader';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { perContainer } from '../../src/adapters/per-container';
import { ModelStore } from '../../src/serving/model-store';
import { ReadApi } from '../../src/serving/read-api';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { analyticsApiRoutes } from '../../src/analytics/analytics-routes';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { LiveCatalogue } from '../../src/catalog/live-catalogue';
import { compileRulesText, EMPTY_RULES } from '../../src/rules/rules-definition';
import { ServingRules } from '../../src/serving/serving-rules';

/** How long a request waits for a due catalogue refresh before answering from what the instance holds. */
const CATALOGUE_REFRESH_WAIT_MS = 250;

const { logger, metrics } = observability('recommend-api');
const log = servingLog(logger);

export interface ReadApiInstance {
  store: ModelStore;
  catalogue?: LiveCatalogue;
  handle: ProxyHandler;
}

/** Clients, the model store and the routes, built once per container on first use. */
const readApi = perContainer<ReadApiInstance>(() => {
  const config = loadReadApiConfig();
  const store = new ModelStore(new S3ModelRegistry(new S3Lake(createS3Client(), config.LAKE_BUCKET)), { refreshSeconds: config.MODEL_REFRESH_SECONDS, log });
  const features = new DynamoUserFeatureReader(new DynamoFeatureTable(createDynamoDocumentClient(), config.FEATURES_TABLE));
  // A broken definition fails the cold start loudly; CDK validated the same text at synth.
  const rules = config.RULES_JSON ? compileRulesText(config.RULES_JSON, 'RULES_JSON') : EMPTY_RULES;
  const catalogue = config.CATALOG_TABLE
    ? new LiveCatalogue(new DynamoCatalog(createDynamoDocumentClient(), config.CATALOG_TABLE), { refreshMs: config.CATALOG_REFRESH_MS, log })
    : undefined;
  const analyticsReader = config.ANALYTICS_TABLE ? dynamoAnalyticsReader(createDynamoDocumentClient(), config.ANALYTICS_TABLE) : undefined;
  const api = new ReadApi(store, features, {
    ...(analyticsReader
      ? {
          livePopular: (k: number, exclude: ReadonlySet<string>) => analyticsReader.popularNow(k, exclude),
          trending: (windowMs: number, k: number, accept?: (itemId: string) => boolean) => analyticsReader.trending(windowMs, { k, ...(accept ? { accept } : {}) }),
        }
      : {}),
    rules: new ServingRules({ rules, ...(catalogue ? { catalogue } : {}), catalogueWaitMs: CATALOGUE_REFRESH_WAIT_MS, log }),
    coldStart: config.COLD_START_STRATEGY,
    freshEventsTimeoutMs: config.FRESH_EVENTS_TIMEOUT_MS,
    freshEventsCacheMs: config.FRESH_EVENTS_CACHE_MS,
    log,
    onRecommend: ({ strategy, freshEvents, freshUnavailable, modelLoaded, promoted, explored, fewerThanK }) => {
      metrics.addMetric(strategy === 'personalized' ? 'PersonalizedAnswers' : strategy === 'trending' ? 'TrendingAnswers' : 'PopularAnswers', MetricUnit.Count, 1);
      if (promoted > 0) metrics.addMetric('PromotedItems', MetricUnit.Count, promoted);
      if (explored > 0) metrics.addMetric('ExploredNewItems', MetricUnit.Count, explored);
      if (fewerThanK) metrics.addMetric('AnswersFewerThanK', MetricUnit.Count, 1);
      metrics.addMetric('FreshEventsUsed', MetricUnit.Count, freshEvents);
      if (freshUnavailable) metrics.addMetric('FreshEventsUnavailable', MetricUnit.Count, 1);
      if (!modelLoaded) metrics.addMetric('AnswersWithoutModel', MetricUnit.Count, 1);
    },
  });
  const analytics = analyticsApiRoutes(analyticsReader);
  return { store, ...(catalogue ? { catalogue } : {}), handle: createApiHandler({ ...api.routes(), ...analytics }, { corsAllowOrigin: config.CORS_ALLOW_ORIGIN, log }) };
});

/** Lets tests and the local server rebuild the instance after changing the environment (or inject one). */
export const resetReadApi = readApi.reset;

/** The model store of this container (the local server and the bench read its health and load time). */
export function readApiModelStore(): ModelStore {
  return readApi().store;
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const res = await readApi().handle(event);
  // One count per answer class, so every invocation flushes at least one metric.
  metrics.addMetric(res.statusCode >= 500 ? 'Responses5xx' : res.statusCode >= 400 ? 'Responses4xx' : 'Responses2xx', MetricUnit.Count, 1);
  return res;
}

export const handler = middy(handle)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));

// In Lambda, start fetching the production model while the rest of the init phase runs; the first
// request then waits for this same load instead of starting its own.
if (process.env.AWS_LAMBDA_FUNCTION_NAME && !process.env.VITEST) {
  try {
    void readApi().store.get();
    void readApi().catalogue?.ready().catch(() => undefined);
  } catch (err) {
    logger.error('read API could not start; requests will report the configuration error', { error: err as Error });
  }
}
