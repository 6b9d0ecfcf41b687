import type { Accumulator } from '@pipeline/contracts';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';

export interface DDSketchOptions {
  /** Guaranteed relative error α of every quantile, 0 < α < 1. Default 0.01 (1%). */
  relativeAccuracy?: number;
  /** Most bins per sign before the lowest-magnitude bins are collapsed. Default 2048. */
  maxBins?: number;
}

/** Quantiles and exact moments of a DDSketch; every field but `count` is null when empty. */
export interface DDSketchResult {
  count: number;
  sum: number;
  min: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

const SERIAL_VERSION = 1;
const EMPTY = new Float64Array(0);
/** Smallest positive normal double: smaller magnitudes count as zero (their log would underflow). */
const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * Counts per bin index over a contiguous range, with the lowest bins collapsed into one once the range
 * would exceed `maxBins`. The array covers [offset, offset + counts.length); [lo, hi] is in use.
 */
class DenseStore {
  counts: Float64Array = EMPTY;
  offset = 0;
  lo = 0;
  hi = -1;
  total = 0;

  constructor(readonly maxBins: number) {}

  add(index: number, count: number): void {
    const i = index < this.lo || index > this.hi ? this.extend(index, index) : index;
    this.counts[i - this.offset] += count;
    this.total += count;
  }

  /** Makes [newLo, newHi] (plus what is in use) addressable; returns where `index` now lands. */
  extend(newLoIn: number, newHiIn: number, index: number = newLoIn): number {
    const empty = this.total === 0;
    const lo0 = empty ? newLoIn : Math.min(this.lo, newLoIn);
    const hi = empty ? newHiIn : Math.max(this.hi, newHiIn);
    const lo = Math.max(lo0, hi - this.maxBins + 1);
    if (lo < this.offset || hi >= this.offset + this.counts.length) {
      const range = hi - lo + 1;
      const length = Math.min(this.maxBins, range + 8 + (range >> 2));
      const offset = !empty && lo < this.lo ? hi - length + 1 : lo;
      const next = new Float64Array(length);
      if (!empty) {
        for (let k = this.lo; k <= this.hi; k++) next[Math.max(k, lo) - offset] += this.counts[k - this.offset];
      }
      this.counts = next;
      this.offset = offset;
    } else if (!empty && lo > this.lo) {
      // Collapse in place: bins below the new lowest bin fold into it.
      let folded = 0;
      for (let k = this.lo; k < lo; k++) {
        folded += this.counts[k - this.offset];
        this.counts[k - this.offset] = 0;
      }
      this.counts[lo - this.offset] += folded;
    }
    this.lo = lo;
    this.hi = hi;
    return Math.max(index, lo);
  }

  /** Smallest bin index whose cumulative count exceeds `rank` (0-based). */
  keyAtRank(rank: number): number {
    let cum = 0;
    for (let k = this.lo; k <= this.hi; k++) {
      cum += this.counts[k - this.offset];
      if (cum > rank) return k;
    }
    return this.hi;
  }

  mergeFrom(other: DenseStore): void {
    if (other.total === 0) return;
    this.extend(other.lo, other.hi);
    for (let k = other.lo; k <= other.hi; k++) {
      const c = other.counts[k - other.offset];
      if (c !== 0) this.counts[Math.max(k, this.lo) - this.offset] += c;
    }
    this.total += other.total;
  }

  clear(): void {
    if (this.total !== 0) this.counts.fill(0);
    this.lo = 0;
    this.hi = -1;
    this.total = 0;
  }

  write(w: ByteWriter): void {
    if (this.total === 0) {
      w.varUint(0);
      return;
    }
    w.varUint(this.hi - this.lo + 1);
    w.varInt(this.lo);
    for (let k = this.lo; k <= this.hi; k++) w.varUint(this.counts[k - this.offset]);
  }

  read(r: ByteReader): void {
    const length = r.varUint();
    if (length === 0) return;
    if (length > this.maxBins) throw new DeserializationError(`DDSketch store has ${length} bins, more than maxBins ${this.maxBins}`);
    this.lo = r.varInt();
    this.hi = this.lo + length - 1;
    this.offset = this.lo;
    this.counts = new Float64Array(length);
    for (let k = 0; k < length; k++) {
      this.counts[k] = r.varUint();
      this.total += this.counts[k];
    }
  }
}

/**
 * DDSketch (Masson, Rim & Lee, VLDB 2019): quantiles with a relative-error guarantee, mergeable exactly.
 *
 * Accuracy: every quantile it returns is within `relativeAccuracy` (α, default 1%) of the exact
 * lower rank-based quantile: for `n` values sorted ascending `x[0..n-1]`, `quantile(q)` estimates
 * `x[floor(q × (n - 1))]`, e.g. q = 0.5 over 1..10 is x[4] = 5. Values fall into logarithmic bins
 * `γ^(i-1) < |x| ≤ γ^i` with `γ = (1 + α) / (1 - α)`; a bin answers `2γ^i / (γ + 1)`, and the
 * answer is clamped to the exact [min, max].
 *
 * Signs: positive and negative values have separate stores (negatives by magnitude); magnitudes
 * below 2.2e-308 count as zero, and zeros are counted exactly. Constant inputs come back exactly
 * (clamped to min = max).
 *
 * Memory bound: at most `maxBins` (default 2048) float64 counts per sign, i.e. 16 KB each. At α = 1%
 * 2048 bins span a ratio of γ^2048 ≈ 6·10^17 between the largest and smallest magnitude (e.g. 1 ns
 * to 19 years), so real latency data never collapses. Past that, the lowest-magnitude bins are folded
 * into the lowest kept bin: high quantiles keep their guarantee, while quantiles that land in the
 * collapsed bins are over-estimated in magnitude (reported as the lowest kept bin's value).
 *
 * Counts are integers (`add(value, count)` takes a positive integer), which keeps the binary
 * encoding to a varint per bin.
 */
export class DDSketch implements Accumulator<DDSketchResult, Uint8Array> {
  readonly relativeAccuracy: number;
  readonly maxBins: number;
  private readonly gamma: number;
  private readonly multiplier: number;
  private readonly minIndexable: number;
  private readonly maxIndexable: number;
  private readonly positive: DenseStore;
  private readonly negative: DenseStore;
  private zeroCount = 0;
  private total = 0;
  private sumValue = 0;
  private minValue = Infinity;
  private maxValue = -Infinity;

  constructor(options: DDSketchOptions = {}) {
    const relativeAccuracy = options.relativeAccuracy ?? 0.01;
    const maxBins = options.maxBins ?? 2048;
    if (!(relativeAccuracy > 0 && relativeAccuracy < 1)) {
      throw new InvalidArgumentError(`relativeAccuracy must be a number between 0 and 1 (exclusive), got ${String(relativeAccuracy)}`);
    }
    if (!Number.isInteger(maxBins) || maxBins < 1) throw new InvalidArgumentError(`maxBins must be a positive integer, got ${String(maxBins)}`);
    this.relativeAccuracy = relativeAccuracy;
    this.maxBins = maxBins;
    this.gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    this.multiplier = 1 / Math.log(this.gamma);
    this.minIndexable = MIN_NORMAL * this.gamma;
    this.maxIndexable = Number.MAX_VALUE / this.gamma;
    this.positive = new DenseStore(maxBins);
    this.negative = new DenseStore(maxBins);
  }

  static create(options: DDSketchOptions = {}): DDSketch {
    return new DDSketch(options);
  }

  get count(): number {
    return this.total;
  }

  /** Adds `value` `count` times (count: positive integer, default 1). */
  add(value: number, count = 1): void {
    if (!(Math.abs(value) <= this.maxIndexable)) {
      throw new InvalidArgumentError(`value must be a finite number with magnitude at most ${this.maxIndexable}, got ${String(value)}`);
    }
    if (count !== 1 && (!Number.isSafeInteger(count) || count < 1)) {
      throw new InvalidArgumentError(`count must be a positive integer, got ${String(count)}`);
    }
    if (value > this.minIndexable) this.positive.add(Math.ceil(Math.log(value) * this.multiplier), count);
    else if (value < -this.minIndexable) this.negative.add(Math.ceil(Math.log(-value) * this.multiplier), count);
    else this.zeroCount += count;
    this.total += count;
    this.sumValue += value * count;
    if (value < this.minValue) this.minValue = value;
    if (value > this.maxValue) this.maxValue = value;
  }

  /** The lower rank-based quantile `x[floor(q × (n - 1))]` within relative accuracy; null when empty. */
  quantile(q: number): number | null {
    if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError(`q must be a number between 0 and 1, got ${String(q)}`);
    if (this.total === 0) return null;
    const rank = Math.floor(q * (this.total - 1));
    let v: number;
    if (rank < this.negative.total) {
      v = -this.binValue(this.negative.keyAtRank(this.negative.total - 1 - rank));
    } else if (rank < this.negative.total + this.zeroCount) {
      v = 0;
    } else {
      v = this.binValue(this.positive.keyAtRank(rank - this.negative.total - this.zeroCount));
    }
    return Math.min(this.maxValue, Math.max(this.minValue, v));
  }

  result(): DDSketchResult {
    const empty = this.total === 0;
    return {
      count: this.total,
      sum: this.sumValue,
      min: empty ? null : this.minValue,
      max: empty ? null : this.maxValue,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
    };
  }

  /**
   * Adds every bin of `other` (unchanged) into this sketch: the result is exactly the sketch of the
   * union of both inputs. Both must have the same relative accuracy; `maxBins` is this sketch's.
   */
  merge(other: DDSketch): void {
    if (other.relativeAccuracy !== this.relativeAccuracy) {
      throw new IncompatibleMergeError(
        `cannot merge a DDSketch with relativeAccuracy ${other.relativeAccuracy} into one with relativeAccuracy ${this.relativeAccuracy}`,
      );
    }
    if (other.total === 0) return;
    this.positive.mergeFrom(other.positive);
    this.negative.mergeFrom(other.negative);
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    this.sumValue += other.sumValue;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /** Empties the sketch but keeps its bin arrays, so a reused sketch does not reallocate. */
  clear(): void {
    this.positive.clear();
    this.negative.clear();
    this.zeroCount = 0;
    this.total = 0;
    this.sumValue = 0;
    this.minValue = Infinity;
    this.maxValue = -Infinity;
  }

  serialize(): Uint8Array {
    const w = new ByteWriter(64);
    w.u8(SERIAL_VERSION);
    this.writeTo(w);
    return w.finish();
  }

  static deserialize(bytes: Uint8Array): DDSketch {
    const r = new ByteReader(bytes);
    const version = r.u8();
    if (version !== SERIAL_VERSION) throw new DeserializationError(`DDSketch snapshot version must be ${SERIAL_VERSION}, got ${version}`);
    const sketch = DDSketch.readFrom(r);
    r.expectEnd('DDSketch');
    return sketch;
  }

  /** Encoding: relative accuracy (float64), maxBins, then `writeContents`. */
  writeTo(w: ByteWriter): void {
    w.f64(this.relativeAccuracy);
    w.varUint(this.maxBins);
    this.writeContents(w);
  }

  static readFrom(r: ByteReader): DDSketch {
    const relativeAccuracy = r.f64();
    const maxBins = r.varUint();
    return DDSketch.readContents(r, { relativeAccuracy, maxBins });
  }

  /**
   * Encoding without the options (for callers that store many sketches sharing them): zero count,
   * then sum, min, max (float64) when non-empty, then each store as bin count, lowest index
   * (zig-zag) and one varint count per bin.
   */
  writeContents(w: ByteWriter): void {
    w.varUint(this.zeroCount);
    w.u8(this.total === 0 ? 0 : 1);
    if (this.total === 0) return;
    w.f64(this.sumValue);
    w.f64(this.minValue);
    w.f64(this.maxValue);
    this.positive.write(w);
    this.negative.write(w);
  }

  static readContents(r: ByteReader, options: DDSketchOptions): DDSketch {
    const sketch = new DDSketch(options);
    sketch.zeroCount = r.varUint();
    if (r.u8() === 0) return sketch;
    sketch.sumValue = r.f64();
    sketch.minValue = r.f64();
    sketch.maxValue = r.f64();
    sketch.positive.read(r);
    sketch.negative.read(r);
    sketch.total = sketch.zeroCount + sketch.positive.total + sketch.negative.total;
    return sketch;
  }

  private binValue(index: number): number {
    return (Math.exp(index / this.multiplier) * 2) / (1 + this.gamma);
  }
}
