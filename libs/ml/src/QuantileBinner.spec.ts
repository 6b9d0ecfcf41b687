import { QuantileBinner } from './QuantileBinner';

describe('QuantileBinner', () => {
  it('gives one bin per distinct value when there are few (worked example of the doc comment)', () => {
    const b = QuantileBinner.fit({ data: Float64Array.of(1, 2, 2, 7), nRows: 4, nCols: 1 });
    expect(Array.from(b.thresholds)).toEqual([1.5, 4.5]);
    expect(Array.from(b.transform({ data: Float64Array.of(1, 2, 2, 7, 0, 100, 1.5), nRows: 7, nCols: 1 }))).toEqual([0, 1, 1, 2, 0, 2, 0]);
  });

  it('caps continuous columns at maxBins bins of roughly equal counts, with bin <= b iff x <= thresholds[b]', () => {
    const n = 10_000;
    const data = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1000);
    const b = QuantileBinner.fit({ data, nRows: n, nCols: 1 }, 256);
    expect(b.nBins(0)).toBe(256);
    const bins = b.transform({ data, nRows: n, nCols: 1 });
    const counts = new Int32Array(256);
    bins.forEach((v) => counts[v]++);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(38);
    expect(Math.max(...counts)).toBeLessThanOrEqual(41);
    for (let i = 0; i < n; i++) {
      const bin = bins[i]!;
      if (bin < 255) expect(data[i]! <= b.thresholds[bin]!).toBe(true);
      if (bin > 0) expect(data[i]! > b.thresholds[bin - 1]!).toBe(true);
    }
  });
});
