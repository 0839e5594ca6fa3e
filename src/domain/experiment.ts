import { murmur3 } from './hash';
import { modelKeys } from './lake-layout';
import { pointerFor, type Deployment, type Experiment, type ProductionPointer } from './model-registry';
import type { Variant } from './recommendation-id';

/**
 * Experiments on the production pointer (pure): start one with a challenger at a traffic share, assign users to
 * variants, promote the challenger or stop. The pointer's own version is the control throughout.
 */

/** Buckets users are hashed into: a share is a whole number of basis points. */
const BUCKETS = 10_000;

/** The seed of the assignment hash (any fixed value: changing it reshuffles every running experiment). */
const ASSIGNMENT_SEED = 0x2f6b1d37;

/** The assignment hash of a string: MurmurHash3 x86 32-bit, stable across runtimes and instances. */
export function stableHash(text: string): number {
  return murmur3(text, ASSIGNMENT_SEED);
}

/**
 * The variant a user sees in an experiment: the same for the whole experiment on every instance (a hash of the
 * experiment id and the user id, so a new experiment reshuffles users), the challenger for `sharePercent` %.
 */
export function assignVariant(experiment: Pick<Experiment, 'id' | 'sharePercent'>, userId: string): Variant {
  const bucket = stableHash(`${experiment.id}\u0000${userId}`) % BUCKETS;
  return bucket < Math.round(experiment.sharePercent * (BUCKETS / 100)) ? 'challenger' : 'control';
}

/** A new experiment id, `x` + the start time in base 36 + 4 random characters (sortable by start). */
export function newExperimentId(at: Date = new Date(), random: () => number = Math.random): string {
  let tail = '';
  for (let i = 0; i < 4; i++) tail += '0123456789abcdefghijklmnopqrstuvwxyz'[Math.floor(random() * 36)];
  return `x${at.getTime().toString(36)}${tail}`;
}

/** The deployment record of a version (as the pointer holds one). */
export function deploymentOf(version: string, at: Date, metrics?: Record<string, number>): Deployment {
  const keys = modelKeys(version);
  return { version, manifestKey: keys.manifest, payloadKey: keys.payload, deployedAt: at.toISOString(), ...(metrics ? { metrics } : {}) };
}

export class ExperimentStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExperimentStateError';
  }
}

/** The pointer with `experiment` running on it. Refuses a second experiment and a challenger equal to production. */
export function withExperiment(pointer: ProductionPointer, experiment: Experiment): ProductionPointer {
  if (pointer.experiment) throw new ExperimentStateError(`experiment ${pointer.experiment.id} is already running (challenger ${pointer.experiment.challenger.version}); stop or promote it first`);
  if (experiment.challenger.version === pointer.version) throw new ExperimentStateError(`${pointer.version} is already production: a challenger must be another version`);
  return { ...pointer, experiment };
}

/** The pointer without its experiment: production serves every user again (nothing else changes). */
export function withoutExperiment(pointer: ProductionPointer): ProductionPointer {
  if (!pointer.experiment) throw new ExperimentStateError('no experiment is running');
  const { experiment: _stopped, ...rest } = pointer;
  return { ...rest, experiment: null };
}

/** The pointer after promoting the challenger: it becomes production, the control becomes `previous`. */
export function promotedPointer(pointer: ProductionPointer, at: Date = new Date()): ProductionPointer {
  const experiment = pointer.experiment;
  if (!experiment) throw new ExperimentStateError('no experiment is running: nothing to promote');
  const { experiment: _done, ...control } = pointer;
  return { ...pointerFor(experiment.challenger.version, control, experiment.challenger.metrics, at), experiment: null };
}
