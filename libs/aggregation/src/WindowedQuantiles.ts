import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DDSketch } from './DDSketch';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';

export interface WindowedQuantilesOptions {
  /** Window in seconds. Default 300. */
  windowSeconds?: number;
  /** Sketch sub-windows per window. Default 10 (30 s each for a 300 s window). */
  subWindows?: number;
  /** DDSketch relative accuracy. Default 0.01. */
  relativeAccuracy?: number;
  /** DDSketch bins per sign. Default 2048. */
  maxBins?: number;
}

/** Lower rank-based quantiles (see `DDSketch.quantile`); null when the window is empty. */
export interface WindowQuantiles {
  p50: number | null;
  p90: number | null;
  p95: number | null;
  p99: number | null;
}

const EMPTY_QUANTILES: WindowQuantiles = { p50: null, p90: null, p95: null, p99: null };

/**
 * Percentiles over a sliding window, from a ring of DDSketches, one per sub-window of
 * `ceil(windowSeconds / subWindows)` seconds (30 s for 300 s / 10), merged at query time.
 *
 * Precision: a query at `nowMs` merges every sub-window that overlaps `(nowSec - windowSeconds,
 * nowSec]`, so percentiles describe between `windowSeconds` and `windowSeconds + subSeconds - 1`
 * seconds of data (300–329 s by default) — coarser than the 1 s buckets of `SlidingWindow`,
 * because a sketch per second would be ~10× larger. Values keep the sketch's relative accuracy.
 *
 * Memory: `subWindows + 1` sketches at most, each sized by its values (sparse: 8 bytes per
 * non-empty bin, e.g. ~256 bytes for 30 values; dense past that, at most `maxBins` × 8 bytes per
 * sign); sub-windows that leave the window are emptied by `expire` and their arrays reused.
 */
export class WindowedQuantiles {
  readonly windowSeconds: number;
  readonly subWindows: number;
  readonly subSeconds: number;
  readonly relativeAccuracy: number;
  readonly maxBins: number;
  private readonly slots: number;
  private readonly stamps: Float64Array;
  private readonly sketches: (DDSketch | undefined)[];
  private newestSub = -Infinity;

  constructor(options: WindowedQuantilesOptions = {}) {
    this.windowSeconds = options.windowSeconds ?? 300;
    this.subWindows = options.subWindows ?? 10;
    this.relativeAccuracy = options.relativeAccuracy ?? 0.01;
    this.maxBins = options.maxBins ?? 2048;
    if (!Number.isInteger(this.windowSeconds) || this.windowSeconds < 1) {
      throw new InvalidArgumentError(`windowSeconds must be a positive integer, got ${String(this.windowSeconds)}`);
    }
    if (!Number.isInteger(this.subWindows) || this.subWindows < 1) {
      throw new InvalidArgumentError(`subWindows must be a positive integer, got ${String(this.subWindows)}`);
    }
    this.subSeconds = Math.ceil(this.windowSeconds / this.subWindows);
    this.slots = Math.ceil(this.windowSeconds / this.subSeconds) + 1;
    this.stamps = new Float64Array(this.slots).fill(-Infinity);
    this.sketches = new Array<DDSketch | undefined>(this.slots).fill(undefined);
  }

  static create(options: WindowedQuantilesOptions = {}): WindowedQuantiles {
    return new WindowedQuantiles(options);
  }

  /** Adds `value` to the sub-window of `eventTimeMs`; false if that sub-window has left the ring. */
  record(value: number, eventTimeMs: number): boolean {
    const sub = Math.floor(Math.floor(eventTimeMs / 1000) / this.subSeconds);
    if (sub <= this.newestSub - this.slots) return false;
    const slot = ((sub % this.slots) + this.slots) % this.slots;
    let sketch = this.sketches[slot];
    if (this.stamps[slot] !== sub) {
      if (this.stamps[slot] > sub) return false;
      this.stamps[slot] = sub;
      if (sketch === undefined) {
        sketch = new DDSketch({ relativeAccuracy: this.relativeAccuracy, maxBins: this.maxBins });
        this.sketches[slot] = sketch;
      } else {
        sketch.clear();
      }
    }
    sketch!.add(value);
    if (sub > this.newestSub) this.newestSub = sub;
    return true;
  }

  /** p50/p90/p95/p99 over the sub-windows overlapping the window at `nowMs`. */
  result(nowMs: number): WindowQuantiles {
    const sketch = this.windowSketch(nowMs);
    if (sketch === undefined) return EMPTY_QUANTILES;
    return { p50: sketch.quantile(0.5), p90: sketch.quantile(0.9), p95: sketch.quantile(0.95), p99: sketch.quantile(0.99) };
  }

  /** The merged sketch of the window at `nowMs` (a fresh object, or a live one when a single sub-window matches — do not mutate it). */
  windowSketch(nowMs: number): DDSketch | undefined {
    const nowSec = Math.floor(nowMs / 1000);
    const hiSub = Math.floor(nowSec / this.subSeconds);
    const loSub = Math.floor((nowSec - this.windowSeconds + 1) / this.subSeconds);
    let found: DDSketch | undefined;
    let merged: DDSketch | undefined;
    for (let i = 0; i < this.slots; i++) {
      const s = this.stamps[i];
      const sketch = this.sketches[i];
      if (s < loSub || s > hiSub || sketch === undefined || sketch.count === 0) continue;
      if (found === undefined) {
        found = sketch;
      } else {
        if (merged === undefined) {
          merged = new DDSketch({ relativeAccuracy: this.relativeAccuracy, maxBins: this.maxBins });
          merged.merge(found);
        }
        merged.merge(sketch);
      }
    }
    return merged ?? found;
  }

  /**
   * Empties sub-windows entirely older than the window at `nowMs`. Their sketches keep their bin
   * arrays for the next sub-window (a series that stays idle is dropped whole by its owner).
   */
  expire(nowMs: number): void {
    const loSub = Math.floor((Math.floor(nowMs / 1000) - this.windowSeconds + 1) / this.subSeconds);
    for (let i = 0; i < this.slots; i++) {
      if (this.stamps[i] < loSub && this.stamps[i] !== -Infinity) {
        this.stamps[i] = -Infinity;
        this.sketches[i]?.clear();
      }
    }
  }

  /** Merges sub-window by sub-window; `other` is unchanged. Window, sub-windows and accuracy must match. */
  merge(other: WindowedQuantiles): void {
    if (other.windowSeconds !== this.windowSeconds || other.subWindows !== this.subWindows || other.relativeAccuracy !== this.relativeAccuracy) {
      throw new IncompatibleMergeError(
        `cannot merge WindowedQuantiles (${other.windowSeconds} s / ${other.subWindows}, α ${other.relativeAccuracy}) into (${this.windowSeconds} s / ${this.subWindows}, α ${this.relativeAccuracy})`,
      );
    }
    for (let i = 0; i < this.slots; i++) {
      const sb = other.stamps[i];
      const theirs = other.sketches[i];
      if (sb === -Infinity || theirs === undefined) continue;
      if (sb === this.stamps[i] && this.sketches[i] !== undefined) {
        this.sketches[i]!.merge(theirs);
      } else if (sb > this.stamps[i]) {
        const copy = new DDSketch({ relativeAccuracy: this.relativeAccuracy, maxBins: this.maxBins });
        copy.merge(theirs);
        this.stamps[i] = sb;
        this.sketches[i] = copy;
      }
    }
    if (other.newestSub > this.newestSub) this.newestSub = other.newestSub;
    for (let i = 0; i < this.slots; i++) {
      if (this.stamps[i] <= this.newestSub - this.slots && this.stamps[i] !== -Infinity) {
        this.stamps[i] = -Infinity;
        this.sketches[i]?.clear();
      }
    }
  }

  /** Encoding without the options: live sub-window count, then (sub-window index, sketch contents) each. */
  writeContents(w: ByteWriter): void {
    let live = 0;
    for (let i = 0; i < this.slots; i++) if (this.sketches[i] !== undefined && this.sketches[i]!.count > 0) live++;
    w.varUint(live);
    for (let i = 0; i < this.slots; i++) {
      const sketch = this.sketches[i];
      if (sketch === undefined || sketch.count === 0) continue;
      w.varInt(this.stamps[i]);
      sketch.writeContents(w);
    }
  }

  static readContents(r: ByteReader, options: WindowedQuantilesOptions): WindowedQuantiles {
    const q = new WindowedQuantiles(options);
    const live = r.varUint();
    if (live > q.slots) throw new DeserializationError(`WindowedQuantiles snapshot holds ${live} sub-windows, more than ${q.slots}`);
    for (let k = 0; k < live; k++) {
      const sub = r.varInt();
      const slot = ((sub % q.slots) + q.slots) % q.slots;
      q.stamps[slot] = sub;
      q.sketches[slot] = DDSketch.readContents(r, { relativeAccuracy: q.relativeAccuracy, maxBins: q.maxBins });
      if (sub > q.newestSub) q.newestSub = sub;
    }
    return q;
  }
}
