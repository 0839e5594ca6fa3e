import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createKinesisClient } from '../../src/adapters/aws-clients';
import { observability } from '../../src/adapters/observability';
import { publishMetrics } from '../../src/serving/publish-metrics';
import { servingLog } from '../../src/serving/powertools-log';
import { createApiHandler, type ProxyHandler } from '../../src/serving/api-handler';
import { loadEventsApiConfig } from '../../src/config/serving';
import { KinesisEventPublisher } from '../../src/adapters/kinesis-publisher';
import type { EventPublisher } from '../../src/serving/event-publisher';
import { EventsApi } from '../../src/serving/events-api';
import { perContainer } from '../../src/adapters/per-container';

const { logger, metrics } = observability('events-api');
const log = servingLog(logger);

function buildEventsHandler(publisher: EventPublisher, corsAllowOrigin: string): ProxyHandler {
  const api = new EventsApi(publisher, ({ accepted, rejected, failed }) => {
    metrics.addMetric('EventsAccepted', MetricUnit.Count, accepted);
    metrics.addMetric('EventsRejected', MetricUnit.Count, rejected);
    metrics.addMetric('EventsFailed', MetricUnit.Count, failed);
  });
  return createApiHandler({ postEvents: (request) => api.post(request) }, { corsAllowOrigin, log });
}

/** The publisher and routes, built once per container on first use. */
const eventsApi = perContainer<ProxyHandler>(() => {
  const config = loadEventsApiConfig();
  return buildEventsHandler(new KinesisEventPublisher(createKinesisClient(), config.EVENTS_STREAM), config.CORS_ALLOW_ORIGIN);
});

/** Lets tests rebuild the handler after changing the environment, or inject a publisher. */
export function resetEventsApi(publisher?: EventPublisher): void {
  eventsApi.reset(publisher ? buildEventsHandler(publisher, loadEventsApiConfig().CORS_ALLOW_ORIGIN) : undefined);
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const res = await eventsApi()(event);
  metrics.addMetric(res.statusCode >= 500 ? 'Responses5xx' : res.statusCode >= 400 ? 'Responses4xx' : 'Responses2xx', MetricUnit.Count, 1);
  return res;
}

export const handler = middy(handle)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
