import { BatchInputError, describeValue } from './errors';

/** One row of moments as it travels in JSON: `[count, shift, mean − shift, m2, min, max, sum, sumCompensation]`. */
export type SerializedMoments = [number, number, number, number, number, number, number, number];

/**
 * A growable table of mergeable moments (count, mean, M2, min, max, sum), one row per window/group,
 * stored column-wise in Float64Arrays so recording a value allocates nothing.
 *
 * - Recording uses Welford's update; merging two rows uses Chan et al.'s parallel formula
 *   (M2 = M2a + M2b + δ²·na·nb/n). Both work on values shifted by the row's first value (`shift`):
 *   for data with a large mean and a small spread (1e9 ± 5) the shifted values are exact and the
 *   stddev keeps ~15 digits instead of ~8.
 * - `sum` is a Neumaier-compensated sum, so it is (almost always) the correctly rounded sum whatever
 *   the order of records and merges.
 * - count, min and max merge exactly; mean and M2 agree with a single pass up to floating-point
 *   rounding (relative error ~1e-15·log2(partitions)), not bit for bit.
 * - Standard deviation is the **population** stddev √(M2/n): 0 for one value.
 * Memory: 64 bytes per row (capacity doubles as rows are added).
 */
export class MomentsTable {
  count: Float64Array;
  /** The row's first value; `mean` is stored relative to it. */
  shift: Float64Array;
  /** Mean of (x − shift). */
  mean: Float64Array;
  m2: Float64Array;
  min: Float64Array;
  max: Float64Array;
  sum: Float64Array;
  comp: Float64Array;
  size = 0;

  constructor(capacity = 16) {
    const c = Math.max(1, capacity);
    this.count = new Float64Array(c);
    this.shift = new Float64Array(c);
    this.mean = new Float64Array(c);
    this.m2 = new Float64Array(c);
    this.min = new Float64Array(c);
    this.max = new Float64Array(c);
    this.sum = new Float64Array(c);
    this.comp = new Float64Array(c);
  }

  /** Appends an empty row and returns its index. */
  addRow(): number {
    if (this.size === this.count.length) this.grow(this.size * 2);
    const r = this.size++;
    this.count[r] = 0;
    this.shift[r] = 0;
    this.mean[r] = 0;
    this.m2[r] = 0;
    this.min[r] = Infinity;
    this.max[r] = -Infinity;
    this.sum[r] = 0;
    this.comp[r] = 0;
    return r;
  }

  /** Adds one finite value to row `r`. */
  record(r: number, x: number): void {
    const n = this.count[r] + 1;
    this.count[r] = n;
    if (n === 1) this.shift[r] = x;
    const y = x - this.shift[r];
    const delta = y - this.mean[r];
    const mean = this.mean[r] + delta / n;
    this.mean[r] = mean;
    this.m2[r] += delta * (y - mean);
    if (x < this.min[r]) this.min[r] = x;
    if (x > this.max[r]) this.max[r] = x;
    const s = this.sum[r];
    const t = s + x;
    this.comp[r] += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
    this.sum[r] = t;
  }

  /** Folds row `from` of `other` (left unchanged) into row `r` of this table. */
  mergeRow(r: number, other: MomentsTable, from: number): void {
    this.mergeValues(r, other.count[from], other.shift[from], other.mean[from], other.m2[from], other.min[from], other.max[from], other.sum[from], other.comp[from]);
  }

  /** Folds a row given by its parts (`meanB` relative to `shiftB`) into row `r`. */
  mergeValues(r: number, nb: number, shiftB: number, meanB: number, m2b: number, minB: number, maxB: number, sumB: number, compB: number): void {
    if (nb === 0) return;
    const na = this.count[r];
    const n = na + nb;
    if (na === 0) this.shift[r] = shiftB;
    // δ = meanB_abs − meanA_abs, with the two shifts (often close) subtracted first
    const delta = shiftB - this.shift[r] + (meanB - this.mean[r]);
    this.mean[r] = na === 0 ? meanB : this.mean[r] + (delta * nb) / n;
    this.m2[r] = this.m2[r] + m2b + ((delta * delta * na) / n) * nb;
    this.count[r] = n;
    if (minB < this.min[r]) this.min[r] = minB;
    if (maxB > this.max[r]) this.max[r] = maxB;
    const s = this.sum[r];
    const t = s + sumB;
    this.comp[r] += (Math.abs(s) >= Math.abs(sumB) ? s - t + sumB : sumB - t + s) + compB;
    this.sum[r] = t;
  }

  totalSum(r: number): number {
    return this.sum[r] + this.comp[r];
  }

  /** The row's mean. */
  meanOf(r: number): number {
    return this.shift[r] + this.mean[r];
  }

  stddev(r: number): number {
    const n = this.count[r];
    return n === 0 ? 0 : Math.sqrt(this.m2[r] / n);
  }

  serializeRow(r: number): SerializedMoments {
    return [this.count[r], this.shift[r], this.mean[r], this.m2[r], this.min[r], this.max[r], this.sum[r], this.comp[r]];
  }

  /** Appends a row from its JSON form, validating it; `field` names it in errors. Returns the row index. */
  addSerializedRow(row: unknown, field: string): number {
    if (!Array.isArray(row) || row.length !== 8 || !row.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new BatchInputError(field, `must be [count, shift, mean − shift, m2, min, max, sum, compensation] of finite numbers, got ${describeValue(row)}`);
    }
    const [count, shift, mean, m2, min, max, sum, comp] = row as SerializedMoments;
    if (!Number.isInteger(count) || count < 1 || m2 < 0 || min > max) {
      throw new BatchInputError(field, `is not a consistent moments row (count ≥ 1 integer, m2 ≥ 0, min ≤ max), got ${describeValue(row)}`);
    }
    const r = this.addRow();
    this.mergeValues(r, count, shift, mean, m2, min, max, sum, comp);
    return r;
  }

  private grow(capacity: number): void {
    const extend = (a: Float64Array) => {
      const b = new Float64Array(capacity);
      b.set(a);
      return b;
    };
    this.count = extend(this.count);
    this.shift = extend(this.shift);
    this.mean = extend(this.mean);
    this.m2 = extend(this.m2);
    this.min = extend(this.min);
    this.max = extend(this.max);
    this.sum = extend(this.sum);
    this.comp = extend(this.comp);
  }
}
