import { LinearRegression } from './LinearRegression';
import { Rng } from './Rng';

describe('LinearRegression', () => {
  it('recovers exact coefficients and intercept from noiseless data', () => {
    const r = new Rng(3);
    const n = 200;
    const data = new Float64Array(n * 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < 3; j++) data[i * 3 + j] = r.nextGaussian() * (j + 1) * 100;
      y[i] = 4 + 2 * data[i * 3]! - 0.5 * data[i * 3 + 1]! + 0.001 * data[i * 3 + 2]!;
    }
    const m = LinearRegression.fit({ data, nRows: n, nCols: 3 }, y);
    expect(m.intercept).toBeCloseTo(4, 9);
    expect(m.coefficients[0]).toBeCloseTo(2, 12);
    expect(m.coefficients[1]).toBeCloseTo(-0.5, 12);
    expect(m.coefficients[2]).toBeCloseTo(0.001, 12);
    expect(m.trainR2).toBeCloseTo(1, 12);
    expect(m.rank).toBe(3);
  });

  it('solves a hand-checked least-squares line: y = [1, 2, 2] on x = [0, 1, 2] → 7/6 + x/2', () => {
    const m = LinearRegression.fit({ data: Float64Array.of(0, 1, 2), nRows: 3, nCols: 1 }, Float64Array.of(1, 2, 2));
    expect(m.coefficients[0]).toBeCloseTo(0.5, 14);
    expect(m.intercept).toBeCloseTo(7 / 6, 14);
    expect(m.predictRow([3])).toBeCloseTo(7 / 6 + 1.5, 14);
  });

  it('handles a constant and a duplicated column (rank deficient) with coefficient 0 for the dependent one', () => {
    const n = 50;
    const data = new Float64Array(n * 3);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      data[i * 3] = i;
      data[i * 3 + 1] = 7; // constant
      data[i * 3 + 2] = i; // duplicate of column 0
      y[i] = 3 * i + 1;
    }
    const m = LinearRegression.fit({ data, nRows: n, nCols: 3 }, y);
    expect(m.rank).toBe(1);
    expect(m.coefficients[1]).toBe(0);
    expect(m.coefficients[0]! + m.coefficients[2]!).toBeCloseTo(3, 12);
    expect(m.predictRow([10, 7, 10])).toBeCloseTo(31, 10);
  });
});
