import { AnomalyPartial } from './AnomalyPartial';
import type { BatchJobOptions } from './BatchJobOptions';
import { BatchSummary, type BatchSummaryResult } from './BatchSummary';
import type { AnomalyResult } from './detectAnomalies';
import { extractColumns } from './extractColumns';
import { joinStreams, type JoinRow } from './joinStreams';
import { mergeBatchPartials } from './mergeBatchPartials';
import { scoreColumns } from './scoreAnomalies';
import { WindowMetricsPartial, type WindowMetric } from './WindowMetricsPartial';

/**
 * The final JSON result of a job from its (merged) partial — the same value the direct function returns
 * for the concatenated input:
 *   process_batch        → BatchSummaryResult (as `processBatch`)
 *   time_window_metrics  → WindowMetric[]     (as `timeWindowMetrics`)
 *   join                 → JoinRow[]          (as `joinStreams`, left/right concatenated in merge order)
 *   detect_anomalies     → AnomalyResult      (as `detectAnomalies`); the statistics are recomputed from
 *                          the carried values in index order, so the result is bit-identical to a single pass.
 * The partial is validated as in `mergeBatchPartials`.
 */
export function finishBatch(options: BatchJobOptions, partial: unknown): BatchSummaryResult | WindowMetric[] | JoinRow[] | AnomalyResult {
  const merged = mergeBatchPartials(options, [partial]);
  switch (options.operation) {
    case 'process_batch':
      return BatchSummary.deserialize(merged).result();
    case 'time_window_metrics':
      return WindowMetricsPartial.deserialize(merged).result();
    case 'join': {
      if (merged.kind !== 'join_run') throw new Error('unreachable');
      return joinStreams(merged.left, merged.right, options);
    }
    case 'detect_anomalies': {
      if (merged.kind !== 'anomaly_run') throw new Error('unreachable');
      const stats = AnomalyPartial.create(options);
      const events = merged.samples.map((s) => s[1]);
      const cols = extractColumns(events, { valueKey: stats.valueKey, groupKey: stats.groupKey ?? undefined, label: 'samples' });
      stats.recordColumns(cols);
      const anomalies = scoreColumns(cols, stats, options.thresholdStd, (i) => ({ index: merged.samples[i][0], event: events[i] }));
      return { anomalies, stats: stats.result() };
    }
  }
}
