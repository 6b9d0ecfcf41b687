import { RandomForestRegressor } from './RandomForestRegressor';
import { Rng } from './Rng';
import { r2Score } from './regressionMetrics';

function friedman(n: number, seed: number): { x: { data: Float64Array; nRows: number; nCols: number }; y: Float64Array } {
  const r = new Rng(seed);
  const p = 10;
  const data = new Float64Array(n * p);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) data[i * p + j] = r.nextFloat();
    const a = data.subarray(i * p);
    y[i] = 10 * Math.sin(Math.PI * a[0]! * a[1]!) + 20 * (a[2]! - 0.5) ** 2 + 10 * a[3]! + 5 * a[4]! + r.nextGaussian();
  }
  return { x: { data, nRows: n, nCols: p }, y };
}

describe('RandomForestRegressor', () => {
  it('one unbootstrapped stump splits at the midpoint and predicts the side means (hand-checked)', () => {
    const x = { data: Float64Array.of(1, 2, 3, 4), nRows: 4, nCols: 1 };
    const f = RandomForestRegressor.fit(x, Float64Array.of(0, 0, 10, 12), { nEstimators: 1, maxDepth: 1, bootstrap: false });
    expect(Array.from(f.feature)).toEqual([0, -1, -1]);
    expect(Array.from(f.threshold.subarray(0, 1))).toEqual([2.5]);
    expect(Array.from(f.left)).toEqual([1, -1, -1]);
    expect(Array.from(f.right)).toEqual([2, -1, -1]);
    expect(Array.from(f.value.subarray(1))).toEqual([0, 11]);
    expect(Array.from(f.predict(Float64Array.of(-5, 2.5, 2.6, 99), 4))).toEqual([0, 0, 11, 11]);
    expect(Array.from(f.featureImportances)).toEqual([1]);
  });

  it('learns a step function exactly and puts all importance on the step feature', () => {
    const r = new Rng(1);
    const n = 500;
    const data = new Float64Array(n * 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) data[i * 3 + j] = r.nextFloat();
      y[i] = data[i * 3 + 1]! > 0.6 ? 5 : -2;
    }
    const f = RandomForestRegressor.fit({ data, nRows: n, nCols: 3 }, y, { nEstimators: 20, seed: 4 });
    expect(Array.from(f.featureImportances).map((v) => +v.toFixed(6))).toEqual([0, 1, 0]);
    expect(f.predictRow([0.5, 0.3, 0.5])).toBe(-2);
    expect(f.predictRow([0.5, 0.9, 0.5])).toBe(5);
    // Pure children stop growing: every tree is one split and two leaves.
    expect(f.feature.length).toBe(60);
  });

  it('is identical under the same seed and different under another', () => {
    const { x, y } = friedman(400, 2);
    const a = RandomForestRegressor.fit(x, y, { nEstimators: 10, seed: 9 });
    const b = RandomForestRegressor.fit(x, y, { nEstimators: 10, seed: 9 });
    const c = RandomForestRegressor.fit(x, y, { nEstimators: 10, seed: 10 });
    expect(b.threshold).toEqual(a.threshold);
    expect(b.value).toEqual(a.value);
    expect(c.value).not.toEqual(a.value);
  });

  it('fits Friedman #1 well on held-out rows, ranking the five informative features first', () => {
    const { x, y } = friedman(2500, 3);
    const nTrain = 2000;
    const train = { data: x.data.subarray(0, nTrain * 10), nRows: nTrain, nCols: 10 };
    const f = RandomForestRegressor.fit(train, y.subarray(0, nTrain), { nEstimators: 30 });
    const r2 = r2Score(y.subarray(nTrain), f.predict(x.data.subarray(nTrain * 10), 500));
    expect(r2).toBeGreaterThan(0.8);
    const order = Array.from(f.featureImportances).map((v, j) => [v, j] as const).sort((a, b) => b[0] - a[0]).map(([, j]) => j);
    expect(order.slice(0, 5).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(f.featureImportances).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('the packed prediction layout gives exactly the flat-array traversal result', () => {
    const { x, y } = friedman(500, 6);
    const f = RandomForestRegressor.fit(x, y, { nEstimators: 15, seed: 1 });
    const probe = friedman(200, 7).x;
    for (let i = 0; i < 200; i++) expect(f.predictRowPacked(probe.data, i * 10)).toBe(f.predictRowFlat(probe.data, i * 10));
  });

  it('the implicit bin-rank layout gives exactly the flat-array result: shallow leaves, rows on the split thresholds, decoded models', () => {
    const { x, y } = friedman(800, 8);
    const forests = [
      RandomForestRegressor.fit(x, y, { nEstimators: 12, seed: 2 }), // depth 10
      RandomForestRegressor.fit(x, y, { nEstimators: 8, seed: 3, maxDepth: 12, minSamplesLeaf: 25 }), // uneven depths
      RandomForestRegressor.fit(x, y, { nEstimators: 5, seed: 4, maxDepth: 1 }),
    ];
    forests.push(RandomForestRegressor.fromCompact(forests[0]!.toCompact()));
    const probe = friedman(300, 9).x.data;
    // Rows whose values sit exactly on split thresholds (the ≤ boundary) and outside the training range.
    const { thresholds: thr, offsets } = forests[0]!.binner;
    const onThreshold = (k: number) => {
      const f = k % 10;
      const n = offsets[f + 1]! - offsets[f]!;
      return thr[offsets[f]! + ((k * 7919) % n)]!;
    };
    const edge = new Float64Array(300 * 10).map((_, k) => (k % 3 !== 1 ? onThreshold(k) : -5 + (k % 11)));
    for (const f of forests) {
      for (const rows of [probe, edge]) {
        for (let i = 0; i < 300; i++) expect(f.predictRow(rows, i * 10)).toBe(f.predictRowFlat(rows, i * 10));
      }
    }
  });

  it('respects maxDepth and minSamplesLeaf', () => {
    const { x, y } = friedman(300, 5);
    const f = RandomForestRegressor.fit(x, y, { nEstimators: 3, maxDepth: 3, minSamplesLeaf: 20, bootstrap: false });
    for (let t = 0; t < 3; t++) {
      const nodes = f.treeOffsets[t + 1]! - f.treeOffsets[t]!;
      expect(nodes).toBeLessThanOrEqual(15);
    }
    // every leaf holds ≥ 20 training rows
    const counts = new Map<number, number>();
    for (let i = 0; i < 300; i++) {
      let node = f.treeOffsets[0]!;
      while (f.feature[node]! >= 0) node = x.data[i * 10 + f.feature[node]!]! <= f.threshold[node]! ? f.left[node]! : f.right[node]!;
      counts.set(node, (counts.get(node) ?? 0) + 1);
    }
    expect(Math.min(...counts.values())).toBeGreaterThanOrEqual(20);
  });

  it('rejects invalid options with the field name', () => {
    const x = { data: Float64Array.of(1, 2), nRows: 2, nCols: 1 };
    expect(() => RandomForestRegressor.fit(x, Float64Array.of(1, 2), { maxDepth: 0 })).toThrow('params.maxDepth must be an integer in [1, 64], got 0');
    expect(() => RandomForestRegressor.fit(x, Float64Array.of(1, 2), { maxFeatures: 1.5 })).toThrow('params.maxFeatures must be a number in (0, 1], got 1.5');
  });
});
