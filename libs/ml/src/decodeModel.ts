import { ModelFormatError } from './errors';
import { IsolationForest } from './IsolationForest';
import { KMeans } from './KMeans';
import { LinearRegression } from './LinearRegression';
import { RandomForestRegressor } from './RandomForestRegressor';
import { StandardScaler } from './StandardScaler';
import type { FittedState, ModelType, TrainedModel } from './TrainedModel';
import { MODEL_FORMAT_VERSION } from './TrainedModel';
import { MAX_MODEL_HEADER_BYTES, MAX_MODEL_SECTIONS, MODEL_MAGIC, isLittleEndian } from './encodeModel';
import type { SectionArray, SectionEntry } from './encodeModel';

const DTYPES = {
  f64: Float64Array,
  f32: Float32Array,
  i32: Int32Array,
  u16: Uint16Array,
  u8: Uint8Array,
} as const;

const MODEL_TYPES: readonly ModelType[] = ['random_forest', 'linear_regression', 'kmeans', 'isolation_forest'];

/**
 * Loads a model written by `encodeModel` without retraining. Every failure is a `ModelFormatError`
 * saying what is wrong: `not a model file: bad magic`, `unsupported model format version 2 (this
 * build reads 1)`, `model file truncated: 812 of 65536 bytes`, `model section "leafValue" ...`.
 * Typed arrays are copied out of `bytes`, so the caller may reuse the buffer.
 *
 * Work and memory are bounded by the file's size, whoever wrote it: the header is at most
 * MAX_MODEL_HEADER_BYTES (checked before it is parsed), at most MAX_MODEL_SECTIONS sections with
 * distinct names, and sections may not overlap — so the bytes copied out are at most the file's
 * own size. (Without the last rule a 9.6 MB file listing 20,000 sections over the same bytes made
 * decoding copy 190 GB.)
 */
export function decodeModel(bytes: Uint8Array): TrainedModel {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError('model bytes must be a Uint8Array');
  if (!isLittleEndian()) throw new ModelFormatError('decodeModel supports little-endian platforms only');
  if (bytes.length < 12) throw new ModelFormatError(`model file truncated: ${bytes.length} bytes is shorter than the 12-byte preamble`);
  for (let i = 0; i < 4; i++) if (bytes[i] !== MODEL_MAGIC[i]) throw new ModelFormatError('not a model file: bad magic (expected "PLML")');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== MODEL_FORMAT_VERSION) {
    throw new ModelFormatError(`unsupported model format version ${version} (this build reads ${MODEL_FORMAT_VERSION})`);
  }
  const headerLength = view.getUint32(8, true);
  if (headerLength > MAX_MODEL_HEADER_BYTES) {
    throw new ModelFormatError(`model header is ${headerLength} bytes, more than the ${MAX_MODEL_HEADER_BYTES} allowed`);
  }
  if (12 + headerLength > bytes.length) {
    throw new ModelFormatError(`model file truncated: header needs ${12 + headerLength} bytes, got ${bytes.length}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(12, 12 + headerLength)));
  } catch (err) {
    throw new ModelFormatError(`model header is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof header !== 'object' || header === null) throw new ModelFormatError('model header must be a JSON object');
  const byteLength = header.byteLength;
  if (typeof byteLength !== 'number') throw new ModelFormatError('model header has no byteLength');
  if (bytes.length < byteLength) throw new ModelFormatError(`model file truncated: ${bytes.length} of ${byteLength} bytes`);
  if (bytes.length > byteLength) throw new ModelFormatError(`model file has ${bytes.length - byteLength} trailing bytes`);

  const arrays = new Map<string, SectionArray>();
  if (!Array.isArray(header.sections)) throw new ModelFormatError('model header has no sections list');
  if (header.sections.length > MAX_MODEL_SECTIONS) {
    throw new ModelFormatError(`model header lists ${header.sections.length} sections, at most ${MAX_MODEL_SECTIONS} allowed`);
  }
  // Checked in full before anything is copied: names, bounds, then no two sections sharing a byte.
  const spans: Array<{ s: SectionEntry; end: number }> = [];
  for (const s of header.sections as SectionEntry[]) {
    const Ctor = s !== null && typeof s === 'object' && Object.hasOwn(DTYPES, s.dtype) ? DTYPES[s.dtype] : undefined;
    if (!Ctor || typeof s.name !== 'string' || !Number.isInteger(s.offset) || !Number.isInteger(s.length) || s.length < 0) {
      throw new ModelFormatError(`model section ${JSON.stringify(s)} is malformed`);
    }
    const end = s.offset + s.length * Ctor.BYTES_PER_ELEMENT;
    if (s.offset < 12 + headerLength || s.offset % 8 !== 0 || end > bytes.length) {
      throw new ModelFormatError(`model section "${s.name}" lies outside the file (bytes ${s.offset}..${end} of ${bytes.length})`);
    }
    if (spans.some((o) => o.s.name === s.name)) throw new ModelFormatError(`model section "${s.name}" is listed twice`);
    spans.push({ s, end });
  }
  spans.sort((a, b) => a.s.offset - b.s.offset || a.end - b.end); // empty sections first at a shared offset
  for (let i = 1; i < spans.length; i++) {
    const prev = spans[i - 1]!;
    const cur = spans[i]!;
    if (cur.s.offset < prev.end) {
      throw new ModelFormatError(`model sections "${prev.s.name}" (bytes ${prev.s.offset}..${prev.end}) and "${cur.s.name}" (bytes ${cur.s.offset}..${cur.end}) overlap`);
    }
  }
  for (const { s, end } of spans) {
    const Ctor = DTYPES[s.dtype];
    // Copy into a fresh, aligned ArrayBuffer. (Buffer#slice does not copy, and a Buffer's bytes may
    // start anywhere inside a shared pool, so its .buffer must never be read from 0.)
    const copy = new Uint8Array(end - s.offset);
    copy.set(bytes.subarray(s.offset, end));
    arrays.set(s.name, new Ctor(copy.buffer, 0, s.length));
  }
  const need = <T extends SectionArray>(name: string, ctor: abstract new (...args: never[]) => T): T => {
    const a = arrays.get(name);
    if (!(a instanceof ctor)) throw new ModelFormatError(`model section "${name}" is missing or has the wrong type`);
    return a;
  };

  const type = header.type as ModelType;
  if (!MODEL_TYPES.includes(type)) throw new ModelFormatError(`unknown model type ${JSON.stringify(header.type)}`);
  const featureKeys = header.featureKeys;
  if (!Array.isArray(featureKeys) || featureKeys.length === 0 || !featureKeys.every((k) => typeof k === 'string')) {
    throw new ModelFormatError('model header featureKeys must be a non-empty string array');
  }
  const p = featureKeys.length;
  const state = (header.state ?? {}) as Record<string, number>;
  const num = (key: string): number => {
    const v = state[key];
    if (typeof v !== 'number') throw new ModelFormatError(`model state "${key}" must be a number`);
    return v;
  };

  let scaler: StandardScaler | null = null;
  if (arrays.has('scalerMean')) {
    const mean = need('scalerMean', Float64Array);
    const scale = need('scalerScale', Float64Array);
    if (mean.length !== p || scale.length !== p) throw new ModelFormatError(`scaler has ${mean.length} columns for ${p} feature keys`);
    scaler = StandardScaler.fromState(mean, scale);
  }

  let fitted: FittedState;
  try {
    switch (type) {
      case 'random_forest': {
        const nodeFeature = arrays.get('nodeFeature');
        if (!(nodeFeature instanceof (p < 255 ? Uint8Array : Uint16Array))) {
          throw new ModelFormatError('model section "nodeFeature" is missing or has the wrong type');
        }
        const binOffsets = need('binOffsets', Int32Array);
        if (binOffsets.length !== p + 1) throw new ModelFormatError(`binOffsets has ${binOffsets.length} entries for ${p} features`);
        fitted = {
          type,
          forest: RandomForestRegressor.fromCompact({
            treeNodeCounts: need('treeNodeCounts', Int32Array),
            nodeFeature: nodeFeature as Uint8Array | Uint16Array,
            nodeBin: need('nodeBin', Uint8Array),
            leafValue: need('leafValue', Float32Array),
            binThresholds: need('binThresholds', Float64Array),
            binOffsets,
            featureImportances: need('featureImportances', Float64Array),
          }),
        };
        break;
      }
      case 'linear_regression': {
        const coefficients = need('coefficients', Float64Array);
        if (coefficients.length !== p) throw new ModelFormatError(`coefficients has ${coefficients.length} entries for ${p} features`);
        fitted = { type, regression: LinearRegression.fromState(coefficients, num('intercept'), num('rank'), num('trainR2')) };
        break;
      }
      case 'kmeans': {
        const centers = need('centers', Float64Array);
        const k = num('nClusters');
        if (centers.length !== k * p) throw new ModelFormatError(`centers has ${centers.length} values for ${k} clusters × ${p} features`);
        fitted = { type, kmeans: KMeans.fromState(centers, k, num('inertia'), num('iterations')) };
        break;
      }
      case 'isolation_forest': {
        const nodeFeature = arrays.get('nodeFeature');
        if (!(nodeFeature instanceof (p < 255 ? Uint8Array : Uint16Array))) {
          throw new ModelFormatError('model section "nodeFeature" is missing or has the wrong type');
        }
        fitted = {
          type,
          forest: IsolationForest.fromCompact(
            {
              treeNodeCounts: need('treeNodeCounts', Int32Array),
              nodeFeature: nodeFeature as Uint8Array | Uint16Array,
              splitThreshold: need('splitThreshold', Float64Array),
              leafSize: need('leafSize', Int32Array),
            },
            p,
            num('sampleSize'),
            num('scoreThreshold'),
            num('contamination'),
          ),
        };
        break;
      }
    }
  } catch (err) {
    if (err instanceof ModelFormatError) throw err;
    throw new ModelFormatError(`model ${type} state is inconsistent: ${(err as Error).message}`);
  }

  return {
    formatVersion: version,
    name: header.name as string,
    version: header.version as number,
    type,
    featureKeys: featureKeys as string[],
    ...(header.targetKey !== undefined ? { targetKey: header.targetKey as string } : {}),
    metrics: (header.metrics ?? {}) as Record<string, number>,
    ...(header.featureImportances !== undefined ? { featureImportances: header.featureImportances as Record<string, number> } : {}),
    params: (header.params ?? {}) as Record<string, unknown>,
    provenance: header.provenance as TrainedModel['provenance'],
    scaler,
    fitted,
  };
}
