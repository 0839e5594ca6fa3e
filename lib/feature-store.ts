import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { RecsysConfig } from './config';

/**
 * The DynamoDB feature table. One table, `pk`/`sk`: `U#<user>` and `I#<item>` rows hold per-shard real-time
 * aggregates (`RT#<shard>`) and the nightly exact features (`EXACT`); `CTL#…` rows are ingestion
 * watermarks that expire through TTL.
 */
export class FeatureStore extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, config: RecsysConfig) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: config.featuresTableName,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: !config.destroyOnRemoval,
      removalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
  }
}
