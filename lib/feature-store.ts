import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';
import { pkSkTable } from './stream-consumer';

/**
 * The DynamoDB feature table. One table, `pk`/`sk`: `U#<user>` and `I#<item>` rows hold per-shard real-time
 * aggregates (`RT#<shard>`) and the nightly exact features (`EXACT`); `CTL#…` rows are ingestion
 * watermarks that expire through TTL.
 */
export class FeatureStore extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, config: RecsysConfig) {
    super(scope, id);
    this.table = pkSkTable(this, 'Table', config, config.featuresTableName, { deletionProtection: !config.destroyOnRemoval });
  }
}
