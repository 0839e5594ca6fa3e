import { Command, Option } from 'commander';
import type { CatalogWriter } from '../catalog/catalog-store';
import { CATALOG_FILE_FORMATS, writeCatalogItems, type CatalogFileFormat } from '../catalog/import-file';
import { MAX_ITEMS_PER_PUT } from '../catalog/item';
import { DEFAULT_NAMES } from '../config/runtime';
import { readCatalogFile, UserError } from './files';
import type { ProgressReporter } from './progress';

/** Rejected lines and failed items printed in full; the rest are counted. */
export const SHOWN_PROBLEMS = 10;

export interface CatalogCommandIo {
  say(line: string): void;
  progress(): ProgressReporter;
  /** The writer for a table; by default the DynamoDB catalogue the environment points at (AWS, LocalStack, an emulator). */
  openWriter?: (table: string) => Promise<{ writer: CatalogWriter; close(): void }>;
}

/** The catalogue table through the SDK clients of the environment (`AWS_ENDPOINT_URL*`, `AWS_REGION`, credentials). */
async function openDynamoCatalog(table: string): Promise<{ writer: CatalogWriter; close(): void }> {
  const [{ createDynamoDocumentClient }, { DynamoCatalog }] = await Promise.all([import('../adapters/aws-clients'), import('../adapters/dynamo-catalog')]);
  const ddb = createDynamoDocumentClient();
  return { writer: new DynamoCatalog(ddb, table), close: () => ddb.destroy() };
}

interface ImportOptions {
  format?: CatalogFileFormat;
  table?: string;
  dryRun?: boolean;
}

/**
 * `catalog import <file>`: a catalogue file into the live catalogue table, 500 items a write with a progress bar;
 * prints what was written, rejected (with line numbers) and failed. Exit code 1 when any line was rejected or any
 * item failed, so a script notices a partial import.
 */
export function addCatalogCommands(program: Command, io: CatalogCommandIo): void {
  const catalog = program.command('catalog').description('the live item catalogue (the DynamoDB table behind PUT /items)');
  catalog
    .command('import')
    .description('import a catalogue file into the catalogue table: MovieLens u.item, CSV or JSON lines, validated like PUT /items')
    .argument('<file>', 'u.item (| separated, genre flags), *.csv (header itemId,title,categories,price,available,createdAt, other columns are custom attributes) or *.jsonl (one item object a line)')
    .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices([...CATALOG_FILE_FORMATS]))
    .option('--table <name>', `catalogue table (default: $CATALOG_TABLE, else ${DEFAULT_NAMES.catalogTable})`)
    .option('--dry-run', 'read and validate the file; write nothing')
    .addHelpText(
      'after',
      `
The table is reached with the AWS environment (region, credentials, AWS_ENDPOINT_URL for LocalStack or an emulator:
npm start prints its DynamoDB endpoint). Items are written ${MAX_ITEMS_PER_PUT} at a time; a repeated itemId takes the
later line's values. Exit code 1 when a line was rejected or an item failed.

Examples:
  npm run cli -- catalog import data/ml-100k/u.item --dry-run
  npm run cli -- catalog import items.csv --table recsys-catalog
  AWS_ENDPOINT_URL=http://127.0.0.1:4566 npm run cli -- catalog import items.jsonl`,
    )
    .action(async (file: string, opts: ImportOptions) => {
      const parsed = await readCatalogFile(file, opts.format);
      const { items, rejected, duplicates, records } = parsed;
      io.say(
        `read ${records} item line${records === 1 ? '' : 's'} from ${file} (${parsed.format}): ${items.length} valid item${items.length === 1 ? '' : 's'}, ${rejected.length} rejected` +
          (duplicates ? `, ${duplicates} repeated itemId${duplicates === 1 ? '' : 's'} (the later line won)` : ''),
      );
      printProblems(io, 'rejected', rejected.map((r) => `line ${r.line}: ${r.message}`));

      if (opts.dryRun) {
        io.say(`dry run: ${items.length} item${items.length === 1 ? '' : 's'} would be written, ${rejected.length} rejected`);
        if (rejected.length > 0) throw new ExitCode(1);
        return;
      }
      const table = opts.table ?? (process.env.CATALOG_TABLE?.trim() || DEFAULT_NAMES.catalogTable);
      if (items.length === 0) {
        io.say(`nothing to write to ${table}: written 0, rejected ${rejected.length}, failed 0`);
        throw new ExitCode(rejected.length > 0 ? 1 : 0);
      }
      const { writer, close } = await (io.openWriter ?? openDynamoCatalog)(table);
      const progress = io.progress();
      let report;
      try {
        progress.update('import', 0);
        report = await writeCatalogItems(writer, items, { nowMs: Date.now(), onProgress: (done, total) => progress.update('import', done / total) });
      } finally {
        progress.stop();
        close();
      }
      io.say(`table ${table}: written ${report.written}, rejected ${rejected.length}, failed ${report.failed.length}`);
      printProblems(io, 'failed', report.failed.map((f) => `${f.itemId}: ${f.reason}`));
      if (rejected.length > 0 || report.failed.length > 0) throw new ExitCode(1);
    });
}

function printProblems(io: CatalogCommandIo, what: string, lines: string[]): void {
  if (lines.length === 0) return;
  io.say(`${what}${lines.length > SHOWN_PROBLEMS ? ` (first ${SHOWN_PROBLEMS} of ${lines.length})` : ''}:`);
  for (const line of lines.slice(0, SHOWN_PROBLEMS)) io.say(`  ${line}`);
}

/** Ends a command with this exit code after it printed its own report (no `error:` line). */
export class ExitCode extends Error {
  override name = 'ExitCode';
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

export { UserError };
