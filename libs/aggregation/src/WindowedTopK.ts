import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';
import { SpaceSaving, type TopKItem } from './SpaceSaving';

export interface WindowedTopKOptions {
  /** Window in seconds. Default 300. */
  windowSeconds?: number;
  /** Sub-windows per window, each with its own summary. Default 10 (30 s each for a 300 s window). */
  subWindows?: number;
  /** Items monitored per sub-window (Space-Saving capacity m). Default 100. */
  capacity?: number;
}

const SERIAL_VERSION = 1;

/**
 * Heavy hitters over a sliding window of event time: a Space-Saving summary per sub-window of
 * `ceil(windowSeconds / subWindows)` seconds (30 s for 300 s / 10) in a ring, merged at query time.
 *
 * Window: a query at `nowMs` merges every sub-window that overlaps `(nowSec − windowSeconds,
 * nowSec]` and does not start after `nowSec`, so it describes between `windowSeconds` and
 * `windowSeconds + subSeconds − 1` seconds of data (300–329 s by default) — the span of the
 * percentiles (`WindowedQuantiles`). An item recorded 25 minutes ago is in no answer of a 300 s window.
 * The ring holds `subWindows + 1` sub-windows up to the newest one recorded, so a query at a `nowMs`
 * behind the newest event (e.g. one stamped a little in the future) misses the oldest sub-windows
 * its window would cover.
 *
 * Bounds: the sub-window summaries are combined with Space-Saving's mergeable-summary merge
 * (Agarwal et al. 2012), so every reported item keeps `count − error ≤ true count in the window ≤
 * count` with `error ≤ N / m`, N the weight in the merged sub-windows, m the capacity; any item
 * heavier than N / m is listed. The same merge combines replicas (`merge`), sub-window by sub-window.
 *
 * Memory bound: at most `subWindows + 1` summaries of `capacity` items each (their strings plus
 * ~50 bytes per item), whatever the number of distinct items; a query merges them in
 * O(subWindows × capacity × log). Weights are positive integers.
 */
export class WindowedTopK {
  readonly windowSeconds: number;
  readonly subWindows: number;
  readonly subSeconds: number;
  readonly capacity: number;
  private readonly slots: number;
  /** Sub-window index held by each slot (−Infinity: empty). */
  private readonly subs: Float64Array;
  private readonly summaries: Array<SpaceSaving | undefined>;
  private newestSub = -Infinity;

  constructor(options: WindowedTopKOptions = {}) {
    this.windowSeconds = options.windowSeconds ?? 300;
    this.subWindows = options.subWindows ?? 10;
    this.capacity = options.capacity ?? 100;
    for (const [name, v] of [['windowSeconds', this.windowSeconds], ['subWindows', this.subWindows], ['capacity', this.capacity]] as const) {
      if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got ${String(v)}`);
    }
    this.subSeconds = Math.ceil(this.windowSeconds / this.subWindows);
    this.slots = Math.ceil(this.windowSeconds / this.subSeconds) + 1;
    this.subs = new Float64Array(this.slots).fill(-Infinity);
    this.summaries = new Array<SpaceSaving | undefined>(this.slots).fill(undefined);
  }

  static create(options: WindowedTopKOptions = {}): WindowedTopK {
    return new WindowedTopK(options);
  }

  /** True when no sub-window holds anything. */
  get isEmpty(): boolean {
    return this.summaries.every((s) => s === undefined);
  }

  /**
   * Adds `weight` (positive integer, default 1) to `item` in the sub-window of `eventTimeMs`. Returns
   * false (and records nothing) when that sub-window has left the ring: at least `subWindows + 1`
   * sub-windows older than the newest one recorded.
   */
  record(item: string, eventTimeMs: number, weight = 1): boolean {
    if (!Number.isFinite(eventTimeMs)) throw new InvalidArgumentError(`eventTimeMs must be a finite number of epoch milliseconds, got ${String(eventTimeMs)}`);
    const sub = Math.floor(Math.floor(eventTimeMs / 1000) / this.subSeconds);
    if (sub <= this.newestSub - this.slots) return false;
    const slot = this.slotOf(sub);
    let summary = this.summaries[slot];
    if (summary === undefined || this.subs[slot] !== sub) {
      summary = new SpaceSaving({ capacity: this.capacity });
      this.summaries[slot] = summary;
      this.subs[slot] = sub;
    }
    summary.record(item, weight);
    if (sub > this.newestSub) this.newestSub = sub;
    return true;
  }

  /** The `k` heaviest items in the window at `nowMs`, ties broken by item name ascending. */
  top(k: number, nowMs: number): TopKItem[] {
    return this.merged(nowMs).top(k);
  }

  /**
   * `top(k, nowMs)` with the over-count bound of the window's merged summary: `maxOvercount` is the
   * largest error among all items it monitors (listed or not), so every listed count is at most
   * that much above the item's true count in the window (0: every listed count is exact).
   */
  topWithOvercount(k: number, nowMs: number): { items: TopKItem[]; maxOvercount: number } {
    const merged = this.merged(nowMs);
    return { items: merged.top(k), maxOvercount: merged.maxError() };
  }

  /** Every monitored item of the window at `nowMs` (at most `capacity`), heaviest first. */
  result(nowMs: number): TopKItem[] {
    return this.merged(nowMs).result();
  }

  /** Total weight N recorded in the sub-windows of the window at `nowMs`. */
  total(nowMs: number): number {
    let n = 0;
    for (const slot of this.liveSlots(nowMs)) n += this.summaries[slot]!.total;
    return n;
  }

  /** Frees the sub-windows that have left the window at `nowMs` (their last second ≤ nowSec − windowSeconds). */
  expire(nowMs: number): void {
    const lo = Math.floor(nowMs / 1000) - this.windowSeconds;
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.summaries[slot] !== undefined && (this.subs[slot] + 1) * this.subSeconds - 1 <= lo) this.clear(slot);
    }
  }

  /**
   * Adds `other` (unchanged), sub-window by sub-window: the same sub-window is merged with the
   * mergeable-summary merge, a newer one replaces an older one in its slot, and sub-windows that
   * leave the ring of the merged newest sub-window are dropped. Options must agree.
   */
  merge(other: WindowedTopK): void {
    if (other.windowSeconds !== this.windowSeconds || other.subWindows !== this.subWindows || other.capacity !== this.capacity) {
      throw new IncompatibleMergeError(
        `cannot merge a WindowedTopK of ${other.windowSeconds} s / ${other.subWindows} sub-windows / capacity ${other.capacity} into one of ${this.windowSeconds} s / ${this.subWindows} / ${this.capacity}`,
      );
    }
    const newest = Math.max(this.newestSub, other.newestSub);
    for (let slot = 0; slot < this.slots; slot++) {
      const theirs = other.summaries[slot];
      const sub = other.subs[slot];
      if (theirs === undefined || sub <= newest - this.slots) continue;
      const mine = this.summaries[slot];
      if (mine !== undefined && this.subs[slot] === sub) {
        mine.merge(theirs);
      } else if (mine === undefined || this.subs[slot] < sub) {
        const copy = new SpaceSaving({ capacity: this.capacity });
        copy.merge(theirs);
        this.summaries[slot] = copy;
        this.subs[slot] = sub;
      }
    }
    this.newestSub = newest;
    for (let slot = 0; slot < this.slots; slot++) if (this.summaries[slot] !== undefined && this.subs[slot] <= newest - this.slots) this.clear(slot);
  }

  serialize(): Uint8Array {
    const w = new ByteWriter();
    w.u8(SERIAL_VERSION);
    this.writeTo(w);
    return w.finish();
  }

  static deserialize(bytes: Uint8Array): WindowedTopK {
    const r = new ByteReader(bytes);
    const version = r.u8();
    if (version !== SERIAL_VERSION) throw new DeserializationError(`WindowedTopK snapshot version must be ${SERIAL_VERSION}, got ${version}`);
    const topK = WindowedTopK.readFrom(r);
    r.expectEnd('WindowedTopK');
    return topK;
  }

  /** Encoding: window seconds, sub-windows, capacity, live sub-window count, then per sub-window (oldest first) its index and its summary (`SpaceSaving.writeTo`). */
  writeTo(w: ByteWriter): void {
    w.varUint(this.windowSeconds);
    w.varUint(this.subWindows);
    w.varUint(this.capacity);
    const live = this.orderedSlots();
    w.varUint(live.length);
    for (const slot of live) {
      w.varInt(this.subs[slot]);
      this.summaries[slot]!.writeTo(w);
    }
  }

  static readFrom(r: ByteReader): WindowedTopK {
    let topK: WindowedTopK;
    const [windowSeconds, subWindows, capacity] = [r.varUint(), r.varUint(), r.varUint()];
    try {
      topK = new WindowedTopK({ windowSeconds, subWindows, capacity });
    } catch (err) {
      throw new DeserializationError(`WindowedTopK snapshot has invalid settings: ${(err as Error).message}`);
    }
    const n = r.varUint();
    if (n > topK.slots) throw new DeserializationError(`WindowedTopK snapshot holds ${n} sub-windows, more than its ring of ${topK.slots}`);
    for (let i = 0; i < n; i++) {
      const sub = r.varInt();
      const summary = SpaceSaving.readFrom(r);
      if (summary.capacity !== capacity) throw new DeserializationError(`WindowedTopK snapshot has a sub-window of capacity ${summary.capacity}, expected ${capacity}`);
      const slot = topK.slotOf(sub);
      if (topK.summaries[slot] !== undefined) throw new DeserializationError(`WindowedTopK snapshot holds sub-windows ${topK.subs[slot]} and ${sub} in one slot`);
      topK.summaries[slot] = summary;
      topK.subs[slot] = sub;
      if (sub > topK.newestSub) topK.newestSub = sub;
    }
    return topK;
  }

  /** The sub-windows of the window at `nowMs` merged into one summary (oldest first, so every reader merges in the same order). */
  private merged(nowMs: number): SpaceSaving {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    const out = new SpaceSaving({ capacity: this.capacity });
    for (const slot of this.liveSlots(nowMs)) out.merge(this.summaries[slot]!);
    return out;
  }

  /** Slots whose sub-window overlaps (nowSec − windowSeconds, nowSec] and starts by nowSec, oldest first. */
  private liveSlots(nowMs: number): number[] {
    const nowSec = Math.floor(nowMs / 1000);
    const lo = nowSec - this.windowSeconds;
    return this.orderedSlots().filter((slot) => {
      const first = this.subs[slot] * this.subSeconds;
      return first + this.subSeconds - 1 > lo && first <= nowSec;
    });
  }

  /** Non-empty slots, oldest sub-window first. */
  private orderedSlots(): number[] {
    const live: number[] = [];
    for (let slot = 0; slot < this.slots; slot++) if (this.summaries[slot] !== undefined) live.push(slot);
    return live.sort((a, b) => this.subs[a] - this.subs[b]);
  }

  private slotOf(sub: number): number {
    return ((sub % this.slots) + this.slots) % this.slots;
  }

  private clear(slot: number): void {
    this.summaries[slot] = undefined;
    this.subs[slot] = -Infinity;
  }
}
