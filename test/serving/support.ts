import { request as httpRequest } from 'node:http';
import { S3Lake } from '../../src/adapters/s3-lake';
import { modelKeys, PRODUCTION_POINTER_KEY } from '../../src/domain/lake-layout';
import { newModelVersion, pointerFor, type ProductionPointer } from '../../src/domain/model-registry';
import { generateSyntheticDataset, serializeModel, trainHybridModel, type HybridModel } from '../../src/recommender/index';
import { publishModel } from '../../src/local/publish-model';
import type { TestAws } from '../support/aws-env';

/** Small, deterministic models: users u1..u60, items i1..i80. */
export function trainSmallModel(seed = 1): HybridModel {
  const { interactions, items } = generateSyntheticDataset({ users: 60, items: 80, events: 2_000, seed });
  return trainHybridModel(interactions, { items });
}

/** Distinct, sortable versions for test deployments. */
export function versionFor(n: number, suffix = 'test'): string {
  return newModelVersion(new Date(Date.UTC(2026, 0, 1, 2, 0, n)), suffix);
}

export function lakeOf(aws: TestAws): S3Lake {
  return new S3Lake(aws.s3, aws.names.lakeBucket);
}

export async function deploy(aws: TestAws, model: HybridModel, version: string): Promise<ProductionPointer> {
  return publishModel(lakeOf(aws), model, { version });
}

/** Deploys an artifact whose payload has been damaged after serialisation (checksum no longer matches). */
export async function deployCorrupt(aws: TestAws, model: HybridModel, version: string): Promise<ProductionPointer> {
  const lake = lakeOf(aws);
  const keys = modelKeys(version);
  const { manifest, payload } = serializeModel(model);
  const damaged = Uint8Array.from(payload);
  for (let i = 64; i < damaged.length; i += 97) damaged[i] ^= 0xff;
  await lake.putObject(keys.manifest, JSON.stringify(manifest), 'application/json');
  await lake.putObject(keys.payload, damaged, 'application/octet-stream');
  const current = await lake.getText(PRODUCTION_POINTER_KEY);
  const pointer = pointerFor(version, current ? (JSON.parse(current) as ProductionPointer) : undefined);
  await lake.putObject(PRODUCTION_POINTER_KEY, JSON.stringify(pointer), 'application/json');
  return pointer;
}

/** Writes a pointer to a version whose files were never uploaded. */
export async function deployMissing(aws: TestAws, version: string, previous: ProductionPointer | undefined = undefined): Promise<void> {
  await lakeOf(aws).putObject(PRODUCTION_POINTER_KEY, JSON.stringify(pointerFor(version, previous)), 'application/json');
}

/** Records every S3 request the client makes: command, key, If-None-Match, and the HTTP status. */
export function recordS3Requests(s3: TestAws['s3']): { calls: { command: string; key: string; ifNoneMatch?: string; status?: number }[] } {
  const log: { calls: { command: string; key: string; ifNoneMatch?: string; status?: number }[] } = { calls: [] };
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string; IfNoneMatch?: string };
      const call: { command: string; key: string; ifNoneMatch?: string; status?: number } = { command: context.commandName ?? '', key: input.Key ?? '', ifNoneMatch: input.IfNoneMatch };
      log.calls.push(call);
      try {
        const out = await next(args);
        call.status = (out.response as { statusCode?: number }).statusCode;
        return out;
      } catch (err) {
        call.status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        throw err;
      }
    },
    { step: 'initialize', name: 'recordS3Requests' },
  );
  return log;
}

/**
 * A byte-exact HTTP request (`fetch` would add or refuse some headers): header names, their order and the path
 * exactly as given. The answer's text, and its JSON when it is JSON.
 */
export function rawRequest(
  baseUrl: string,
  request: { method?: string; path: string; headers?: [string, string][]; body?: string },
): Promise<{ status: number; text: string; json: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}/`, { path: request.path, method: request.method ?? 'GET' }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    for (const [name, value] of request.headers ?? []) req.setHeader(name, value);
    req.on('error', reject);
    req.end(request.body);
  });
}
