import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Every item's partition key (`pk`) in a table, page by page (the local status page counts users and items with it). */
export async function* scanPartitionKeys(ddb: DynamoDBDocumentClient, table: string): AsyncGenerator<string> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new ScanCommand({ TableName: table, ProjectionExpression: 'pk', ExclusiveStartKey: start }));
    for (const row of page.Items ?? []) yield String(row.pk);
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
}
