import type { EventEnvelope } from '@pipeline/contracts';
import type { RecordOutcome, StreamingAggregator } from './StreamingAggregator';

/**
 * Top-K dimensions fed from each topic (GET /pipeline/topk/{dimension}):
 *   error_type, error_service, error_endpoint  ← events.errors
 *   action                                     ← events.analytics and events.user
 *   metric_name, group_by                      ← events.metrics
 *   device_id                                  ← events.devices
 *   reality_change                             ← events.reality
 */
export const TOPK_DIMENSIONS: Readonly<Record<string, ReadonlyArray<[dimension: string, field: string]>>> = {
  'events.errors': [
    ['error_type', 'error_type'],
    ['error_service', 'service'],
    ['error_endpoint', 'endpoint'],
  ],
  'events.analytics': [['action', 'action']],
  'events.user': [['action', 'action']],
  'events.metrics': [
    ['metric_name', 'metric_name'],
    ['group_by', 'group_by'],
  ],
  'events.devices': [['device_id', 'device_id']],
  'events.reality': [['reality_change', 'change']],
};

/**
 * Folds one validated event into an aggregator: per-topic count and rate, the topic's top-K
 * dimensions, and — for events.metrics — the (metric, group) series. `nowMs` is the caller's
 * clock for late detection (the aggregator service passes its partition's event-time watermark,
 * so replaying a partition gives the same state).
 */
export function foldEvent(agg: StreamingAggregator, event: EventEnvelope, eventTimeMs: number, nowMs: number): RecordOutcome | undefined {
  agg.recordEvent(event.topic, eventTimeMs, nowMs);
  const payload = event.payload;
  for (const [dimension, field] of TOPK_DIMENSIONS[event.topic] ?? []) {
    const item = payload[field];
    if (typeof item === 'string' && item !== '') agg.recordDimension(dimension, item);
  }
  if (event.topic === 'events.metrics') {
    const group = payload['group_by'];
    return agg.recordMetric(String(payload['metric_name']), typeof group === 'string' ? group : undefined, payload['value'] as number, eventTimeMs, nowMs);
  }
  return undefined;
}
