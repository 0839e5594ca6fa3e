import type { LiveCatalogue } from '../catalog/live-catalogue';
import type { HybridModel } from '../recommender/index';
import { FilterEngine } from '../rules/eligibility';
import type { CompiledRules } from '../rules/rules-definition';
import type { ServingLog } from './http';
import { ModelUniverse } from './item-universe';

/** The default wait for an instance's first catalogue load. */
export const CATALOGUE_FIRST_LOAD_WAIT_MS = 3000;

export interface ServingRulesOptions {
  rules: CompiledRules;
  /** The live catalogue replica; without one every model item counts as available. */
  catalogue?: LiveCatalogue;
  /** How long a request waits for a due catalogue refresh before answering from what this instance holds (ms). */
  catalogueWaitMs: number;
  /**
   * How long a request waits for the instance's first full catalogue load (ms; default CATALOGUE_FIRST_LOAD_WAIT_MS).
   * Until it completes nothing is known to be withdrawn, so this wait is longer than a refresh's.
   */
  firstLoadWaitMs?: number;
  log?: ServingLog;
}

/**
 * The shop's rules as the read API applies them: the filter engine over one item universe per (model,
 * catalogue version). One per instance.
 */
export class ServingRules {
  readonly engine: FilterEngine;
  private current: { model: HybridModel | undefined; catalogueVersion: number; universe: ModelUniverse } | undefined;
  private builds = 0;

  constructor(private readonly options: ServingRulesOptions) {
    this.engine = new FilterEngine(options.rules);
  }

  get rules(): CompiledRules {
    return this.options.rules;
  }

  get catalogue(): LiveCatalogue | undefined {
    return this.options.catalogue;
  }

  /**
   * Brings the catalogue up to date within its staleness bound: the first request of an instance waits for
   * the full load, later ones for a due incremental refresh — each at most `catalogueWaitMs`; a slow or failing
   * catalogue never fails a request (the last state this instance holds is used, and the failure logged).
   */
  async prepare(): Promise<void> {
    const catalogue = this.options.catalogue;
    if (!catalogue) return;
    const first = !catalogue.isLoaded;
    const work = catalogue.ready().then(() => catalogue.maybeRefresh());
    const waitMs = first ? (this.options.firstLoadWaitMs ?? CATALOGUE_FIRST_LOAD_WAIT_MS) : this.options.catalogueWaitMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    } catch (err) {
      this.options.log?.warn('catalogue unavailable; answering from the items this instance holds', { reason: (err as Error).message });
    } finally {
      clearTimeout(timer);
    }
    work.catch(() => undefined);
  }

  /** The universe of this model and the catalogue as this instance holds it now. */
  universeFor(model: HybridModel | undefined): ModelUniverse {
    const catalogueVersion = this.options.catalogue?.version ?? 0;
    const c = this.current;
    if (c && c.model === model && c.catalogueVersion === catalogueVersion) return c.universe;
    const universe = new ModelUniverse(model, this.options.catalogue, ++this.builds);
    this.current = { model, catalogueVersion, universe };
    return universe;
  }
}
