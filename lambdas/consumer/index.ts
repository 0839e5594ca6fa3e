import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { observability } from '../../src/adapters/observability';
import { S3Lake } from '../../src/adapters/s3-lake';
import { loadRuntimeConfig } from '../../src/config/runtime';
import { ingestBatch, type IngestDeps } from '../../src/ingest/ingest-batch';
import { consumeKinesisBatch } from '../../src/adapters/kinesis-records';
import { perContainer } from '../../src/adapters/per-container';
import { ledgerSettingsFromEnv } from '../../src/ingest/event-ledger';

const { logger, metrics } = observability('event-consumer');

/** Clients and config, built once per container on first use. */
const dependencies = perContainer<IngestDeps>(() => {
  const config = loadRuntimeConfig();
  return {
    lake: new S3Lake(createS3Client(), config.LAKE_BUCKET),
    table: new DynamoFeatureTable(createDynamoDocumentClient(), config.FEATURES_TABLE),
    recentLimit: config.RECENT_ITEMS_LIMIT,
    ledger: ledgerSettingsFromEnv(process.env),
  };
});

/** Lets tests and the local runner swap the environment (or inject failing clients) between invocations. */
export const resetConsumer = dependencies.reset;

/** `replay: true` marks a dead-letter replay (`npm run dlq:replay`), which may write below Bronze watermarks. */
export type ConsumerEvent = KinesisStreamEvent & { replay?: boolean };

/** Lands the batch in Bronze and the real-time features; the per-record outcome is the partial batch response. */
const consume = (event: ConsumerEvent) =>
  consumeKinesisBatch(
    event,
    { logger, metrics },
    (records, replay) => ingestBatch(records, dependencies(), { replay }),
    ({ stats, failures }) => ({
      summary: 'batch ingested',
      details: stats,
      counts: {
        RecordsReceived: stats.records,
        EventsQuarantined: stats.quarantined,
        RecordsAlreadyApplied: stats.alreadyApplied,
        DuplicateEvents: stats.duplicates,
        RecordsSetAside: stats.setAside,
        BronzeObjectsWritten: stats.bronzeObjects,
        FeatureRowsWritten: stats.featureRowsWritten,
        LedgerRowsWritten: stats.ledgerRowsWritten,
        RecordsFailed: failures.size,
      },
    }),
    'they can never be stored in the feature table (they are in Bronze)',
  );

export const handler = middy(consume)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
