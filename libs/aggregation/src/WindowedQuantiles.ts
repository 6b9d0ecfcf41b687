import { BinStore, lowerBoundPairs } from './BinStore';
import type { ByteReader } from './ByteReader';
import type { ByteWriter } from './ByteWriter';
import { DDSketch, mappingFor, type LogMapping } from './DDSketch';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';

export interface WindowedQuantilesOptions {
  /** Window in seconds. Default 300. */
  windowSeconds?: number;
  /** Sketch sub-windows per window. Default 10 (30 s each for a 300 s window). */
  subWindows?: number;
  /** DDSketch relative accuracy. Default 0.01. */
  relativeAccuracy?: number;
  /** Bins per sign (across the sub-windows) before the lowest magnitudes collapse. Default 2048. */
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
const REPORTED = [0.5, 0.9, 0.95, 0.99];
const EMPTY_ENTRIES = new Int32Array(0);
const MAX_COUNT = 0x7fffffff;
/** Per-slot meta: [sub-window index (-Infinity: empty), count, sum, min, max]. */
const MS = 5;
// Small-integer sentinels for empty extremes (kept as V8 Smis, not boxed doubles).
const NONE_LO = 0x3fffffff;
const NONE_HI = -1;
/** Values a sub-window takes by binary-search insert before its further values go to the hot store. */
const HOT_AFTER = 64;
/** A sub-window with this many values keeps its hot stores for the next one, which uses them from its first value. */
const KEEP_HOT_AFTER = 256;
/** Scratch for `flushHot`: the hot bins as (code, count ≤ 2^31 − 1) pairs. */
let scratch = new Int32Array(512);

/**
 * Percentiles over a sliding window: a DDSketch per sub-window of `ceil(windowSeconds / subWindows)`
 * seconds (30 s for 300 s / 10), all stored in one packed array and merged at query time.
 *
 * Precision: a query at `nowMs` counts every sub-window that overlaps `(nowSec - windowSeconds,
 * nowSec]`, so percentiles describe between `windowSeconds` and `windowSeconds + subSeconds - 1`
 * seconds of data (300–329 s by default) — coarser than the 1 s buckets of `SlidingWindow`. Every
 * answer equals what a `DDSketch` of the values in those sub-windows answers: within the relative
 * accuracy of the exact lower rank-based quantile, clamped to the exact min and max.
 *
 * Layout (why it is not an array of DDSketch objects): the bins of all sub-windows live in one
 * sorted `Int32Array` of `[code, count]` pairs, `code = bin × slots + slot`, where `bin` orders
 * values (negatives by falling magnitude, then zero, then positives), plus one `Float64Array` of
 * per-sub-window count, sum, min and max. A query walks the pairs once in value order, counting the
 * slots inside the window. That is 8 bytes per non-empty (bin, sub-window) and two typed arrays per
 * series, where 11 DDSketch objects cost ~13 KB of RSS per series for 30 values each (measured:
 * ~4 KB now) — the difference between 10,000 busy series fitting in 300 MB or not.
 *
 * Memory bound: at most `maxBins` bins per sign across the sub-windows; past that the lowest
 * magnitudes fold into the lowest kept bin (DDSketch's "collapsing lowest"), so a series holds at
 * most `2 × maxBins × slots + slots` pairs whatever its values. A (bin, sub-window) counts up to
 * 2^31 − 1 per pair; larger counts take a second pair with the same code.
 *
 * The binary encoding is the one of a DDSketch per live sub-window (`DDSketch.writeContents`), so
 * snapshots written by either layout read back the same.
 */
export class WindowedQuantiles {
  readonly windowSeconds: number;
  readonly subWindows: number;
  readonly subSeconds: number;
  readonly relativeAccuracy: number;
  readonly maxBins: number;
  private readonly slots: number;
  private readonly mapping: LogMapping;
  /** Bin of zero; positive index i is bin `zeroBin + i + indexBias`, negative `zeroBin − (i + indexBias)`. */
  private readonly zeroBin: number;
  private readonly indexBias: number;
  private readonly meta: Float64Array;
  /** Sorted (non-decreasing code) `[code, count]` pairs; `size` pairs in use. */
  private entries: Int32Array = EMPTY_ENTRIES;
  private size = 0;
  private newestSub = -Infinity;
  /**
   * The newest sub-window's bins past its first `HOT_AFTER` values, by bin (sparse or dense, see
   * `BinStore`): a busy series records here in O(1) instead of a binary search and insert, and
   * the bins are merged into `entries` (one pass) before anything reads or restructures them. A
   * quiet series (fewer than `HOT_AFTER` values per sub-window) never allocates one.
   */
  private hot: BinStore | undefined;
  /** The same for negative values (zeros take the binary-search path: one bin). */
  private hotNeg: BinStore | undefined;
  private hotSub = -Infinity;
  private hotSlot = 0;
  // Bin extremes per sign over `entries` and `hot` (empty: lo > hi), for the maxBins bound.
  private posLo = NONE_LO;
  private posHi = NONE_HI;
  private negLo = NONE_LO;
  private negHi = NONE_HI;

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
    if (!(this.relativeAccuracy > 0 && this.relativeAccuracy < 1)) {
      throw new InvalidArgumentError(`relativeAccuracy must be a number between 0 and 1 (exclusive), got ${String(this.relativeAccuracy)}`);
    }
    if (!Number.isInteger(this.maxBins) || this.maxBins < 1) throw new InvalidArgumentError(`maxBins must be a positive integer, got ${String(this.maxBins)}`);
    this.subSeconds = Math.ceil(this.windowSeconds / this.subWindows);
    this.slots = Math.ceil(this.windowSeconds / this.subSeconds) + 1;
    this.mapping = mappingFor(this.relativeAccuracy);
    const lowestIndex = Math.ceil(Math.log(this.mapping.minIndexable) * this.mapping.multiplier);
    const highestIndex = Math.ceil(Math.log(this.mapping.maxIndexable) * this.mapping.multiplier);
    this.indexBias = 1 - lowestIndex;
    this.zeroBin = highestIndex + this.indexBias;
    if ((2 * this.zeroBin + 1) * this.slots > MAX_COUNT) {
      throw new InvalidArgumentError(
        `relativeAccuracy ${this.relativeAccuracy} with ${this.slots} sub-window slots needs more than 2^31 bin codes; use a coarser accuracy or fewer sub-windows`,
      );
    }
    this.meta = new Float64Array(this.slots * MS);
    for (let i = 0; i < this.slots; i++) this.resetMeta(i, -Infinity);
  }

  static create(options: WindowedQuantilesOptions = {}): WindowedQuantiles {
    return new WindowedQuantiles(options);
  }

  /** Non-empty (bin, sub-window) pairs held (a measure of memory: 8 bytes each). */
  get pairCount(): number {
    this.flushHot();
    return this.size;
  }

  /** Adds `value` to the sub-window of `eventTimeMs`; false if that sub-window has left the ring. */
  record(value: number, eventTimeMs: number): boolean {
    const raw = this.binOf(value);
    const sub = Math.floor(Math.floor(eventTimeMs / 1000) / this.subSeconds);
    if (sub <= this.newestSub - this.slots) return false;
    const slot = ((sub % this.slots) + this.slots) % this.slots;
    const m = this.meta;
    const o = slot * MS;
    if (m[o] !== sub) {
      if (m[o] > sub) return false;
      if (m[o] !== -Infinity) {
        const drop = new Uint8Array(this.slots);
        drop[slot] = 1;
        this.dropSlots(drop);
      }
      this.resetMeta(slot, sub);
    }
    const bin = this.clampAndNote(raw);
    if (sub > this.hotSub) {
      // A new newest sub-window: a series that was quiet in the last one gives its hot stores back.
      const wasBusy = this.hotSub !== -Infinity && this.meta[this.hotSlot * MS] === this.hotSub && this.meta[this.hotSlot * MS + 1] >= KEEP_HOT_AFTER;
      this.flushHot();
      if (!wasBusy) {
        this.hot = undefined;
        this.hotNeg = undefined;
      }
      this.hotSub = sub;
      this.hotSlot = slot;
    }
    if (sub === this.hotSub && bin > this.zeroBin && (this.hot !== undefined || m[o + 1] >= HOT_AFTER)) {
      // Dense stores by ordered bin; their range stays within maxBins (clampAndNote, flush on overflow).
      (this.hot ??= new BinStore(2 * this.zeroBin + 1, true)).add(bin, 1);
    } else if (sub === this.hotSub && bin < this.zeroBin && (this.hotNeg !== undefined || m[o + 1] >= HOT_AFTER)) {
      (this.hotNeg ??= new BinStore(2 * this.zeroBin + 1, true)).add(bin, 1);
    } else {
      this.addToBin(bin, slot, 1);
    }
    m[o + 1]++;
    m[o + 2] += value;
    if (value < m[o + 3]) m[o + 3] = value;
    if (value > m[o + 4]) m[o + 4] = value;
    if (sub > this.newestSub) this.newestSub = sub;
    if (this.posHi - this.posLo >= this.maxBins || this.negHi - this.negLo >= this.maxBins) this.flushHot();
    return true;
  }

  /** p50/p90/p95/p99 over the sub-windows overlapping the window at `nowMs`. */
  result(nowMs: number): WindowQuantiles {
    const [p50, p90, p95, p99] = this.quantiles(REPORTED, nowMs);
    return p50 === null ? EMPTY_QUANTILES : { p50, p90, p95, p99 };
  }

  /**
   * Any quantiles (each in [0, 1], any order) over the sub-windows overlapping the window at
   * `nowMs`, in one pass over the bins; nulls when the window is empty.
   */
  quantiles(qs: readonly number[], nowMs: number): (number | null)[] {
    for (const q of qs) if (!(q >= 0 && q <= 1)) throw new InvalidArgumentError(`q must be a number between 0 and 1, got ${String(q)}`);
    this.flushHot();
    const live = this.liveSlots(nowMs);
    const m = this.meta;
    let total = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let slot = 0; slot < this.slots; slot++) {
      if (live[slot] === 0) continue;
      const o = slot * MS;
      total += m[o + 1];
      if (m[o + 3] < min) min = m[o + 3];
      if (m[o + 4] > max) max = m[o + 4];
    }
    const out: (number | null)[] = qs.map(() => null);
    if (total === 0) return out;
    // Ranks in ascending order, answered in one walk; the extremes are exact.
    const order = qs.map((_, i) => i).sort((a, b) => qs[a] - qs[b]);
    const ranks = order.map((i) => Math.floor(qs[i] * (total - 1)));
    let next = 0;
    for (; next < ranks.length && ranks[next] === 0; next++) out[order[next]] = min;
    let cum = 0;
    const e = this.entries;
    const slots = this.slots;
    for (let j = 0; j < this.size && next < ranks.length; j++) {
      const code = e[2 * j];
      const slot = code % slots;
      if (live[slot] === 0) continue;
      cum += e[2 * j + 1];
      while (next < ranks.length && cum > ranks[next]) {
        const rank = ranks[next];
        const v = rank === total - 1 ? max : Math.min(max, Math.max(min, this.binValue((code - slot) / slots)));
        out[order[next++]] = v;
      }
    }
    return out;
  }

  /**
   * The first second (epoch) at which `expire` empties a sub-window: the oldest held sub-window's
   * end plus the window, minus one (Infinity when none is held). Until then `expire` changes nothing.
   */
  get expiresAtSecond(): number {
    let oldest = Infinity;
    for (let s = 0; s < this.slots; s++) {
      const stamp = this.meta[s * MS];
      if (stamp !== -Infinity && stamp < oldest) oldest = stamp;
    }
    return oldest === Infinity ? Infinity : (oldest + 1) * this.subSeconds + this.windowSeconds - 1;
  }

  /**
   * Empties sub-windows entirely older than the window at `nowMs` (a series that stays idle is
   * dropped whole by its owner).
   */
  expire(nowMs: number): void {
    const loSub = Math.floor((Math.floor(nowMs / 1000) - this.windowSeconds + 1) / this.subSeconds);
    this.dropSlotsUpTo(loSub - 1);
  }

  /**
   * Merges sub-window by sub-window (same sub-window: counts added; a newer one replaces an older
   * one in its slot); `other` is unchanged. Window, sub-windows and accuracy must match.
   */
  merge(other: WindowedQuantiles): void {
    if (other.windowSeconds !== this.windowSeconds || other.subWindows !== this.subWindows || other.relativeAccuracy !== this.relativeAccuracy) {
      throw new IncompatibleMergeError(
        `cannot merge WindowedQuantiles (${other.windowSeconds} s / ${other.subWindows}, α ${other.relativeAccuracy}) into (${this.windowSeconds} s / ${this.subWindows}, α ${this.relativeAccuracy})`,
      );
    }
    this.flushHot();
    other.flushHot(); // same contents, different layout
    const slots = this.slots;
    // Per slot: 0 = keep mine, 1 = add theirs, 2 = theirs replaces mine.
    const action = new Uint8Array(slots);
    for (let i = 0; i < slots; i++) {
      const theirs = other.meta[i * MS];
      const mine = this.meta[i * MS];
      if (theirs === -Infinity || other.meta[i * MS + 1] === 0) continue;
      action[i] = theirs === mine ? 1 : theirs > mine ? 2 : 0;
    }
    const a = this.entries;
    const b = other.entries;
    const out = new Int32Array(2 * Math.max(8, this.size + other.size));
    let k = 0;
    let i = 0;
    let j = 0;
    const push = (code: number, count: number): void => {
      out[2 * k] = code;
      out[2 * k + 1] = count;
      k++;
    };
    while (i < this.size || j < other.size) {
      if (i < this.size && action[a[2 * i] % slots] === 2) {
        i++;
        continue;
      }
      if (j < other.size && action[b[2 * j] % slots] === 0) {
        j++;
        continue;
      }
      const ca = i < this.size ? a[2 * i] : Infinity;
      const cb = j < other.size ? b[2 * j] : Infinity;
      if (ca === cb) {
        const sum = a[2 * i + 1] + b[2 * j + 1];
        if (sum > MAX_COUNT) {
          push(ca, a[2 * i + 1]);
          push(cb, b[2 * j + 1]);
        } else {
          push(ca, sum);
        }
        i++;
        j++;
      } else if (ca < cb) {
        push(ca, a[2 * i + 1]);
        i++;
      } else {
        push(cb, b[2 * j + 1]);
        j++;
      }
    }
    this.entries = out;
    this.size = k;
    for (let s = 0; s < slots; s++) {
      const o = s * MS;
      if (action[s] === 2) {
        for (let f = 0; f < MS; f++) this.meta[o + f] = other.meta[o + f];
      } else if (action[s] === 1) {
        this.meta[o + 1] += other.meta[o + 1];
        this.meta[o + 2] += other.meta[o + 2];
        this.meta[o + 3] = Math.min(this.meta[o + 3], other.meta[o + 3]);
        this.meta[o + 4] = Math.max(this.meta[o + 4], other.meta[o + 4]);
      }
    }
    if (other.newestSub > this.newestSub) this.newestSub = other.newestSub;
    const oldest = this.newestSub - slots;
    this.dropSlotsUpTo(oldest);
    this.collapse();
  }

  /**
   * Encoding without the options: live sub-window count, then per live sub-window (ring order) its
   * index and its bins as `DDSketch.writeContents` writes them.
   */
  writeContents(w: ByteWriter): void {
    this.flushHot();
    const slots = this.slots;
    let live = 0;
    for (let s = 0; s < slots; s++) if (this.meta[s * MS + 1] > 0) live++;
    w.varUint(live);
    if (live === 0) return;
    const store = new BinStore(this.maxBins);
    const e = this.entries;
    const zeroBin = this.zeroBin;
    for (let s = 0; s < slots; s++) {
      const o = s * MS;
      if (this.meta[o + 1] === 0) continue;
      w.varInt(this.meta[o]);
      // Zero count and positive store in one pass (ascending bins are ascending magnitudes).
      let zeros = 0;
      store.clear();
      for (let j = 0; j < this.size; j++) {
        const code = e[2 * j];
        if (code % slots !== s) continue;
        const bin = (code - s) / slots;
        if (bin > zeroBin) store.add(bin - zeroBin - this.indexBias, e[2 * j + 1]);
        else if (bin === zeroBin) zeros += e[2 * j + 1];
      }
      w.varUint(zeros);
      w.u8(1);
      w.f64(this.meta[o + 2]);
      w.f64(this.meta[o + 3]);
      w.f64(this.meta[o + 4]);
      store.write(w);
      // Negative store: magnitudes ascend as bins descend.
      store.clear();
      for (let j = this.size - 1; j >= 0; j--) {
        const code = e[2 * j];
        if (code % slots !== s) continue;
        const bin = (code - s) / slots;
        if (bin < zeroBin) store.add(zeroBin - bin - this.indexBias, e[2 * j + 1]);
      }
      store.write(w);
    }
  }

  static readContents(r: ByteReader, options: WindowedQuantilesOptions): WindowedQuantiles {
    const q = new WindowedQuantiles(options);
    const live = r.varUint();
    if (live > q.slots) throw new DeserializationError(`WindowedQuantiles snapshot holds ${live} sub-windows, more than ${q.slots}`);
    for (let k = 0; k < live; k++) {
      const sub = r.varInt();
      const slot = ((sub % q.slots) + q.slots) % q.slots;
      if (q.meta[slot * MS] !== -Infinity) throw new DeserializationError(`WindowedQuantiles snapshot holds two sub-windows for ring slot ${slot}`);
      const sketch = DDSketch.readContents(r, { relativeAccuracy: q.relativeAccuracy, maxBins: q.maxBins });
      q.resetMeta(slot, sub);
      const o = slot * MS;
      q.meta[o + 1] = sketch.count;
      q.meta[o + 2] = sketch.sum;
      q.meta[o + 3] = sketch.min;
      q.meta[o + 4] = sketch.max;
      sketch.forEachBin((sign, index, count) => {
        const bin = sign === 0 ? q.zeroBin : q.zeroBin + sign * (index + q.indexBias);
        if (bin < 0 || bin > 2 * q.zeroBin) throw new DeserializationError(`WindowedQuantiles snapshot bin index ${index} is out of range`);
        for (let left = count; left > 0; left -= MAX_COUNT) q.addToBin(bin, slot, Math.min(left, MAX_COUNT));
      });
      if (sub > q.newestSub) q.newestSub = sub;
    }
    q.collapse();
    return q;
  }

  /** Ordered bin of `value`: 0 … zeroBin − 1 negatives (largest magnitude first), zeroBin, then positives. */
  private binOf(value: number): number {
    const m = this.mapping;
    if (value > m.minIndexable) {
      if (value <= m.maxIndexable) return this.zeroBin + Math.ceil(Math.log(value) * m.multiplier) + this.indexBias;
    } else if (value < -m.minIndexable) {
      if (-value <= m.maxIndexable) return this.zeroBin - Math.ceil(Math.log(-value) * m.multiplier) - this.indexBias;
    } else if (value === value) {
      return this.zeroBin;
    }
    throw new InvalidArgumentError(`value must be a finite number with magnitude at most ${m.maxIndexable}, got ${String(value)}`);
  }

  /** The value a bin answers: ±2γ^i / (γ + 1) (as `DDSketch`), 0 for the zero bin. */
  private binValue(bin: number): number {
    if (bin === this.zeroBin) return 0;
    const index = bin > this.zeroBin ? bin - this.zeroBin - this.indexBias : this.zeroBin - bin - this.indexBias;
    const v = (Math.exp(index / this.mapping.multiplier) * 2) / (1 + this.mapping.gamma);
    return bin > this.zeroBin ? v : -v;
  }

  /** Adds `count` (≤ 2^31 − 1) to (bin, slot) in `entries`. */
  private addToBin(bin: number, slot: number, count: number): void {
    const code = bin * this.slots + slot;
    const e = this.entries;
    let lo = lowerBoundPairs(e, this.size, code);
    for (let j = lo; j < this.size && e[2 * j] === code; j++) {
      if (e[2 * j + 1] <= MAX_COUNT - count) {
        e[2 * j + 1] += count;
        return;
      }
      lo = j + 1;
    }
    this.insertAt(lo, code, count);
  }

  /**
   * Folds `bin` into the lowest kept magnitude of its sign when it lies `maxBins` or more below
   * the largest, and widens the extremes. A record that widens them past `maxBins` makes `record`
   * flush, which collapses.
   */
  private clampAndNote(binIn: number): number {
    let bin = binIn;
    if (bin > this.zeroBin) {
      if (bin > this.posHi) this.posHi = bin;
      const floor = this.posHi - this.maxBins + 1;
      if (bin < floor) bin = floor;
      if (bin < this.posLo) this.posLo = bin;
    } else if (bin < this.zeroBin) {
      if (bin < this.negLo) this.negLo = bin;
      const ceiling = this.negLo + this.maxBins - 1;
      if (bin > ceiling) bin = ceiling;
      if (bin > this.negHi) this.negHi = bin;
    }
    return bin;
  }

  /** Merges the hot sub-window's bins into `entries` (in place, from the back), collapsing past maxBins. */
  private flushHot(): void {
    const pos = this.hot;
    const neg = this.hotNeg;
    if ((pos === undefined || pos.total === 0) && (neg === undefined || neg.total === 0)) return;
    const slots = this.slots;
    const slot = this.hotSlot;
    let n = 0;
    const collect = (bin: number, count: number): void => {
      for (let left = count; left > 0; left -= MAX_COUNT) {
        if (2 * n === scratch.length) {
          const next = new Int32Array(2 * scratch.length);
          next.set(scratch);
          scratch = next;
        }
        scratch[2 * n] = bin * slots + slot;
        scratch[2 * n + 1] = Math.min(left, MAX_COUNT);
        n++;
      }
    };
    // Negative bins are all below positive ones: ascending codes.
    neg?.forEach(collect);
    pos?.forEach(collect);
    neg?.clear();
    pos?.clear();
    const needed = this.size + n;
    if (2 * needed > this.entries.length) {
      const next = new Int32Array(2 * capacityFor(needed));
      next.set(this.entries.subarray(0, 2 * this.size));
      this.entries = next;
    }
    const e = this.entries;
    let i = this.size - 1;
    let j = n - 1;
    let k = needed - 1;
    // Backward merge: the write position k never overtakes the unread mine at i.
    while (j >= 0) {
      const cb = scratch[2 * j];
      const ca = i >= 0 ? e[2 * i] : -1;
      if (ca === cb && e[2 * i + 1] <= MAX_COUNT - scratch[2 * j + 1]) {
        e[2 * k] = ca;
        e[2 * k + 1] = e[2 * i + 1] + scratch[2 * j + 1];
        i--;
        j--;
      } else if (ca > cb) {
        e[2 * k] = ca;
        e[2 * k + 1] = e[2 * i + 1];
        i--;
      } else {
        e[2 * k] = cb;
        e[2 * k + 1] = scratch[2 * j + 1];
        j--;
      }
      k--;
    }
    // Mine below i are already in place; close the gap left by combined pairs.
    const gap = k - i;
    if (gap > 0) e.copyWithin(2 * (i + 1), 2 * (k + 1), 2 * needed);
    this.size = needed - gap;
    this.collapse();
  }

  /** Bin extremes per sign from `entries` (the hot store must be empty). */
  private recomputeExtremes(): void {
    this.posLo = NONE_LO;
    this.posHi = NONE_HI;
    this.negLo = NONE_LO;
    this.negHi = NONE_HI;
    if (this.size === 0) return;
    const slots = this.slots;
    const e = this.entries;
    const binAt = (j: number): number => (e[2 * j] - (e[2 * j] % slots)) / slots;
    // First pair at or above the zero bin.
    const lo = lowerBoundPairs(e, this.size, this.zeroBin * slots);
    if (lo > 0) {
      this.negLo = binAt(0);
      this.negHi = binAt(lo - 1);
    }
    let p = lo;
    while (p < this.size && binAt(p) === this.zeroBin) p++;
    if (p < this.size) {
      this.posLo = binAt(p);
      this.posHi = binAt(this.size - 1);
    }
  }

  private insertAt(j: number, code: number, count: number): void {
    if (2 * this.size === this.entries.length) {
      const next = new Int32Array(2 * capacityFor(this.size + 1));
      next.set(this.entries.subarray(0, 2 * this.size));
      this.entries = next;
    }
    const e = this.entries;
    if (j < this.size) e.copyWithin(2 * j + 2, 2 * j, 2 * this.size);
    e[2 * j] = code;
    e[2 * j + 1] = count;
    this.size++;
  }

  /**
   * Folds, per sign, bins `maxBins` or more below the largest magnitude into the lowest kept one
   * (the hot store must be empty), and recomputes the extremes.
   */
  private collapse(): void {
    this.recomputeExtremes();
    let folded = false;
    if (this.posHi - this.posLo >= this.maxBins) {
      const floor = this.posHi - this.maxBins + 1;
      this.foldRange(this.zeroBin + 1, floor, floor);
      folded = true;
    }
    if (this.negHi - this.negLo >= this.maxBins) {
      const ceiling = this.negLo + this.maxBins - 1;
      this.foldRange(ceiling + 1, this.zeroBin, ceiling);
      folded = true;
    }
    if (folded) this.recomputeExtremes();
  }

  /** Moves the counts of bins in [from, to) into bin `into` (same slot). No-op when that range is empty. */
  private foldRange(from: number, to: number, into: number): void {
    if (from >= to) return;
    const slots = this.slots;
    const folded = new Float64Array(slots);
    let moved = false;
    let k = 0;
    const e = this.entries;
    for (let j = 0; j < this.size; j++) {
      const code = e[2 * j];
      const slot = code % slots;
      const bin = (code - slot) / slots;
      if (bin >= from && bin < to) {
        folded[slot] += e[2 * j + 1];
        moved = true;
        continue;
      }
      e[2 * k] = code;
      e[2 * k + 1] = e[2 * j + 1];
      k++;
    }
    this.size = k;
    if (!moved) return;
    for (let slot = 0; slot < slots; slot++) {
      for (let left = folded[slot]; left > 0; left -= MAX_COUNT) this.addToBin(into, slot, Math.min(left, MAX_COUNT));
    }
  }

  /** Which slots hold a sub-window overlapping the window at `nowMs` (1) or not (0). */
  private liveSlots(nowMs: number): Uint8Array {
    const nowSec = Math.floor(nowMs / 1000);
    const hiSub = Math.floor(nowSec / this.subSeconds);
    const loSub = Math.floor((nowSec - this.windowSeconds + 1) / this.subSeconds);
    const live = new Uint8Array(this.slots);
    for (let s = 0; s < this.slots; s++) {
      const stamp = this.meta[s * MS];
      if (stamp >= loSub && stamp <= hiSub && this.meta[s * MS + 1] > 0) live[s] = 1;
    }
    return live;
  }

  /** Empties every sub-window whose index is at most `oldest` (allocates only when one is). */
  private dropSlotsUpTo(oldest: number): void {
    let drop: Uint8Array | undefined;
    for (let s = 0; s < this.slots; s++) {
      const stamp = this.meta[s * MS];
      if (stamp !== -Infinity && stamp <= oldest) {
        (drop ??= new Uint8Array(this.slots))[s] = 1;
        this.resetMeta(s, -Infinity);
      }
    }
    if (drop !== undefined) this.dropSlots(drop);
  }

  /** Removes the pairs of the slots marked in `drop` (their meta is the caller's). */
  private dropSlots(drop: Uint8Array): void {
    this.flushHot();
    this.removeSlots(drop);
    this.recomputeExtremes();
  }

  /** Removes every pair of the slots marked in `drop`, and gives back memory when three quarters is unused. */
  private removeSlots(drop: Uint8Array): void {
    const e = this.entries;
    const slots = this.slots;
    let k = 0;
    for (let j = 0; j < this.size; j++) {
      if (drop[e[2 * j] % slots] === 1) continue;
      e[2 * k] = e[2 * j];
      e[2 * k + 1] = e[2 * j + 1];
      k++;
    }
    this.size = k;
    if (e.length > 64 && 8 * k < e.length) {
      this.entries = k === 0 ? EMPTY_ENTRIES : e.slice(0, 2 * capacityFor(k));
    }
  }

  private resetMeta(slot: number, stamp: number): void {
    const o = slot * MS;
    this.meta[o] = stamp;
    this.meta[o + 1] = 0;
    this.meta[o + 2] = 0;
    this.meta[o + 3] = Infinity;
    this.meta[o + 4] = -Infinity;
  }
}

/** Pair capacity for `n` pairs: 1.5 × n, at least 16 (few reallocations, little slack). */
function capacityFor(n: number): number {
  return Math.max(16, n + (n >> 1));
}
