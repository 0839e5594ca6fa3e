import { QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

/** Every item a DynamoDB Query matches, following `LastEvaluatedKey` page by page. */
export async function* queryAll(ddb: DynamoDBDocumentClient, input: Omit<QueryCommandInput, 'ExclusiveStartKey'>): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await ddb.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    yield* (page.Items ?? []) as Record<string, unknown>[];
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
}
