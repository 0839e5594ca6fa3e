import { lambdaStep } from '../../src/retraining/lambda-step';
import { deployModelStep } from '../../src/retraining/steps';

/**
 * DeployModel: `{"action":"deploy",…}` from the state machine, `{"action":"restore","runId"}` on its failure
 * path, and `{"action":"rollback"}` for an operator's one-command rollback.
 */
export const handler = lambdaStep('DeployModel', deployModelStep);
