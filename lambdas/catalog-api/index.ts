import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import { observability } from '../../src/adapters/observability';
import { perContainer } from '../../src/adapters/per-container';
import type { CatalogWriter } from '../../src/catalog/catalog-store';
import { loadCatalogApiConfig } from '../../src/config/serving';
import { createApiHandler, type ProxyHandler } from '../../src/serving/api-handler';
import { CatalogApi } from '../../src/serving/catalog-api';
import { servingLog } from '../../src/serving/powertools-log';
import { publishMetrics } from '../../src/serving/publish-metrics';

const { logger, metrics } = observability('catalog-api');
const log = servingLog(logger);

function buildCatalogHandler(writer: CatalogWriter, corsAllowOrigin: string): ProxyHandler {
  const api = new CatalogApi(writer, {
    log,
    onOutcome: ({ written, rejected, failed, withdrawn }) => {
      metrics.addMetric('ItemsWritten', MetricUnit.Count, written);
      metrics.addMetric('ItemsRejected', MetricUnit.Count, rejected);
      metrics.addMetric('ItemsFailed', MetricUnit.Count, failed);
      metrics.addMetric('ItemsWithdrawn', MetricUnit.Count, withdrawn);
    },
  });
  return createApiHandler({ putItems: (request) => api.put(request), deleteItem: (request) => api.delete(request) }, { corsAllowOrigin, log });
}

/** The catalogue store and routes, built once per container on first use. */
const catalogApi = perContainer<ProxyHandler>(() => {
  const config = loadCatalogApiConfig();
  return buildCatalogHandler(new DynamoCatalog(createDynamoDocumentClient(), config.CATALOG_TABLE), config.CORS_ALLOW_ORIGIN);
});

/** Lets tests and the local server rebuild the handler after changing the environment, or inject a writer. */
export function resetCatalogApi(writer?: CatalogWriter): void {
  catalogApi.reset(writer ? buildCatalogHandler(writer, loadCatalogApiConfig().CORS_ALLOW_ORIGIN) : undefined);
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const res = await catalogApi()(event);
  metrics.addMetric(res.statusCode >= 500 ? 'Responses5xx' : res.statusCode >= 400 ? 'Responses4xx' : 'Responses2xx', MetricUnit.Count, 1);
  return res;
}

export const handler = middy(handle)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
