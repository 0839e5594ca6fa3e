import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import dynalite from 'dynalite';
import kinesalite from 'kinesalite';

/** Endpoints of the running emulators, in the shape the AWS SDK clients take. */
export interface EmulatorEndpoints {
  s3: string;
  dynamodb: string;
  kinesis: string;
}

export interface StartEmulatorsOptions {
  /** Persist data under this folder (`s3/`, `dynamodb/`, `kinesis/`); in-memory and a temp dir when absent. */
  dataDir?: string;
  /** Fixed ports; 0 (the default) picks free ones. */
  ports?: Partial<Record<keyof EmulatorEndpoints, number>>;
  host?: string;
}

export interface RunningEmulators {
  endpoints: EmulatorEndpoints;
  /** Environment for handlers and SDK clients built by `awsClients()`. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Credentials s3rver insists on; the other emulators accept anything. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/** How long a request already being served may take to finish when an emulator stops. */
const STOP_GRACE_MS = 2_000;

/**
 * Stops a server: no new connections, idle keep-alive connections dropped at once, requests already being served
 * given STOP_GRACE_MS to finish before their connections are cut. (Cutting them at once let dynalite close its
 * database under a Scan still streaming, which throws outside any request: an uncaught exception.)
 */
function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections?.(), STOP_GRACE_MS);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections?.();
  });
}

/**
 * Starts s3rver, dynalite and kinesalite in this process, speaking the real AWS wire protocols,
 * so the real SDK clients (and so the real handlers) run against them unchanged.
 *
 * @example
 * const emu = await startEmulators();
 * Object.assign(process.env, emu.env);
 * // ... build clients with awsClients(), run handlers ...
 * await emu.stop();
 */
export async function startEmulators(options: StartEmulatorsOptions = {}): Promise<RunningEmulators> {
  const host = options.host ?? '127.0.0.1';
  const ownTemp = options.dataDir ? undefined : await mkdtemp(join(tmpdir(), 'recsys-emu-'));
  const s3Dir = options.dataDir ? join(options.dataDir, 's3') : join(ownTemp!, 's3');
  await mkdir(s3Dir, { recursive: true });
  const dynamoPath = options.dataDir ? join(options.dataDir, 'dynamodb') : undefined;
  const kinesisPath = options.dataDir ? join(options.dataDir, 'kinesis') : undefined;
  if (dynamoPath) await mkdir(dynamoPath, { recursive: true });
  if (kinesisPath) await mkdir(kinesisPath, { recursive: true });

  const s3 = new S3rver({ address: host, port: options.ports?.s3 ?? 0, silent: true, directory: s3Dir });
  const s3Address = await s3.run();
  const dynamo = dynalite({ path: dynamoPath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const dynamoPort = await listen(dynamo, options.ports?.dynamodb ?? 0, host);
  const kinesis = kinesalite({ path: kinesisPath, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  const kinesisPort = await listen(kinesis, options.ports?.kinesis ?? 0, host);

  const endpoints: EmulatorEndpoints = {
    s3: `http://${host}:${s3Address.port}`,
    dynamodb: `http://${host}:${dynamoPort}`,
    kinesis: `http://${host}:${kinesisPort}`,
  };
  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: endpoints.s3,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_KINESIS: endpoints.kinesis,
    AWS_S3_FORCE_PATH_STYLE: 'true',
  };
  return {
    endpoints,
    env,
    async stop() {
      await Promise.all([s3.close(), close(dynamo), close(kinesis)]);
      if (ownTemp) await rm(ownTemp, { recursive: true, force: true });
    },
  };
}
