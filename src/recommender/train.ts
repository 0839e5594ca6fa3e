import type { HybridConfig } from './config';
import type { HybridModel } from './hybrid-model';
import type { Interaction, ItemMeta } from './types';

export interface TrainOptions {
  /** Catalogue metadata: genres feed the content signal; items listed here are recommendable even unseen. */
  items?: ItemMeta[];
  config?: Partial<HybridConfig>;
  /** Called with a stage name and its completed fraction (0..1) during long work. */
  onProgress?: (stage: string, fraction: number) => void;
  /** Label stored in metadata.modelVersion. */
  modelVersion?: string;
}

export function trainHybridModel(_interactions: Interaction[], _options: TrainOptions = {}): HybridModel {
  throw new Error('not implemented yet');
}
