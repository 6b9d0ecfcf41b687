import type { ByteReader } from './ByteReader';
import type { ByteWriter } from './ByteWriter';
import { DeserializationError } from './errors';

const EMPTY_F64 = new Float64Array(0);
const EMPTY_I32 = new Int32Array(0);
const MAX_SPARSE_COUNT = 0x7fffffff;
const TAG_EMPTY = 0;
const TAG_DENSE = 1;
const TAG_SPARSE = 2;

/**
 * The bins of one sign of a DDSketch: integer counts per bin index, whichever layout is smaller.
 *
 * - sparse: sorted `[index, count]` int32 pairs (8 bytes per non-empty bin) — a sketch of 30 values
 *   spread over 200 bins takes 256 bytes instead of 1.6 KB. Used while the pairs take less than
 *   half the bytes of the dense array and every count is below 2^31. (A plain JS array of small
 *   integers was measured too: without V8 pointer compression, as in Node, it costs 8 bytes per
 *   element plus growth slack, more than the Int32Array's fixed ~250-byte overhead.)
 * - dense: one float64 count per bin between the lowest and highest index (8 bytes per bin).
 *
 * At most `maxBins` bins are kept: past that the lowest bins fold into the lowest kept one
 * ("collapsing lowest", which trades the accuracy of the smallest magnitudes for a memory bound).
 */
export class BinStore {
  private dense = false;
  /** Sparse layout: `pairs[2j] = index`, `pairs[2j + 1] = count`, j < size, ascending index. */
  private pairs: Int32Array = EMPTY_I32;
  private size = 0;
  /** Dense layout: counts of [offset, offset + counts.length); [lo, hi] in use. */
  private counts: Float64Array = EMPTY_F64;
  private offset = 0;
  lo = 0;
  hi = -1;
  total = 0;

  /** `dense`: start in the dense layout (for stores known to fill up: O(1) adds, no sorted inserts). */
  constructor(
    readonly maxBins: number,
    dense = false,
  ) {
    this.dense = dense;
  }

  add(index: number, count: number): void {
    if (!this.dense) {
      if (this.addSparse(index, count)) return;
      this.toDense(index, index);
    }
    const i = index < this.lo || index > this.hi ? this.extend(index, index, index) : index;
    this.counts[i - this.offset] += count;
    this.total += count;
  }

  /** Smallest bin index whose cumulative count exceeds `rank` (0-based). */
  keyAtRank(rank: number): number {
    let cum = 0;
    if (!this.dense) {
      for (let j = 0; j < this.size; j++) {
        cum += this.pairs[2 * j + 1];
        if (cum > rank) return this.pairs[2 * j];
      }
      return this.hi;
    }
    for (let k = this.lo; k <= this.hi; k++) {
      cum += this.counts[k - this.offset];
      if (cum > rank) return k;
    }
    return this.hi;
  }

  /** Calls `fn(index, count)` for every non-empty bin, ascending. */
  forEach(fn: (index: number, count: number) => void): void {
    if (!this.dense) {
      for (let j = 0; j < this.size; j++) fn(this.pairs[2 * j], this.pairs[2 * j + 1]);
      return;
    }
    for (let k = this.lo; k <= this.hi; k++) {
      const c = this.counts[k - this.offset];
      if (c !== 0) fn(k, c);
    }
  }

  mergeFrom(other: BinStore): void {
    if (other.total === 0) return;
    if (!this.dense && !other.dense) {
      this.mergeSparse(other.pairs, other.size, other.total);
      return;
    }
    if (!this.dense) this.toDense(other.lo, other.hi);
    this.extend(other.lo, other.hi, other.lo);
    other.forEach((k, c) => {
      this.counts[Math.max(k, this.lo) - this.offset] += c;
    });
    this.total += other.total;
  }

  /** Merge-joins `size` sorted pairs into the sparse bins, going dense if the result should be. */
  private mergeSparse(pairs: Int32Array, size: number, total: number): void {
    const a = this.pairs;
    const out = new Int32Array(2 * Math.max(4, this.size + size));
    let i = 0;
    let j = 0;
    let k = 0;
    let overflow = false;
    while (i < this.size || j < size) {
      const ka = i < this.size ? a[2 * i] : Infinity;
      const kb = j < size ? pairs[2 * j] : Infinity;
      if (ka === kb) {
        const c = a[2 * i + 1] + pairs[2 * j + 1];
        if (c > MAX_SPARSE_COUNT) overflow = true;
        out[2 * k] = ka;
        out[2 * k + 1] = c;
        i++;
        j++;
      } else if (ka < kb) {
        out[2 * k] = ka;
        out[2 * k + 1] = a[2 * i + 1];
        i++;
      } else {
        out[2 * k] = kb;
        out[2 * k + 1] = pairs[2 * j + 1];
        j++;
      }
      k++;
    }
    const lo = out[0];
    const hi = out[2 * k - 2];
    if (overflow || hi - lo + 1 > this.maxBins || 2 * k >= denseLength(hi - lo + 1, this.maxBins)) {
      // Keep what was here, go dense, then add the other bins one by one (counts may exceed int32).
      this.toDense(Math.min(lo, this.size > 0 ? this.lo : lo), hi);
      for (let q = 0; q < size; q++) this.add(pairs[2 * q], pairs[2 * q + 1]);
      return;
    }
    this.pairs = out;
    this.size = k;
    this.lo = lo;
    this.hi = hi;
    this.total += total;
  }

  /** Empties the store, keeping its arrays (and layout) for reuse. */
  clear(): void {
    if (this.dense && this.total !== 0) this.counts.fill(0);
    this.size = 0;
    this.lo = 0;
    this.hi = -1;
    this.total = 0;
  }

  /**
   * Encoding, chosen by content (not layout) so equal stores encode equally: a tag, then either
   * the non-empty bins as (index gap, count) varint pairs, or the run lo..hi as one varint count per bin.
   */
  write(w: ByteWriter): void {
    if (this.total === 0) {
      w.u8(TAG_EMPTY);
      return;
    }
    let nonEmpty = 0;
    this.forEach(() => nonEmpty++);
    if (nonEmpty * 2 < this.hi - this.lo + 1) {
      w.u8(TAG_SPARSE);
      w.varUint(nonEmpty);
      w.varInt(this.lo);
      let prev = this.lo;
      let first = true;
      this.forEach((k, c) => {
        if (!first) w.varUint(k - prev);
        first = false;
        w.varUint(c);
        prev = k;
      });
      return;
    }
    w.u8(TAG_DENSE);
    w.varUint(this.hi - this.lo + 1);
    w.varInt(this.lo);
    if (!this.dense) {
      let k = this.lo;
      for (let j = 0; j < this.size; j++) {
        for (; k < this.pairs[2 * j]; k++) w.varUint(0);
        w.varUint(this.pairs[2 * j + 1]);
        k++;
      }
      return;
    }
    for (let k = this.lo; k <= this.hi; k++) w.varUint(this.counts[k - this.offset]);
  }

  /** Reads what `write` wrote into this empty store. */
  read(r: ByteReader): void {
    const tag = r.u8();
    if (tag === TAG_EMPTY) return;
    if (tag !== TAG_SPARSE && tag !== TAG_DENSE) throw new DeserializationError(`DDSketch store tag must be 0, 1 or 2, got ${tag}`);
    const n = r.varUint();
    let k = r.varInt();
    if (n > this.maxBins) throw new DeserializationError(`DDSketch store has ${n} bins, more than maxBins ${this.maxBins}`);
    if (tag === TAG_SPARSE) {
      const keys = new Int32Array(n);
      const counts = new Float64Array(n);
      let total = 0;
      let overflow = false;
      for (let j = 0; j < n; j++) {
        if (j > 0) k += r.varUint();
        keys[j] = k;
        counts[j] = r.varUint();
        total += counts[j];
        if (counts[j] > MAX_SPARSE_COUNT) overflow = true;
      }
      if (overflow) {
        for (let j = 0; j < n; j++) this.add(keys[j], counts[j]);
        return;
      }
      const pairs = new Int32Array(2 * n);
      for (let j = 0; j < n; j++) {
        pairs[2 * j] = keys[j];
        pairs[2 * j + 1] = counts[j];
      }
      this.mergeSparse(pairs, n, total);
      return;
    }
    const counts = new Float64Array(n);
    let total = 0;
    for (let j = 0; j < n; j++) total += counts[j] = r.varUint();
    this.dense = true;
    this.counts = counts;
    this.offset = k;
    this.lo = k;
    this.hi = k + n - 1;
    this.total = total;
  }

  /** Sparse add; false when the store must switch to dense (too many bins, count overflow or range past maxBins). */
  private addSparse(index: number, count: number): boolean {
    const p = this.pairs;
    const lo = lowerBoundPairs(p, this.size, index);
    if (lo < this.size && p[2 * lo] === index) {
      if (p[2 * lo + 1] + count > MAX_SPARSE_COUNT) return false;
      p[2 * lo + 1] += count;
      this.total += count;
      return true;
    }
    if (count > MAX_SPARSE_COUNT) return false;
    const newLo = this.size === 0 ? index : Math.min(this.lo, index);
    const newHi = this.size === 0 ? index : Math.max(this.hi, index);
    const range = newHi - newLo + 1;
    if (range > this.maxBins) return false;
    // Go dense once the pairs would take half the dense array's bytes (8 per pair, 8 per dense
    // bin): beyond that, sorted inserts cost more time than the memory they save.
    if (2 * this.size === p.length) {
      const capacity = Math.max(4, 2 * this.size);
      if (2 * capacity >= denseLength(range, this.maxBins)) return false;
      const next = new Int32Array(2 * capacity);
      next.set(p.subarray(0, 2 * this.size));
      this.pairs = next;
    }
    const q = this.pairs;
    if (lo < this.size) q.copyWithin(2 * lo + 2, 2 * lo, 2 * this.size);
    q[2 * lo] = index;
    q[2 * lo + 1] = count;
    this.size++;
    this.lo = newLo;
    this.hi = newHi;
    this.total += count;
    return true;
  }

  /** Moves the sparse bins into a dense array that also covers [lo, hi]. */
  private toDense(lo: number, hi: number): void {
    const empty = this.size === 0;
    const pairs = this.pairs;
    const size = this.size;
    this.dense = true;
    this.pairs = EMPTY_I32;
    this.size = 0;
    this.total = 0;
    this.lo = 0;
    this.hi = -1;
    this.extend(empty ? lo : Math.min(lo, pairs[0]), empty ? hi : Math.max(hi, pairs[2 * size - 2]), lo);
    for (let j = 0; j < size; j++) {
      this.counts[Math.max(pairs[2 * j], this.lo) - this.offset] += pairs[2 * j + 1];
      this.total += pairs[2 * j + 1];
    }
  }

  /** Dense: makes [newLo, newHi] (and what is in use) addressable, collapsing past maxBins; returns where `index` lands. */
  private extend(newLoIn: number, newHiIn: number, index: number): number {
    const empty = this.total === 0;
    const lo0 = empty ? newLoIn : Math.min(this.lo, newLoIn);
    const hi = empty ? newHiIn : Math.max(this.hi, newHiIn);
    const lo = Math.max(lo0, hi - this.maxBins + 1);
    if (lo < this.offset || hi >= this.offset + this.counts.length) {
      const length = denseLength(hi - lo + 1, this.maxBins);
      const offset = !empty && lo < this.lo ? hi - length + 1 : lo;
      const next = new Float64Array(length);
      if (!empty) {
        for (let k = this.lo; k <= this.hi; k++) next[Math.max(k, lo) - offset] += this.counts[k - this.offset];
      }
      this.counts = next;
      this.offset = offset;
    } else if (!empty && lo > this.lo) {
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
}

/** Dense array length for a range: the range plus 25% + 8 slack to grow into, at most maxBins. */
function denseLength(range: number, maxBins: number): number {
  return Math.min(maxBins, range + 8 + (range >> 2));
}

/** First j < size with `pairs[2j] >= key` in `[key, value]` pairs sorted by key (size when none). */
export function lowerBoundPairs(pairs: Int32Array, size: number, key: number): number {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pairs[2 * mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
