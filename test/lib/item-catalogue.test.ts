import { describe, expect, it } from 'vitest';
import { CATALOG_UPDATE_INDEX } from '../../src/adapters/dynamo-catalog';
import { CATALOG_FEED_INDEX, type ItemCatalogue } from '../../lib/item-catalogue';
import { synthStack } from '../support/synth';

type TableResource = { Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

describe('the live item catalogue table', () => {
  const { template, stack } = synthStack();
  const catalogue = stack.node.findChild('Catalogue') as ItemCatalogue;
  const logicalId = stack.getLogicalId(catalogue.table.node.defaultChild as never);
  const table = () => template.toJSON().Resources[logicalId] as TableResource;

  it('is keyed by itemId alone (S), on demand', () => {
    expect(table().Properties.KeySchema).toEqual([{ AttributeName: 'itemId', KeyType: 'HASH' }]);
    expect(table().Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table().Properties.ProvisionedThroughput).toBeUndefined();
    // Only key attributes are declared: itemId, and the index's feed (S) and updatedAt (N).
    expect([...table().Properties.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName))).toEqual([
      { AttributeName: 'feed', AttributeType: 'S' },
      { AttributeName: 'itemId', AttributeType: 'S' },
      { AttributeName: 'updatedAt', AttributeType: 'N' },
    ]);
  });

  it('has the change feed index byUpdate: hash feed (S), range updatedAt (N), every attribute projected', () => {
    expect(CATALOG_FEED_INDEX).toBe('byUpdate');
    // The name the adapter queries is the name deployed.
    expect(CATALOG_FEED_INDEX).toBe(CATALOG_UPDATE_INDEX);
    expect(table().Properties.GlobalSecondaryIndexes).toEqual([
      {
        IndexName: 'byUpdate',
        KeySchema: [
          { AttributeName: 'feed', KeyType: 'HASH' },
          { AttributeName: 'updatedAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    expect(JSON.stringify(stack.resolve(catalogue.feedIndexArn))).toContain('/index/byUpdate');
  });

  it('is encrypted, with point-in-time recovery, and kept and protected like the feature table', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'itemId', KeyType: 'HASH' }],
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    // AWS-managed key (aws/dynamodb): SSE on, no key of our own to manage.
    expect(table().Properties.SSESpecification).toEqual({ SSEEnabled: true });
    expect(table().DeletionPolicy).toBe('Retain');
    expect(table().UpdateReplacePolicy).toBe('Retain');
    // No TTL: catalogue rows (and withdrawn tombstones) must not expire on their own.
    expect(table().Properties.TimeToLiveSpecification).toBeUndefined();
  });

  it('destroyOnRemoval (development stacks) lets cdk destroy delete it, as the other tables', () => {
    const { template: dev, stack: devStack } = synthStack({ destroyOnRemoval: true });
    const id = devStack.getLogicalId((devStack.node.findChild('Catalogue') as ItemCatalogue).table.node.defaultChild as never);
    const t = dev.toJSON().Resources[id] as TableResource;
    expect(t.DeletionPolicy).toBe('Delete');
    expect(t.Properties.DeletionProtectionEnabled).toBe(false);
  });

  it('takes its physical name from context catalogTableName, CloudFormation’s otherwise', () => {
    expect(table().Properties.TableName).toBeUndefined();
    const { template: named } = synthStack({ catalogTableName: 'shop-catalogue' });
    named.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'shop-catalogue', KeySchema: [{ AttributeName: 'itemId', KeyType: 'HASH' }] });
  });

  it('is an output of the stack', () => {
    template.hasOutput('CatalogTableName', { Value: { Ref: logicalId } });
  });
});
