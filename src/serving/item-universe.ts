import type { CatalogRecord } from '../catalog/item';
import type { LiveCatalogue } from '../catalog/live-catalogue';
import type { HybridModel } from '../recommender/index';
import type { ItemUniverse, ItemView } from '../rules/eligibility';

const NO_ATTRIBUTES: Readonly<Record<string, never>> = Object.freeze(Object.create(null) as Record<string, never>);

/**
 * The items one request can be answered from, in one index order the filters' masks share: the model's items
 * first (index j is the model's item j, so a mask's first `model.itemCount` entries are the model's own
 * eligibility), then the live catalogue's items the model has never seen (new items: only exploration can
 * recommend them before the next training).
 *
 * A model item the catalogue does not list keeps the model's genres as its categories and counts as available
 * (a shop that never uses the catalogue API loses nothing); a catalogue entry replaces that view, and a
 * withdrawn entry marks the item withdrawn. Rebuilt only when the model or the catalogue changes
 * (`version`), so cached filter masks stay valid in between.
 */
export class ModelUniverse implements ItemUniverse {
  readonly version: number;
  readonly size: number;
  private readonly views: ItemView[];
  private readonly index: Map<string, number>;
  /** 1 where the live catalogue lists the item (only those can be explored as new). */
  readonly listed: Uint8Array;

  constructor(
    /** Absent before the first model is deployed: the universe is then the catalogue alone. */
    readonly model: HybridModel | undefined,
    catalogue: Pick<LiveCatalogue, 'get' | 'records'> | undefined,
    version: number,
  ) {
    this.version = version;
    const ids = model?.items() ?? [];
    this.views = new Array<ItemView>(ids.length);
    this.index = new Map();
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j]!;
      this.index.set(id, j);
      const record = catalogue?.get(id);
      this.views[j] = record ? viewOf(record) : modelView(model!, id);
    }
    const listed: number[] = [];
    for (let j = 0; j < ids.length; j++) if (catalogue?.get(ids[j]!)) listed.push(j);
    if (catalogue) {
      for (const record of catalogue.records()) {
        // Withdrawn items stay in the universe (their mask entry is always 0) so no route mistakes them for unknown.
        if (this.index.has(record.itemId)) continue;
        this.index.set(record.itemId, this.views.length);
        listed.push(this.views.length);
        this.views.push(viewOf(record));
      }
    }
    this.size = this.views.length;
    this.listed = new Uint8Array(this.size);
    for (const j of listed) this.listed[j] = 1;
  }

  /** How many of the universe's items the model can score (indices 0..modelItems-1). */
  get modelItems(): number {
    return this.model?.itemCount ?? 0;
  }

  view(index: number): ItemView {
    return this.views[index]!;
  }

  indexOf(itemId: string): number | undefined {
    return this.index.get(itemId);
  }

  itemId(index: number): string {
    return this.views[index]!.itemId;
  }
}

function viewOf(r: CatalogRecord): ItemView {
  const createdAtMs = r.createdAt ? Date.parse(r.createdAt) : undefined;
  return {
    itemId: r.itemId,
    ...(r.title ? { title: r.title } : {}),
    categories: r.categories,
    ...(r.price !== undefined ? { price: r.price } : {}),
    available: r.available,
    withdrawn: r.withdrawn,
    ...(createdAtMs !== undefined && Number.isFinite(createdAtMs) ? { createdAtMs } : {}),
    attributes: r.attributes,
  };
}

function modelView(model: HybridModel, itemId: string): ItemView {
  const meta = model.itemMeta(itemId);
  return { itemId, ...(meta?.title ? { title: meta.title } : {}), categories: meta?.genres ?? [], available: true, withdrawn: false, attributes: NO_ATTRIBUTES };
}
