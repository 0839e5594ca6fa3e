import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';
import { snapshotCatalogStep } from '../../src/retraining/steps';

/** SnapshotCatalog: the run's catalogue (table, else catalog/items.json) frozen under catalog/snapshots/<runId>.json. */
export const handler = lambdaStep('SnapshotCatalog', snapshotCatalogStep, (r) => [
  ['CatalogItems', MetricUnit.Count, r.items],
  ['CatalogWithdrawn', MetricUnit.Count, r.withdrawn],
  ['CatalogUnavailable', MetricUnit.Count, r.unavailable],
  ['CatalogSnapshotBytes', MetricUnit.Bytes, r.bytes],
]);
