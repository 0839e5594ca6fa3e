import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCatalog } from '../../src/adapters/dynamo-catalog';
import type { CatalogRecord } from '../../src/catalog/item';
import { cli } from '../support/cli';
import { startTestAws, type TestAws } from '../support/aws-env';


let aws: TestAws;
let dir: string;
const flags = (...on: number[]) => Array.from({ length: 19 }, (_, i) => (on.includes(i) ? '1' : '0')).join('|');

async function tableRecords(table: string): Promise<Map<string, CatalogRecord>> {
  const out = new Map<string, CatalogRecord>();
  for await (const r of new DynamoCatalog(aws.ddb, table).scanAll()) out.set(r.itemId, r);
  return out;
}

beforeAll(async () => {
  aws = await startTestAws({ catalogTable: `test-catalog-cli-${process.pid}` });
  dir = await mkdtemp(join(tmpdir(), 'catalog-cli-'));
});
afterAll(async () => {
  delete process.env.CATALOG_TABLE;
  await rm(dir, { recursive: true, force: true });
  await aws?.stop();
});

describe('cli catalog import, against dynalite', () => {
  it('imports a u.item file (genre flags as categories) in batches of 500 into the table named by --table', async () => {
    const file = join(dir, 'u.item');
    const lines = Array.from({ length: 1203 }, (_, i) => `${i + 1}|Movie ${i + 1} (1995)|01-Jan-1995||http://x|${flags(i % 19, (i + 3) % 19)}`);
    lines.splice(10, 0, 'broken|line');
    await writeFile(file, Buffer.from(lines.join('\n') + '\n', 'latin1'));
    const before = Date.now();
    const r = await cli('-q', 'catalog', 'import', file, '--table', aws.names.catalogTable!);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`read 1204 item lines from ${file} (uitem): 1203 valid items, 1 rejected`);
    expect(r.stdout).toContain('  line 11: expected 24 |-separated fields');
    expect(r.stdout).toContain(`table ${aws.names.catalogTable}: written 1203, rejected 1, failed 0`);
    expect(r.code).toBe(1); // a rejected line is reported in the exit code

    const records = await tableRecords(aws.names.catalogTable!);
    expect(records.size).toBe(1203);
    expect(records.get('1')).toMatchObject({ itemId: '1', title: 'Movie 1 (1995)', categories: ['unknown', 'Animation'], available: true, withdrawn: false });
    expect(records.get('1')!.updatedAt).toBeGreaterThanOrEqual(before);
  });

  it('imports CSV with custom attributes into $CATALOG_TABLE, exit code 0 when everything was written', async () => {
    process.env.CATALOG_TABLE = aws.names.catalogTable!;
    const file = join(dir, 'shop.csv');
    await writeFile(file, 'itemId,title,categories,price,available,createdAt,brand,rating\nlamp,"Lamp, ""big""",home|lighting,19.99,false,2026-01-01T00:00:00Z,Acme,4.5\nconstructor,Proto,,1,true,,x,1\n');
    const r = await cli('-q', 'catalog', 'import', file);
    expect(r.stdout).toContain(`table ${aws.names.catalogTable}: written 2, rejected 0, failed 0`);
    expect(r.code).toBe(0);
    const records = await tableRecords(aws.names.catalogTable!);
    expect(records.get('lamp')).toMatchObject({ title: 'Lamp, "big"', categories: ['home', 'lighting'], price: 19.99, available: false, createdAt: '2026-01-01T00:00:00.000Z', attributes: { brand: 'Acme', rating: 4.5 } });
    expect(records.get('constructor')).toMatchObject({ title: 'Proto', attributes: { brand: 'x', rating: 1 } });
  });

  it('--dry-run validates JSON lines and writes nothing; the repeated id is counted', async () => {
    const table = `test-catalog-dry-${process.pid}`;
    const file = join(dir, 'items.jsonl');
    await writeFile(file, '{"itemId":"a","title":"A"}\n{"itemId":"a","title":"A2"}\n{"itemId":"b","price":"x"}\n');
    const r = await cli('-q', 'catalog', 'import', file, '--dry-run', '--table', table);
    expect(r.stdout).toContain('1 valid item, 1 rejected');
    expect(r.stdout).toContain('1 repeated itemId (the later line won)');
    expect(r.stdout).toContain('  line 3: price: must be a number or a decimal string');
    expect(r.stdout).toContain('dry run: 1 item would be written, 1 rejected');
    expect(r.code).toBe(1);
  });

  it('fails with exit code 1 and the reason when the table does not exist, and refuses unusable files', async () => {
    const file = join(dir, 'one.jsonl');
    await writeFile(file, '{"itemId":"a"}\n');
    const r = await cli('-q', 'catalog', 'import', file, '--table', 'no-such-catalog');
    expect(r.stdout).toMatch(/table no-such-catalog: written 0, rejected 0, failed 1/);
    expect(r.stdout).toMatch(/failed:\n {2}a: .*(not found|non-existent|ResourceNotFound)/i);
    expect(r.code).toBe(1);

    const bad = join(dir, 'bad.csv');
    await writeFile(bad, 'title\nx\n');
    const header = await cli('catalog', 'import', bad);
    expect(header.stderr).toContain('error: ' + bad + ':1: the header needs an itemId column');
    expect(header.code).toBe(1);
    const unknown = await cli('catalog', 'import', join(dir, 'items.txt'), '--format', 'xml');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("argument 'xml' is invalid");
    expect((await cli('catalog', 'import', join(dir, 'missing.csv'))).stderr).toContain('no such file');
  });
});
