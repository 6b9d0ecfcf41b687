import type { Accumulator } from '@pipeline/contracts';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DeserializationError, InvalidArgumentError } from './errors';

/** One monitored item: its true total lies in `[count - error, count]`. */
export interface TopKItem {
  item: string;
  count: number;
  error: number;
}

export interface SpaceSavingOptions {
  /** Items monitored at once (m). Default 100. */
  capacity?: number;
}

const SERIAL_VERSION = 1;

/**
 * Space-Saving heavy hitters (Metwally, Agrawal & El Abbadi 2005) with the mergeable-summary merge
 * (Agarwal et al. 2012, "Mergeable summaries"; Cafaro et al. 2016).
 *
 * Guarantees, with `N` the total weight and `m` the capacity: every reported item satisfies
 * `count - error ≤ true count ≤ count`, and `error ≤ N / m`; any item whose true count exceeds
 * `N / m` is monitored. So with m = 100 the top-K is exact for items holding more than 1% of the
 * weight, and approximate (with a stated error) below that.
 *
 * Memory bound: `m` items (their strings plus ~50 bytes each), whatever the number of distinct items.
 * Updates are O(log m) through a min-heap keyed by count. Weights are positive integers.
 */
export class SpaceSaving implements Accumulator<TopKItem[], Uint8Array> {
  readonly capacity: number;
  private totalWeight = 0;
  private readonly items: string[] = [];
  private counts: Float64Array;
  private errors: Float64Array;
  /** heap[h] = slot; pos[slot] = h. Min-heap on counts[slot]. */
  private heap: Int32Array;
  private pos: Int32Array;
  private readonly slotOf = new Map<string, number>();

  constructor(options: SpaceSavingOptions = {}) {
    const capacity = options.capacity ?? 100;
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidArgumentError(`capacity must be a positive integer, got ${String(capacity)}`);
    this.capacity = capacity;
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.pos = new Int32Array(capacity);
  }

  static create(options: SpaceSavingOptions = {}): SpaceSaving {
    return new SpaceSaving(options);
  }

  /** Total weight recorded (N). */
  get total(): number {
    return this.totalWeight;
  }

  get size(): number {
    return this.items.length;
  }

  /** Adds `weight` (positive integer, default 1) to `item`. */
  record(item: string, weight = 1): void {
    if (weight !== 1 && (!Number.isSafeInteger(weight) || weight < 1)) {
      throw new InvalidArgumentError(`weight must be a positive integer, got ${String(weight)}`);
    }
    this.totalWeight += weight;
    const slot = this.slotOf.get(item);
    if (slot !== undefined) {
      this.counts[slot] += weight;
      this.siftDown(this.pos[slot]);
      return;
    }
    if (this.items.length < this.capacity) {
      this.append(item, weight, 0);
      return;
    }
    // Replace the minimum: the newcomer inherits its count as error.
    const victim = this.heap[0];
    this.slotOf.delete(this.items[victim]);
    this.items[victim] = item;
    this.slotOf.set(item, victim);
    this.errors[victim] = this.counts[victim];
    this.counts[victim] += weight;
    this.siftDown(0);
  }

  /**
   * The largest `error` of the monitored items (0 when empty): no monitored count exceeds its item's
   * true count by more than this. Bounded by N / m; for a summary never merged it is at most the
   * minimum counter.
   */
  maxError(): number {
    let max = 0;
    for (let slot = 0; slot < this.items.length; slot++) if (this.errors[slot] > max) max = this.errors[slot];
    return max;
  }

  /** The `k` (default: all) items with the highest counts, ties broken by item name ascending. */
  result(): TopKItem[] {
    return this.top(this.items.length);
  }

  top(k: number): TopKItem[] {
    const out: TopKItem[] = this.items.map((item, slot) => ({ item, count: this.counts[slot], error: this.errors[slot] }));
    out.sort((a, b) => b.count - a.count || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
    return out.slice(0, Math.max(0, k));
  }

  /**
   * Folds `other` (unchanged) into this summary. An item missing from a full summary is given that
   * summary's minimum count as both count and error (its true count there is at most that minimum);
   * missing from a summary that is not full, it had count 0. The `capacity` largest combined counters
   * are kept, so the bounds above hold for the union of both streams.
   */
  merge(other: SpaceSaving): void {
    if (other.totalWeight === 0) return;
    const minA = this.items.length === this.capacity ? this.counts[this.heap[0]] : 0;
    const minB = other.items.length === other.capacity ? other.counts[other.heap[0]] : 0;
    const combined = new Map<string, { count: number; error: number }>();
    this.items.forEach((item, slot) => {
      const inB = other.slotOf.get(item);
      combined.set(item, {
        count: this.counts[slot] + (inB === undefined ? minB : other.counts[inB]),
        error: this.errors[slot] + (inB === undefined ? minB : other.errors[inB]),
      });
    });
    other.items.forEach((item, slot) => {
      if (this.slotOf.has(item)) return;
      combined.set(item, { count: other.counts[slot] + minA, error: other.errors[slot] + minA });
    });
    const kept = [...combined.entries()]
      .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, this.capacity);
    this.totalWeight += other.totalWeight;
    this.rebuild(kept.map(([item, v]) => ({ item, count: v.count, error: v.error })));
  }

  serialize(): Uint8Array {
    const w = new ByteWriter();
    w.u8(SERIAL_VERSION);
    this.writeTo(w);
    return w.finish();
  }

  static deserialize(bytes: Uint8Array): SpaceSaving {
    const r = new ByteReader(bytes);
    const version = r.u8();
    if (version !== SERIAL_VERSION) throw new DeserializationError(`SpaceSaving snapshot version must be ${SERIAL_VERSION}, got ${version}`);
    const summary = SpaceSaving.readFrom(r);
    r.expectEnd('SpaceSaving');
    return summary;
  }

  /** Encoding: capacity, total weight, item count, then (item, count, error) per item. */
  writeTo(w: ByteWriter): void {
    w.varUint(this.capacity);
    w.varUint(this.totalWeight);
    w.varUint(this.items.length);
    this.items.forEach((item, slot) => {
      w.string(item);
      w.varUint(this.counts[slot]);
      w.varUint(this.errors[slot]);
    });
  }

  static readFrom(r: ByteReader): SpaceSaving {
    const summary = new SpaceSaving({ capacity: r.varUint() });
    summary.totalWeight = r.varUint();
    const n = r.varUint();
    if (n > summary.capacity) throw new DeserializationError(`SpaceSaving snapshot holds ${n} items, more than its capacity ${summary.capacity}`);
    const entries: TopKItem[] = [];
    for (let k = 0; k < n; k++) entries.push({ item: r.string(), count: r.varUint(), error: r.varUint() });
    summary.rebuild(entries);
    return summary;
  }

  private rebuild(entries: TopKItem[]): void {
    this.items.length = 0;
    this.slotOf.clear();
    for (const e of entries) this.append(e.item, e.count, e.error);
  }

  private append(item: string, count: number, error: number): void {
    const slot = this.items.length;
    this.items.push(item);
    this.slotOf.set(item, slot);
    this.counts[slot] = count;
    this.errors[slot] = error;
    this.heap[slot] = slot;
    this.pos[slot] = slot;
    this.siftUp(slot);
  }

  private siftUp(h0: number): void {
    let h = h0;
    const slot = this.heap[h];
    while (h > 0) {
      const parent = (h - 1) >> 1;
      if (this.counts[this.heap[parent]] <= this.counts[slot]) break;
      this.heap[h] = this.heap[parent];
      this.pos[this.heap[h]] = h;
      h = parent;
    }
    this.heap[h] = slot;
    this.pos[slot] = h;
  }

  private siftDown(h0: number): void {
    let h = h0;
    const n = this.items.length;
    const slot = this.heap[h];
    for (;;) {
      const l = 2 * h + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && this.counts[this.heap[r]] < this.counts[this.heap[l]] ? r : l;
      if (this.counts[this.heap[c]] >= this.counts[slot]) break;
      this.heap[h] = this.heap[c];
      this.pos[this.heap[h]] = h;
      h = c;
    }
    this.heap[h] = slot;
    this.pos[slot] = h;
  }
}
