import { BatchSummary, type BatchSummaryResult } from './BatchSummary';

/**
 * Summary statistics of a batch of events in one pass: count, value sum/mean/min/max/population stddev,
 * events per type and the event-time span.
 *
 *   processBatch([{ timestamp: 0, value: 1, type: 'a' }, { timestamp: 2000, value: 3, type: 'b' }])
 *   // → { count: 2, value_count: 2, sum: 4, mean: 2, min: 1, max: 3, stddev: 1,
 *   //     by_type: { a: 1, b: 1 }, time_span: { start: '1970-01-01T00:00:00.000Z', end: '1970-01-01T00:00:02.000Z', seconds: 2 } }
 *
 * Events without a value (field absent or null) count in `count`, `by_type` and `time_span` but not in
 * the value statistics (`value_count` says how many had one). A non-numeric value or a missing/invalid
 * `timestamp` throws `BatchInputError` naming the event index and field.
 */
export function processBatch(events: readonly unknown[], options: { valueKey?: string } = {}): BatchSummaryResult {
  const summary = BatchSummary.create(options.valueKey ?? 'value');
  summary.record(events);
  return summary.result();
}
