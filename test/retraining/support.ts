import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handler as consumer, resetConsumer } from '../../lambdas/consumer/index';
import { readStreamAsLambdaEvents } from '../../src/local/kinesis-reader';
import { S3Lake } from '../../src/adapters/s3-lake';
import type { RetrainingLake } from '../../src/retraining/lake';
import type { TestAws } from '../support/aws-env';
import { lambdaContext } from '../support/lambda';

/** Fills the lake the way production does: events onto Kinesis, then the real consumer handler. */
export async function fillLakeThroughConsumer(aws: TestAws, events: unknown[], batchSize = 500): Promise<void> {
  resetConsumer();
  await aws.putRecords(events);
  for (const batch of await readStreamAsLambdaEvents(aws.kinesis, aws.names.eventsStream, batchSize)) {
    const res = await consumer(batch, lambdaContext('consumer'));
    if ((res?.batchItemFailures ?? []).length > 0) throw new Error('consumer reported failures while filling the lake');
  }
}

export function lakeOf(aws: TestAws): RetrainingLake {
  return new S3Lake(aws.s3, aws.names.lakeBucket);
}

/**
 * A stand-in for the API's instances: `GET /health` answers `{ modelVersion }` with whatever `version()`
 * returns for that request (tests make instances lag behind this way).
 */
export async function startHealthServer(version: (requestNumber: number) => string | null): Promise<{ url: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests += 1;
    if (!req.url?.startsWith('/prod/health')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', modelVersion: version(requests) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/prod`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
