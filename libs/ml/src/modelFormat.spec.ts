import { ModelFormatError } from './errors';
import { syntheticRegression } from './__fixtures__/syntheticRegression';
import type { ModelType, TrainedModel } from './TrainedModel';
import { createPredictor } from './createPredictor';
import { decodeModel } from './decodeModel';
import { encodeModel } from './encodeModel';
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
});
