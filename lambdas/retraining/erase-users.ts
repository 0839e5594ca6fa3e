import { createDynamoDocumentClient } from '../../src/adapters/aws-clients';
import { DynamoUserRowEraser } from '../../src/adapters/dynamo-erasure';
import { erasureTablesOf } from '../../src/erasure/request';
import { eraseUsersStep } from '../../src/retraining/erase-users';
import { lambdaStep, MetricUnit } from '../../src/retraining/lambda-step';

/** EraseUsers: the pending erasure requests carried out in Bronze, Silver, reports and models before the run reads the lake. */
export const handler = lambdaStep(
  'EraseUsers',
  (payload, deps) => {
    const tables = erasureTablesOf(process.env);
    const rows = tables.features || tables.analytics ? new DynamoUserRowEraser(createDynamoDocumentClient(process.env), tables) : undefined;
    return eraseUsersStep(payload, deps, rows);
  },
  (r) => [
    ['ErasureUsersPending', MetricUnit.Count, r.users],
    ['ErasureUsersDone', MetricUnit.Count, r.done],
    ['ErasureUsersWaiting', MetricUnit.Count, r.waiting.length],
    ['ErasureBronzeLinesDropped', MetricUnit.Count, r.bronze.linesDropped],
    ['ErasureSilverRowsDropped', MetricUnit.Count, r.silver.rowsDropped],
    ['ErasureModelVersionsDeleted', MetricUnit.Count, r.models.versionsDeleted.length],
    ['ErasureInvalidRequests', MetricUnit.Count, r.invalidRequests.length],
  ],
);
