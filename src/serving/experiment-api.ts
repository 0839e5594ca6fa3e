import { z } from 'zod';
import { attributionMetrics, type AttributionMetrics, type AttributionSource, type ExperimentTotals } from '../analytics/attribution';
import { ExperimentStateError } from '../domain/experiment';
import { EXPERIMENT_METRICS } from '../domain/model-registry';
import { EXPERIMENT_ID_PATTERN, type Variant } from '../domain/recommendation-id';
import { formatIssues } from '../domain/zod-issues';
import { decideExperiment, type ExperimentDecision } from '../experiments/decision';
import {
  ExperimentRequestError,
  experimentStatus,
  promoteExperiment,
  startExperiment,
  stopExperiment,
  type ExperimentActionResult,
  type ExperimentOperatorDeps,
  type ExperimentStatus,
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
  /** The analytics attribution (the analytics table's reader); without it the status says attribution is unavailable. */
  attribution?: AttributionSource;
  /** How long the status waits for the attribution read (default ATTRIBUTION_TIMEOUT_MS). */
  attributionTimeoutMs?: number;
}

// ---------------------------------------------------------------------------------------------------------
// The status with attribution: `GET /admin/experiment` and `npm run cli -- experiment status`

/** How long the status waits for the analytics read before answering without attribution. */
export const ATTRIBUTION_TIMEOUT_MS = 1000;

/** Per variant attribution of the running experiment, from its start to now (the totals the check decides on). */
export interface ExperimentAttribution {
  experimentId: string;
  /** The experiment's start; the reader counts whole windows, so events of the window it started in count. */
  from: string;
  to: string;
  variants: Record<Variant, AttributionMetrics>;
}

export interface ExperimentStatusAnswer extends ExperimentStatus {
  /** Null when no experiment runs, analytics is not configured, or the read failed or was too slow. */
  attribution: ExperimentAttribution | null;
  /** Why `attribution` is null (null when it is not). */
  attributionUnavailable: string | null;
  /** What the scheduled check would decide now on these totals (src/experiments/decision.ts); nothing is applied. Null with `attribution`. */
  wouldDecide: ExperimentDecision | null;
}

export interface StatusAttributionOptions {
  /** The attribution source; absent: attribution is unavailable for the reason `withoutSource`. */
  attribution?: AttributionSource | undefined;
  /** Why there is no source (default: the analytics table is not configured). */
  withoutSource?: string;
  timeoutMs?: number;
  now?: Date;
}

/**
 * The experiment status (operator.experimentStatus) plus, when an experiment runs and attribution is readable,
 * its per variant totals since it started (the same read the check makes) and what decideExperiment would
 * decide now. A read that fails or takes longer than `timeoutMs` leaves `attribution: null` with the reason:
 * the status always answers.
 */
export async function experimentStatusWithAttribution(deps: Pick<ExperimentOperatorDeps, 'registry'>, options: StatusAttributionOptions = {}): Promise<ExperimentStatusAnswer> {
  const status = await experimentStatus(deps);
  const none = (reason: string): ExperimentStatusAnswer => ({ ...status, attribution: null, attributionUnavailable: reason, wouldDecide: null });
  const experiment = status.experiment;
  if (!experiment) return none('no experiment is running');
  if (!options.attribution) return none(options.withoutSource ?? 'the analytics table is not configured (ANALYTICS_TABLE): no attribution to show');
  const now = options.now ?? new Date();
  const timeoutMs = options.timeoutMs ?? ATTRIBUTION_TIMEOUT_MS;
  let totals: ExperimentTotals;
  try {
    const source = options.attribution;
    totals = await withinMs(Promise.resolve().then(() => source.experimentTotals(experiment.id, Date.parse(experiment.startedAt), now.getTime())), timeoutMs);
  } catch (err) {
    const message = err instanceof TimeoutError ? err.message : `the analytics read failed: ${String((err as Error)?.message ?? err).slice(0, 300)}`;
    return none(message);
  }
  return {
    ...status,
    attribution: {
      experimentId: experiment.id,
      from: experiment.startedAt,
      to: now.toISOString(),
      variants: { control: attributionMetrics(totals.control), challenger: attributionMetrics(totals.challenger) },
    },
    attributionUnavailable: null,
    wouldDecide: decideExperiment(totals, experiment, now.getTime()),
  };
}

class TimeoutError extends Error {}

/** The promise's value, or a TimeoutError once `ms` have passed without one (the read is left to finish). */
async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(`the analytics read gave no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The experiment control routes, both IAM-only: `GET /admin/experiment` (the production pointer, the running
 * experiment and its settings, the defaults, the attribution since it started and what the check would decide
 * now: experimentStatusWithAttribution) and `POST /admin/experiment/{start|promote|stop}` with a JSON body.
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
    const answer = await experimentStatusWithAttribution(this.deps, {
      attribution: this.options.attribution,
      ...(this.options.attributionTimeoutMs !== undefined ? { timeoutMs: this.options.attributionTimeoutMs } : {}),
      now: this.now(),
    });
    if (answer.experiment && !answer.attribution && this.options.attribution) {
      this.options.log?.warn('experiment status without attribution', { reason: answer.attributionUnavailable, experimentId: answer.experiment.id, requestId: request.requestId });
    }
    return json(200, answer, NO_STORE);
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
