import { PRODUCTION_POINTER_KEY } from '../domain/lake-layout';
import { assignVariant } from '../domain/experiment';
import { ArtifactUnusableError, parseProductionPointer, type Deployment, type Experiment, type ModelRegistry, type ProductionPointer } from '../domain/model-registry';
import type { Variant } from '../domain/recommendation-id';
import { deserializeModel, type HybridModel } from '../recommender/index';
import type { ServingLog } from './http';

/** What serving needs of the model registry: follow the production pointer, fetch the artifacts it names. */
export type ModelSource = Pick<ModelRegistry, 'readPointerIfChanged' | 'readArtifact'>;

/** The model being served, with where it came from. */
export interface LoadedModel {
  model: HybridModel;
  version: string;
  deployedAt: string;
  /** ISO time this instance finished loading it. */
  loadedAt: string;
  /** Milliseconds spent fetching and deserialising the artifact. */
  loadMs: number;
}

/** What `GET /health` answers; the retraining job's ReloadApi step reads `modelVersion`. */
export interface ModelHealth {
  status: 'ok' | 'degraded';
  modelVersion: string | null;
  loadedAt: string | null;
  deployedAt: string | null;
  refreshSeconds: number;
  /** ISO time of the last completed check of the production pointer. */
  lastCheckedAt: string | null;
  /** No answer is served from a model older than the pointer was this many seconds earlier. */
  stalenessBoundSeconds: number;
  modelLoadMs: number | null;
  trainedAt: string | null;
  error?: string;
  /** The running experiment as this instance serves it; null when none runs. */
  experiment: ExperimentHealth | null;
}

/** What health says of the experiment on the pointer. */
export interface ExperimentHealth {
  id: string;
  sharePercent: number;
  challengerVersion: string;
  /** False until the challenger is loaded, and while it cannot be: then every user gets the control. */
  challengerLoaded: boolean;
  error?: string;
}

/** The model a user's answer comes from, and what its recommendation id says about it. */
export interface UserModel {
  /** The challenger for the challenger's users; else the production model (undefined before the first one). */
  loaded: LoadedModel | undefined;
  variant: Variant;
  /** The experiment the answer counts for; null when none runs, it has no loaded challenger, or no user was named. */
  experimentId: string | null;
}

export interface ModelStoreOptions {
  /** Re-check the production pointer at most this often (seconds); 0 checks on every request. */
  refreshSeconds: number;
  /** Epoch ms; injectable for tests. */
  now?: () => number;
  log?: ServingLog;
}

/** Without a model there is nothing to protect: retry a failed first load at least this often. */
const NO_MODEL_RETRY_MS = 5_000;

/**
 * Keeps the production model in memory and follows `models/production.json`.
 *
 * Every `refreshSeconds` a request re-checks the pointer with a conditional GET (If-None-Match with the
 * ETag last seen): unchanged costs one 304 and no body; changed loads the new artifact before answering.
 * Every instance does the same, so all instances converge within `refreshSeconds` of a deployment.
 * Failures never throw to the caller: a bad new artifact leaves the current model serving, a bad artifact
 * at cold start falls back to the pointer's previous deployment, and with no usable model at all callers
 * get `undefined` and health says `degraded` with the reason.
 *
 * @example
 * const store = new ModelStore(new S3ModelRegistry(lake), { refreshSeconds: 30 });
 * const loaded = await store.get(); // undefined until a model is deployed
 * loaded?.model.recommend('42', 10);
 */
export class ModelStore {
  private current: LoadedModel | undefined;
  /** The pointer's experiment and, once loaded, its challenger model (never loaded twice for one version). */
  private experiment: { spec: Experiment; loaded?: LoadedModel; error?: string } | undefined;
  private pointerEtag: string | undefined;
  private lastAttemptMs: number | undefined;
  private lastCheckedMs: number | undefined;
  private error: string | undefined;
  /** A transient error (S3 unreachable) clears at the next good check; a persistent one needs a new pointer. */
  private errorPersists = false;
  private inflight: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly refreshMs: number;

  constructor(
    private readonly source: ModelSource,
    private readonly options: ModelStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.refreshMs = Math.max(0, options.refreshSeconds) * 1000;
  }

  /**
   * The model to answer with, re-checking the pointer first when the last check is older than the bound.
   * The request that starts a check waits for it (a Lambda instance serves one request at a time, so that
   * is the only way the check runs); concurrent requests keep using the current model meanwhile.
   */
  async get(): Promise<LoadedModel | undefined> {
    if (this.isDue()) {
      const check = this.startCheck(false);
      await check;
    } else if (this.inflight && !this.current) {
      await this.inflight;
    }
    return this.current;
  }

  /**
   * The model for `userId`'s answer (re-checking the pointer like `get`): while an experiment runs and its
   * challenger is loaded, the user's variant (assignVariant: stable per experiment and user); otherwise, and for
   * no user (`undefined`: an anonymous list), the production model as control.
   */
  async forUser(userId: string | undefined): Promise<UserModel> {
    const control = await this.get();
    const experiment = this.experiment;
    if (userId === undefined || !experiment?.loaded || !control) return { loaded: control, variant: 'control', experimentId: null };
    const variant = assignVariant(experiment.spec, userId);
    return { loaded: variant === 'challenger' ? experiment.loaded : control, variant, experimentId: experiment.spec.id };
  }

  /** Checks the pointer now, unconditionally, and loads what it names if that is not what is served. */
  async reload(): Promise<{ reloaded: boolean; previousVersion: string | null; health: ModelHealth }> {
    const before = this.current?.version ?? null;
    if (this.inflight) await this.inflight;
    await this.startCheck(true);
    return { reloaded: (this.current?.version ?? null) !== before, previousVersion: before, health: this.health() };
  }

  health(): ModelHealth {
    const c = this.current;
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      status: c && !this.error ? 'ok' : 'degraded',
      modelVersion: c?.version ?? null,
      loadedAt: c?.loadedAt ?? null,
      deployedAt: c?.deployedAt ?? null,
      refreshSeconds: this.refreshMs / 1000,
      lastCheckedAt: iso(this.lastCheckedMs),
      stalenessBoundSeconds: this.refreshMs / 1000,
      modelLoadMs: c ? Math.round(c.loadMs * 10) / 10 : null,
      trainedAt: c?.model.metadata.createdAt ?? null,
      ...(this.error ? { error: this.error } : this.current ? {} : { error: 'no model loaded yet' }),
      experiment: this.experimentHealth(),
    };
  }

  private experimentHealth(): ExperimentHealth | null {
    const e = this.experiment;
    if (!e) return null;
    return {
      id: e.spec.id,
      sharePercent: e.spec.sharePercent,
      challengerVersion: e.spec.challenger.version,
      challengerLoaded: e.loaded !== undefined,
      ...(e.error ? { error: e.error } : !e.loaded && !this.current ? { error: 'no production model is loaded: the experiment waits for it' } : {}),
    };
  }

  private isDue(): boolean {
    if (this.inflight) return false;
    if (this.lastAttemptMs === undefined) return true;
    const interval = this.current ? this.refreshMs : Math.min(this.refreshMs, NO_MODEL_RETRY_MS);
    return this.now() - this.lastAttemptMs >= interval;
  }

  private startCheck(force: boolean): Promise<void> {
    const run = this.check(force).finally(() => {
      if (this.inflight === run) this.inflight = undefined;
    });
    this.inflight = run;
    return run;
  }

  private async check(force: boolean): Promise<void> {
    const started = this.now();
    this.lastAttemptMs = started;
    let res;
    try {
      res = await this.source.readPointerIfChanged(force ? undefined : this.pointerEtag);
    } catch (err) {
      this.fail(`could not read ${PRODUCTION_POINTER_KEY}: ${message(err)}`, false);
      return;
    }
    this.lastCheckedMs = this.now();
    if (res.status === 'not-modified') {
      if (!this.errorPersists) this.error = undefined;
      return;
    }
    if (res.status === 'missing') {
      this.pointerEtag = undefined;
      this.fail(`${PRODUCTION_POINTER_KEY} does not exist (no model deployed)`, false);
      return;
    }
    let pointer: ProductionPointer;
    try {
      pointer = parseProductionPointer(res.text);
    } catch (err) {
      // The same bytes will not parse next time either: remember them, wait for a new pointer.
      this.pointerEtag = res.etag;
      this.fail(message(err), true);
      return;
    }
    if (this.current?.version === pointer.version) {
      const settled = await this.followExperiment(pointer.experiment ?? null);
      if (settled) this.pointerEtag = res.etag;
      this.error = undefined;
      return;
    }
    try {
      // A promoted challenger is already in memory: production switches to it without a second load.
      const promoted = this.experiment?.loaded?.version === pointer.version ? this.experiment.loaded : undefined;
      this.current = promoted ?? (await this.load(pointer));
      const settled = await this.followExperiment(pointer.experiment ?? null);
      if (settled) this.pointerEtag = res.etag;
      this.error = undefined;
      this.options.log?.info('model loaded', { modelVersion: pointer.version, loadMs: this.current.loadMs, ...(promoted ? { reused: 'challenger' } : {}) });
      return;
    } catch (err) {
      // A broken artifact stays broken until the pointer changes; a network error is retried next time.
      const persistent = err instanceof ArtifactUnusableError;
      if (persistent) this.pointerEtag = res.etag;
      // The experiment follows the pointer even so (a stop must reach every instance); its assignment is per user.
      await this.followExperiment(pointer.experiment ?? null);
      const reason = `model ${pointer.version} could not be loaded: ${message(err)}`;
      if (!this.current && pointer.previous) {
        try {
          this.current = await this.load(pointer.previous);
          this.fail(`${reason}; serving the previous deployment ${pointer.previous.version}`, persistent);
          return;
        } catch (prevErr) {
          this.fail(`${reason}; previous deployment ${pointer.previous.version} could not be loaded either: ${message(prevErr)}`, persistent);
          return;
        }
      }
      this.fail(reason, persistent);
    }
  }

  /**
   * Follows the pointer's experiment: none → forget the challenger; a new challenger → load it (a failure is
   * kept in health and every user gets the control). Answers false when a transient failure should be retried
   * at the next check (the pointer's ETag is then not remembered, so the next check reads it again).
   */
  private async followExperiment(spec: Experiment | null): Promise<boolean> {
    if (!spec) {
      if (this.experiment) this.options.log?.info('experiment ended on the pointer', { experimentId: this.experiment.spec.id });
      this.experiment = undefined;
      return true;
    }
    const held = this.experiment;
    const sameChallenger = held?.spec.challenger.version === spec.challenger.version;
    if (sameChallenger && held?.loaded) {
      this.experiment = { spec, loaded: held.loaded };
      return true;
    }
    const reused = this.current?.version === spec.challenger.version ? this.current : undefined;
    try {
      const loaded = reused ?? (await this.load(spec.challenger));
      this.experiment = { spec, loaded };
      this.options.log?.info('challenger loaded', { experimentId: spec.id, modelVersion: spec.challenger.version, loadMs: loaded.loadMs });
      return true;
    } catch (err) {
      const error = `challenger ${spec.challenger.version} could not be loaded: ${message(err)}; every user gets the control`;
      this.experiment = { spec, error };
      this.options.log?.warn('challenger could not be loaded', { experimentId: spec.id, reason: error });
      return err instanceof ArtifactUnusableError;
    }
  }

  private async load(deployment: Deployment): Promise<LoadedModel> {
    const t0 = performance.now();
    const artifact = await this.source.readArtifact(deployment);
    let model: HybridModel;
    try {
      model = deserializeModel(artifact, `${deployment.manifestKey} + ${deployment.payloadKey}`);
    } catch (err) {
      throw new ArtifactUnusableError(message(err));
    }
    return {
      model,
      version: deployment.version,
      deployedAt: deployment.deployedAt,
      loadedAt: new Date(this.now()).toISOString(),
      loadMs: performance.now() - t0,
    };
  }

  private fail(reason: string, persistent: boolean): void {
    this.errorPersists = persistent;
    const serving = this.current ? `; still serving ${this.current.version}` : '';
    this.error = reason.includes('serving') ? reason : reason + serving;
    this.options.log?.warn('production model check failed', { reason: this.error });
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
