import { MlInputError } from './errors';
import { Rng } from './Rng';
import type { TrainRequest } from './TrainedModel';
import { clusterOnce } from './clusterOnce';
import { createPredictor } from './createPredictor';
import { detectAnomaliesOnce } from './detectAnomaliesOnce';
import { trainModel } from './trainModel';

function rows(n: number, seed: number): Record<string, unknown>[] {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => {
    const cpu = r.nextFloat() * 100;
    const memory = r.nextFloat() * 64;
    return { cpu, memory, latency: 20 + 1.5 * cpu - 0.25 * memory + r.nextGaussian() * 0.01 };
  });
}

const base = (over: Partial<TrainRequest> = {}): TrainRequest => ({
  modelName: 'latency',
  modelType: 'linear_regression',
  featureKeys: ['cpu', 'memory'],
  targetKey: 'latency',
  rows: rows(200, 1),
  version: 3,
  trainedAt: '2026-11-27T10:00:00Z',
  ...over,
});

function fieldAndMessage(fn: () => unknown): [string, string] {
  try {
    fn();
  } catch (err) {
    if (err instanceof MlInputError) return [err.field, err.message];
    throw err;
  }
  throw new Error('expected MlInputError');
}

describe('trainModel', () => {
  it('trains a linear regression on standardized features and predicts in original units', () => {
    const m = trainModel(base({ source: { topic: 'metrics', fromOffset: 10 } }), undefined, { nowMs: ((t) => () => (t += 25))(0) });
    expect(m.metrics.r2).toBeGreaterThan(0.99999);
    expect(m.provenance).toEqual({ trainedAt: '2026-11-27T10:00:00Z', rows: 200, trainRows: 160, testRows: 40, durationMs: 25, seed: 0, source: { topic: 'metrics', fromOffset: 10 } });
    expect(m.params).toEqual({ seed: 0, testFraction: 0.2, scale: true });
    expect(m.scaler).not.toBeNull();
    expect(createPredictor(m).predictRow([50, 32])).toBeCloseTo(20 + 75 - 8, 2);
  });

  it('trains a random forest with importances per feature key, r2/mae/rmse and progress per tree', () => {
    const progress: number[] = [];
    const m = trainModel(base({ modelType: 'random_forest', params: { nEstimators: 4, seed: 2 } }), (f) => progress.push(f));
    expect(progress).toEqual([0.25, 0.5, 0.75, 1]);
    expect(Object.keys(m.metrics).sort()).toEqual(['mae', 'r2', 'rmse', 'trainR2']);
    expect(m.metrics.r2).toBeGreaterThan(0.9);
    expect(Object.keys(m.featureImportances!)).toEqual(['cpu', 'memory']);
    expect(m.featureImportances!.cpu).toBeGreaterThan(m.featureImportances!.memory!);
    expect(m.scaler).toBeNull();
    expect(m.provenance.durationMs).toBe(0);
  });

  it('trains kmeans (inertia, iterations) and isolation forest (threshold) on all rows by default', () => {
    const km = trainModel(base({ modelType: 'kmeans', targetKey: undefined, params: { nClusters: 3 } }));
    expect(Object.keys(km.metrics).sort()).toEqual(['inertia', 'iterations']);
    expect(km.provenance.testRows).toBe(0);
    expect(createPredictor(km).predictRow([10, 10])).toBeGreaterThanOrEqual(0);
    const iso = trainModel(base({ modelType: 'isolation_forest', params: { contamination: 0.1 } }));
    expect(iso.metrics.anomalyFraction).toBeCloseTo(0.1, 2);
    expect(createPredictor(iso).predictRow([1000, 1000])).toBeGreaterThan(iso.metrics.threshold!);
  });

  it('rejects invalid requests with MlInputError naming the field', () => {
    const cases: [Partial<TrainRequest>, string, string][] = [
      [{ rows: [] }, 'rows', 'rows must be a non-empty array'],
      [{ modelType: 'svm' as never }, 'modelType', 'modelType must be one of random_forest, linear_regression, kmeans, isolation_forest, got "svm"'],
      [{ targetKey: undefined }, 'targetKey', 'targetKey is required for linear_regression'],
      [{ rows: [{ cpu: 1, memory: 2, latency: 3 }, { cpu: NaN, memory: 2, latency: 3 }] }, 'rows[1].cpu', 'rows[1].cpu must be a finite number, got NaN'],
      [{ modelType: 'kmeans', params: { nClusters: 500 } }, 'params.nClusters', 'params.nClusters must be <= the 200 training rows, got 500'],
      [{ modelType: 'kmeans', params: {} }, 'params.nClusters', 'params.nClusters is required for kmeans'],
      [{ modelType: 'isolation_forest', params: { contamination: 0.7 } }, 'params.contamination', 'params.contamination must be a number in (0, 0.5], got 0.7'],
      [{ modelType: 'random_forest', params: { n_estimators: 5 } }, 'params.n_estimators', 'params.n_estimators is not a parameter of random_forest (allowed: seed, testFraction, scale, nEstimators, maxDepth, minSamplesLeaf, minSamplesSplit, maxFeatures, bootstrap, maxBins)'],
      [{ modelType: 'random_forest', params: { nEstimators: '5' } }, 'params.nEstimators', 'params.nEstimators must be an integer in [1, 10000], got "5"'],
      [{ trainedAt: 'yesterday' }, 'trainedAt', 'trainedAt must be an ISO-8601 date-time, got "yesterday"'],
      [{ modelName: '' }, 'modelName', 'modelName must be a non-empty string'],
      [{ featureKeys: ['cpu', 'latency'] }, 'targetKey', 'targetKey "latency" must not also be a feature key'],
    ];
    for (const [over, field, message] of cases) expect(fieldAndMessage(() => trainModel(base(over)))).toEqual([field, message]);
  });
});

describe('createPredictor', () => {
  it('batch and single-row predictions agree, and bad input is rejected', () => {
    const m = trainModel(base({ modelType: 'random_forest', params: { nEstimators: 5 } }));
    const p = createPredictor(m);
    const batch = p.predict(Float64Array.of(10, 20, 90, 5), 2);
    expect(Array.from(batch)).toEqual([p.predictRow([10, 20]), p.predictRow([90, 5])]);
    expect(fieldAndMessage(() => p.predictRow([1]))).toEqual(['row', 'row has 1 values, expected 2 (cpu, memory)']);
    expect(fieldAndMessage(() => p.predictRow([1, NaN]))).toEqual(['row[1]', 'row[1] (memory) must be a finite number, got NaN']);
    expect(fieldAndMessage(() => p.predict(Float64Array.of(1, 2, 3), 2))).toEqual(['x', 'x has 3 values, expected nRows × 2 = 4']);
  });
});

describe('one-shot calls of the report', () => {
  it('clusterOnce separates two obvious groups', () => {
    const r = clusterOnce([[0, 0], [0, 1], [10, 10], [10, 11]], 2, 1);
    expect(r.labels[0]).toBe(r.labels[1]);
    expect(r.labels[2]).toBe(r.labels[3]);
    expect(r.labels[0]).not.toBe(r.labels[2]);
    expect(r.inertia).toBe(1);
    expect(r.centers.map((c) => c.join(',')).sort()).toEqual(['0,0.5', '10,10.5']);
    expect(fieldAndMessage(() => clusterOnce([[0, 0]], 2))).toEqual(['nClusters', 'nClusters must be an integer in [1, 1] (the number of rows), got 2']);
  });

  it('detectAnomaliesOnce labels the outlier -1 and validates contamination', () => {
    const r = new Rng(3);
    const features = Array.from({ length: 100 }, () => [r.nextGaussian(), r.nextGaussian()]);
    features.push([15, -15]);
    const out = detectAnomaliesOnce(features, 0.01, 4);
    expect(out.labels.filter((l) => l === -1).length).toBe(1);
    expect(out.labels[100]).toBe(-1);
    expect(out.scores[100]).toBe(Math.max(...out.scores));
    expect(fieldAndMessage(() => detectAnomaliesOnce(features, 0))).toEqual(['contamination', 'contamination must be in (0, 0.5], got 0']);
  });
});
