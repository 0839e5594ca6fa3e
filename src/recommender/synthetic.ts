import type { Interaction, ItemMeta } from './types';

export interface SyntheticOptions {
  users: number;
  items: number;
  events: number;
  seed?: number;
  genres?: number;
  startMs?: number;
  endMs?: number;
}

export function generateSyntheticDataset(_options: SyntheticOptions): { interactions: Interaction[]; items: ItemMeta[] } {
  throw new Error('not implemented yet');
}
