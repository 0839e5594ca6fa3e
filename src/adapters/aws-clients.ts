import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/** The client types, for code outside the adapters that only passes clients along. */
export type { S3Client, DynamoDBDocumentClient, KinesisClient };

type Env = Record<string, string | undefined>;

/** True when the environment points the SDK at an emulator or LocalStack rather than AWS. */
export function usesEndpointOverride(env: Env = process.env): boolean {
  return Boolean(
    env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL_KINESIS,
  );
}

const retry = { maxAttempts: 4 } as const;

/**
 * S3 client from the environment. The SDK itself reads `AWS_ENDPOINT_URL[_S3]`; path-style addressing is
 * needed by s3rver and LocalStack, and checksums only when required keep emulators from storing
 * aws-chunked framing inside objects.
 */
export function createS3Client(env: Env = process.env): S3Client {
  return new S3Client({
    ...retry,
    forcePathStyle: env.AWS_S3_FORCE_PATH_STYLE === 'true' || usesEndpointOverride(env),
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function createDynamoDocumentClient(env: Env = process.env): DynamoDBDocumentClient {
  void env;
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...retry }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** Kinesis client; emulators speak HTTP/1.1 only, so the HTTP/1.1 handler is used where an endpoint is overridden. */
export function createKinesisClient(env: Env = process.env): KinesisClient {
  return new KinesisClient({
    ...retry,
    ...(usesEndpointOverride(env) ? { requestHandler: new NodeHttpHandler() } : {}),
  });
}
