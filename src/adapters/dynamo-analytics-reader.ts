import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AnalyticsReader, type WindowRowQuery } from '../analytics/analytics-reader';
import type { WindowRow } from '../analytics/window-rows';
import { queryAll } from './dynamo-query';

/** The analytics window table: one partition's rows with `sk` between two bounds, every page of the Query. */
export class DynamoWindowRows implements WindowRowQuery {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  rows(pk: string, fromSk: string, toSk: string): AsyncIterable<WindowRow> {
    return queryAll(this.ddb, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lo AND :hi',
      ExpressionAttributeValues: { ':pk': pk, ':lo': fromSk, ':hi': toSk },
    }) as AsyncIterable<WindowRow>;
  }
}

/** The analytics routes' reader on a window table. */
export function dynamoAnalyticsReader(ddb: DynamoDBDocumentClient, tableName: string): AnalyticsReader {
  return new AnalyticsReader(new DynamoWindowRows(ddb, tableName));
}
