import { ModelFormatError } from './errors';
import { syntheticRegression } from './__fixtures__/syntheticRegression';
import type { ModelType, TrainedModel } from './TrainedModel';
import { createPredictor } from './createPredictor';
import { decodeModel } from './decodeModel';
import { MAX_MODEL_HEADER_BYTES, encodeModel, type SectionEntry } from './encodeModel';
import { trainModel } from './trainModel';

const { rows, probe } = syntheticRegression(11, 600, 300);

function train(modelType: ModelType, params: Record<string, unknown> = {}): TrainedModel {
  const regressor = modelType === 'random_forest' || modelType === 'linear_regression';
  return trainModel({
    modelName: `m-${modelType}`,
    modelType,
    featureKeys: ['a', 'b', 'c'],
    ...(regressor ? { targetKey: 'y' } : {}),
    rows,
    params,
    version: 7,
    trainedAt: '2026-11-27T12:00:00.000Z',
    source: { topic: 'events.metric', partitions: [0, 1] },
  });
}

function formatError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof ModelFormatError) return err.message;
    throw err;
  }
  throw new Error('expected ModelFormatError');
}

describe('encodeModel / decodeModel', () => {
  const models: [ModelType, Record<string, unknown>][] = [
    ['random_forest', { nEstimators: 12 }],
    ['linear_regression', {}],
    ['kmeans', { nClusters: 4 }],
    ['isolation_forest', { nEstimators: 20, contamination: 0.05 }],
  ];
  it.each(models)('round-trips %s with identical predictions and metadata', (type, params) => {
    const model = train(type, params);
    const bytes = encodeModel(model);
    const back = decodeModel(bytes);
    expect(createPredictor(back).predict(probe, 100)).toEqual(createPredictor(model).predict(probe, 100));
    const { scaler, fitted, ...meta } = model;
    const { scaler: scaler2, fitted: fitted2, ...meta2 } = back;
    expect(meta2).toEqual(meta);
    expect(scaler2?.mean).toEqual(scaler?.mean);
    expect(fitted2.type).toBe(fitted.type);
    expect(encodeModel(back)).toEqual(bytes);
  });

  it('decodes a model whose bytes sit at an offset inside a larger (pooled) Buffer', () => {
    const model = train('random_forest', { nEstimators: 5 });
    const bytes = encodeModel(model);
    const pool = Buffer.alloc(bytes.length + 24, 0xab);
    pool.set(bytes, 13); // odd offset, as Buffer.concat / pooled allocations produce
    const inside = pool.subarray(13, 13 + bytes.length);
    expect(createPredictor(decodeModel(inside)).predict(probe, 100)).toEqual(createPredictor(model).predict(probe, 100));
  });

  it('keeps a default 100-tree depth-10 forest well under 1 MB', () => {
    const model = train('random_forest', {});
    const bytes = encodeModel(model);
    // ~600 rows cannot fill depth 10; see bench/ml/RESULTS.md for the 10k-row size.
    expect(bytes.length).toBeLessThan(1_000_000);
    expect(createPredictor(decodeModel(bytes)).predictRow([0.5, 0.1, 3])).toBe(createPredictor(model).predictRow([0.5, 0.1, 3]));
  });

  it('rejects wrong magic, unsupported version, truncation and trailing bytes with clear errors', () => {
    const bytes = encodeModel(train('linear_regression'));
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect(formatError(() => decodeModel(badMagic))).toBe('not a model file: bad magic (expected "PLML")');
    const badVersion = bytes.slice();
    badVersion[4] = 2;
    expect(formatError(() => decodeModel(badVersion))).toBe('unsupported model format version 2 (this build reads 1)');
    expect(formatError(() => decodeModel(bytes.subarray(0, 8)))).toBe('model file truncated: 8 bytes is shorter than the 12-byte preamble');
    expect(formatError(() => decodeModel(bytes.subarray(0, 40)))).toMatch(/^model file truncated: header needs \d+ bytes, got 40$/);
    expect(formatError(() => decodeModel(bytes.subarray(0, bytes.length - 8)))).toBe(`model file truncated: ${bytes.length - 8} of ${bytes.length} bytes`);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(formatError(() => decodeModel(longer))).toBe('model file has 3 trailing bytes');
  });

  it('rejects an inconsistent forest section instead of predicting garbage', () => {
    const model = train('random_forest', { nEstimators: 2 });
    const bytes = encodeModel(model);
    const json = new TextDecoder().decode(bytes.subarray(12, 12 + new DataView(bytes.buffer).getUint32(8, true)));
    const header = JSON.parse(json);
    const counts = header.sections.find((s: { name: string }) => s.name === 'treeNodeCounts');
    const corrupt = bytes.slice();
    new DataView(corrupt.buffer).setInt32(counts.offset, 5, true); // first tree claims 5 nodes
    expect(formatError(() => decodeModel(corrupt))).toMatch(/^model random_forest state is inconsistent: /);
  });

  describe('bounds the work of decoding a file someone else wrote', () => {
    type Header = Record<string, unknown> & { sections: SectionEntry[]; byteLength: number };
    const headerOf = (bytes: Uint8Array): Header => JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true))));
    /** A file with `header` (sections laid out by the caller after a `reserve`-byte header) and `body` at `bodyAt`. */
    const fileOf = (header: Header, reserve: number, body: Uint8Array = new Uint8Array(0), bodyAt = 0): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(header));
      if (json.length > reserve) throw new Error(`header of ${json.length} bytes does not fit in ${reserve}`);
      const out = new Uint8Array(header.byteLength);
      out.set([0x50, 0x4c, 0x4d, 0x4c]);
      new DataView(out.buffer).setUint16(4, 1, true);
      new DataView(out.buffer).setUint32(8, reserve, true);
      out.fill(0x20, 12, 12 + reserve);
      out.set(json, 12);
      out.set(body, bodyAt);
      return out;
    };

    it(`refuses a header longer than ${MAX_MODEL_HEADER_BYTES} bytes before parsing it`, () => {
      const big = new Uint8Array(12 + 64 * 1024 * 1024);
      big.set([0x50, 0x4c, 0x4d, 0x4c]);
      new DataView(big.buffer).setUint16(4, 1, true);
      new DataView(big.buffer).setUint32(8, 64 * 1024 * 1024, true);
      big.fill(0x5b, 12); // "[[[[…": 64 MiB of nesting would be parsed into millions of arrays
      expect(formatError(() => decodeModel(big))).toBe('model header is 67108864 bytes, more than the 4194304 allowed');
    });

    it('refuses to encode a model whose header would pass the limit', () => {
      const model = train('linear_regression');
      const huge = { ...model, params: { note: 'x'.repeat(MAX_MODEL_HEADER_BYTES) } };
      expect(() => encodeModel(huge)).toThrow(/^model header is \d+ bytes, more than the 4194304 a model file may have$/);
    });

    it('refuses more than 32 sections, and a section listed twice', () => {
      const many: SectionEntry[] = Array.from({ length: 33 }, (_, i) => ({ name: `s${i}`, dtype: 'u8', offset: 4112, length: 0 }));
      expect(formatError(() => decodeModel(fileOf({ sections: many, byteLength: 4112 }, 4096)))).toBe('model header lists 33 sections, at most 32 allowed');
      const twice: SectionEntry[] = [
        { name: 'centers', dtype: 'f64', offset: 4112, length: 1 },
        { name: 'centers', dtype: 'f64', offset: 4120, length: 1 },
      ];
      expect(formatError(() => decodeModel(fileOf({ sections: twice, byteLength: 4128 }, 4096)))).toBe('model section "centers" is listed twice');
    });

    it('refuses sections that share bytes: 20,000 views of one region would copy the file 20,000 times', () => {
      const bytes = encodeModel(train('random_forest', { nEstimators: 3 }));
      const header = headerOf(bytes);
      const leaf = header.sections.find((s) => s.name === 'leafValue')!;
      const first = header.sections[0]!;
      // The real sections moved behind a larger header, plus one more over leafValue's last 4 bytes.
      const shift = 8208 - first.offset; // 12 + 8192 rounded up to 8
      const moved = header.sections.map((s) => ({ ...s, offset: s.offset + shift }));
      const leafAt = leaf.offset + shift;
      const leafEnd = leafAt + leaf.length * 4;
      const overlapping = { name: 'extra', dtype: 'f32' as const, offset: leafEnd - 8 - ((leafEnd - 8) % 8), length: 2 };
      const crafted = fileOf({ ...header, sections: [...moved, overlapping], byteLength: bytes.length + shift }, 8192, bytes.subarray(first.offset), first.offset + shift);
      expect(formatError(() => decodeModel(crafted))).toBe(`model sections "leafValue" (bytes ${leafAt}..${leafEnd}) and "extra" (bytes ${overlapping.offset}..${overlapping.offset + 8}) overlap`);
      // The same file without the extra section decodes (the layout above is sound).
      const sound = fileOf({ ...header, sections: moved, byteLength: bytes.length + shift }, 8192, bytes.subarray(first.offset), first.offset + shift);
      expect(createPredictor(decodeModel(sound)).predict(probe, 100)).toEqual(createPredictor(decodeModel(bytes)).predict(probe, 100));
    });

    it('reads a section dtype only from its own list ("constructor" is not a dtype)', () => {
      const odd = [{ name: 'x', dtype: 'constructor', offset: 4112, length: 0 }] as unknown as SectionEntry[];
      expect(formatError(() => decodeModel(fileOf({ sections: odd, byteLength: 4112 }, 4096)))).toBe('model section {"name":"x","dtype":"constructor","offset":4112,"length":0} is malformed');
    });
  });
});
