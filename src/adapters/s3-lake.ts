import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { LakeWriter } from '../stream/ports';

export type ConditionalGetResult =
  | { status: 'changed'; body: Uint8Array; etag: string }
  | { status: 'not-modified' }
  | { status: 'missing' };

/** The data lake bucket behind a small interface: put, get, list by prefix and delete. */
export class S3Lake implements LakeWriter {
  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async putObject(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  /** The object's bytes, or undefined when it does not exist. */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    } catch (err) {
      if ((err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  /** Bytes `start` to `end` (exclusive) of the object, for reading a Parquet footer without the whole file. */
  async getRange(key: string, start: number, end: number): Promise<Uint8Array> {
    if (end <= start) return new Uint8Array();
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: `bytes=${start}-${end - 1}` }));
    return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
  }

  async getText(key: string): Promise<string | undefined> {
    const bytes = await this.getBytes(key);
    return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
  }

  /**
   * A conditional GET: with the ETag of the copy the caller already has, S3 answers 304 and sends no body
   * when the object has not changed, which makes polling a small pointer object cheap.
   */
  async getIfChanged(key: string, etag?: string): Promise<ConditionalGetResult> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfNoneMatch: etag }));
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { status: 'changed', body, etag: out.ETag ?? '' };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.$metadata?.httpStatusCode === 304 || e.name === 'NotModified' || e.name === '304') return { status: 'not-modified' };
      if (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return { status: 'missing' };
      throw err;
    }
  }

  /** Removes the object; removing an absent one is not an error. */
  async deleteObject(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** Every key under a prefix, following continuation tokens. */
  async listKeys(prefix: string): Promise<string[]> {
    return (await this.listObjects(prefix)).map((o) => o.key);
  }

  /** Every object under a prefix with its size, ETag and last-modified time (epoch seconds), in key order. */
  async listObjects(prefix: string): Promise<LakeObject[]> {
    const out: LakeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: Math.floor((o.LastModified?.getTime() ?? 0) / 1000), storageClass: o.StorageClass ?? 'STANDARD' });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }
}

export interface LakeObject {
  key: string;
  size: number;
  etag: string;
  /** Epoch seconds. */
  lastModified: number;
  storageClass: string;
}
