import { resolveHybridConfig } from './model-config';
import { HybridModel, type ModelState } from './hybrid-model';
import { MODEL_FORMAT_VERSION, type ModelMetadata } from './metadata';

/** First bytes of every payload ("HRM" + format version), so a stray file is recognised as not a model. */
const MAGIC = [0x48, 0x52, 0x4d, MODEL_FORMAT_VERSION];
const HEADER_BYTES = 8;

type SectionType = 'int32' | 'uint16' | 'float32' | 'lines' | 'json';

export interface PayloadSection {
  name: string;
  type: SectionType;
  /** Byte offset in the payload (8-byte aligned). */
  offset: number;
  /** Bytes. */
  bytes: number;
}

/** JSON half of an artifact: the model's metadata plus the layout of the binary payload. */
export interface ModelManifest {
  formatVersion: number;
  metadata: ModelMetadata;
  payload: { bytes: number; checksum: string; sections: PayloadSection[] };
}

/** A model as stored: a small JSON manifest and one compact binary payload of typed arrays. */
export interface ModelArtifact {
  manifest: ModelManifest;
  payload: Uint8Array;
}

type ArraySection = Int32Array | Uint16Array | Float32Array;

/**
 * Serialises a model to a manifest (JSON-serialisable, includes metadata) and a binary payload of
 * little-endian typed arrays. Neighbour indices are stored as uint16 when the catalogue allows it.
 */
export function serializeModel(model: HybridModel): ModelArtifact {
  const s = model.state;
  const encoder = new TextEncoder();
  const lines = (name: string, ids: string[]): [string, SectionType, Uint8Array] => {
    for (const id of ids) {
      if (id.includes('\n')) throw new Error(`${name} contains an id with a line break, which the artifact cannot store: ${JSON.stringify(id.slice(0, 40))}`);
    }
    return [name, 'lines', encoder.encode(ids.join('\n'))];
  };
  const narrow = s.itemIds.length <= 0xffff;
  const parts: [string, SectionType, Uint8Array | ArraySection][] = [
    lines('itemIds', s.itemIds),
    lines('userIds', s.userIds),
    ['titles', 'json', encoder.encode(JSON.stringify(s.titles))],
    ['genreNames', 'json', encoder.encode(JSON.stringify(s.genreNames))],
    ['userPtr', 'int32', s.userPtr],
    narrow ? ['userItems', 'uint16', Uint16Array.from(s.userItems)] : ['userItems', 'int32', s.userItems],
    ['nbrPtr', 'int32', s.nbrPtr],
    narrow ? ['nbrIdx', 'uint16', Uint16Array.from(s.nbrIdx)] : ['nbrIdx', 'int32', s.nbrIdx],
    ['nbrW', 'float32', s.nbrW],
    ['itemCounts', 'float32', s.itemCounts],
    ['genrePtr', 'int32', s.genrePtr],
    ['genreIdx', 'int32', s.genreIdx],
  ];
  const sections: PayloadSection[] = [];
  let offset = HEADER_BYTES;
  for (const [name, type, data] of parts) {
    sections.push({ name, type, offset, bytes: data.byteLength });
    offset = align8(offset + data.byteLength);
  }
  const payload = new Uint8Array(offset);
  payload.set(MAGIC, 0);
  parts.forEach(([, , data], p) => {
    payload.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), sections[p].offset);
  });
  return {
    manifest: {
      formatVersion: MODEL_FORMAT_VERSION,
      metadata: s.metadata,
      payload: { bytes: payload.byteLength, checksum: checksum(payload), sections },
    },
    payload,
  };
}

/**
 * Parses a manifest's text; `source` (e.g. the S3 key or file path it came from) is named in the error when
 * the text is not JSON or not a manifest, instead of a bare `SyntaxError`.
 */
export function parseModelManifest(text: string, source: string): ModelManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not a model manifest: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  const m = value as Partial<ModelManifest> | null;
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error(`${source} is not a model manifest: not a JSON object`);
  if (!m.metadata || typeof m.metadata !== 'object' || !m.payload || !Array.isArray(m.payload.sections)) {
    throw new Error(`${source} is not a model manifest: metadata or payload layout missing`);
  }
  return m as ModelManifest;
}

/**
 * Rebuilds a model from its artifact. Throws an Error saying what is wrong when the artifact is of another
 * format version, truncated, corrupted (checksum) or internally inconsistent; with `source` (where the
 * artifact came from, e.g. its S3 keys), the message starts with it.
 */
export function deserializeModel(artifact: ModelArtifact, source?: string): HybridModel {
  if (source === undefined) return deserialize(artifact);
  try {
    return deserialize(artifact);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`, { cause: err });
  }
}

function deserialize(artifact: ModelArtifact): HybridModel {
  const { manifest, payload } = artifact;
  if (!manifest || typeof manifest !== 'object') throw new Error('model manifest is missing or not an object');
  if (manifest.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new Error(`model format version ${String(manifest.formatVersion)} is not supported (this reader understands version ${MODEL_FORMAT_VERSION}); retrain the model`);
  }
  if (!manifest.metadata || !manifest.payload || !Array.isArray(manifest.payload.sections)) {
    throw new Error('model manifest is incomplete: metadata or payload layout missing');
  }
  if (!(payload instanceof Uint8Array)) throw new Error('model payload must be bytes');
  if (payload.byteLength !== manifest.payload.bytes) {
    throw new Error(`model payload is ${payload.byteLength} bytes but the manifest says ${manifest.payload.bytes} (truncated or mismatched files)`);
  }
  for (let b = 0; b < MAGIC.length; b++) {
    if (payload[b] !== MAGIC[b]) throw new Error('model payload does not start with the model file signature (not a model file, or another format version)');
  }
  if (checksum(payload) !== manifest.payload.checksum) throw new Error('model payload checksum mismatch: the file is corrupt');

  const byName = new Map(manifest.payload.sections.map((sec) => [sec.name, sec]));
  const section = (name: string): PayloadSection => {
    const sec = byName.get(name);
    if (!sec) throw new Error(`model payload has no "${name}" section`);
    if (!(sec.offset >= HEADER_BYTES && sec.bytes >= 0 && sec.offset + sec.bytes <= payload.byteLength)) {
      throw new Error(`model payload section "${name}" lies outside the payload`);
    }
    return sec;
  };
  const bytesOf = (name: string) => {
    const sec = section(name);
    return payload.subarray(sec.offset, sec.offset + sec.bytes);
  };
  const decoder = new TextDecoder();
  const linesOf = (name: string, count: number): string[] => {
    if (count === 0) return [];
    const list = decoder.decode(bytesOf(name)).split('\n');
    if (list.length !== count) throw new Error(`model payload section "${name}" has ${list.length} ids, expected ${count}`);
    return list;
  };
  const jsonOf = (name: string): string[] => {
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytesOf(name)));
    } catch (err) {
      throw new Error(`model payload section "${name}" is not valid JSON (${(err as Error).message}): the file is corrupt`);
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`model payload section "${name}" is not a list of strings`);
    return value as string[];
  };
  const int32 = (name: string): Int32Array => {
    const sec = section(name);
    if (sec.type === 'uint16') return Int32Array.from(view(payload, sec, 2, (b, o, n) => new Uint16Array(b, o, n)));
    return view(payload, sec, 4, (b, o, n) => new Int32Array(b, o, n));
  };
  const float32 = (name: string): Float32Array => view(payload, section(name), 4, (b, o, n) => new Float32Array(b, o, n));

  const metadata = manifest.metadata;
  const config = resolveHybridConfig(metadata.config);
  const itemCount = metadata.trainingData?.items;
  const userCount = metadata.trainingData?.users;
  if (!Number.isInteger(itemCount) || !Number.isInteger(userCount)) throw new Error('model metadata lacks trainingData.items/users');
  const state: ModelState = {
    metadata: { ...metadata, config },
    itemIds: linesOf('itemIds', itemCount),
    userIds: linesOf('userIds', userCount),
    titles: jsonOf('titles'),
    genreNames: jsonOf('genreNames'),
    userPtr: int32('userPtr'),
    userItems: int32('userItems'),
    nbrPtr: int32('nbrPtr'),
    nbrIdx: int32('nbrIdx'),
    nbrW: float32('nbrW'),
    itemCounts: float32('itemCounts'),
    genrePtr: int32('genrePtr'),
    genreIdx: int32('genreIdx'),
  };
  checkConsistency(state);
  return new HybridModel(state);
}

function view<T extends ArraySection>(
  payload: Uint8Array,
  sec: PayloadSection,
  size: number,
  make: (buffer: ArrayBuffer, offset: number, length: number) => T,
): T {
  if (sec.bytes % size !== 0) throw new Error(`model payload section "${sec.name}" has a partial element`);
  const start = payload.byteOffset + sec.offset;
  if (start % size === 0 && payload.buffer instanceof ArrayBuffer) return make(payload.buffer, start, sec.bytes / size);
  // Unaligned (e.g. a pooled Buffer): copy once.
  const copy = payload.slice(sec.offset, sec.offset + sec.bytes);
  return make(copy.buffer, 0, sec.bytes / size);
}

function checkConsistency(s: ModelState): void {
  const items = s.itemIds.length;
  const csr = (name: string, ptr: Int32Array, rows: number, values: ArrayLike<number>, bound: number) => {
    if (ptr.length !== rows + 1 || ptr[0] !== 0 || ptr[rows] !== values.length) {
      throw new Error(`model payload section "${name}" is inconsistent with its index`);
    }
    for (let r = 0; r < rows; r++) if (ptr[r + 1] < ptr[r]) throw new Error(`model payload section "${name}" is not monotonic`);
    for (let p = 0; p < values.length; p++) {
      const v = values[p];
      if (!(v >= 0 && v < bound)) throw new Error(`model payload section "${name}" refers to index ${v} outside 0..${bound - 1}`);
    }
  };
  csr('userPtr', s.userPtr, s.userIds.length, s.userItems, items);
  csr('nbrPtr', s.nbrPtr, items, s.nbrIdx, items);
  csr('genrePtr', s.genrePtr, items, s.genreIdx, s.genreNames.length);
  if (s.nbrW.length !== s.nbrIdx.length) throw new Error('model payload neighbour weights and indices differ in length');
  if (s.itemCounts.length !== items) throw new Error('model payload item counts do not match the item index');
  if (s.titles.length !== items) throw new Error('model payload titles do not match the item index');
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** FNV-1a over 32-bit words (payload length is a multiple of 8): cheap enough for every cold start. */
function checksum(bytes: Uint8Array): string {
  const words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 2) : new Uint32Array(bytes.slice().buffer, 0, bytes.byteLength >>> 2);
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ bytes.byteLength;
  for (let i = 0; i < words.length; i++) {
    h1 = Math.imul(h1 ^ words[i], 0x01000193);
    h2 = Math.imul(h2 ^ words[i], 0x5bd1e995) ^ (h2 >>> 13);
  }
  return `${(h1 >>> 0).toString(16).padStart(8, '0')}${(h2 >>> 0).toString(16).padStart(8, '0')}`;
}
