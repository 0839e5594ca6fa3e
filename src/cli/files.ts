import { isUtf8 } from 'node:buffer';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseItemsFile, parseRatingsFile, type Interaction, type ItemMeta } from '../recommender/index';
import { CatalogFileError, parseCatalogBytes, type CatalogFileFormat, type CatalogFileImport } from '../catalog/import-file';

/** A problem the user can fix (bad file, bad option): printed as one line, no stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}

async function readBytes(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new UserError(`cannot read ${what} file ${path}: ${reason}`);
  }
}

async function readText(path: string, what: string): Promise<string> {
  const bytes = await readBytes(path, what);
  // MovieLens u.item is Latin-1; anything that is not valid UTF-8 is read as Latin-1.
  return isUtf8(bytes) ? bytes.toString('utf8') : bytes.toString('latin1');
}

export async function readRatings(path: string): Promise<Interaction[]> {
  const text = await readText(path, 'ratings');
  try {
    return parseRatingsFile(text, basename(path));
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

export async function readItems(path: string): Promise<ItemMeta[]> {
  const text = await readText(path, 'items');
  try {
    return parseItemsFile(text, basename(path));
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

/** A catalogue file (u.item, CSV, JSON lines) parsed into validated items and rejected lines; a file-level problem is a UserError. */
export async function readCatalogFile(path: string, format?: CatalogFileFormat): Promise<CatalogFileImport> {
  const bytes = await readBytes(path, 'catalogue');
  try {
    return parseCatalogBytes(bytes, { fileName: path, ...(format ? { format } : {}) });
  } catch (err) {
    if (err instanceof CatalogFileError) throw new UserError(err.message);
    throw err;
  }
}
