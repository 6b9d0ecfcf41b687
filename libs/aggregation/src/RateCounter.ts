import type { Accumulator } from '@pipeline/contracts';
import { ByteReader } from './ByteReader';
import { ByteWriter } from './ByteWriter';
import { DeserializationError, IncompatibleMergeError, InvalidArgumentError } from './errors';

export interface RateResult {
  /** Events in the window. */
  count: number;
  /** `count / windowSeconds`: events per second averaged over the whole window. */
  ratePerSec: number;
  windowSeconds: number;
}

export interface RateCounterOptions {
  /** Averaging window in seconds. Default 60. */
  windowSeconds?: number;
}

const SERIAL_VERSION = 1;

/**
 * Events per second over the last `windowSeconds` seconds of event time, from 1 s buckets.
 *
 * The rate is the event count in seconds `(nowSec - windowSeconds, nowSec]` divided by the full
 * window, so a counter that started 10 s ago with 100 events/s reports 1000 / 60 ≈ 16.7 /s until a
 * whole window has passed (no extrapolation). Precision: 1 s buckets by `floor(eventTimeMs / 1000)`.
 *
 * Memory: a fixed ring of `windowSeconds` slots, 16 bytes each (960 bytes for 60 s), independent of
 * the event rate. Events at least a window older than the newest event are refused (`record` returns
 * false) because their slot already belongs to a newer second.
 */
export class RateCounter implements Accumulator<RateResult, Uint8Array> {
  readonly windowSeconds: number;
  private readonly seconds: Float64Array;
  private readonly counts: Float64Array;
  private newest = -Infinity;

  constructor(options: RateCounterOptions = {}) {
    const windowSeconds = options.windowSeconds ?? 60;
    if (!Number.isInteger(windowSeconds) || windowSeconds < 1) {
      throw new InvalidArgumentError(`windowSeconds must be a positive integer, got ${String(windowSeconds)}`);
    }
    this.windowSeconds = windowSeconds;
    this.seconds = new Float64Array(windowSeconds).fill(-Infinity);
    this.counts = new Float64Array(windowSeconds);
  }

  static create(options: RateCounterOptions = {}): RateCounter {
    return new RateCounter(options);
  }

  /** Counts `count` (a positive integer, default 1) events at `eventTimeMs`; false if too old to keep. */
  record(eventTimeMs: number, count = 1): boolean {
    if (!Number.isFinite(eventTimeMs)) {
      throw new InvalidArgumentError(`eventTimeMs must be a finite number of epoch milliseconds, got ${String(eventTimeMs)}`);
    }
    if (!Number.isSafeInteger(count) || count < 1) throw new InvalidArgumentError(`count must be a positive integer, got ${String(count)}`);
    const sec = Math.floor(eventTimeMs / 1000);
    if (sec <= this.newest - this.windowSeconds) return false;
    if (sec > this.newest) this.newest = sec;
    const slot = ((sec % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
    if (this.seconds[slot] === sec) {
      this.counts[slot] += count;
    } else {
      this.seconds[slot] = sec;
      this.counts[slot] = count;
    }
    return true;
  }

  result(nowMs: number): RateResult {
    if (!Number.isFinite(nowMs)) throw new InvalidArgumentError(`nowMs must be a finite number of epoch milliseconds, got ${String(nowMs)}`);
    const nowSec = Math.floor(nowMs / 1000);
    const lo = nowSec - this.windowSeconds;
    let count = 0;
    for (let i = 0; i < this.windowSeconds; i++) {
      const sec = this.seconds[i];
      if (sec > lo && sec <= nowSec) count += this.counts[i];
    }
    return { count, ratePerSec: count / this.windowSeconds, windowSeconds: this.windowSeconds };
  }

  /** True when no slot holds a second inside the window at `nowMs`. */
  isIdle(nowMs: number): boolean {
    return this.newest <= Math.floor(nowMs / 1000) - this.windowSeconds;
  }

  /** Adds `other`'s counts slot by slot; for two different seconds in one slot the newer wins (the older is outside any window holding the newer). */
  merge(other: RateCounter): void {
    if (other.windowSeconds !== this.windowSeconds) {
      throw new IncompatibleMergeError(`cannot merge a RateCounter of ${other.windowSeconds} s into one of ${this.windowSeconds} s`);
    }
    for (let i = 0; i < this.windowSeconds; i++) {
      const sb = other.seconds[i];
      if (sb === -Infinity) continue;
      const sa = this.seconds[i];
      if (sa === sb) this.counts[i] += other.counts[i];
      else if (sb > sa) {
        this.seconds[i] = sb;
        this.counts[i] = other.counts[i];
      }
    }
    if (other.newest > this.newest) this.newest = other.newest;
    // Slots older than the merged newest second minus the window are stale: clear them.
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.seconds[i] <= this.newest - this.windowSeconds) {
        this.seconds[i] = -Infinity;
        this.counts[i] = 0;
      }
    }
  }

  serialize(): Uint8Array {
    const w = new ByteWriter(64);
    w.u8(SERIAL_VERSION);
    this.writeTo(w);
    return w.finish();
  }

  static deserialize(bytes: Uint8Array): RateCounter {
    const r = new ByteReader(bytes);
    const version = r.u8();
    if (version !== SERIAL_VERSION) throw new DeserializationError(`RateCounter snapshot version must be ${SERIAL_VERSION}, got ${version}`);
    const counter = RateCounter.readFrom(r);
    r.expectEnd('RateCounter');
    return counter;
  }

  /** Encoding: window, number of live slots, then (second zig-zag, count) per live slot. */
  writeTo(w: ByteWriter): void {
    w.varUint(this.windowSeconds);
    let live = 0;
    for (let i = 0; i < this.windowSeconds; i++) if (this.seconds[i] !== -Infinity) live++;
    w.varUint(live);
    for (let i = 0; i < this.windowSeconds; i++) {
      if (this.seconds[i] === -Infinity) continue;
      w.varInt(this.seconds[i]);
      w.varUint(this.counts[i]);
    }
  }

  static readFrom(r: ByteReader): RateCounter {
    const counter = new RateCounter({ windowSeconds: r.varUint() });
    const live = r.varUint();
    for (let k = 0; k < live; k++) {
      const sec = r.varInt();
      const count = r.varUint();
      const slot = ((sec % counter.windowSeconds) + counter.windowSeconds) % counter.windowSeconds;
      counter.seconds[slot] = sec;
      counter.counts[slot] = count;
      if (sec > counter.newest) counter.newest = sec;
    }
    return counter;
  }
}
