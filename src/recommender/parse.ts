import type { Interaction, ItemMeta } from './types';

export function parseRatingsFile(_text: string, _fileName?: string): Interaction[] {
  throw new Error('not implemented yet');
}

export function parseItemsFile(_text: string, _fileName?: string): ItemMeta[] {
  throw new Error('not implemented yet');
}
