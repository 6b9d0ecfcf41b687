import type { Accumulator } from '@pipeline/contracts';
import { BinStore } from './BinStore';
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
/** Smallest positive normal double: smaller magnitudes count as zero (their log would underflow). */
const MIN_NORMAL = 2.2250738585072014e-308;

/** The logarithmic index mapping of one relative accuracy, shared by all sketches using it. */
export interface LogMapping {
  readonly relativeAccuracy: number;
  readonly gamma: number;
  /** 1 / ln(γ): index = ceil(ln|x| × multiplier). */
  readonly multiplier: number;
  readonly minIndexable: number;
  readonly maxIndexable: number;
}

// One entry per distinct relative accuracy in use (a handful): keeps these five doubles out of
// every sketch, which matters at 11 sketches per series × 10,000 series.
const mappings = new Map<number, LogMapping>();

/** The (shared, frozen) index mapping of `relativeAccuracy`; internal to this lib. */
export function mappingFor(relativeAccuracy: number): LogMapping {
  let m = mappings.get(relativeAccuracy);
  if (m === undefined) {
    const gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy);
    m = Object.freeze({
      relativeAccuracy,
      gamma,
      multiplier: 1 / Math.log(gamma),
      minIndexable: MIN_NORMAL * gamma,
      maxIndexable: Number.MAX_VALUE / gamma,
    });
    mappings.set(relativeAccuracy, m);
  }
  return m;
}

/**
 * DDSketch (Masson, Rim & Lee, VLDB 2019): quantiles with a relative-error guarantee, mergeable exactly.
 *
 * Accuracy: every quantile it returns is within `relativeAccuracy` (α, default 1%) of the exact
 * lower rank-based quantile: for `n` values sorted ascending `x[0..n-1]`, `quantile(q)` estimates
 * `x[floor(q × (n - 1))]`, e.g. q = 0.5 over 1..10 is x[4] = 5. Values fall into logarithmic bins
 * `γ^(i-1) < |x| ≤ γ^i` with `γ = (1 + α) / (1 - α)`; a bin answers `2γ^i / (γ + 1)`, and the
 * answer is clamped to the exact [min, max]; ranks 0 and n − 1 answer the exact min and max.
 *
 * Signs: positive and negative values have separate stores (negatives by magnitude); magnitudes
 * below 2.2e-308 count as zero, and zeros are counted exactly. Constant inputs come back exactly
 * (clamped to min = max).
 *
 * Memory bound: a sketch with few values keeps sparse (index, count) pairs, 8 bytes per non-empty
 * bin; otherwise a dense array of at most `maxBins` (default 2048) float64 counts per sign, i.e.
 * 16 KB each — see `BinStore`. At α = 1%
 * 2048 bins span a ratio of γ^2048 ≈ 6·10^17 between the largest and smallest magnitude (e.g. 1 ns
 * to 19 years), so real latency data never collapses. Past that, the lowest-magnitude bins are folded
 * into the lowest kept bin: high quantiles keep their guarantee, while quantiles that land in the
 * collapsed bins are over-estimated in magnitude (reported as the lowest kept bin's value).
 *
 * Counts are integers (`add(value, count)` takes a positive integer), which keeps the binary
 * encoding to a varint per bin.
 */
export class DDSketch implements Accumulator<DDSketchResult, Uint8Array> {
  readonly maxBins: number;
  private readonly mapping: LogMapping;
  private readonly positive: BinStore;
  /** Created on the first negative value: most metrics never have one. */
  private negative: BinStore | undefined;
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
    this.maxBins = maxBins;
    this.mapping = mappingFor(relativeAccuracy);
    this.positive = new BinStore(maxBins);
  }

  get relativeAccuracy(): number {
    return this.mapping.relativeAccuracy;
  }

  static create(options: DDSketchOptions = {}): DDSketch {
    return new DDSketch(options);
  }

  get count(): number {
    return this.total;
  }

  /** Exact sum of the values added (0 when empty). */
  get sum(): number {
    return this.sumValue;
  }

  /** Exact smallest value added (Infinity when empty). */
  get min(): number {
    return this.minValue;
  }

  /** Exact largest value added (-Infinity when empty). */
  get max(): number {
    return this.maxValue;
  }

  /**
   * Calls `fn(sign, index, count)` for the zero count (sign 0, index 0, when non-zero), then every
   * non-empty bin of the positive store (sign 1) and of the negative store (sign −1, by magnitude),
   * ascending index within each.
   */
  forEachBin(fn: (sign: -1 | 0 | 1, index: number, count: number) => void): void {
    if (this.zeroCount > 0) fn(0, 0, this.zeroCount);
    this.positive.forEach((index, count) => fn(1, index, count));
    this.negative?.forEach((index, count) => fn(-1, index, count));
  }

  /** Adds `value` `count` times (count: positive integer, default 1). */
  add(value: number, count = 1): void {
    const m = this.mapping;
    if (!(Math.abs(value) <= m.maxIndexable)) {
      throw new InvalidArgumentError(`value must be a finite number with magnitude at most ${m.maxIndexable}, got ${String(value)}`);
    }
    if (count !== 1 && (!Number.isSafeInteger(count) || count < 1)) {
      throw new InvalidArgumentError(`count must be a positive integer, got ${String(count)}`);
    }
    if (value > m.minIndexable) this.positive.add(Math.ceil(Math.log(value) * m.multiplier), count);
    else if (value < -m.minIndexable) (this.negative ??= new BinStore(this.maxBins)).add(Math.ceil(Math.log(-value) * m.multiplier), count);
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
    // The extremes are tracked exactly.
    if (rank === 0) return this.minValue;
    if (rank === this.total - 1) return this.maxValue;
    let v: number;
    const negatives = this.negative?.total ?? 0;
    if (rank < negatives) {
      v = -this.binValue(this.negative!.keyAtRank(negatives - 1 - rank));
    } else if (rank < negatives + this.zeroCount) {
      v = 0;
    } else {
      v = this.binValue(this.positive.keyAtRank(rank - negatives - this.zeroCount));
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
    if (other.negative !== undefined && other.negative.total > 0) (this.negative ??= new BinStore(this.maxBins)).mergeFrom(other.negative);
    this.zeroCount += other.zeroCount;
    this.total += other.total;
    this.sumValue += other.sumValue;
    if (other.minValue < this.minValue) this.minValue = other.minValue;
    if (other.maxValue > this.maxValue) this.maxValue = other.maxValue;
  }

  /** Empties the sketch but keeps its bin arrays, so a reused sketch does not reallocate. */
  clear(): void {
    this.positive.clear();
    this.negative?.clear();
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
    if (this.negative === undefined) w.u8(0); // the empty-store tag
    else this.negative.write(w);
  }

  static readContents(r: ByteReader, options: DDSketchOptions): DDSketch {
    const sketch = new DDSketch(options);
    sketch.zeroCount = r.varUint();
    if (r.u8() === 0) return sketch;
    sketch.sumValue = r.f64();
    sketch.minValue = r.f64();
    sketch.maxValue = r.f64();
    sketch.positive.read(r);
    const negative = new BinStore(sketch.maxBins);
    negative.read(r);
    if (negative.total > 0) sketch.negative = negative;
    sketch.total = sketch.zeroCount + sketch.positive.total + negative.total;
    return sketch;
  }

  private binValue(index: number): number {
    return (Math.exp(index / this.mapping.multiplier) * 2) / (1 + this.mapping.gamma);
  }
}
