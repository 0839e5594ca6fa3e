import { z } from 'zod';
import { ExperimentStateError } from '../domain/experiment';
import { EXPERIMENT_METRICS } from '../domain/model-registry';
import { EXPERIMENT_ID_PATTERN } from '../domain/recommendation-id';
import { formatIssues } from '../domain/zod-issues';
import {
  ExperimentRequestError,
  experimentStatus,
  promoteExperiment,
  startExperiment,
  stopExperiment,
  type ExperimentActionResult,
  type ExperimentOperatorDeps,
} from '../experiments/operator';
import { HttpError, json, readJsonBody, type ApiRequest, type ApiResponse, type ServingLog } from './http';
import type { RouteId } from './routes';
import type { RouteImplementation } from './read-api';

/** The experiment actions `POST /admin/experiment/{action}` takes. */
export const EXPERIMENT_ACTIONS = ['start', 'promote', 'stop'] as const;
export type ExperimentAction = (typeof EXPERIMENT_ACTIONS)[number];

const MAX_BODY_BYTES = 4096;
const NO_STORE = { 'Cache-Control': 'no-store' };
const experimentId = z.string().regex(EXPERIMENT_ID_PATTERN, 'must be an experiment id (x followed by 1-24 of a-z 0-9)');
const reason = z.string().min(1).max(500);

/** The bodies of the actions (settings bounds are the operator's: src/experiments/operator.ts). */
const BODIES = {
  start: z
    .object({
      challengerVersion: z.string().min(1).max(64),
      sharePercent: z.number().optional(),
      metric: z.enum(EXPERIMENT_METRICS).optional(),
      minImpressions: z.number().optional(),
      alpha: z.number().optional(),
      maxDurationHours: z.number().optional(),
    })
    .strict(),
  /** The id of the experiment to promote: never promote one that replaced the experiment the caller looked at. */
  promote: z.object({ experimentId, reason: reason.optional() }).strict(),
  stop: z.object({ experimentId: experimentId.optional(), reason: reason.optional() }).strict(),
} as const;

export interface ExperimentApiOptions {
  log?: ServingLog;
  now?: () => Date;
  /** Told after each change (for the answer's note and tests); the read instances follow the pointer anyway. */
  refreshSeconds?: number;
}

/**
 * The experiment control routes, both IAM-only: `GET /admin/experiment` (the production pointer, the running
 * experiment and its settings, the defaults) and `POST /admin/experiment/{start|promote|stop}` with a JSON body.
 * 409 for an action the state refuses (nothing to stop, one already running, …), 400 for a bad body, 404 for an
 * unknown action. Changing the pointer is all they do: every read instance follows it within its refresh bound.
 */
export class ExperimentApi {
  private readonly now: () => Date;

  constructor(
    private readonly deps: ExperimentOperatorDeps,
    private readonly options: ExperimentApiOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  routes(): Partial<Record<RouteId, RouteImplementation>> {
    return { experimentStatus: (r) => this.status(r), experimentAction: (r) => this.action(r) };
  }

  async status(request: ApiRequest): Promise<ApiResponse> {
    this.requireCaller(request, 'GET /admin/experiment');
    return json(200, await experimentStatus(this.deps), NO_STORE);
  }

  async action(request: ApiRequest): Promise<ApiResponse> {
    this.requireCaller(request, 'POST /admin/experiment/{action}');
    const action = request.params.action;
    if (!isAction(action)) {
      throw new HttpError(404, 'UNKNOWN_ACTION', `no experiment action ${JSON.stringify(String(action).slice(0, 40))}: use ${EXPERIMENT_ACTIONS.join(', ')}`, 'action');
    }
    const raw = readJsonBody(request, { what: `the ${action} request`, maxBytes: MAX_BODY_BYTES, sendHint: HINTS[action] });
    const now = this.now();
    let result: ExperimentActionResult;
    try {
      if (action === 'start') {
        const { challengerVersion, ...settings } = parseBody(BODIES.start, raw, HINTS.start);
        result = await startExperiment(this.deps, { challengerVersion, startedBy: 'operator', settings }, now);
      } else if (action === 'promote') {
        const body = parseBody(BODIES.promote, raw, HINTS.promote);
        result = await promoteExperiment(this.deps, body.experimentId, now, body.reason ?? `promoted by ${request.caller}`);
      } else {
        const body = parseBody(BODIES.stop, raw, HINTS.stop);
        result = await stopExperiment(this.deps, body.experimentId, now, body.reason ?? `stopped by ${request.caller}`);
      }
    } catch (err) {
      if (err instanceof ExperimentStateError) throw new HttpError(409, 'EXPERIMENT_STATE', err.message);
      if (err instanceof ExperimentRequestError) throw new HttpError(400, 'INVALID_BODY', err.message, '(body)');
      throw err;
    }
    this.options.log?.info('experiment action', { action, caller: request.caller, requestId: request.requestId, experimentId: result.experiment.id, logKey: result.logKey });
    const refresh = this.options.refreshSeconds;
    return json(
      200,
      {
        action,
        experiment: result.experiment,
        pointer: result.pointer,
        logKey: result.logKey,
        note: `the read instances follow the pointer within ${refresh === undefined ? 'MODEL_REFRESH_SECONDS' : `${refresh} s`} (POST /admin/reload for one instance at once)`,
      },
      NO_STORE,
    );
  }

  private requireCaller(request: ApiRequest, route: string): void {
    if (request.caller) return;
    this.options.log?.warn('refused experiment control without a verified caller', { route, requestId: request.requestId });
    throw new HttpError(403, 'FORBIDDEN', `${route} needs an IAM-authorised (SigV4-signed) request`);
  }
}

const HINTS: Record<ExperimentAction, string> = {
  start: 'send { "challengerVersion": "v…", "sharePercent"?: 10, "metric"?: "ctr", "minImpressions"?: 1000, "alpha"?: 0.01, "maxDurationHours"?: 72 }',
  promote: 'send { "experimentId": "x…" } (the running experiment, from GET /admin/experiment)',
  stop: 'send {} or { "experimentId": "x…", "reason"?: "…" }',
};

function isAction(value: string | undefined): value is ExperimentAction {
  return (EXPERIMENT_ACTIONS as readonly string[]).includes(value ?? '');
}

function parseBody<T extends z.ZodType>(schema: T, raw: unknown, hint: string): z.output<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HttpError(400, 'INVALID_BODY', `${formatIssues(parsed.error.issues, { emptyPath: '(body)' })}; ${hint}`, String(parsed.error.issues[0]?.path[0] ?? '(body)'));
  return parsed.data;
}
