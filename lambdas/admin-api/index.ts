import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { AttributionSource } from '../../src/analytics/attribution';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { dynamoAnalyticsReader } from '../../src/adapters/dynamo-analytics-reader';
import { DynamoUserRowEraser, type UserRowEraser } from '../../src/adapters/dynamo-erasure';
import { observability } from '../../src/adapters/observability';
import { perContainer } from '../../src/adapters/per-container';
import { S3Lake } from '../../src/adapters/s3-lake';
import { S3ModelRegistry } from '../../src/adapters/s3-model-registry';
import { loadAdminApiConfig } from '../../src/config/serving';
import { lakeExperimentLog, type ExperimentOperatorDeps } from '../../src/experiments/operator';
import { createApiHandler, type ProxyHandler } from '../../src/serving/api-handler';
import { ErasureApi } from '../../src/serving/erasure-api';
import { ExperimentApi } from '../../src/serving/experiment-api';
import { erasureTablesOf } from '../../src/erasure/request';
import { servingLog } from '../../src/serving/powertools-log';
import { publishMetrics } from '../../src/serving/publish-metrics';

const { logger, metrics } = observability('admin-api');
const log = servingLog(logger);

/** The operator's ports, and the attribution the status reports (the analytics table, when configured). */
export interface AdminApiDeps extends ExperimentOperatorDeps {
  attribution?: AttributionSource;
  /** DELETE /admin/users/{userId}: the per-user rows and where the request is recorded (absent: the route answers 500). */
  erasure?: { rows: UserRowEraser; lake: S3Lake };
}

function buildAdminHandler(deps: AdminApiDeps, corsAllowOrigin: string, refreshSeconds: number): ProxyHandler {
  const { attribution, erasure, ...operator } = deps;
  const routes = { ...new ExperimentApi(operator, { log, refreshSeconds, ...(attribution ? { attribution } : {}) }).routes(), ...(erasure ? new ErasureApi({ ...erasure, log }).routes() : {}) };
  return createApiHandler(routes, { corsAllowOrigin, log });
}

/** The registry, the analytics reader and the experiment routes, built once per container on first use. */
const adminApi = perContainer<ProxyHandler>(() => {
  const config = loadAdminApiConfig();
  const lake = new S3Lake(createS3Client(), config.LAKE_BUCKET);
  const ddb = createDynamoDocumentClient();
  const attribution = config.ANALYTICS_TABLE ? dynamoAnalyticsReader(ddb, config.ANALYTICS_TABLE) : undefined;
  const erasure = { rows: new DynamoUserRowEraser(ddb, erasureTablesOf(process.env)), lake };
  return buildAdminHandler({ registry: new S3ModelRegistry(lake), log: lakeExperimentLog(lake), erasure, ...(attribution ? { attribution } : {}) }, config.CORS_ALLOW_ORIGIN, config.MODEL_REFRESH_SECONDS);
});

/** Lets tests and the local server rebuild the handler after changing the environment, or inject the ports. */
export function resetAdminApi(deps?: AdminApiDeps): void {
  if (!deps) return adminApi.reset();
  const config = loadAdminApiConfig();
  adminApi.reset(buildAdminHandler(deps, config.CORS_ALLOW_ORIGIN, config.MODEL_REFRESH_SECONDS));
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const res = await adminApi()(event);
  metrics.addMetric(res.statusCode >= 500 ? 'Responses5xx' : res.statusCode >= 400 ? 'Responses4xx' : 'Responses2xx', MetricUnit.Count, 1);
  return res;
}

export const handler = middy(handle)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
