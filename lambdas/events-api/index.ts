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

const { logger, metrics } = observability('events-api');
const log = servingLog(logger);

let handleRequest: ProxyHandler | undefined;

function eventsApi(): ProxyHandler {
  if (!handleRequest) {
    const config = loadEventsApiConfig();
    handleRequest = buildEventsHandler(new KinesisEventPublisher(createKinesisClient(), config.EVENTS_STREAM), config.CORS_ALLOW_ORIGIN);
  }
  return handleRequest;
}

function buildEventsHandler(publisher: EventPublisher, corsAllowOrigin: string): ProxyHandler {
  const api = new EventsApi(publisher);
  return createApiHandler(
    {
      postEvents: async (request) => {
        const res = await api.post(request);
        const body = JSON.parse(res.body) as { accepted?: number; rejected?: number; failed?: number };
        metrics.addMetric('EventsAccepted', MetricUnit.Count, body.accepted ?? 0);
        metrics.addMetric('EventsRejected', MetricUnit.Count, body.rejected ?? 0);
        metrics.addMetric('EventsFailed', MetricUnit.Count, body.failed ?? 0);
        return res;
      },
    },
    { corsAllowOrigin, log },
  );
}

/** Lets tests rebuild the handler after changing the environment, or inject a publisher. */
export function resetEventsApi(publisher?: EventPublisher): void {
  handleRequest = publisher ? buildEventsHandler(publisher, loadEventsApiConfig().CORS_ALLOW_ORIGIN) : undefined;
}

async function handle(event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> {
  const res = await eventsApi()(event);
  metrics.addMetric(res.statusCode >= 500 ? 'Responses5xx' : res.statusCode >= 400 ? 'Responses4xx' : 'Responses2xx', MetricUnit.Count, 1);
  return res;
}

export const handler = middy(handle)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(publishMetrics(metrics));
