import type { SerializedBatchSummary } from './BatchSummary';
import type { SerializedAnomalyStats } from './AnomalyPartial';
import type { JoinType } from './joinStreams';
import type { SerializedWindowMetrics } from './WindowMetricsPartial';

/** The operations the batch-processor service exposes (REST names). */
export type BatchOperation = 'process_batch' | 'time_window_metrics' | 'join' | 'detect_anomalies';

export const BATCH_OPERATIONS: readonly BatchOperation[] = ['process_batch', 'time_window_metrics', 'join', 'detect_anomalies'];

/** Validated options of one batch job, produced by `parseBatchOptions`. Units are in the names. */
export type BatchJobOptions =
  | { operation: 'process_batch'; valueKey: string }
  | { operation: 'time_window_metrics'; windowMinutes: number; slideMinutes?: number; valueKey: string; groupKey?: string }
  | { operation: 'join'; key: string; type: JoinType; withinSeconds?: number }
  | { operation: 'detect_anomalies'; valueKey: string; thresholdStd: number; groupKey?: string };

/**
 * A `join` run's partial carries the events themselves: a join needs both sides, so its size is the
 * size of the input. (If both topics are co-partitioned by the join key, each replica can instead
 * `finishBatch` its own partial and the union of the results is the full join.)
 */
export interface SerializedJoinRun {
  kind: 'join_run';
  left: unknown[];
  right: unknown[];
}

/**
 * A `detect_anomalies` run's partial carries every event that has a value, with its input index, so
 * that `finishBatch` can do phase 2: memory and message size O(valued events) — the events' own JSON
 * plus ~10 bytes each. `stats` is the phase-1 statistics (for callers who only need those).
 */
export interface SerializedAnomalyRun {
  kind: 'anomaly_run';
  /** Events added so far, with or without a value: the index offset of the next partial in a merge. */
  event_count: number;
  /** [input index, event], ascending index. */
  samples: [number, unknown][];
  stats: SerializedAnomalyStats;
}

/** JSON-safe partial result of a batch run; ship it as `JSON.stringify(partial)`. */
export type SerializedPartial = SerializedBatchSummary | SerializedWindowMetrics | SerializedJoinRun | SerializedAnomalyRun;
