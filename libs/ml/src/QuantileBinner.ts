import { MlInputError } from './errors';
import type { FeatureMatrix } from './FeatureMatrix';

/**
 * Maps each feature onto at most `maxBins` (≤ 256) ordered bins so tree training can work on one
 * byte per cell. Bin edges are midpoints between neighbouring distinct values at the column's
 * quantiles; a column with ≤ maxBins distinct values gets one bin per value, so nothing is lost.
 *
 * Rule: value `v` falls in bin `b` = number of thresholds `< v`; hence "bin ≤ b" ⇔ "v ≤ thresholds[b]",
 * which is what lets a tree trained on bins predict on raw floats.
 * Worked example: column [1, 2, 2, 7] → thresholds [1.5, 4.5] → bins [0, 1, 1, 2].
 *
 * Memory: `nRows × nCols` bytes for the binned matrix, ≤ 255 doubles per feature for the edges.
 */
export class QuantileBinner {
  private constructor(
    /** All features' thresholds, feature `f` at `[offsets[f], offsets[f + 1])`, ascending. */
    readonly thresholds: Float64Array,
    readonly offsets: Int32Array,
  ) {}

  static fit(x: FeatureMatrix, maxBins = 256): QuantileBinner {
    if (!Number.isInteger(maxBins) || maxBins < 2 || maxBins > 256) {
      throw new MlInputError(`maxBins must be an integer in [2, 256], got ${maxBins}`, 'params.maxBins');
    }
    const { data, nRows: n, nCols: p } = x;
    const perFeature: number[][] = [];
    const col = new Float64Array(n);
    for (let f = 0; f < p; f++) {
      for (let i = 0; i < n; i++) col[i] = data[i * p + f]!;
      col.sort();
      perFeature.push(cutPoints(col, maxBins));
    }
    const offsets = new Int32Array(p + 1);
    for (let f = 0; f < p; f++) offsets[f + 1] = offsets[f]! + perFeature[f]!.length;
    const thresholds = new Float64Array(offsets[p]!);
    for (let f = 0; f < p; f++) thresholds.set(perFeature[f]!, offsets[f]!);
    return new QuantileBinner(thresholds, offsets);
  }

  static fromState(thresholds: Float64Array, offsets: Int32Array): QuantileBinner {
    return new QuantileBinner(thresholds, offsets);
  }

  get nCols(): number {
    return this.offsets.length - 1;
  }

  /** Number of bins of feature `f` (thresholds + 1). */
  nBins(f: number): number {
    return this.offsets[f + 1]! - this.offsets[f]! + 1;
  }

  /** Bins a row-major matrix into a row-major byte matrix of the same shape. */
  transform(x: FeatureMatrix): Uint8Array {
    const { data, nRows: n, nCols: p } = x;
    const out = new Uint8Array(n * p);
    const thr = this.thresholds;
    for (let f = 0; f < p; f++) {
      const lo0 = this.offsets[f]!;
      const hi0 = this.offsets[f + 1]!;
      for (let i = 0; i < n; i++) {
        const v = data[i * p + f]!;
        // first k in [lo0, hi0) with v <= thr[k]; bin = k - lo0
        let lo = lo0;
        let hi = hi0;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (v <= thr[mid]!) hi = mid;
          else lo = mid + 1;
        }
        out[i * p + f] = lo - lo0;
      }
    }
    return out;
  }
}

/** Thresholds for one sorted column: ≤ maxBins - 1 strictly increasing midpoints. */
function cutPoints(sorted: Float64Array, maxBins: number): number[] {
  const n = sorted.length;
  const out: number[] = [];
  let distinct = 1;
  for (let i = 1; i < n && distinct <= maxBins; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct <= maxBins) {
    for (let i = 1; i < n; i++) if (sorted[i] !== sorted[i - 1]) out.push((sorted[i - 1]! + sorted[i]!) / 2);
    return out;
  }
  for (let b = 1; b < maxBins; b++) {
    const pos = Math.floor((b * n) / maxBins);
    const below = sorted[pos - 1]!;
    let k = pos;
    while (k < n && sorted[k] === below) k++;
    if (k === n) break;
    const t = (below + sorted[k]!) / 2;
    if (out.length === 0 || t > out[out.length - 1]!) out.push(t);
  }
  return out;
}
