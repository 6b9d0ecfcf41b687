import { WindowMetricsPartial, type TimeWindowOptions, type WindowMetric } from './WindowMetricsPartial';

/**
 * Per-window value statistics over event time, with Spark `window()` semantics (epoch-aligned windows
 * [start, end), hopping when `slideMinutes` < `windowMinutes`, empty windows omitted). Sorted by start,
 * then group. See `WindowMetricsPartial` for the rules and a worked example.
 *
 *   timeWindowMetrics(events, { windowMinutes: 60, valueKey: 'value' })
 *   // → [{ start: '2024-05-01T12:00:00.000Z', end: '2024-05-01T13:00:00.000Z', count, sum, mean, min, max, stddev }, …]
 */
export function timeWindowMetrics(events: readonly unknown[], options: TimeWindowOptions): WindowMetric[] {
  const partial = WindowMetricsPartial.create(options);
  partial.record(events);
  return partial.result();
}
