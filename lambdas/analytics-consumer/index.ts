import middy from '@middy/core';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, KinesisStreamEvent, KinesisStreamRecord } from 'aws-lambda';
import { z } from 'zod';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { observability } from '../../src/adapters/observability';
import { ingestAnalyticsBatch } from '../../src/analytics/analytics-batch';
import type { WindowRow } from '../../src/analytics/window-rows';
import type { RowStore } from '../../src/ingest/ports';
import { toStreamRecord } from '../../src/adapters/kinesis-records';

const { logger, metrics } = observability('analytics-consumer');

const Env = z.object({ ANALYTICS_TABLE: z.string().min(3, 'ANALYTICS_TABLE must name the analytics DynamoDB table') });

let table: RowStore<WindowRow> | undefined;
function windowTable(): RowStore<WindowRow> {
  if (!table) {
    const env = Env.safeParse(process.env);
    if (!env.success) throw new Error(`Invalid configuration: ${env.error.issues.map((i) => i.message).join('; ')}`);
    table = new DynamoRowStore<WindowRow>(createDynamoDocumentClient(), env.data.ANALYTICS_TABLE);
  }
  return table;
}

/** Lets tests and the local runner swap the table (or inject failures) between invocations. */
export function resetAnalyticsConsumer(override?: RowStore<WindowRow>): void {
  table = override;
}

async function consume(event: KinesisStreamEvent & { replay?: boolean }, context: Context) {
  const replay = event.replay === true;
  if (replay) logger.info('dead-letter replay', { records: event.Records.length });
  const { failures, stats } = await ingestAnalyticsBatch(event.Records.map(toStreamRecord), windowTable(), Date.now, { replay });
  metrics.addMetric('AnalyticsEvents', MetricUnit.Count, stats.events);
  metrics.addMetric('AnalyticsWindowRowsWritten', MetricUnit.Count, stats.windowRowsWritten);
  metrics.addMetric('AnalyticsEventsPastRetention', MetricUnit.Count, stats.pastRetention);
  metrics.addMetric('AnalyticsRecordsFailed', MetricUnit.Count, failures.size);
  logger.info('analytics batch folded', { ...stats, failed: failures.size });
  return processPartialResponse(
    event,
    (record: KinesisStreamRecord) => {
      const reason = failures.get(record.kinesis.sequenceNumber);
      if (reason) throw new Error(reason);
    },
    new BatchProcessor(EventType.KinesisDataStreams),
    { context },
  );
}

export const handler = middy(consume)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
