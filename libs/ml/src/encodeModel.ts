import { MlInputError } from './errors';
import type { TrainedModel } from './TrainedModel';
import { MODEL_FORMAT_VERSION } from './TrainedModel';

/** "PLML" — pipeline ML model. */
export const MODEL_MAGIC = Uint8Array.of(0x50, 0x4c, 0x4d, 0x4c);

export type SectionArray = Float64Array | Float32Array | Int32Array | Uint16Array | Uint8Array;

/**
 * Largest JSON header a model file may have, in bytes. The biggest legitimate header — 1,000
 * feature keys of 256 four-byte characters, twice (keys and importances) — is about 2 MiB; a
 * header is parsed into objects before anything else is checked, so a 64 MiB one would cost
 * gigabytes of heap. Both encodeModel and decodeModel enforce it.
 */
export const MAX_MODEL_HEADER_BYTES = 4 * 1024 * 1024;

/** Most typed-array sections a model file may list; the largest model (a scaled forest) has 9. */
export const MAX_MODEL_SECTIONS = 32;

/** Typed-array section descriptor in the JSON header; `offset` is in bytes from the start of the file. */
export interface SectionEntry {
  name: string;
  dtype: 'f64' | 'f32' | 'i32' | 'u16' | 'u8';
  offset: number;
  length: number;
}

const DTYPE_BY_TAG: Record<string, SectionEntry['dtype']> = {
  '[object Float64Array]': 'f64',
  '[object Float32Array]': 'f32',
  '[object Int32Array]': 'i32',
  '[object Uint16Array]': 'u16',
  '[object Uint8Array]': 'u8',
};

/**
 * The section dtype of a typed array, by its tag rather than `instanceof`, so arrays made in
 * another realm (a vm context, or a message received there) encode correctly too.
 */
export function dtypeOf(a: SectionArray): SectionEntry['dtype'] {
  const dtype = DTYPE_BY_TAG[Object.prototype.toString.call(a)];
  if (dtype === undefined) throw new TypeError(`cannot encode a ${Object.prototype.toString.call(a)} section`);
  return dtype;
}

/** Model state split into a JSON-able part and named typed arrays. */
function stateOf(model: TrainedModel): { state: Record<string, unknown>; arrays: Record<string, SectionArray> } {
  const arrays: Record<string, SectionArray> = {};
  if (model.scaler) {
    arrays.scalerMean = model.scaler.mean;
    arrays.scalerScale = model.scaler.scale;
  }
  const f = model.fitted;
  switch (f.type) {
    case 'random_forest': {
      const c = f.forest.toCompact();
      Object.assign(arrays, c);
      return { state: {}, arrays };
    }
    case 'linear_regression':
      arrays.coefficients = f.regression.coefficients;
      return { state: { intercept: f.regression.intercept, rank: f.regression.rank, trainR2: f.regression.trainR2 }, arrays };
    case 'kmeans':
      arrays.centers = f.kmeans.centers;
      return { state: { nClusters: f.kmeans.nClusters, inertia: f.kmeans.inertia, iterations: f.kmeans.iterations }, arrays };
    case 'isolation_forest': {
      Object.assign(arrays, f.forest.toCompact());
      return {
        state: { sampleSize: f.forest.sampleSize, scoreThreshold: f.forest.scoreThreshold, contamination: f.forest.contamination },
        arrays,
      };
    }
  }
}

/**
 * Serializes a trained model. Layout (all integers little-endian):
 *
 *   bytes 0–3   magic "PLML"
 *   bytes 4–5   format version (uint16), currently 1
 *   bytes 6–7   reserved, 0
 *   bytes 8–11  header length H (uint32)
 *   bytes 12…   header: UTF-8 JSON { metadata, state, byteLength, sections: [{name, dtype, offset, length}] }
 *   then        typed-array sections, each starting on an 8-byte boundary (raw little-endian values)
 *
 * No pickling, no code: decoding reads numbers only. Size for 100 depth-10 trees on 8k rows ≈ 0.6 MB.
 */
export function encodeModel(model: TrainedModel): Uint8Array {
  if (!isLittleEndian()) throw new Error('encodeModel supports little-endian platforms only');
  const { state, arrays } = stateOf(model);
  const meta = {
    name: model.name,
    version: model.version,
    type: model.type,
    featureKeys: model.featureKeys,
    targetKey: model.targetKey,
    metrics: model.metrics,
    featureImportances: model.featureImportances,
    params: model.params,
    provenance: model.provenance,
  };
  // Section offsets depend on the header length, which depends on the offsets' digits: reserve a
  // header size, and if the JSON is shorter pad it with spaces (valid JSON whitespace).
  let reserved = 0;
  let headerBytes = new Uint8Array(0);
  let sections: SectionEntry[] = [];
  let total = 0;
  for (;;) {
    let offset = align8(12 + reserved);
    sections = Object.entries(arrays).map(([name, a]) => {
      const e: SectionEntry = { name, dtype: dtypeOf(a), offset, length: a.length };
      offset = align8(offset + a.byteLength);
      return e;
    });
    total = offset;
    let json: string;
    try {
      json = JSON.stringify({ ...meta, state, byteLength: total, sections });
    } catch (err) {
      throw new MlInputError(`model metadata is not JSON-serializable: ${(err as Error).message}`, 'source');
    }
    const encoded = new TextEncoder().encode(json);
    if (encoded.length > MAX_MODEL_HEADER_BYTES) {
      throw new MlInputError(`model header is ${encoded.length} bytes, more than the ${MAX_MODEL_HEADER_BYTES} a model file may have`, 'featureKeys');
    }
    if (encoded.length <= reserved) {
      headerBytes = new Uint8Array(reserved).fill(0x20);
      headerBytes.set(encoded, 0);
      break;
    }
    reserved = encoded.length + 32;
  }
  const out = new Uint8Array(total);
  out.set(MODEL_MAGIC, 0);
  const view = new DataView(out.buffer);
  view.setUint16(4, MODEL_FORMAT_VERSION, true);
  view.setUint16(6, 0, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, 12);
  for (const s of sections) {
    const a = arrays[s.name]!;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), s.offset);
  }
  return out;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

export function isLittleEndian(): boolean {
  return new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
}
