/** A Kinesis record as the consumers see it, free of the Lambda event shape. */
export interface StreamRecord {
  shardId: string;
  sequenceNumber: string;
  /** When Kinesis accepted the record (epoch ms); decides the Bronze partition. */
  arrivalMs: number;
  data: Uint8Array;
}
