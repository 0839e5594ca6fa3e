import { afterEach, describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { handler as readHandler, resetReadApi } from '../../lambdas/api/index';
import { handler as eventsHandler, resetEventsApi } from '../../lambdas/events-api/index';
import { lambdaContext } from '../support/lambda';

const get = (path: string) =>
  ({ httpMethod: 'GET', path, resource: '/{proxy+}', headers: {}, queryStringParameters: null, pathParameters: null, body: null, isBase64Encoded: false, requestContext: { requestId: 'r' } }) as unknown as APIGatewayProxyEvent;

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
  resetReadApi();
  resetEventsApi();
});

describe('API Lambda handlers at cold start', () => {
  it('fail loudly with the missing setting named when configuration is incomplete', async () => {
    delete process.env.LAKE_BUCKET;
    process.env.FEATURES_TABLE = 'some-table';
    resetReadApi();
    await expect(readHandler(get('/health'), lambdaContext('read'))).rejects.toThrow(/LAKE_BUCKET/);
    delete process.env.EVENTS_STREAM;
    resetEventsApi();
    await expect(eventsHandler({ ...get('/events'), httpMethod: 'POST', body: '[]' }, lambdaContext('events'))).rejects.toThrow(/EVENTS_STREAM/);
  });

  it('reject an out-of-range refresh interval', async () => {
    Object.assign(process.env, { LAKE_BUCKET: 'lake', FEATURES_TABLE: 'table', MODEL_REFRESH_SECONDS: '-5' });
    resetReadApi();
    await expect(readHandler(get('/health'), lambdaContext('read'))).rejects.toThrow(/MODEL_REFRESH_SECONDS/);
  });
});
