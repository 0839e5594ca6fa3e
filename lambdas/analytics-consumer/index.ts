import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamEvent } from 'aws-lambda';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { loadAnalyticsConsumerConfig } from '../../src/config/analytics';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { observability } from '../../src/adapters/observability';
import { ingestAnalyticsBatch, type AnalyticsTableRow } from '../../src/analytics/analytics-batch';
import type { RowStore } from '../../src/stream/ports';
import { ledgerSettingsFromEnv } from '../../src/ingest/event-ledger';
import { respond, toStreamRecord } from '../../src/adapters/kinesis-records';

const { logger, metrics } = observability('analytics-consumer');

let table: RowStore<AnalyticsTableRow> | undefined;
function windowTable(): RowStore<AnalyticsTableRow> {
  if (!table) {
    const config = loadAnalyticsConsumerConfig();
    table = new DynamoRowStore<AnalyticsTableRow>(createDynamoDocumentClient(), config.ANALYTICS_TABLE);
  }
  return table;
}

/** Lets tests and the local runner swap the table (or inject failures) between invocations. */
export function resetAnalyticsConsumer(override?: RowStore<AnalyticsTableRow>): void {
  table = override;
}

async function consume(event: KinesisStreamEvent & { replay?: boolean }, context: Context) {
  const replay = event.replay === true;
  if (replay) logger.info('dead-letter replay', { records: event.Records.length });
  const ledger = ledgerSettingsFromEnv(process.env);
  const { failures, setAside, stats } = await ingestAnalyticsBatch(event.Records.map(toStreamRecord), windowTable(), Date.now, { replay, ledger });
  metrics.addMetric('AnalyticsEvents', MetricUnit.Count, stats.events);
  metrics.addMetric('AnalyticsDuplicateEvents', MetricUnit.Count, stats.duplicates);
  metrics.addMetric('AnalyticsRecordsSetAside', MetricUnit.Count, stats.setAside);
  metrics.addMetric('AnalyticsWindowRowsWritten', MetricUnit.Count, stats.windowRowsWritten);
  metrics.addMetric('AnalyticsLedgerRowsWritten', MetricUnit.Count, stats.ledgerRowsWritten);
  metrics.addMetric('AnalyticsEventsPastRetention', MetricUnit.Count, stats.pastRetention);
  metrics.addMetric('AnalyticsRecordsFailed', MetricUnit.Count, failures.size);
  logger.info('analytics batch folded', { ...stats, failed: failures.size });
  if (setAside.size > 0) logger.warn('records set aside: they can never be stored in a window', { setAside: Object.fromEntries([...setAside].slice(0, 20)) });
  if (failures.size > 0) logger.warn('records will be retried', { failures: Object.fromEntries([...failures].slice(0, 20)) });
  return respond(event, failures, context);
}

export const handler = middy(consume)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
