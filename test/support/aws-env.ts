import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createDynamoDocumentClient, createKinesisClient, createS3Client } from '../../src/adapters/aws-clients';
import { startEmulators, type RunningEmulators } from '../../src/local/emulators';
import { ensureResources, type ResourceNames } from '../../src/adapters/local-resources';

export interface TestAws {
  emulators: RunningEmulators;
  names: ResourceNames;
  s3: ReturnType<typeof createS3Client>;
  ddb: ReturnType<typeof createDynamoDocumentClient>;
  kinesis: ReturnType<typeof createKinesisClient>;
  /** Puts JSON payloads (or raw strings/bytes) on the stream, partitioned by userId when present. */
  putRecords(payloads: (unknown | string | Uint8Array)[]): Promise<void>;
  stop(): Promise<void>;
}

let counter = 0;

/** Starts the emulators, points this process's SDK environment at them and creates the stack's resources. */
export async function startTestAws(overrides: Partial<ResourceNames> = {}): Promise<TestAws> {
  const emulators = await startEmulators();
  Object.assign(process.env, emulators.env);
  const suffix = `${process.pid}-${++counter}`;
  const names: ResourceNames = {
    lakeBucket: `test-lake-${suffix}`,
    featuresTable: `test-features-${suffix}`,
    eventsStream: `test-events-${suffix}`,
    eventsStreamShards: 2,
    ...overrides,
  };
  process.env.LAKE_BUCKET = names.lakeBucket;
  process.env.FEATURES_TABLE = names.featuresTable;
  process.env.EVENTS_STREAM = names.eventsStream;
  const s3 = createS3Client();
  const ddb = createDynamoDocumentClient();
  const kinesis = createKinesisClient();
  await ensureResources({ s3, ddb, kinesis }, names);
  return {
    emulators,
    names,
    s3,
    ddb,
    kinesis,
    async putRecords(payloads) {
      for (let i = 0; i < payloads.length; i += 500) {
        const Records = payloads.slice(i, i + 500).map((p, j) => {
          const data = p instanceof Uint8Array ? p : Buffer.from(typeof p === 'string' ? p : JSON.stringify(p));
          const userId = typeof p === 'object' && p !== null && 'userId' in p ? String((p as { userId: unknown }).userId) : `k${i + j}`;
          return { Data: data, PartitionKey: userId };
        });
        const out = await kinesis.send(new PutRecordsCommand({ StreamName: names.eventsStream, Records }));
        if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} records were not put`);
      }
    },
    async stop() {
      s3.destroy();
      ddb.destroy();
      kinesis.destroy();
      await emulators.stop();
    },
  };
}
