import { BATCH_LIMITS, DEFAULT_WINDOW_MINUTES } from '@pipeline/contracts';
import { BATCH_OPERATIONS, type BatchJobOptions, type BatchOperation } from './BatchJobOptions';
import { BatchInputError, describeValue } from './errors';
import { fieldName, minutesToMs, nonNegativeNumber, positiveNumber } from './optionCheckers';

/**
 * Validates a REST request for a batch job and returns typed options. Field names are the REST
 * snake_case ones and every error names the field:
 *
 *   operation       one of process_batch | time_window_metrics | join | detect_anomalies
 *   value_key       field holding the value; default "value"        (process_batch, time_window_metrics, detect_anomalies)
 *   window_minutes  > 0, whole ms when × 60000; default 60            (time_window_metrics)
 *   slide_minutes   optional, > 0 and ≤ window_minutes (Spark rule), and ≥ window_minutes / 1000
 *                   (an event falls in at most 1000 windows)          (time_window_metrics)
 *   group_key       optional field to group by                        (time_window_metrics, detect_anomalies)
 *   join_key | key  required join field (if both are given they must agree)   (join)
 *   join_type       "inner" (default) | "left"                        (join)
 *   within_seconds  optional, ≥ 0, inclusive event-time bound         (join)
 *   threshold_std   required, > 0                                     (detect_anomalies)
 *
 * `null` counts as absent. Other keys of `body` (e.g. the events) are ignored: a REST body is first
 * checked against its published schema by `readBatchRequest`, which refuses unknown fields.
 * Example error: `window_minutes must be a positive finite number, got 0`.
 */
export function parseBatchOptions(operation: unknown, body: Record<string, unknown>): BatchJobOptions {
  if (typeof operation !== 'string' || !(BATCH_OPERATIONS as readonly string[]).includes(operation)) {
    throw new BatchInputError('operation', `must be one of ${BATCH_OPERATIONS.join(', ')}, got ${describeValue(operation)}`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BatchInputError('body', `must be an object, got ${describeValue(body)}`);
  const get = (name: string): unknown => (body[name] === null ? undefined : body[name]);
  const valueKey = () => fieldName(get('value_key') ?? 'value', 'value_key');
  const groupKey = () => (get('group_key') === undefined ? {} : { groupKey: fieldName(get('group_key'), 'group_key') });

  switch (operation as BatchOperation) {
    case 'process_batch':
      return { operation: 'process_batch', valueKey: valueKey() };
    case 'time_window_metrics': {
      const windowMinutes = positiveNumber(get('window_minutes') ?? DEFAULT_WINDOW_MINUTES, 'window_minutes');
      minutesToMs(windowMinutes, 'window_minutes');
      const slide = get('slide_minutes');
      let slideMinutes: number | undefined;
      if (slide !== undefined) {
        slideMinutes = positiveNumber(slide, 'slide_minutes');
        minutesToMs(slideMinutes, 'slide_minutes');
        if (slideMinutes > windowMinutes) throw new BatchInputError('slide_minutes', `must be less than or equal to window_minutes (${windowMinutes}), got ${slideMinutes}`);
        const minSlide = windowMinutes / BATCH_LIMITS.maxWindowsPerEvent;
        if (slideMinutes < minSlide) {
          throw new BatchInputError('slide_minutes', `must be at least window_minutes / ${BATCH_LIMITS.maxWindowsPerEvent} (${minSlide}: an event falls in at most ${BATCH_LIMITS.maxWindowsPerEvent} windows), got ${slideMinutes}`);
        }
      }
      return { operation: 'time_window_metrics', windowMinutes, ...(slideMinutes === undefined ? {} : { slideMinutes }), valueKey: valueKey(), ...groupKey() };
    }
    case 'join': {
      const joinKey = get('join_key');
      const key = get('key');
      if (joinKey !== undefined && key !== undefined && joinKey !== key) {
        throw new BatchInputError('join_key', `and key must agree when both are given, got ${describeValue(joinKey)} and ${describeValue(key)}`);
      }
      const field = fieldName(joinKey ?? key, joinKey === undefined && key !== undefined ? 'key' : 'join_key');
      const type = get('join_type') ?? 'inner';
      if (type !== 'inner' && type !== 'left') throw new BatchInputError('join_type', `must be "inner" or "left", got ${describeValue(type)}`);
      const within = get('within_seconds');
      return { operation: 'join', key: field, type, ...(within === undefined ? {} : { withinSeconds: nonNegativeNumber(within, 'within_seconds') }) };
    }
    case 'detect_anomalies':
      return { operation: 'detect_anomalies', valueKey: valueKey(), thresholdStd: positiveNumber(get('threshold_std'), 'threshold_std'), ...groupKey() };
  }
}
