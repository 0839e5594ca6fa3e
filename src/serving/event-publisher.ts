export interface OutgoingRecord {
  partitionKey: string;
  data: Uint8Array;
}

export type PublishResult = { ok: true; shardId: string; sequenceNumber: string } | { ok: false; errorCode: string; errorMessage: string };

/** Where accepted events go; one result per record, in order (`src/adapters/kinesis-publisher.ts` puts them on Kinesis). */
export interface EventPublisher {
  publish(records: readonly OutgoingRecord[]): Promise<PublishResult[]>;
}

export const MAX_RECORDS_PER_PUT = 500;
