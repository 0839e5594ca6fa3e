/**
 * A value a Lambda handler builds once per container, on first use (clients, config, routes), and that tests
 * and the local runner can replace or drop between invocations (`reset(override)`; `reset()` rebuilds on the
 * next use, e.g. after the environment changed).
 *
 * @example
 * const dependencies = perContainer(() => ({ lake: new S3Lake(createS3Client(), loadRuntimeConfig().LAKE_BUCKET) }));
 * export const resetConsumer = dependencies.reset;
 */
export interface PerContainer<T> {
  (): T;
  reset(override?: T): void;
}

export function perContainer<T>(build: () => T): PerContainer<T> {
  let value: T | undefined;
  const get = (() => (value ??= build())) as PerContainer<T>;
  get.reset = (override?: T) => {
    value = override;
  };
  return get;
}
