import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Lake } from '../adapters/s3-lake';
import { CorruptObjectError } from './errors';

/** What the retraining steps need from the lake: the S3Lake operations plus delete. */
export interface RetrainingLake {
  readonly bucket: string;
  putObject(key: string, body: string | Uint8Array, contentType: string): Promise<void>;
  getBytes(key: string): Promise<Uint8Array | undefined>;
  getText(key: string): Promise<string | undefined>;
  listKeys(prefix: string): Promise<string[]>;
  deleteObject(key: string): Promise<void>;
}

export function retrainingLake(s3: S3Client, bucket: string): RetrainingLake {
  const lake = new S3Lake(s3, bucket);
  return {
    bucket,
    putObject: (key, body, contentType) => lake.putObject(key, body, contentType),
    getBytes: (key) => lake.getBytes(key),
    getText: (key) => lake.getText(key),
    listKeys: (prefix) => lake.listKeys(prefix),
    async deleteObject(key) {
      await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
  };
}

export async function putJson(lake: RetrainingLake, key: string, value: unknown): Promise<void> {
  await lake.putObject(key, JSON.stringify(value, null, 2) + '\n', 'application/json');
}

/** The object parsed as JSON, undefined when absent; a corrupt object fails with a `CorruptObjectError` naming its key. */
export async function getJson<T>(lake: RetrainingLake, key: string): Promise<T | undefined> {
  const text = await lake.getText(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CorruptObjectError(key, `s3://${lake.bucket}/${key} is not valid JSON (${text.length} bytes): ${(err as Error).message}`, { cause: err });
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
