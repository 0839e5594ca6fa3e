import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
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
    logger,
    (records, replay) => ingestBatch(records, dependencies(), { replay }),
    ({ stats, failures }) => {
      metrics.addMetric('RecordsReceived', MetricUnit.Count, stats.records);
      metrics.addMetric('EventsQuarantined', MetricUnit.Count, stats.quarantined);
      metrics.addMetric('RecordsAlreadyApplied', MetricUnit.Count, stats.alreadyApplied);
      metrics.addMetric('DuplicateEvents', MetricUnit.Count, stats.duplicates);
      metrics.addMetric('RecordsSetAside', MetricUnit.Count, stats.setAside);
      metrics.addMetric('BronzeObjectsWritten', MetricUnit.Count, stats.bronzeObjects);
      metrics.addMetric('FeatureRowsWritten', MetricUnit.Count, stats.featureRowsWritten);
      metrics.addMetric('LedgerRowsWritten', MetricUnit.Count, stats.ledgerRowsWritten);
      metrics.addMetric('RecordsFailed', MetricUnit.Count, failures.size);
      logger.info('batch ingested', { ...stats, failed: failures.size });
    },
    'they can never be stored in the feature table (they are in Bronze)',
  );

export const handler = middy(consume)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
