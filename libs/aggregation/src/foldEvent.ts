import type { EventTimeWatermark } from './EventTimeWatermark';
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
 * The payload fields aggregation reads, per topic: what a reader of the topics must check before
 * `foldEvent` (metric_name, value, group_by, and each topic's top-K dimension fields).
 */
export const AGGREGATED_FIELDS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  Object.entries(TOPK_DIMENSIONS).map(([topic, dims]) => [topic, [...new Set([...dims.map(([, field]) => field), ...(topic === 'events.metrics' ? ['value'] : [])])]]),
);

/** TOPK_DIMENSIONS as flat arrays, looked up once per event (no iterator or tuple per event). */
const DIMENSION_NAMES = new Map(Object.entries(TOPK_DIMENSIONS).map(([topic, dims]) => [topic, dims.map(([dimension]) => dimension)]));
const DIMENSION_FIELDS = new Map(Object.entries(TOPK_DIMENSIONS).map(([topic, dims]) => [topic, dims.map(([, field]) => field)]));

/**
 * Folds one event of `topic` (its payload checked for AGGREGATED_FIELDS, event time `eventTimeMs`)
 * into an aggregator: per-topic count and rate, the topic's top-K dimensions, and — for
 * events.metrics — the (metric, group) series. The event is first judged by the partition's
 * `watermark` against the wall clock `wallMs`: one stamped more than the allowed skew ahead is
 * 'future' — counted (`recordFutureEvent`: the aggregator's `futureEvents` and, for a metric, its
 * `future_events`) and folded into nothing, and the watermark does not move. Otherwise the watermark
 * advances to the event and is the clock for late detection, so replaying a partition gives the same
 * state. Returns the metric's outcome, 'future', or undefined for other topics. Allocates nothing of
 * its own per event. `principal`: who sent it (see `StreamingAggregator.recordMetric`), given to the
 * series a metric event creates.
 */
export function foldEvent(agg: StreamingAggregator, topic: string, payload: Readonly<Record<string, unknown>>, eventTimeMs: number, watermark: EventTimeWatermark, wallMs: number, principal?: string): RecordOutcome | undefined {
  const isMetric = topic === 'events.metrics';
  if (watermark.observe(eventTimeMs, wallMs) === 'future') return agg.recordFutureEvent(isMetric ? String(payload['metric_name']) : undefined, watermark.ms, principal);
  const nowMs = watermark.ms;
  agg.recordEvent(topic, eventTimeMs, nowMs);
  const fields = DIMENSION_FIELDS.get(topic);
  if (fields !== undefined) {
    const names = DIMENSION_NAMES.get(topic)!;
    for (let i = 0; i < fields.length; i++) {
      const item = payload[fields[i]!];
      if (typeof item === 'string' && item !== '') agg.recordDimension(names[i]!, item, eventTimeMs, nowMs);
    }
  }
  if (isMetric) {
    const group = payload['group_by'];
    return agg.recordMetric(String(payload['metric_name']), typeof group === 'string' ? group : undefined, payload['value'] as number, eventTimeMs, nowMs, principal);
  }
  return undefined;
}
