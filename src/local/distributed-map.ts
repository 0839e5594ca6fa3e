/**
 * aws-local-stepfunctions runs inline Map states only (no ItemReader: it has no Distributed Map). The local runners
 * emulate a Distributed Map whose ItemReader lists S3 objects by rewriting it into what AWS does with it:
 *
 *   1. `<Map>.ItemReader`, a Task that lists the objects under the reader's Bucket and Prefix and returns them as AWS's
 *      `s3:listObjectsV2` reader hands them to the items (`{ Etag, Key, LastModified, Size, StorageClass }`, see
 *      https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemreader.html), into a hidden input field;
 *   2. the Map itself, inline over that field, with the same ItemSelector, MaxConcurrency, ItemProcessor (its inner
 *      Tasks run the same local handlers), ResultSelector, ResultPath, Retry, Catch and Next.
 *
 * Not emulated, and refused when present so nothing silently differs: ItemBatcher, ResultWriter, a non-zero
 * ToleratedFailurePercentage/Count (here any failed item fails the Map, as with a tolerance of 0), readers other than
 * listObjectsV2. Child executions are not separate executions: their states appear in the parent's event log.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface MapLikeState {
  Type: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { Next: string; ErrorEquals: string[]; ResultPath?: string }[];
  ItemReader?: { Resource: string; Parameters?: Record<string, Json>; ReaderConfig?: Json };
  ItemProcessor?: { ProcessorConfig?: { Mode?: string; ExecutionType?: string }; StartAt: string; States: Record<string, unknown> };
  [key: string]: unknown;
}

export interface S3ListedItem {
  Etag: string;
  Key: string;
  LastModified: number;
  Size: number;
  StorageClass: string;
}

/** Lists every object under `prefix` (what the reader iterates, in key order). */
export type ListObjects = (bucket: string, prefix: string) => Promise<S3ListedItem[]>;

/** The hidden input field the reader Task writes and the inline Map reads. */
export const LOCAL_ITEMS_FIELD = 'localDistributedMapItems';
export const ITEM_READER_SUFFIX = '.ItemReader';

/** The reader this emulation supports, and the Resource of the reader Tasks it adds. */
export const ITEM_READER_RESOURCE = 'arn:aws:states:::s3:listObjectsV2';
const LIST_OBJECTS = ITEM_READER_RESOURCE;

export function isDistributedMap(state: MapLikeState): boolean {
  return state.Type === 'Map' && (state.ItemProcessor?.ProcessorConfig?.Mode === 'DISTRIBUTED' || state.ItemReader !== undefined);
}

/**
 * The definition with every Distributed Map rewritten as above (top level only: this project nests none), and the
 * local handlers of the reader Tasks it added. Transitions to a rewritten Map go to its reader first.
 */
export function emulateDistributedMaps<S extends MapLikeState>(
  states: Record<string, S>,
  listObjects: ListObjects,
): { states: Record<string, S>; handlers: Record<string, (input: unknown) => Promise<unknown>>; emulated: string[] } {
  const out: Record<string, S> = {};
  const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const emulated: string[] = [];
  for (const [name, state] of Object.entries(states)) {
    if (!isDistributedMap(state)) {
      out[name] = state;
      continue;
    }
    const refusal = unsupported(state);
    if (refusal) throw new Error(`Distributed Map ${name}: ${refusal}; the local emulation (src/local/distributed-map.ts) cannot run it faithfully`);
    const { ItemReader: reader, ItemBatcher: _batcher, ResultWriter: _writer, ToleratedFailurePercentage: _p, ToleratedFailureCount: _c, Label: _label, ...rest } = state;
    const readerName = `${name}${ITEM_READER_SUFFIX}`;
    out[readerName] = {
      Type: 'Task',
      Comment: `Local emulation of ${name}'s ItemReader (s3:listObjectsV2)`,
      Resource: LIST_OBJECTS,
      Parameters: reader!.Parameters ?? {},
      ResultPath: `$.${LOCAL_ITEMS_FIELD}`,
      Next: name,
      ...(state.Catch ? { Catch: state.Catch } : {}),
    } as unknown as S;
    out[name] = {
      ...rest,
      ItemsPath: `$.${LOCAL_ITEMS_FIELD}`,
      ItemProcessor: { ...state.ItemProcessor!, ProcessorConfig: { Mode: 'INLINE' } },
    } as unknown as S;
    handlers[readerName] = async (params) => {
      const p = params as { Bucket?: unknown; Prefix?: unknown };
      if (typeof p.Bucket !== 'string' || p.Bucket === '') throw new Error(`${readerName}: the ItemReader needs a Bucket`);
      return listObjects(p.Bucket, typeof p.Prefix === 'string' ? p.Prefix : '');
    };
    emulated.push(name);
  }
  // Whatever transitioned to a rewritten Map now goes through its reader.
  const redirect = (target: string): string => (emulated.includes(target) ? `${target}${ITEM_READER_SUFFIX}` : target);
  for (const [name, state] of Object.entries(out)) {
    if (name.endsWith(ITEM_READER_SUFFIX) && emulated.includes(name.slice(0, -ITEM_READER_SUFFIX.length))) continue;
    const s = state as MapLikeState;
    out[name] = {
      ...state,
      ...(s.Next !== undefined ? { Next: redirect(s.Next) } : {}),
      ...(s.Default !== undefined ? { Default: redirect(s.Default) } : {}),
      ...(s.Choices ? { Choices: s.Choices.map((c) => ({ ...c, Next: redirect(c.Next) })) } : {}),
      ...(s.Catch ? { Catch: s.Catch.map((c) => ({ ...c, Next: redirect(c.Next) })) } : {}),
    };
  }
  return { states: out, handlers, emulated };
}

/** A redirected StartAt (when the definition starts with a Distributed Map). */
export function emulatedStartAt(startAt: string, emulated: readonly string[]): string {
  return emulated.includes(startAt) ? `${startAt}${ITEM_READER_SUFFIX}` : startAt;
}

function unsupported(state: MapLikeState): string | undefined {
  if (!state.ItemReader) return 'it has no ItemReader (items from the input: make it an inline Map)';
  if (state.ItemReader.Resource !== LIST_OBJECTS) return `its ItemReader ${state.ItemReader.Resource} is not ${LIST_OBJECTS}`;
  if (state.ItemReader.ReaderConfig !== undefined) return 'ItemReader.ReaderConfig is not emulated';
  if (state.ItemBatcher !== undefined) return 'ItemBatcher is not emulated';
  if (state.ResultWriter !== undefined) return 'ResultWriter is not emulated';
  for (const key of ['ToleratedFailurePercentage', 'ToleratedFailureCount', 'ToleratedFailurePercentagePath', 'ToleratedFailureCountPath']) {
    if (state[key] !== undefined && state[key] !== 0) return `${key} is not emulated (any failed item fails the Map here)`;
  }
  return undefined;
}
