import { checkExperimentHandler } from '../../src/experiments/check-lambda';

/** CheckExperiment: decides the running experiment (statemachines/experiment-check.asl.json, hourly). */
export const handler = checkExperimentHandler();
