import type { MetricStatsResult, RatesResult, SeriesStats, StatsAccuracy, TopKResult } from '@pipeline/aggregation';

/**
 * What a live answer covers and how current it is, read from the partition markers behind it (no
 * series state is touched). Times are ISO-8601.
 *
 * Example: a 300 s window read at 12:00:07.250 covers events stamped in [11:55:08, 12:00:08) —
 * `window_start` and `window_end` (exclusive), whole seconds like the windows themselves. Window
 * statistics may reach up to one coarse block (AGG_COARSE_BUCKET_SECONDS) before `window_start`,
 * percentiles and top-K up to one sub-window (a tenth of the window).
 */
export interface AnswerCompleteness {
  window_start: string;
  window_end: string;
  /**
   * The lowest event-time watermark of the partitions behind the answer: each has folded in every
   * event it received stamped up to it. null while one of them has seen no event in time.
   */
  watermark: string | null;
  /** Now minus the production time of the oldest partition snapshot behind the answer, ms (≥ 0). A partition writes a round only after it has received something. */
  snapshot_age_ms: number | null;
  /** Partitions of the answer's input topics that have committed at least one round (one that never received an event has not). */
  partitions_reported: number;
  /** Partitions of the answer's input topics (as read at start); null when a topic's count is not known. */
  partitions_total: number | null;
}

/** A metric answer's completeness: also the metric's late and future events. */
export interface MetricCompleteness extends AnswerCompleteness {
  /** Events of the metric that arrived a window old, since its state was created (the same as the answer's `late_events`; `late_events_in_window` for the window). */
  late_events: number;
  /** Events of the metric stamped too far ahead of the clock, since its state was created (the same as `future_events`; `future_events_in_window` for the window). */
  future_events: number;
  /**
   * Of `late_events`, those that arrived in the answer's window: by the aggregator's clock when they
   * arrived (their own stamps are a window old), widened at the far end to a whole coarse block
   * (AGG_COARSE_BUCKET_SECONDS), as the window statistics are.
   */
  late_events_in_window: number;
  /** Of `future_events`, those that arrived in the answer's window (as `late_events_in_window`). */
  future_events_in_window: number;
}

export type LiveMetricStats = MetricStatsResult & { completeness: MetricCompleteness };
/** One metric's overall stats in an all-stats page, with the reliability of its own answer. */
export type LiveSeriesStats = SeriesStats & { accuracy: StatsAccuracy; completeness: MetricCompleteness };
export type LiveTopK = TopKResult & { completeness: AnswerCompleteness };
export type LiveRates = RatesResult & { completeness: AnswerCompleteness };

/**
 * The window of `windowSeconds` at `nowMs` as the windows count it: the seconds (nowSec − window,
 * nowSec], i.e. events stamped in [window_start, window_end).
 */
export function windowBounds(nowMs: number, windowSeconds: number): Pick<AnswerCompleteness, 'window_start' | 'window_end'> {
  const nowSec = Math.floor(nowMs / 1000);
  return { window_start: new Date((nowSec - windowSeconds + 1) * 1000).toISOString(), window_end: new Date((nowSec + 1) * 1000).toISOString() };
}
