import { InvalidArgumentError } from './errors';

export interface EventTimeWatermarkOptions {
  /**
   * How far ahead of the wall clock an event may be stamped and still count, in ms. Default 60,000.
   * An event stamped further ahead is 'future': it never moves the watermark.
   */
  maxFutureSkewMs?: number;
  /** The watermark to start from (epoch ms), e.g. the one a partition snapshot stored. Default 0. */
  initialMs?: number;
}

/** 'ok': the event counts (the watermark may have moved up to it); 'future': stamped too far ahead, the watermark is unchanged. */
export type EventTimeVerdict = 'ok' | 'future';

/**
 * The event-time clock of one input partition: the highest event time seen among events that are
 * not stamped in the future. Late detection and window expiry use it instead of the wall clock, so
 * a replay of the partition reaches the same state.
 *
 * Future events: an event stamped more than `maxFutureSkewMs` ahead of the caller's wall clock
 * (clock skew, a buggy client, "9999-12-31T23:59:59Z") is 'future' and leaves the watermark where
 * it is. Were it allowed to advance the watermark, every series of the partition would judge its
 * own events a window old ('late') and expire its window: with a 300 s window, one event stamped
 * +1 day would blank the partition for as long as the watermark stayed ahead.
 *
 * Example (skew 60 s, wall clock W): events at W − 2 s, W + 30 s, W + 1 day →
 * 'ok' (watermark W − 2 s), 'ok' (W + 30 s), 'future' (still W + 30 s).
 *
 * Determinism: the verdict depends on the wall clock passed in, so an event replayed more than the
 * skew after it was first seen may be judged differently (it is then no longer in the future).
 */
export class EventTimeWatermark {
  readonly maxFutureSkewMs: number;
  private watermark: number;

  constructor(options: EventTimeWatermarkOptions = {}) {
    const skew = options.maxFutureSkewMs ?? 60_000;
    if (!(Number.isFinite(skew) && skew >= 0)) throw new InvalidArgumentError(`maxFutureSkewMs must be a finite number ≥ 0, got ${String(skew)}`);
    const initial = options.initialMs ?? 0;
    if (!Number.isFinite(initial)) throw new InvalidArgumentError(`initialMs must be a finite number of epoch milliseconds, got ${String(initial)}`);
    this.maxFutureSkewMs = skew;
    this.watermark = initial;
  }

  /** The watermark, epoch ms. */
  get ms(): number {
    return this.watermark;
  }

  /** True when `eventTimeMs` is more than the skew ahead of `wallMs`. */
  isFuture(eventTimeMs: number, wallMs: number): boolean {
    return eventTimeMs > wallMs + this.maxFutureSkewMs;
  }

  /** Judges one event against the wall clock `wallMs` and, unless it is 'future', advances the watermark to it. */
  observe(eventTimeMs: number, wallMs: number): EventTimeVerdict {
    if (!Number.isFinite(eventTimeMs)) throw new InvalidArgumentError(`eventTimeMs must be a finite number of epoch milliseconds, got ${String(eventTimeMs)}`);
    if (!Number.isFinite(wallMs)) throw new InvalidArgumentError(`wallMs must be a finite number of epoch milliseconds, got ${String(wallMs)}`);
    if (this.isFuture(eventTimeMs, wallMs)) return 'future';
    if (eventTimeMs > this.watermark) this.watermark = eventTimeMs;
    return 'ok';
  }
}
