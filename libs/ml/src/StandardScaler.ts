import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';

/**
 * Per-column standardization `z = (x - mean) / scale`, `scale` being the population standard
 * deviation (ddof = 0, as scikit-learn). A constant column gets scale 1, so it maps to 0 instead of
 * dividing by zero. Fitted state is two Float64Arrays of length nCols, stored with the model.
 */
export class StandardScaler {
  private constructor(
    readonly mean: Float64Array,
    readonly scale: Float64Array,
  ) {}

  /** Computes mean and scale in one pass per column (two-pass for accuracy). */
  static fit(x: FeatureMatrix): StandardScaler {
    const { data, nRows, nCols } = x;
    if (nRows < 1) throw new MlInputError('cannot fit a scaler on zero rows', 'rows');
    const mean = new Float64Array(nCols);
    const scale = new Float64Array(nCols);
    for (let i = 0; i < nRows; i++) for (let j = 0; j < nCols; j++) mean[j]! += data[i * nCols + j]!;
    for (let j = 0; j < nCols; j++) mean[j]! /= nRows;
    for (let i = 0; i < nRows; i++) {
      for (let j = 0; j < nCols; j++) {
        const d = data[i * nCols + j]! - mean[j]!;
        scale[j]! += d * d;
      }
    }
    for (let j = 0; j < nCols; j++) {
      const sd = Math.sqrt(scale[j]! / nRows);
      // Constant (or numerically constant) column: leave it centred at 0 with unit scale.
      scale[j] = sd > 1e-12 * Math.max(1, Math.abs(mean[j]!)) ? sd : 1;
    }
    return new StandardScaler(mean, scale);
  }

  /** Rebuilds a fitted scaler from stored state. */
  static fromState(mean: Float64Array, scale: Float64Array): StandardScaler {
    if (mean.length !== scale.length) throw new MlInputError('scaler mean and scale lengths differ', 'scaler');
    return new StandardScaler(mean, scale);
  }

  get nCols(): number {
    return this.mean.length;
  }

  /** Returns a new standardized matrix; `x` is left unchanged. */
  transform(x: FeatureMatrix): FeatureMatrix {
    if (x.nCols !== this.mean.length) {
      throw new MlInputError(`expected ${this.mean.length} columns, got ${x.nCols}`, 'nCols');
    }
    const out = new Float64Array(x.data.length);
    this.transformInto(x.data, out, x.nRows);
    return { data: out, nRows: x.nRows, nCols: x.nCols };
  }

  /** Standardizes `nRows` rows of `src` into `dst` (may be the same array). No allocation. */
  transformInto(src: ArrayLike<number>, dst: Float64Array, nRows: number): void {
    const p = this.mean.length;
    const mean = this.mean;
    const scale = this.scale;
    for (let i = 0; i < nRows; i++) {
      const base = i * p;
      for (let j = 0; j < p; j++) dst[base + j] = (src[base + j]! - mean[j]!) / scale[j]!;
    }
  }
}
