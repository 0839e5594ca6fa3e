import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { S3Lake } from '../../src/adapters/s3-lake';
import type { TestAws } from './aws-env';

/** Everything the consumer wrote: every lake object's content and every table row, in a stable order. */
export async function snapshotState(aws: TestAws): Promise<{ objects: Record<string, string>; rows: Record<string, unknown>[] }> {
  const lake = new S3Lake(aws.s3, aws.names.lakeBucket);
  const objects: Record<string, string> = {};
  for (const key of (await lake.listKeys('')).sort()) objects[key] = (await lake.getText(key)) ?? '';
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await aws.ddb.send(new ScanCommand({ TableName: aws.names.featuresTable, ExclusiveStartKey: start }));
    rows.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
  rows.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
  return { objects, rows };
}

/** All JSON lines of the Bronze objects under a prefix. */
export function linesUnder(objects: Record<string, string>, prefix: string): Record<string, unknown>[] {
  return Object.entries(objects)
    .filter(([k]) => k.startsWith(prefix))
    .flatMap(([, body]) => body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
}

/** Every row of a table (all pages), sorted by `pk` then `sk`. */
export async function scanTable(aws: Pick<TestAws, 'ddb'>, table: string): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await aws.ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    rows.push(...((page.Items ?? []) as Record<string, unknown>[]));
    start = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (start);
  return rows.sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
}
