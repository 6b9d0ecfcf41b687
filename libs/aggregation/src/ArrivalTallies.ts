import type { ByteReader } from './ByteReader';
import type { ByteWriter } from './ByteWriter';
import { DeserializationError } from './errors';

/** Late and future events of a metric that arrived in a window. */
export interface WindowTally {
  late: number;
  future: number;
}

/**
 * A metric's late and future events by when they arrived — the aggregator's clock at the time
 * (`nowMs`, the partition's watermark), not their own stamps, which lie outside any window by
 * definition — in whole blocks of `blockSeconds`. `inWindow` adds up the blocks that reach into a
 * window, so a count covers the window widened at its far end to a whole block, as the window
 * statistics do. Holds only blocks that saw such an event, oldest first; `add` drops the blocks that
 * have left the window, so a metric keeps at most window / block + 1 of them.
 */
export class ArrivalTallies {
  private readonly starts: number[] = [];
  private readonly late: number[] = [];
  private readonly future: number[] = [];

  constructor(readonly blockSeconds: number) {}

  get empty(): boolean {
    return this.starts.length === 0;
  }

  /** Counts one late or future event arrived at `nowMs` in a metric of window `windowSeconds`. */
  add(kind: 'late' | 'future', nowMs: number, windowSeconds: number): void {
    const sec = Math.floor(nowMs / 1000);
    this.prune(sec - windowSeconds + 1);
    this.bump(sec - mod(sec, this.blockSeconds), kind === 'late' ? 1 : 0, kind === 'future' ? 1 : 0);
  }

  /** The late and future events that arrived in the window of `windowSeconds` at `nowMs` (the seconds (nowSec − window, nowSec], widened to whole blocks; later blocks too). */
  inWindow(nowMs: number, windowSeconds: number): WindowTally {
    const first = Math.floor(nowMs / 1000) - windowSeconds + 1;
    const out = { late: 0, future: 0 };
    for (let i = this.starts.length - 1; i >= 0 && this.starts[i]! + this.blockSeconds > first; i--) {
      out.late += this.late[i]!;
      out.future += this.future[i]!;
    }
    return out;
  }

  /** Adds another metric state's tallies (same block length) into this one. */
  merge(other: ArrivalTallies): void {
    for (let i = 0; i < other.starts.length; i++) this.bump(other.starts[i]!, other.late[i]!, other.future[i]!);
  }

  /** Block count, then per block: start second (the first absolute, then the gap to the previous), late, future. */
  writeTo(w: ByteWriter): void {
    w.varUint(this.starts.length);
    for (let i = 0; i < this.starts.length; i++) {
      w.varInt(i === 0 ? this.starts[0]! : this.starts[i]! - this.starts[i - 1]!);
      w.varUint(this.late[i]!);
      w.varUint(this.future[i]!);
    }
  }

  static readFrom(r: ByteReader, blockSeconds: number): ArrivalTallies {
    const tallies = new ArrivalTallies(blockSeconds);
    const n = r.varUint();
    let start = 0;
    for (let i = 0; i < n; i++) {
      const delta = r.varInt();
      if (i > 0 && delta <= 0) throw new DeserializationError(`arrival tally blocks must be in increasing order, got a gap of ${delta} s`);
      start = i === 0 ? delta : start + delta;
      tallies.starts.push(start);
      tallies.late.push(r.varUint());
      tallies.future.push(r.varUint());
    }
    return tallies;
  }

  /** Skips a `writeTo` state. */
  static skip(r: ByteReader): void {
    const n = r.varUint();
    for (let i = 0; i < n; i++) {
      r.varInt();
      r.varUint();
      r.varUint();
    }
  }

  /** Drops the blocks that end before second `first`. */
  private prune(first: number): void {
    let drop = 0;
    while (drop < this.starts.length && this.starts[drop]! + this.blockSeconds <= first) drop++;
    if (drop === 0) return;
    this.starts.splice(0, drop);
    this.late.splice(0, drop);
    this.future.splice(0, drop);
  }

  private bump(start: number, late: number, future: number): void {
    let i = this.starts.length;
    while (i > 0 && this.starts[i - 1]! > start) i--;
    if (i > 0 && this.starts[i - 1] === start) {
      this.late[i - 1]! += late;
      this.future[i - 1]! += future;
      return;
    }
    this.starts.splice(i, 0, start);
    this.late.splice(i, 0, late);
    this.future.splice(i, 0, future);
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
