import type { S3Lake } from '../adapters/s3-lake';
import { S3ModelRegistry } from '../adapters/s3-model-registry';
import { decodeJson, encodeJson } from '../domain/lake-layout';
import type { ModelRegistry } from '../domain/model-registry';
import { CorruptObjectError } from './errors';

/** The lake as the retraining steps use it: the S3Lake adapter (put, get, list by prefix, delete). */
export type RetrainingLake = S3Lake;

/** The model registry in `lake`; an absent or unreadable registry object fails with a `CorruptObjectError` naming its key. */
export function modelRegistryOf(lake: RetrainingLake): ModelRegistry {
  return new S3ModelRegistry(lake, { unreadable: (key, message, cause) => new CorruptObjectError(key, message, { cause }) });
}

export async function putJson(lake: RetrainingLake, key: string, value: unknown): Promise<void> {
  await lake.putObject(key, encodeJson(value), 'application/json');
}

/** The object parsed as JSON, undefined when absent; a corrupt object fails with a `CorruptObjectError` naming its key. */
export async function getJson<T>(lake: RetrainingLake, key: string): Promise<T | undefined> {
  const text = await lake.getText(key);
  if (text === undefined) return undefined;
  try {
    return decodeJson(text, `s3://${lake.bucket}/${key}`) as T;
  } catch (err) {
    throw new CorruptObjectError(key, (err as Error).message, { cause: err });
  }
}

/** Maps with at most `limit` calls in flight, keeping input order in the result. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return out;
}
