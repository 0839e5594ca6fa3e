import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { createDynamoDocumentClient, createS3Client } from '../../src/adapters/aws-clients';
import { DynamoFeatureTable } from '../../src/adapters/dynamo-feature-table';
import { observability } from '../../src/adapters/observability';
import { S3Lake } from '../../src/adapters/s3-lake';
import { loadRuntimeConfig } from '../../src/config/runtime';
import { ingestBatch, type IngestDeps } from '../../src/ingest/ingest-batch';
import { toStreamRecord, respond } from '../../src/adapters/kinesis-records';
import { ledgerSettingsFromEnv } from '../../src/ingest/event-ledger';

const { logger, metrics } = observability('event-consumer');

let deps: IngestDeps | undefined;
/** Clients and config are built once per container, on first use (and rebuilt by tests via `resetConsumer`). */
function dependencies(): IngestDeps {
  if (!deps) {
    const config = loadRuntimeConfig();
    deps = {
      lake: new S3Lake(createS3Client(), config.LAKE_BUCKET),
      table: new DynamoFeatureTable(createDynamoDocumentClient(), config.FEATURES_TABLE),
      recentLimit: config.RECENT_ITEMS_LIMIT,
      ledger: ledgerSettingsFromEnv(process.env),
    };
  }
  return deps;
}

/** Lets tests and the local runner swap the environment (or inject failing clients) between invocations. */
export function resetConsumer(override?: IngestDeps): void {
  deps = override;
}

/** `replay: true` marks a dead-letter replay (`npm run dlq:replay`), which may write below Bronze watermarks. */
export type ConsumerEvent = KinesisStreamEvent & { replay?: boolean };

async function consume(event: ConsumerEvent, context: Context) {
  const replay = event.replay === true;
  if (replay) logger.info('dead-letter replay', { records: event.Records.length });
  const outcome = await ingestBatch(event.Records.map(toStreamRecord), dependencies(), { replay });
  const { stats, failures } = outcome;
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
  if (outcome.setAside.size > 0) {
    logger.warn('records set aside: they can never be stored in the feature table (they are in Bronze)', { setAside: Object.fromEntries([...outcome.setAside].slice(0, 20)) });
  }
  if (failures.size > 0) logger.warn('records will be retried', { failures: Object.fromEntries([...failures].slice(0, 20)) });

  // The per-record outcome becomes the partial batch response Lambda expects; if every record failed the
  // invocation fails with their causes, so the event source mapping bisects the batch.
  return respond(event, failures, context);
}

export const handler = middy(consume)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
