import type { Accumulator } from '@pipeline/contracts';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';

/**
 * Summary statistics of the values in a window. `variance` is the population variance (divide by
 * `count`, not `count - 1`); `stddev` is its square root. An empty window has `count: 0, sum: 0` and
 * `null` for every statistic that is undefined without data (mean, min, max, variance, stddev).
 */
export interface WindowStats {
  count: number;
  sum: number;
  mean: number | null;
  min: number | null;
  max: number | null;
  variance: number | null;
  stddev: number | null;
}

export interface SlidingWindowOptions {
  /** How many seconds of 1 s buckets are kept and, by default, summarised. Default 300. */
  windowSeconds?: number;
}

// One bucket is 6 float64 slots: [second, count, sum, m2, min, max]; m2 = Σ(x - mean)² of the bucket.
const STRIDE = 6;
const SERIAL_VERSION = 1;

/**
 * count, sum, mean, min, max, variance and stddev over the last `windowSeconds` seconds of event time.
 *
 * Precision: values are grouped into 1 s buckets by `floor(eventTimeMs / 1000)`. `result(nowMs)`
 * covers the buckets of the seconds `(nowSec - windowSeconds, nowSec]` with `nowSec =
 * floor(nowMs / 1000)`, i.e. `(nowMs - window, nowMs]` widened to whole seconds (up to 999 ms of
 * extra old data at the start, and values stamped later in the current second at the end).
 *
 * Memory: 48 bytes per non-empty second, so at most `48 × windowSeconds` bytes (14.4 KB for 300 s)
 * however high the event rate. Buckets live in one Float64Array sorted by second, whose capacity
 * grows 8 → 32 → `windowSeconds` buckets: a series with one event a minute holds 384 bytes, and
 * a busy one reallocates only twice (repeated doubling fragmented the allocator measurably).
 *
 * Numerics: each bucket keeps (count, sum, m2) updated with Welford's method, and buckets are
 * combined with Chan et al.'s parallel formula `m2 = m2a + m2b + δ²·na·nb/(na+nb)`, so variance
 * does not suffer the cancellation of the sum/sum-of-squares shortcut (values near 1e9 with spread 1
 * keep their variance).
 *
 * Retention: buckets older than `newest second - windowSeconds` are dropped when a newer event
 * arrives, and `record` refuses (returns false) events that old. `expire(nowMs)` drops buckets
 * that have left the window relative to the caller's clock.
 */
export class SlidingWindow implements Accumulator<WindowStats, Uint8Array> {
  readonly windowSeconds: number;
  private data: Float64Array;
  private head = 0;
  private len = 0;
  private dropped = 0;

  constructor(options: SlidingWindowOptions = {}) {
    const windowSeconds = options.windowSeconds ?? 300;
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new InvalidArgumentError(`windowSeconds must be a positive integer, got ${String(windowSeconds)}`);
    }
    this.windowSeconds = windowSeconds;
    this.data = new Float64Array(0);
  }

  static create(options: SlidingWindowOptions = {}): SlidingWindow {
    return new SlidingWindow(options);
  }

  /** Number of non-empty 1 s buckets held. */
  get bucketCount(): number {
    return this.len;
  }

  /** The newest bucket's second (epoch seconds), or undefined when empty. */
  get newestSecond(): number | undefined {
    return this.len === 0 ? undefined : this.data[(this.head + this.len - 1) * STRIDE];
  }

  /**
   * Adds `value` to the bucket of `eventTimeMs`. Returns false (and records nothing) when the event
   * is at least `windowSeconds` older than the newest event seen.
   */
  record(value: number, eventTimeMs: number): boolean {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`value must be a finite number, got ${String(value)}`);
    if (!Number.isFinite(eventTimeMs)) {
      throw new InvalidArgumentError(`eventTimeMs must be a finite number of epoch milliseconds, got ${String(eventTimeMs)}`);
    }
    const sec = Math.floor(eventTimeMs / 1000);
    const d = this.data;
    if (this.len > 0) {
      const lastSlot = this.head + this.len - 1;
      const lastSec = d[lastSlot * STRIDE];
      if (sec === lastSec) {
        addToBucket(d, lastSlot * STRIDE, value);
        return true;
      }
      if (sec < lastSec) {
        if (sec <= lastSec - this.windowSeconds) return false;
        const i = this.search(sec);
        if (i < this.head + this.len && this.data[i * STRIDE] === sec) {
          addToBucket(this.data, i * STRIDE, value);
        } else {
          this.insertAt(i, sec, value);
        }
        return true;
      }
      this.dropBefore(sec - this.windowSeconds + 1);
    }
    this.insertAt(this.head + this.len, sec, value);
    return true;
  }

  /**
   * Statistics of the buckets in `(nowSec - spanSeconds, nowSec]`. `spanSeconds` defaults to the
   * window and may not exceed it.
   */
  result(nowMs: number, spanSeconds: number = this.windowSeconds): WindowStats {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    if (!(spanSeconds >= 1 && spanSeconds <= this.windowSeconds)) {
      throw new InvalidArgumentError(`spanSeconds must be between 1 and ${this.windowSeconds}, got ${String(spanSeconds)}`);
    }
    const nowSec = Math.floor(nowMs / 1000);
    const lo = nowSec - spanSeconds;
    const d = this.data;
    let n = 0;
    let sum = 0;
    let m2 = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let slot = this.head + this.len - 1; slot >= this.head; slot--) {
      const o = slot * STRIDE;
      const sec = d[o];
      if (sec <= lo) break;
      if (sec > nowSec) continue;
      const nb = d[o + 1];
      const sb = d[o + 2];
      if (n === 0) {
        m2 = d[o + 3];
      } else {
        const delta = sb / nb - sum / n;
        m2 += d[o + 3] + (delta * delta * n * nb) / (n + nb);
      }
      n += nb;
      sum += sb;
      if (d[o + 4] < min) min = d[o + 4];
      if (d[o + 5] > max) max = d[o + 5];
    }
    if (n === 0) return { count: 0, sum: 0, mean: null, min: null, max: null, variance: null, stddev: null };
    const variance = Math.max(0, m2 / n);
    return { count: n, sum, mean: sum / n, min, max, variance, stddev: Math.sqrt(variance) };
  }

  /** Number of values in the buckets of `(nowSec - spanSeconds, nowSec]` (used for rates). */
  countInLast(spanSeconds: number, nowMs: number): number {
    const nowSec = Math.floor(nowMs / 1000);
    const lo = nowSec - spanSeconds;
    const d = this.data;
    let n = 0;
    for (let slot = this.head + this.len - 1; slot >= this.head; slot--) {
      const sec = d[slot * STRIDE];
      if (sec <= lo) break;
      if (sec <= nowSec) n += d[slot * STRIDE + 1];
    }
    return n;
  }

  /**
   * Buckets dropped for leaving the window (by `expire`, by a newer event or by a merge) since the
   * last call; resets the tally.
   */
  takeDroppedBuckets(): number {
    const n = this.dropped;
    this.dropped = 0;
    return n;
  }

  /** Drops buckets that have left the window at `nowMs` (second ≤ nowSec - windowSeconds); returns how many. */
  expire(nowMs: number): number {
    return this.dropBefore(Math.floor(nowMs / 1000) - this.windowSeconds + 1);
  }

  /**
   * Adds every bucket of `other` (same second: Chan-combined), then drops buckets older than the
   * merged newest second minus the window. Both windows must have the same `windowSeconds`.
   */
  merge(other: SlidingWindow): void {
    if (other.windowSeconds !== this.windowSeconds) {
      throw new IncompatibleMergeError(
        `cannot merge a SlidingWindow of ${other.windowSeconds} s into one of ${this.windowSeconds} s`,
      );
    }
    if (other.len === 0) return;
    const a = this.data;
    const b = other.data;
    const out = new Float64Array((this.len + other.len) * STRIDE);
    let i = this.head;
    let j = other.head;
    const iEnd = this.head + this.len;
    const jEnd = other.head + other.len;
    let k = 0;
    while (i < iEnd || j < jEnd) {
      const sa = i < iEnd ? a[i * STRIDE] : Infinity;
      const sb = j < jEnd ? b[j * STRIDE] : Infinity;
      if (sa < sb) {
        out.set(a.subarray(i * STRIDE, (i + 1) * STRIDE), k * STRIDE);
        i++;
      } else if (sb < sa) {
        out.set(b.subarray(j * STRIDE, (j + 1) * STRIDE), k * STRIDE);
        j++;
      } else {
        out.set(a.subarray(i * STRIDE, (i + 1) * STRIDE), k * STRIDE);
        combineBucket(out, k * STRIDE, b, j * STRIDE);
        i++;
        j++;
      }
      k++;
    }
    this.data = out;
    this.head = 0;
    this.len = k;
    this.dropBefore(out[(k - 1) * STRIDE] - this.windowSeconds + 1);
  }

  serialize(): Uint8Array {
    const w = new ByteWriter();
    w.u8(SERIAL_VERSION);
    this.writeTo(w);
    return w.finish();
  }

  static deserialize(bytes: Uint8Array): SlidingWindow {
    const r = new ByteReader(bytes);
    const version = r.u8();
    if (version !== SERIAL_VERSION) throw new DeserializationError(`SlidingWindow snapshot version must be ${SERIAL_VERSION}, got ${version}`);
    const window = SlidingWindow.readFrom(r);
    r.expectEnd('SlidingWindow');
    return window;
  }

  /**
   * Encoding: window seconds, bucket count, first second (zig-zag), then per bucket the gap in
   * seconds to the previous one and its count; a single-value bucket stores just the value (8 bytes),
   * others store sum, m2, min, max (32 bytes).
   */
  writeTo(w: ByteWriter): void {
    w.varUint(this.windowSeconds);
    w.varUint(this.len);
    const d = this.data;
    let prev = 0;
    for (let slot = this.head; slot < this.head + this.len; slot++) {
      const o = slot * STRIDE;
      if (slot === this.head) w.varInt(d[o]);
      else w.varUint(d[o] - prev);
      prev = d[o];
      const n = d[o + 1];
      w.varUint(n);
      w.f64(d[o + 2]);
      if (n !== 1) {
        w.f64(d[o + 3]);
        w.f64(d[o + 4]);
        w.f64(d[o + 5]);
      }
    }
  }

  static readFrom(r: ByteReader): SlidingWindow {
    const window = new SlidingWindow({ windowSeconds: r.varUint() });
    const len = r.varUint();
    if (len > window.windowSeconds) {
      throw new DeserializationError(`SlidingWindow snapshot holds ${len} buckets, more than its ${window.windowSeconds} s window`);
    }
    const d = new Float64Array(len * STRIDE);
    let sec = 0;
    for (let k = 0; k < len; k++) {
      const o = k * STRIDE;
      sec = k === 0 ? r.varInt() : sec + r.varUint();
      const n = r.varUint();
      d[o] = sec;
      d[o + 1] = n;
      d[o + 2] = r.f64();
      if (n === 1) {
        d[o + 4] = d[o + 5] = d[o + 2];
      } else {
        d[o + 3] = r.f64();
        d[o + 4] = r.f64();
        d[o + 5] = r.f64();
      }
    }
    window.data = d;
    window.len = len;
    return window;
  }

  /** First slot whose second is ≥ `sec` (binary search over the sorted buckets). */
  private search(sec: number): number {
    let lo = this.head;
    let hi = this.head + this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.data[mid * STRIDE] < sec) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropBefore(minSec: number): number {
    let dropped = 0;
    while (this.len > 0 && this.data[this.head * STRIDE] < minSec) {
      this.head++;
      this.len--;
      dropped++;
    }
    if (this.len === 0) this.head = 0;
    this.dropped += dropped;
    return dropped;
  }

  /** Inserts a new single-value bucket at slot `at` (head ≤ at ≤ head + len), making room as needed. */
  private insertAt(at: number, sec: number, value: number): void {
    let slot = at;
    const capacity = this.data.length / STRIDE;
    if (this.head + this.len === capacity) {
      if (this.head > 0) {
        this.data.copyWithin(0, this.head * STRIDE, (this.head + this.len) * STRIDE);
        slot -= this.head;
        this.head = 0;
      } else {
        // Grow 8 → 32 → windowSeconds buckets: few reallocations, so little allocator fragmentation.
        const next = new Float64Array(Math.min(capacity < 8 ? 8 : capacity < 32 ? 32 : this.windowSeconds, this.windowSeconds) * STRIDE);
        next.set(this.data);
        this.data = next;
      }
    }
    const d = this.data;
    const end = this.head + this.len;
    if (slot < end) d.copyWithin((slot + 1) * STRIDE, slot * STRIDE, end * STRIDE);
    const o = slot * STRIDE;
    d[o] = sec;
    d[o + 1] = 1;
    d[o + 2] = value;
    d[o + 3] = 0;
    d[o + 4] = value;
    d[o + 5] = value;
    this.len++;
  }
}

/** Welford update of one bucket with one value. */
function addToBucket(d: Float64Array, o: number, value: number): void {
  const n = d[o + 1];
  const sum = d[o + 2];
  const meanOld = sum / n;
  const sumNew = sum + value;
  d[o + 1] = n + 1;
  d[o + 2] = sumNew;
  d[o + 3] += (value - meanOld) * (value - sumNew / (n + 1));
  if (value < d[o + 4]) d[o + 4] = value;
  if (value > d[o + 5]) d[o + 5] = value;
}

/** Chan et al. combination of bucket `src[so..]` into bucket `dst[o..]` (same second). */
function combineBucket(dst: Float64Array, o: number, src: Float64Array, so: number): void {
  const na = dst[o + 1];
  const nb = src[so + 1];
  const delta = src[so + 2] / nb - dst[o + 2] / na;
  dst[o + 3] += src[so + 3] + (delta * delta * na * nb) / (na + nb);
  dst[o + 1] = na + nb;
  dst[o + 2] += src[so + 2];
  if (src[so + 4] < dst[o + 4]) dst[o + 4] = src[so + 4];
  if (src[so + 5] > dst[o + 5]) dst[o + 5] = src[so + 5];
}
