import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileRulesText } from '../rules/rules-definition';

/** The project's rules definition, the file `cdk deploy` ships by default (context `rulesFile`). */
export const PROJECT_RULES_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules.json');

/**
 * The rules definition the local API serves, as the compact JSON the read function receives in `RULES_JSON`:
 * from `RECSYS_RULES_FILE`, else the project's `rules.json`; none when that file does not exist. A broken
 * definition throws the same error `cdk synth` gives, naming the file and pointing into the expression.
 */
export function localRulesJson(file = process.env.RECSYS_RULES_FILE ?? PROJECT_RULES_FILE): string | undefined {
  const path = resolve(file);
  if (!existsSync(path)) {
    if (process.env.RECSYS_RULES_FILE) throw new Error(`RECSYS_RULES_FILE names ${path}, which does not exist`);
    return undefined;
  }
  const text = readFileSync(path, 'utf8');
  compileRulesText(text, file);
  return JSON.stringify(JSON.parse(text) as unknown);
}
