import { join } from 'node:path';
import { createDynamoDocumentClient, createKinesisClient, createS3Client, usesEndpointOverride } from '../adapters/aws-clients';
import type { DynamoDBDocumentClient, KinesisClient, S3Client } from '../adapters/aws-clients';
import { ensureResources, type ResourceNames } from '../adapters/local-resources';
import { DEFAULT_NAMES } from '../config/runtime';
import { startEmulators, type RunningEmulators } from './emulators';
import { localRulesJson } from './local-rules';

export type LocalResourceNames = ResourceNames & { analyticsTable: string; catalogTable: string };

/** The names the CDK stack gives its resources, or those the environment says. */
export function localResourceNames(): LocalResourceNames {
  return {
    lakeBucket: process.env.LAKE_BUCKET ?? DEFAULT_NAMES.lakeBucket,
    featuresTable: process.env.FEATURES_TABLE ?? DEFAULT_NAMES.featuresTable,
    eventsStream: process.env.EVENTS_STREAM ?? DEFAULT_NAMES.eventsStream,
    eventsStreamShards: DEFAULT_NAMES.eventsStreamShards,
    analyticsTable: process.env.ANALYTICS_TABLE ?? `${DEFAULT_NAMES.prefix}-analytics`,
    catalogTable: process.env.CATALOG_TABLE ?? DEFAULT_NAMES.catalogTable,
  };
}

export interface LocalAwsOptions {
  /** The emulators keep their data in its `data/` folder. */
  dataDir: string;
  /** `dataDir` as the user gave it, for the log. */
  dataDirLabel: string;
  names: LocalResourceNames;
  /** Also create the analytics table. */
  analytics: boolean;
  log: (line: string) => void;
}

/**
 * S3, DynamoDB and Kinesis for the local pipeline: emulators in this process (returned, to stop), or
 * whatever AWS_ENDPOINT_URL* points at; and the environment the handlers read.
 */
export async function startLocalAws(options: LocalAwsOptions): Promise<RunningEmulators | undefined> {
  const { log, names } = options;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  let emulators: RunningEmulators | undefined;
  if (!usesEndpointOverride()) {
    emulators = await startEmulators({ dataDir: join(options.dataDir, 'data') });
    Object.assign(process.env, emulators.env);
    log(`AWS emulators in-process (data in ${join(options.dataDirLabel, 'data')}): S3 ${emulators.endpoints.s3}, DynamoDB ${emulators.endpoints.dynamodb}, Kinesis ${emulators.endpoints.kinesis}`);
  } else {
    log(`using AWS endpoints from the environment (${process.env.AWS_ENDPOINT_URL ?? 'service-specific AWS_ENDPOINT_URL_*'})`);
  }
  Object.assign(process.env, {
    LAKE_BUCKET: names.lakeBucket,
    FEATURES_TABLE: names.featuresTable,
    EVENTS_STREAM: names.eventsStream,
    ANALYTICS_TABLE: names.analyticsTable,
    CATALOG_TABLE: names.catalogTable,
  });
  // The shop's filters and promotions, as `cdk deploy` would ship them (rules.json, or RECSYS_RULES_FILE).
  if (process.env.RULES_JSON === undefined) {
    const rules = localRulesJson();
    if (rules) process.env.RULES_JSON = rules;
  }
  return emulators;
}

export interface LocalClients {
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  kinesis: KinesisClient;
}

/** Clients for the endpoints `startLocalAws` set, once the resources the CDK stack defines exist there. */
export async function createLocalResources(options: Omit<LocalAwsOptions, 'dataDir' | 'dataDirLabel'>): Promise<LocalClients> {
  const { log, names } = options;
  const clients = { s3: createS3Client(), ddb: createDynamoDocumentClient(), kinesis: createKinesisClient() };
  await ensureResources(clients, { ...names, analyticsTable: options.analytics ? names.analyticsTable : undefined });
  log(`resources ready: bucket ${names.lakeBucket}, tables ${names.featuresTable}, ${names.catalogTable}${options.analytics ? ` and ${names.analyticsTable}` : ''}, stream ${names.eventsStream} (${names.eventsStreamShards} shards)`);
  return clients;
}
