import { AnomalyPartial, type GroupAnomalyStats } from './AnomalyPartial';
import { extractColumns } from './extractColumns';
import { positiveNumber } from './optionCheckers';
import { scoreColumns, type Anomaly } from './scoreAnomalies';

export interface AnomalyOptions {
  /** Field holding the numeric value. Default `value`. */
  valueKey?: string;
  /** Flag values with |z| strictly greater than this many (population) standard deviations. Must be > 0. */
  thresholdStd: number;
  /** Score each group against its own mean/stddev. */
  groupKey?: string;
}

export interface AnomalyResult<E = unknown> {
  /** Sorted by index. */
  anomalies: Anomaly<E>[];
  /**
   * One `{ group, mean, stddev, count }` per group with a value, sorted by group — one shape whether
   * grouped or not: without `groupKey` the single group is `null` (`[]` when no event has a value).
   */
  stats: GroupAnomalyStats[];
}

/**
 * z-score anomaly detection in two passes over one extracted Float64Array: population mean/stddev of the
 * batch (or of each group), then |z| > thresholdStd. A constant series has no anomalies.
 *
 *   detectAnomalies([{ value: 1 }, { value: 1 }, { value: 1 }, { value: 1 }, { value: 9 }], { thresholdStd: 1.5 })
 *   // mean 2.6, stddev 3.2 → z(9) = 2 → anomalies: [{ index: 4, event: { value: 9 }, value: 9, z_score: 2 }]
 *
 * Across partitions use `AnomalyPartial` (phase 1, merge) and `scoreAnomalies` (phase 2).
 */
export function detectAnomalies<E = unknown>(events: readonly E[], options: AnomalyOptions): AnomalyResult<E> {
  const thresholdStd = positiveNumber(options.thresholdStd, 'thresholdStd');
  const stats = AnomalyPartial.create({ valueKey: options.valueKey, groupKey: options.groupKey });
  const cols = extractColumns(events, { valueKey: stats.valueKey, groupKey: stats.groupKey ?? undefined });
  stats.recordColumns(cols);
  const anomalies = scoreColumns(cols, stats, thresholdStd, (i) => ({ index: i, event: events[i] }));
  return { anomalies, stats: stats.result() };
}
