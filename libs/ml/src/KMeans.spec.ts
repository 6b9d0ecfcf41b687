import { KMeans } from './KMeans';
import { Rng } from './Rng';

function blobs(perBlob: number, centers: number[][], seed: number): { data: Float64Array; nRows: number; nCols: number } {
  const r = new Rng(seed);
  const p = centers[0]!.length;
  const n = perBlob * centers.length;
  const data = new Float64Array(n * p);
  for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = centers[i % centers.length]![j]! + 0.1 * r.nextGaussian();
  return { data, nRows: n, nCols: p };
}

describe('KMeans', () => {
  it('solves a hand-checked case: two pairs of points', () => {
    const x = { data: Float64Array.of(0, 0, 0, 2, 10, 0, 10, 2), nRows: 4, nCols: 2 };
    const km = KMeans.fit(x, { nClusters: 2, seed: 1 });
    const centers = [Array.from(km.centers.subarray(0, 2)), Array.from(km.centers.subarray(2, 4))].sort((a, b) => a[0]! - b[0]!);
    expect(centers).toEqual([[0, 1], [10, 1]]);
    expect(km.inertia).toBe(4);
    expect(km.labels[0]).toBe(km.labels[1]);
    expect(km.labels[2]).toBe(km.labels[3]);
    expect(km.labels[0]).not.toBe(km.labels[2]);
  });

  it('finds well-separated blobs: every blob one cluster, centres near the truth', () => {
    const truth = [[0, 0, 0], [5, 5, 5], [-5, 5, 0], [5, -5, 0]];
    const x = blobs(100, truth, 7);
    const km = KMeans.fit(x, { nClusters: 4, seed: 3 });
    for (let b = 0; b < 4; b++) {
      const labels = new Set<number>();
      for (let i = b; i < x.nRows; i += 4) labels.add(km.labels[i]!);
      expect(labels.size).toBe(1);
      const c = [...labels][0]!;
      for (let j = 0; j < 3; j++) expect(Math.abs(km.centers[c * 3 + j]! - truth[b]![j]!)).toBeLessThan(0.05);
    }
    expect(km.predictRow(truth[1]!)).toBe(km.labels[1]);
  });

  it('is deterministic under a seed, and inertia equals the sum of squared distances to the centres', () => {
    const x = blobs(50, [[0, 0], [1, 1], [3, 0]], 2);
    const a = KMeans.fit(x, { nClusters: 3, seed: 5 });
    const b = KMeans.fit(x, { nClusters: 3, seed: 5 });
    expect(b.centers).toEqual(a.centers);
    expect(b.labels).toEqual(a.labels);
    let s = 0;
    for (let i = 0; i < x.nRows; i++) {
      const c = a.labels[i]!;
      s += (x.data[i * 2]! - a.centers[c * 2]!) ** 2 + (x.data[i * 2 + 1]! - a.centers[c * 2 + 1]!) ** 2;
    }
    expect(a.inertia).toBeCloseTo(s, 9);
  });

  it('skipping rows by Hamerly bounds still leaves every row on its nearest centre (lowest index on ties)', () => {
    const r = new Rng(3);
    const n = 2000;
    const p = 4;
    const data = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = (i % 6) * 0.5 + r.nextGaussian();
    for (const seed of [0, 1, 2, 3]) {
      const km = KMeans.fit({ data, nRows: n, nCols: p }, { nClusters: 9, seed });
      for (let i = 0; i < n; i++) {
        let best = 0;
        let bestD = Infinity;
        for (let c = 0; c < 9; c++) {
          let d = 0;
          for (let j = 0; j < p; j++) d += (data[i * p + j]! - km.centers[c * p + j]!) ** 2;
          if (d < bestD) [best, bestD] = [c, d];
        }
        expect(km.labels[i]).toBe(best);
      }
    }
  });

  it('re-seeds an empty cluster instead of leaving a NaN centre (identical rows, k = 2)', () => {
    const x = { data: Float64Array.of(3, 3, 3, 3, 3, 3), nRows: 3, nCols: 2 };
    const km = KMeans.fit(x, { nClusters: 2, seed: 0 });
    expect(Array.from(km.centers)).toEqual([3, 3, 3, 3]);
    expect(km.inertia).toBe(0);
    // Both centres coincide, so every row ties and goes to the lowest index, as in Lloyd's rule.
    expect(Array.from(km.labels)).toEqual([0, 0, 0]);
  });

  it('keeps each centre the mean of its rows after many iterations of incremental sums', () => {
    const r = new Rng(11);
    const n = 3000;
    const p = 5;
    const data = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) data[i * p + j] = r.nextFloat() * 100;
    const km = KMeans.fit({ data, nRows: n, nCols: p }, { nClusters: 6, seed: 2, tol: 0 });
    expect(km.iterations).toBeGreaterThan(5);
    const sums = new Float64Array(6 * p);
    const counts = new Float64Array(6);
    for (let i = 0; i < n; i++) {
      const c = km.labels[i]!;
      counts[c]++;
      for (let j = 0; j < p; j++) sums[c * p + j] += data[i * p + j]!;
    }
    for (let c = 0; c < 6; c++) for (let j = 0; j < p; j++) expect(km.centers[c * p + j]).toBeCloseTo(sums[c * p + j]! / counts[c]!, 9);
  });

  it('stops at maxIter with every row labelled by the final centres', () => {
    const x = blobs(200, [[0, 0], [1, 0], [0, 1], [1, 1]], 4);
    const km = KMeans.fit(x, { nClusters: 4, seed: 1, maxIter: 2 });
    expect(km.iterations).toBe(2);
    for (let i = 0; i < x.nRows; i++) expect(km.labels[i]).toBe(km.predictRow(x.data, i * 2));
  });

  it('rejects nClusters greater than the number of rows', () => {
    const x = { data: Float64Array.of(1, 2), nRows: 2, nCols: 1 };
    expect(() => KMeans.fit(x, { nClusters: 3 })).toThrow('params.nClusters must be an integer in [1, 2], got 3');
  });
});
