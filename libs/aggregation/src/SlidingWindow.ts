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
  /** How many seconds of data are kept and, by default, summarised. Default 300. */
  windowSeconds?: number;
  /**
   * The newest seconds kept in 1 s buckets (1 ≤ fineSeconds ≤ windowSeconds). Older buckets are
   * merged into blocks of `coarseSeconds`. Default: the whole window (no blocks).
   */
  fineSeconds?: number;
  /**
   * Width of the blocks older buckets are merged into, seconds, aligned to multiples of it in epoch
   * time (so every replica forms the same blocks). Default 1 (no merging).
   */
  coarseSeconds?: number;
}

// One bucket is 40 bytes in two parallel arrays: `keys` int32 [second - base, count] and `vals`
// float64 [sum, m2, min, max], where m2 = Σ(x - mean)² of the bucket's values.
const KS = 2;
const VS = 4;
const EMPTY_KEYS = new Int32Array(0);
const EMPTY_VALS = new Float64Array(0);
const SERIAL_VERSION = 2;

/**
 * count, sum, mean, min, max, variance and stddev over the last `windowSeconds` seconds of event time.
 *
 * Precision: values are grouped into 1 s buckets by `floor(eventTimeMs / 1000)`. `result(nowMs)`
 * covers the buckets of the seconds `(nowSec - windowSeconds, nowSec]` with `nowSec =
 * floor(nowMs / 1000)`, i.e. `(nowMs - window, nowMs]` widened to whole seconds (up to 999 ms of
 * extra old data at the start, and values stamped later in the current second at the end).
 *
 * Tiers: with `fineSeconds` < window and `coarseSeconds` > 1, only the newest `fineSeconds` keep 1 s
 * buckets; a bucket older than that is merged into the block of `coarseSeconds` that holds its second
 * (blocks aligned to multiples of `coarseSeconds` in epoch seconds), and a block leaves the window when
 * its last second does. So the newest `fineSeconds` have 1 s precision, and the far end of the window
 * moves in `coarseSeconds` steps: a full window then covers between `windowSeconds` and
 * `windowSeconds + coarseSeconds − 1` seconds of data. Nothing is dropped early or counted twice:
 * count, sum, min, max and variance stay exact over what the window covers.
 *
 * Memory: 40 bytes per non-empty bucket, so at most `40 × windowSeconds` bytes (12 KB for 300 s)
 * however high the event rate — or, tiered, `40 × (fineSeconds + (windowSeconds − fineSeconds) /
 * coarseSeconds + 2)` (4.4 KB for 300 s with 60 fine seconds and 5 s blocks): int32 (second − base,
 * count) plus float64 (sum, m2, min, max), sorted by second. Capacity grows 8 → 32 → the maximum: a
 * series with one event a minute holds 320 bytes, and a busy one reallocates only twice (repeated
 * doubling fragmented the allocator measurably). A bucket counts at most 2^31 − 1 values.
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
  readonly fineSeconds: number;
  readonly coarseSeconds: number;
  /** Most buckets this window can hold (its capacity once full). */
  private readonly maxBuckets: number;
  private keys: Int32Array = EMPTY_KEYS;
  private vals: Float64Array = EMPTY_VALS;
  /** Epoch second that relative bucket seconds count from (set when the window is empty). */
  private base = 0;
  private head = 0;
  private len = 0;
  /** Slots [head, coarseEnd) are merged blocks (tiered windows only); the rest are 1 s buckets. */
  private coarseEnd = 0;
  private dropped = 0;

  constructor(options: SlidingWindowOptions = {}) {
    const windowSeconds = options.windowSeconds ?? 300;
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new InvalidArgumentError(`windowSeconds must be a positive integer, got ${String(windowSeconds)}`);
    }
    this.windowSeconds = windowSeconds;
    const fineSeconds = options.fineSeconds ?? windowSeconds;
    if (!Number.isInteger(fineSeconds) || fineSeconds < 1 || fineSeconds > windowSeconds) {
      throw new InvalidArgumentError(`fineSeconds must be an integer from 1 to windowSeconds (${windowSeconds}), got ${String(fineSeconds)}`);
    }
    const coarseSeconds = options.coarseSeconds ?? 1;
    if (!Number.isInteger(coarseSeconds) || coarseSeconds < 1 || coarseSeconds > windowSeconds) {
      throw new InvalidArgumentError(`coarseSeconds must be an integer from 1 to windowSeconds (${windowSeconds}), got ${String(coarseSeconds)}`);
    }
    // Untiered unless both settings ask for it, so one of them alone changes nothing.
    const tiered = coarseSeconds > 1 && fineSeconds < windowSeconds;
    this.fineSeconds = tiered ? fineSeconds : windowSeconds;
    this.coarseSeconds = tiered ? coarseSeconds : 1;
    this.maxBuckets = tiered ? fineSeconds + Math.ceil((windowSeconds - fineSeconds) / coarseSeconds) + 2 : windowSeconds;
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
    return this.len === 0 ? undefined : this.base + this.keys[(this.head + this.len - 1) * KS];
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
    if (this.len === 0) {
      this.base = sec;
      this.head = 0;
      this.coarseEnd = 0;
      this.insertAt(0, 0, value);
      return true;
    }
    const rel = sec - this.base;
    const lastSlot = this.head + this.len - 1;
    const lastRel = this.keys[lastSlot * KS];
    if (rel === lastRel) {
      addToBucket(this.keys, this.vals, lastSlot, value);
      return true;
    }
    if (rel < lastRel) {
      if (rel <= lastRel - this.windowSeconds) return false;
      // Behind the newest fineSeconds: the value goes to its block.
      const coarse = rel <= lastRel - this.fineSeconds;
      const key = coarse ? this.blockStart(rel) : rel;
      const i = this.search(key);
      if (i < this.head + this.len && this.keys[i * KS] === key) addToBucket(this.keys, this.vals, i, value);
      else this.insertAt(i, key, value, coarse);
      return true;
    }
    this.dropBefore(sec - this.windowSeconds + 1);
    if (this.len === 0) return this.record(value, eventTimeMs);
    this.insertAt(this.head + this.len, rel, value);
    this.coalesce();
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
    const nowRel = Math.floor(nowMs / 1000) - this.base;
    const lo = nowRel - spanSeconds;
    const k = this.keys;
    const d = this.vals;
    let n = 0;
    let sum = 0;
    let m2 = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let slot = this.head + this.len - 1; slot >= this.head; slot--) {
      const rel = k[slot * KS];
      if (this.lastSecondOf(slot) <= lo) break;
      if (rel > nowRel) continue;
      const nb = k[slot * KS + 1];
      const o = slot * VS;
      const sb = d[o];
      if (n === 0) {
        m2 = d[o + 1];
      } else {
        const delta = sb / nb - sum / n;
        m2 += d[o + 1] + (delta * delta * n * nb) / (n + nb);
      }
      n += nb;
      sum += sb;
      if (d[o + 2] < min) min = d[o + 2];
      if (d[o + 3] > max) max = d[o + 3];
    }
    if (n === 0) return { count: 0, sum: 0, mean: null, min: null, max: null, variance: null, stddev: null };
    const variance = Math.max(0, m2 / n);
    return { count: n, sum, mean: sum / n, min, max, variance, stddev: Math.sqrt(variance) };
  }

  /** Number of values in the buckets of `(nowSec - spanSeconds, nowSec]` (used for rates). */
  countInLast(spanSeconds: number, nowMs: number): number {
    const nowRel = Math.floor(nowMs / 1000) - this.base;
    const lo = nowRel - spanSeconds;
    const k = this.keys;
    let n = 0;
    for (let slot = this.head + this.len - 1; slot >= this.head; slot--) {
      const rel = k[slot * KS];
      if (this.lastSecondOf(slot) <= lo) break;
      if (rel <= nowRel) n += k[slot * KS + 1];
    }
    return n;
  }

  /**
   * The 1 s buckets of the seconds `(newest − spanSeconds, newest]` (newest: the newest bucket's
   * second) as `[second, count]` pairs, oldest first; `spanSeconds` at most `fineSeconds`, where every
   * bucket is one second. For any `nowMs` at or after the newest second, `countInLast(s, nowMs)` with
   * `s` ≤ `spanSeconds` is the sum of the counts of these pairs whose second is above `nowSec − s`.
   */
  recentCounts(spanSeconds: number): number[] {
    if (!(Number.isInteger(spanSeconds) && spanSeconds >= 1 && spanSeconds <= this.fineSeconds)) {
      throw new InvalidArgumentError(`spanSeconds must be an integer from 1 to ${this.fineSeconds}, got ${String(spanSeconds)}`);
    }
    const out: number[] = [];
    if (this.len === 0) return out;
    const end = this.head + this.len;
    const lo = this.keys[(end - 1) * KS] - spanSeconds;
    let slot = end;
    while (slot > this.head && this.keys[(slot - 1) * KS] > lo) slot--;
    for (; slot < end; slot++) out.push(this.base + this.keys[slot * KS], this.keys[slot * KS + 1]);
    return out;
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

  /**
   * The first second (epoch) at which `expire` drops a bucket: the oldest bucket's last second plus
   * the window (Infinity when empty). Until then `expire` changes nothing. Recording and merging can
   * move it either way.
   */
  get expiresAtSecond(): number {
    return this.len === 0 ? Infinity : this.base + this.lastSecondOf(this.head) + this.windowSeconds;
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
    if (other.windowSeconds !== this.windowSeconds || other.fineSeconds !== this.fineSeconds || other.coarseSeconds !== this.coarseSeconds) {
      throw new IncompatibleMergeError(`cannot merge a SlidingWindow of ${describe(other)} into one of ${describe(this)}`);
    }
    if (other.len === 0) return;
    const base = this.len === 0 ? other.base : this.base;
    const shift = other.base - base;
    const size = this.len + other.len;
    const [keys, vals] = allocBuckets(size);
    let i = this.head;
    let j = other.head;
    const iEnd = this.head + this.len;
    const jEnd = other.head + other.len;
    let k = 0;
    while (i < iEnd || j < jEnd) {
      const ra = i < iEnd ? this.keys[i * KS] : Infinity;
      const rb = j < jEnd ? other.keys[j * KS] + shift : Infinity;
      if (ra <= rb) {
        keys[k * KS] = ra;
        keys[k * KS + 1] = this.keys[i * KS + 1];
        for (let f = 0; f < VS; f++) vals[k * VS + f] = this.vals[i * VS + f];
        if (ra === rb) combineBucket(keys, vals, k, other.keys, other.vals, j++);
        i++;
      } else {
        keys[k * KS] = rb;
        keys[k * KS + 1] = other.keys[j * KS + 1];
        for (let f = 0; f < VS; f++) vals[k * VS + f] = other.vals[j * VS + f];
        j++;
      }
      k++;
    }
    this.keys = keys;
    this.vals = vals;
    this.base = base;
    this.head = 0;
    this.len = k;
    this.coarseEnd = 0;
    this.coalesce(); // the merged newest second decides which buckets are blocks now
    this.dropBefore(base + keys[(this.len - 1) * KS] - this.windowSeconds + 1);
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
    if (version !== SERIAL_VERSION && version !== 1) throw new DeserializationError(`SlidingWindow snapshot version must be 1 or ${SERIAL_VERSION}, got ${version}`);
    const window = version === 1 ? SlidingWindow.readFrom(r, {}) : SlidingWindow.readFrom(r);
    r.expectEnd('SlidingWindow');
    return window;
  }

  /**
   * Encoding: window seconds, fine seconds, block seconds, bucket count, first second (zig-zag), then
   * per bucket the gap in seconds to the previous one and its count; a single-value bucket stores just
   * the value (8 bytes), others store sum, m2, min, max (32 bytes). Version 1 had no fine/block fields.
   */
  writeTo(w: ByteWriter): void {
    w.varUint(this.windowSeconds);
    w.varUint(this.fineSeconds);
    w.varUint(this.coarseSeconds);
    w.varUint(this.len);
    const d = this.vals;
    let prev = 0;
    for (let slot = this.head; slot < this.head + this.len; slot++) {
      const rel = this.keys[slot * KS];
      if (slot === this.head) w.varInt(this.base + rel);
      else w.varUint(rel - prev);
      prev = rel;
      const n = this.keys[slot * KS + 1];
      w.varUint(n);
      const o = slot * VS;
      w.f64(d[o]);
      if (n !== 1) {
        w.f64(d[o + 1]);
        w.f64(d[o + 2]);
        w.f64(d[o + 3]);
      }
    }
  }

  /**
   * Reads what `writeTo` wrote. `legacy` reads the version-1 layout (no fine/block fields) instead and
   * gives the window those tiers, merging its old 1 s buckets into blocks where they now belong.
   */
  static readFrom(r: ByteReader, legacy?: Pick<SlidingWindowOptions, 'fineSeconds' | 'coarseSeconds'>): SlidingWindow {
    const windowSeconds = r.varUint();
    const tiers = legacy
      ? { fineSeconds: Math.min(legacy.fineSeconds ?? windowSeconds, windowSeconds), coarseSeconds: Math.min(legacy.coarseSeconds ?? 1, windowSeconds) }
      : { fineSeconds: r.varUint(), coarseSeconds: r.varUint() };
    let window: SlidingWindow;
    try {
      window = new SlidingWindow({ windowSeconds, ...tiers });
    } catch (err) {
      throw new DeserializationError(`SlidingWindow snapshot has invalid settings: ${(err as Error).message}`);
    }
    const len = r.varUint();
    const most = legacy ? windowSeconds : window.maxBuckets;
    if (len > most) {
      throw new DeserializationError(`SlidingWindow snapshot holds ${len} buckets, more than its ${windowSeconds} s window can (${most})`);
    }
    const [keys, d] = allocBuckets(len);
    let rel = 0;
    for (let k = 0; k < len; k++) {
      if (k === 0) window.base = r.varInt();
      else rel += r.varUint();
      const n = r.varUint();
      keys[k * KS] = rel;
      keys[k * KS + 1] = n;
      const o = k * VS;
      d[o] = r.f64();
      if (n === 1) {
        d[o + 2] = d[o + 3] = d[o];
      } else {
        d[o + 1] = r.f64();
        d[o + 2] = r.f64();
        d[o + 3] = r.f64();
      }
    }
    window.keys = keys;
    window.vals = d;
    window.len = len;
    window.coalesce(); // finds the blocks (and forms them, for legacy buckets)
    return window;
  }

  /** The last second (relative) that the bucket in `slot` can hold: its block's, cut at the fine part. */
  private lastSecondOf(slot: number): number {
    const rel = this.keys[slot * KS];
    if (slot >= this.coarseEnd) return rel;
    const boundary = this.keys[(this.head + this.len - 1) * KS] - this.fineSeconds + 1;
    return Math.min(rel + this.coarseSeconds, boundary) - 1;
  }

  /** Relative second where the block holding relative second `rel` starts (blocks aligned in epoch seconds). */
  private blockStart(rel: number): number {
    const abs = this.base + rel;
    const c = this.coarseSeconds;
    return abs - (((abs % c) + c) % c) - this.base;
  }

  /**
   * Merges every 1 s bucket that is no longer among the newest `fineSeconds` into its block, from
   * slot `coarseEnd` on (set `coarseEnd = head` first to re-examine all). O(1) when nothing crossed.
   */
  private coalesce(): void {
    if (this.coarseSeconds === 1 || this.len === 0) {
      this.coarseEnd = this.head;
      return;
    }
    const k = this.keys;
    const d = this.vals;
    const end = this.head + this.len;
    const boundary = k[(end - 1) * KS] - this.fineSeconds + 1;
    if (this.coarseEnd < this.head) this.coarseEnd = this.head;
    let r = this.coarseEnd;
    if (r >= end || k[r * KS] >= boundary) return;
    let w = r;
    for (; r < end && k[r * KS] < boundary; r++) {
      const block = this.blockStart(k[r * KS]);
      if (w > this.head && k[(w - 1) * KS] === block) {
        combineBucket(k, d, w - 1, k, d, r);
      } else {
        if (w !== r) {
          k.copyWithin(w * KS, r * KS, (r + 1) * KS);
          d.copyWithin(w * VS, r * VS, (r + 1) * VS);
        }
        k[w * KS] = block;
        w++;
      }
    }
    if (w !== r) {
      k.copyWithin(w * KS, r * KS, end * KS);
      d.copyWithin(w * VS, r * VS, end * VS);
      this.len -= r - w;
    }
    this.coarseEnd = w;
  }

  /** First slot whose relative second is ≥ `rel` (binary search over the sorted buckets). */
  private search(rel: number): number {
    let lo = this.head;
    let hi = this.head + this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid * KS] < rel) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private dropBefore(minSec: number): number {
    const minRel = minSec - this.base;
    let dropped = 0;
    // A block leaves once its last second has (it may hold up to coarseSeconds − 1 older seconds).
    while (this.len > 0 && this.lastSecondOf(this.head) < minRel) {
      this.head++;
      this.len--;
      dropped++;
    }
    if (this.coarseEnd < this.head) this.coarseEnd = this.head;
    if (this.len === 0) this.head = this.coarseEnd = 0;
    this.dropped += dropped;
    return dropped;
  }

  /**
   * Inserts a new single-value bucket at slot `at` (head ≤ at ≤ head + len), making room as needed;
   * `coarse`: it is a block (then `at` ≤ coarseEnd).
   */
  private insertAt(at: number, rel: number, value: number, coarse = false): void {
    let slot = at;
    const capacity = this.keys.length / KS;
    if (this.head + this.len === capacity) {
      if (this.head > 0) {
        this.keys.copyWithin(0, this.head * KS, (this.head + this.len) * KS);
        this.vals.copyWithin(0, this.head * VS, (this.head + this.len) * VS);
        slot -= this.head;
        this.coarseEnd -= this.head;
        this.head = 0;
      } else {
        // Grow 8 → 32 → maxBuckets: few reallocations, so little allocator fragmentation.
        let next = Math.min(capacity < 8 ? 8 : capacity < 32 ? 32 : this.maxBuckets, this.maxBuckets);
        if (next <= capacity) next = capacity + 8; // not reached while maxBuckets bounds the buckets
        const [keys, vals] = allocBuckets(next);
        keys.set(this.keys);
        vals.set(this.vals);
        this.keys = keys;
        this.vals = vals;
      }
    }
    const end = this.head + this.len;
    if (slot < end) {
      this.keys.copyWithin((slot + 1) * KS, slot * KS, end * KS);
      this.vals.copyWithin((slot + 1) * VS, slot * VS, end * VS);
    }
    this.keys[slot * KS] = rel;
    this.keys[slot * KS + 1] = 1;
    const o = slot * VS;
    this.vals[o] = value;
    this.vals[o + 1] = 0;
    this.vals[o + 2] = value;
    this.vals[o + 3] = value;
    this.len++;
    if (coarse) this.coarseEnd++;
  }
}

/** "300 s", or "300 s (60 s of 1 s buckets, then 5 s blocks)" for a tiered window. */
function describe(w: SlidingWindow): string {
  return w.coarseSeconds === 1 ? `${w.windowSeconds} s` : `${w.windowSeconds} s (${w.fineSeconds} s of 1 s buckets, then ${w.coarseSeconds} s blocks)`;
}

/**
 * Both bucket arrays of `n` buckets as views of one ArrayBuffer: one allocation instead of two
 * (each ArrayBuffer costs a malloc'd backing store plus its bookkeeping, which adds up over
 * 10,000 series).
 */
function allocBuckets(n: number): [Int32Array, Float64Array] {
  const buffer = new ArrayBuffer(n * (KS * 4 + VS * 8));
  return [new Int32Array(buffer, 0, n * KS), new Float64Array(buffer, n * KS * 4, n * VS)];
}

/** Welford update of bucket `slot` with one value. */
function addToBucket(keys: Int32Array, vals: Float64Array, slot: number, value: number): void {
  const n = keys[slot * KS + 1];
  const o = slot * VS;
  const sum = vals[o];
  const meanOld = sum / n;
  const sumNew = sum + value;
  keys[slot * KS + 1] = n + 1;
  vals[o] = sumNew;
  vals[o + 1] += (value - meanOld) * (value - sumNew / (n + 1));
  if (value < vals[o + 2]) vals[o + 2] = value;
  if (value > vals[o + 3]) vals[o + 3] = value;
}

/** Chan et al. combination of bucket `j` of (srcKeys, srcVals) into bucket `k` of (keys, vals) (same second). */
function combineBucket(keys: Int32Array, vals: Float64Array, k: number, srcKeys: Int32Array, srcVals: Float64Array, j: number): void {
  const na = keys[k * KS + 1];
  const nb = srcKeys[j * KS + 1];
  const o = k * VS;
  const so = j * VS;
  const delta = srcVals[so] / nb - vals[o] / na;
  vals[o + 1] += srcVals[so + 1] + (delta * delta * na * nb) / (na + nb);
  keys[k * KS + 1] = na + nb;
  vals[o] += srcVals[so];
  if (srcVals[so + 2] < vals[o + 2]) vals[o + 2] = srcVals[so + 2];
  if (srcVals[so + 3] > vals[o + 3]) vals[o + 3] = srcVals[so + 3];
}
