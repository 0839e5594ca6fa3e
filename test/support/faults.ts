import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { S3Lake } from '../../src/adapters/s3-lake';
import { seededRandom } from '../../src/domain/event-generator';
import { ensureFeatureTable } from '../../src/adapters/local-resources';
import type { TestAws } from './aws-env';

/** Empties the lake bucket and recreates the feature table, for a second run on the same stream. */
export async function emptyLakeAndTable(aws: TestAws): Promise<void> {
  const keys = await new S3Lake(aws.s3, aws.names.lakeBucket).listKeys('');
  if (keys.length) await aws.s3.send(new DeleteObjectsCommand({ Bucket: aws.names.lakeBucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  await aws.ddb.send(new DeleteTableCommand({ TableName: aws.names.featuresTable }));
  await ensureFeatureTable(aws.ddb, aws.names.featuresTable);
}

type Middleware = (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => (args: unknown) => Promise<unknown>;

/** What an AWS outage looks like to a client once the SDK's own retries are spent: a 5xx service error. */
export const transientFault = () => Object.assign(new Error('We encountered an internal error. Please try again. (injected fault)'), { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } });

/**
 * Makes a real SDK client fail some of its requests, as a flaky AWS dependency does: requests of the
 * matching commands for which `shouldFail(input)` is true throw before they are sent (a transient 5xx error
 * unless `fault` says otherwise: a refusal such as ValidationException is not what an outage looks like, and
 * the row store sets rows it refuses aside instead of retrying them).
 */
export function failing<T extends { middlewareStack: { add: (...args: never[]) => void } }>(client: T, commands: RegExp, shouldFail: (input: Record<string, unknown>) => boolean, name = 'injectFault', fault: () => Error = transientFault): { client: T; injected: () => number } {
  let injected = 0;
  const mw: Middleware = (next, context) => async (args) => {
    if (commands.test(context.commandName ?? '') && shouldFail((args as { input: Record<string, unknown> }).input)) {
      injected += 1;
      throw fault();
    }
    return next(args);
  };
  (client.middlewareStack.add as unknown as (mw: Middleware, o: unknown) => void)(mw, { step: 'initialize', name });
  return { client, injected: () => injected };
}

/** Every failure a flaky AWS dependency shows: thrown requests, in a seeded but irregular pattern. */
export function flaky<T extends { middlewareStack: { add: (...args: never[]) => void } }>(client: T, commands: RegExp, rate: number, seed: number): { client: T; injected: () => number } {
  const random = seededRandom(seed);
  return failing(client, commands, () => random() < rate, `inject${seed}`);
}
