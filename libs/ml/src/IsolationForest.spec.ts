import { IsolationForest, averagePathLength } from './IsolationForest';
import { Rng } from './Rng';

function normalWithOutlier(n: number, seed: number): { data: Float64Array; nRows: number; nCols: number } {
  const r = new Rng(seed);
  const data = new Float64Array(n * 2);
  for (let i = 0; i < n * 2; i++) data[i] = r.nextGaussian();
  data[0] = 8; // row 0 is the obvious outlier
  data[1] = -8;
  return { data, nRows: n, nCols: 2 };
}

describe('averagePathLength', () => {
  it('matches c(n) of Liu et al. / scikit-learn', () => {
    expect(averagePathLength(1)).toBe(0);
    expect(averagePathLength(2)).toBe(1);
    // sklearn _average_path_length([256]) = 10.244770920119917
    expect(averagePathLength(256)).toBeCloseTo(10.244770920119917, 12);
  });
});

describe('IsolationForest', () => {
  it('scores an obvious outlier highest and labels the contamination share as -1', () => {
    const x = normalWithOutlier(1000, 1);
    const f = IsolationForest.fit(x, { contamination: 0.05, seed: 2 });
    const scores = f.trainScores;
    let top = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! > scores[top]!) top = i;
    expect(top).toBe(0);
    expect(scores[0]).toBeGreaterThan(0.7);
    const anomalies = Array.from(scores).filter((s) => f.labelOf(s) === -1).length;
    expect(anomalies).toBe(50);
    expect(f.labelOf(f.scoreRow([0, 0]))).toBe(1);
  });

  it('builds trees of at most 2ψ−1 nodes and depth ⌈log₂ ψ⌉ from ψ = min(256, n) rows', () => {
    const f = IsolationForest.fit(normalWithOutlier(100, 3), { nEstimators: 5 });
    expect(f.sampleSize).toBe(100);
    for (let t = 0; t < 5; t++) {
      expect(f.treeOffsets[t + 1]! - f.treeOffsets[t]!).toBeLessThanOrEqual(199);
      let leafRows = 0;
      for (let i = f.treeOffsets[t]!; i < f.treeOffsets[t + 1]!; i++) if (f.feature[i]! < 0) leafRows += f.leafSize[i]!;
      expect(leafRows).toBe(100);
    }
    // path length of any leaf ≤ max depth 7 + c(leaf size)
    for (let i = 0; i < f.feature.length; i++) if (f.feature[i]! < 0) expect(f.pathLength[i]!).toBeLessThanOrEqual(7 + averagePathLength(f.leafSize[i]!));
  });

  it('is deterministic under a seed', () => {
    const x = normalWithOutlier(500, 4);
    expect(IsolationForest.fit(x, { seed: 8 }).trainScores).toEqual(IsolationForest.fit(x, { seed: 8 }).trainScores);
    expect(IsolationForest.fit(x, { seed: 8 }).trainScores).not.toEqual(IsolationForest.fit(x, { seed: 9 }).trainScores);
  });

  it('rejects contamination outside (0, 0.5]', () => {
    const x = normalWithOutlier(10, 1);
    expect(() => IsolationForest.fit(x, { contamination: 0 })).toThrow('params.contamination must be a number in (0, 0.5], got 0');
    expect(() => IsolationForest.fit(x, { contamination: 0.6 })).toThrow('params.contamination must be a number in (0, 0.5], got 0.6');
  });
});
