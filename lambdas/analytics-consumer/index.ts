import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { KinesisStreamEvent } from 'aws-lambda';
import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { loadAnalyticsConsumerConfig } from '../../src/config/analytics';
import { DynamoRowStore } from '../../src/adapters/dynamo-row-store';
import { observability } from '../../src/adapters/observability';
import { ingestAnalyticsBatch, type AnalyticsTableRow } from '../../src/analytics/analytics-batch';
import { variantMetricValues, type ExperimentTotals } from '../../src/analytics/attribution';
import type { RowStore } from '../../src/stream/ports';
import { ledgerSettingsFromEnv } from '../../src/ingest/event-ledger';
import { consumeKinesisBatch } from '../../src/adapters/kinesis-records';
import { perContainer } from '../../src/adapters/per-container';

const { logger, metrics } = observability('analytics-consumer');

/** The analytics table, built once per container on first use. */
const windowTable = perContainer<RowStore<AnalyticsTableRow>>(() => new DynamoRowStore<AnalyticsTableRow>(createDynamoDocumentClient(), loadAnalyticsConsumerConfig().ANALYTICS_TABLE));

/** Lets tests and the local runner swap the table (or inject failures) between invocations. */
export const resetAnalyticsConsumer = windowTable.reset;

/**
 * Attributed impressions, clicks, purchases and revenue per variant, with the dimensions { service, Variant } only
 * (no model version or experiment id: bounded cardinality). One EMF line per metric (a single metric carries its
 * own dimensions).
 */
function publishVariantMetrics(totals: ExperimentTotals): void {
  for (const { variant, name, value } of variantMetricValues(totals)) {
    metrics.singleMetric().addDimension('Variant', variant).addMetric(name, name === 'Revenue' ? MetricUnit.NoUnit : MetricUnit.Count, value);
  }
}

/**
 * Folds the batch into the analytics windows (and, with ATTRIBUTION_WINDOW_MINUTES > 0, the users' impression states
 * for implicit attribution); the per-record outcome is the partial batch response.
 */
const consume = (event: KinesisStreamEvent & { replay?: boolean }) =>
  consumeKinesisBatch(
    event,
    { logger, metrics },
    (records, replay) =>
      ingestAnalyticsBatch(records, windowTable(), Date.now, {
        replay,
        ledger: ledgerSettingsFromEnv(process.env),
        attributionWindowMinutes: loadAnalyticsConsumerConfig().ATTRIBUTION_WINDOW_MINUTES,
      }),
    ({ stats, failures, attributed }) => {
      publishVariantMetrics(attributed);
      return {
        summary: 'analytics batch folded',
        details: stats,
        counts: {
          AnalyticsEvents: stats.events,
          AnalyticsDuplicateEvents: stats.duplicates,
          AnalyticsRecordsSetAside: stats.setAside,
          AnalyticsWindowRowsWritten: stats.windowRowsWritten,
          AnalyticsLedgerRowsWritten: stats.ledgerRowsWritten,
          AnalyticsImplicitCredits: stats.implicitCredits,
          AnalyticsImpressionStateRowsWritten: stats.impressionStateRowsWritten,
          AnalyticsEventsPastRetention: stats.pastRetention,
          AnalyticsRecordsFailed: failures.size,
        },
      };
    },
    'they can never be stored in a window',
  );

export const handler = middy(consume)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
