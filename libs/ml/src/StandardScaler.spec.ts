import { StandardScaler } from './StandardScaler';

describe('StandardScaler', () => {
  it('standardizes with the population standard deviation and maps a constant column to 0', () => {
    // column 0: mean 2, sd sqrt(2/3); column 1: constant 5
    const x = { data: Float64Array.of(1, 5, 2, 5, 3, 5), nRows: 3, nCols: 2 };
    const s = StandardScaler.fit(x);
    expect(Array.from(s.mean)).toEqual([2, 5]);
    expect(s.scale[0]).toBeCloseTo(Math.sqrt(2 / 3), 15);
    expect(s.scale[1]).toBe(1);
    const z = s.transform(x);
    const k = 1 / Math.sqrt(2 / 3);
    expect(Array.from(z.data).map((v) => +v.toFixed(12))).toEqual([-k, 0, 0, 0, k, 0].map((v) => +v.toFixed(12)));
    expect(Array.from(x.data)).toEqual([1, 5, 2, 5, 3, 5]);
  });

  it('rebuilt from state transforms identically', () => {
    const x = { data: Float64Array.of(1, 10, 4, 20, 9, 60), nRows: 3, nCols: 2 };
    const s = StandardScaler.fit(x);
    const t = StandardScaler.fromState(s.mean.slice(), s.scale.slice());
    expect(t.transform(x)).toEqual(s.transform(x));
  });
});
