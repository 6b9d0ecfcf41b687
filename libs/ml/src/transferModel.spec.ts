import { RandomForestRegressor } from './RandomForestRegressor';
import { IsolationForest } from './IsolationForest';
import { syntheticRegression } from './__fixtures__/syntheticRegression';
import type { ModelType, TrainedModel } from './TrainedModel';
import { createPredictor } from './createPredictor';
import { decodeModel } from './decodeModel';
import { encodeModel } from './encodeModel';
import { matrixFromArrays } from './matrixFromArrays';
import { trainModel } from './trainModel';
import { fromTransferable, toTransferable } from './transferModel';

const { rows, probe } = syntheticRegression(5, 400, 150);

function decoded(modelType: ModelType, params: Record<string, unknown>): { model: TrainedModel; bytes: Uint8Array } {
  const regressor = modelType === 'random_forest' || modelType === 'linear_regression';
  const trained = trainModel({ modelName: `t-${modelType}`, modelType, featureKeys: ['a', 'b', 'c'], ...(regressor ? { targetKey: 'y' } : {}), rows, params, version: 3, trainedAt: '2026-11-27T14:00:00.000Z' });
  const bytes = encodeModel(trained);
  return { model: decodeModel(bytes), bytes };
}

describe('toTransferable / fromTransferable', () => {
  it.each<[ModelType, Record<string, unknown>]>([
    ['random_forest', { nEstimators: 8 }],
    ['random_forest', { nEstimators: 4, maxDepth: 20, scale: true }],
    ['linear_regression', {}],
    ['kmeans', { nClusters: 3 }],
    ['isolation_forest', { nEstimators: 10 }],
  ])('moves a decoded %s (%j) across structuredClone with its arrays transferred, predicting identically', (type, params) => {
    const { model, bytes } = decoded(type, params);
    const expected = createPredictor(model).predict(probe, 50);
    const { model: plain, transfer } = toTransferable(model);
    expect(transfer.length).toBeGreaterThan(0);
    const received = structuredClone(plain, { transfer });
    // Transferred, not copied: the sending side's buffers are now detached.
    expect(transfer.every((b) => b.byteLength === 0)).toBe(true);
    const back = fromTransferable(received);
    expect(createPredictor(back).predict(probe, 50)).toEqual(expected);
    expect(back.name).toBe(model.name);
    expect(back.metrics).toEqual(model.metrics);
    expect(back.provenance).toEqual(model.provenance);
    expect(encodeModel(back)).toEqual(bytes);
  });

  it('carries the random forest implicit layout, or the packed nodes when the layout does not apply', () => {
    const shallow = decoded('random_forest', { nEstimators: 3 }).model;
    const deep = decoded('random_forest', { nEstimators: 3, maxDepth: 20 }).model;
    if (shallow.fitted.type !== 'random_forest' || deep.fitted.type !== 'random_forest') throw new Error('unexpected type');
    const s = shallow.fitted.forest.toState();
    expect(s.implicit).not.toBeNull();
    expect(s.packed).toBeNull();
    const d = deep.fitted.forest.toState();
    // 400 rows grow trees deeper than the implicit layout's limit of 12.
    expect(d.implicit).toBeNull();
    expect(d.packed?.f64.length).toBe(2 * d.feature.length);
  });

  it('refuses forest states whose arrays disagree on the node count', () => {
    const { model } = decoded('random_forest', { nEstimators: 2 });
    if (model.fitted.type !== 'random_forest') throw new Error('unexpected type');
    const s = model.fitted.forest.toState();
    expect(() => RandomForestRegressor.fromState({ ...s, value: s.value.subarray(1) })).toThrow(/disagree on the node count/);
    const iso = IsolationForest.fit(matrixFromArrays([[1, 2], [3, 4], [5, 7], [0, 1]]), { nEstimators: 2, seed: 1 });
    const t = iso.toState();
    expect(() => IsolationForest.fromState({ ...t, pathLength: new Float64Array(0) })).toThrow(/disagree on the node count/);
  });

  it.each<[string, Record<string, unknown>]>([
    ['implicit layout', { nEstimators: 20 }],
    ['packed nodes (deeper than 12)', { nEstimators: 4, maxDepth: 20 }],
  ])('servingOnly: a decoded forest (%s) predicts identically from far fewer bytes, and refuses to be encoded again', (_layout, params) => {
    const { model } = decoded('random_forest', params);
    const expected = createPredictor(model).predict(probe, 50);
    const size = (t: ArrayBuffer[]) => t.reduce((a, b) => a + b.byteLength, 0);
    const full = size(toTransferable(decodeModel(encodeModel(model))).transfer);
    const { model: plain, transfer } = toTransferable(model, { servingOnly: true });
    const lean = size(transfer);
    expect(lean).toBeLessThan(full / 2);
    const back = fromTransferable(structuredClone(plain, { transfer }));
    expect(createPredictor(back).predict(probe, 50)).toEqual(expected);
    expect(back.featureImportances).toEqual(model.featureImportances);
    expect(() => encodeModel(back)).toThrow('toCompact: this forest holds only its prediction layout (decoded for serving), not its nodes');
    if (back.fitted.type !== 'random_forest') throw new Error('unexpected type');
    const forest = back.fitted.forest;
    expect(() => forest.predictRowFlat(probe)).toThrow(/only its prediction layout/);
    expect(() => forest.toState()).toThrow(/only its prediction layout/);
  });

  it('refuses a serving-only forest state with neither layout', () => {
    const { model } = decoded('random_forest', { nEstimators: 2 });
    if (model.fitted.type !== 'random_forest') throw new Error('unexpected type');
    const s = model.fitted.forest.toState({ servingOnly: true });
    expect(() => RandomForestRegressor.fromState({ ...s, implicit: null, packed: null })).toThrow('a serving-only forest state needs its implicit layout or its packed nodes');
  });
});
