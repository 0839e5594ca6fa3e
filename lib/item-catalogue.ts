import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CATALOG_UPDATE_INDEX } from '../src/adapters/dynamo-catalog';
import type { RecsysConfig } from './config';

/**
 * The change-feed index of the catalogue table: hash `feed` (`f0`..`f7`), range `updatedAt` (epoch ms). The
 * adapter's name, so the deployed index is the one src/adapters/dynamo-catalog.ts queries.
 */
export const CATALOG_FEED_INDEX = CATALOG_UPDATE_INDEX;

/**
 * The live item catalogue: one row per item, key `itemId`, written by the catalogue API (PUT /items, DELETE
 * /items/{itemId}: a withdrawn item keeps its row with `withdrawn: true`), read by every serving instance
 * (a Scan on cold start, then Queries of the `byUpdate` change feed) and snapshotted to the lake nightly.
 * The feed's hash key spreads writes over eight partitions (`f0`..`f7`, a stable hash of the item id).
 *
 * Like the feature table: on demand, AWS-managed encryption, point-in-time recovery, kept on `cdk destroy`
 * and protected from deletion unless `destroyOnRemoval` (the catalogue is the shop's data, not derived).
 */
export class ItemCatalogue extends Construct {
  readonly table: dynamodb.Table;
  /** ARN of the `byUpdate` index, for Query grants that name the index alone. */
  readonly feedIndexArn: string;

  constructor(scope: Construct, id: string, config: RecsysConfig) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      tableName: config.catalogTableName,
      partitionKey: { name: 'itemId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: !config.destroyOnRemoval,
      removalPolicy: config.destroyOnRemoval ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: CATALOG_FEED_INDEX,
      partitionKey: { name: 'feed', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'updatedAt', type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    this.feedIndexArn = `${this.table.tableArn}/index/${CATALOG_FEED_INDEX}`;
  }
}
