import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';
import { r2Score } from './regressionMetrics';

/**
 * Ordinary least squares with an intercept: minimizes Σ (y − b₀ − x·b)².
 *
 * Solved by Householder QR with column pivoting on the centred design matrix — never by forming
 * XᵀX, whose condition number is the square of X's. Rank-deficient inputs (a constant column, a
 * column equal to another) are detected by the pivot falling below `1e-10 × largest pivot`; the
 * dependent columns get coefficient 0 (the "basic" solution; scikit-learn returns the minimum-norm
 * one instead — predictions are the same, coefficients of collinear columns differ).
 * Cost O(n·p²) time, O(n·p) memory.
 */
export class LinearRegression {
  private constructor(
    readonly coefficients: Float64Array,
    readonly intercept: number,
    /** Numerical rank of the centred design matrix. */
    readonly rank: number,
    /** R² on the training data. */
    readonly trainR2: number,
  ) {}

  static fromState(coefficients: Float64Array, intercept: number, rank: number, trainR2: number): LinearRegression {
    return new LinearRegression(coefficients, intercept, rank, trainR2);
  }

  static fit(x: FeatureMatrix, y: Float64Array): LinearRegression {
    const { data, nRows: n, nCols: p } = x;
    if (n < 1) throw new MlInputError('linear regression needs at least one row', 'rows');
    if (y.length !== n) throw new MlInputError(`target has ${y.length} values for ${n} rows`, 'targetKey');
    const xMean = new Float64Array(p);
    let yMean = 0;
    for (let i = 0; i < n; i++) {
      yMean += y[i]!;
      for (let j = 0; j < p; j++) xMean[j] += data[i * p + j]!;
    }
    yMean /= n;
    for (let j = 0; j < p; j++) xMean[j]! /= n;
    // Column-major centred copy: column j at a[j*n .. j*n+n).
    const a = new Float64Array(n * p);
    for (let i = 0; i < n; i++) for (let j = 0; j < p; j++) a[j * n + i] = data[i * p + j]! - xMean[j]!;
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) b[i] = y[i]! - yMean;

    const perm = new Int32Array(p);
    for (let j = 0; j < p; j++) perm[j] = j;
    const diag = new Float64Array(p);
    const kMax = Math.min(n, p);
    let rank = 0;
    let firstPivot = 0;
    for (let k = 0; k < kMax; k++) {
      // Pivot: the remaining column with the largest norm below row k.
      let best = -1;
      let bestNorm = -1;
      for (let j = k; j < p; j++) {
        let s = 0;
        for (let i = k; i < n; i++) s += a[j * n + i]! ** 2;
        if (s > bestNorm) {
          bestNorm = s;
          best = j;
        }
      }
      const norm = Math.sqrt(bestNorm);
      if (k === 0) firstPivot = norm;
      if (norm <= 1e-10 * firstPivot || norm === 0) break;
      if (best !== k) {
        for (let i = 0; i < n; i++) {
          const t = a[k * n + i]!;
          a[k * n + i] = a[best * n + i]!;
          a[best * n + i] = t;
        }
        const t = perm[k]!;
        perm[k] = perm[best]!;
        perm[best] = t;
      }
      // Householder vector v = x − α e₁ stored in place of column k (rows k..n).
      const ck = k * n;
      const alpha = a[ck + k]! > 0 ? -norm : norm;
      a[ck + k]! -= alpha;
      let vv = 0;
      for (let i = k; i < n; i++) vv += a[ck + i]! ** 2;
      if (vv > 0) {
        for (let j = k + 1; j < p; j++) {
          const cj = j * n;
          let dot = 0;
          for (let i = k; i < n; i++) dot += a[ck + i]! * a[cj + i]!;
          const f = (2 * dot) / vv;
          for (let i = k; i < n; i++) a[cj + i]! -= f * a[ck + i]!;
        }
        let dot = 0;
        for (let i = k; i < n; i++) dot += a[ck + i]! * b[i]!;
        const f = (2 * dot) / vv;
        for (let i = k; i < n; i++) b[i]! -= f * a[ck + i]!;
      }
      diag[k] = alpha;
      rank = k + 1;
    }
    // Back substitution on the leading rank×rank block of R (R[k][j] = a[j*n + k] for j > k).
    const c = new Float64Array(p);
    for (let k = rank - 1; k >= 0; k--) {
      let s = b[k]!;
      for (let j = k + 1; j < rank; j++) s -= a[j * n + k]! * c[j]!;
      c[k] = s / diag[k]!;
    }
    const coefficients = new Float64Array(p);
    for (let k = 0; k < p; k++) coefficients[perm[k]!] = c[k]!;
    let intercept = yMean;
    for (let j = 0; j < p; j++) intercept -= xMean[j]! * coefficients[j]!;
    const model = new LinearRegression(coefficients, intercept, rank, 0);
    return new LinearRegression(coefficients, intercept, rank, r2Score(y, model.predict(data, n)));
  }

  predictRow(row: ArrayLike<number>, offset = 0): number {
    let s = this.intercept;
    const c = this.coefficients;
    for (let j = 0; j < c.length; j++) s += c[j]! * row[offset + j]!;
    return s;
  }

  predict(x: Float64Array, nRows: number): Float64Array {
    const out = new Float64Array(nRows);
    const p = this.coefficients.length;
    for (let i = 0; i < nRows; i++) out[i] = this.predictRow(x, i * p);
    return out;
  }
}
