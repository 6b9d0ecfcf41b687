import {
  normalizeEvent,
  type AnalyticsPayload,
  type DevicePayload,
  type ErrorPayload,
  type EventEnvelope,
  type EventTopic,
  type MetricPayload,
  type RealityPayload,
  type UserPayload,
} from '@pipeline/contracts';
import type { EventBus, OutgoingMessage } from './EventBus';

type Extra = { timestamp?: string | number; source?: string; key?: string; id?: string; type?: string };

/**
 * The typed producer other Node services import (the report's `publish_analytics(...)`,
 * `publish_metric(...)`). Every event is validated against its topic's schema before it is
 * published; a ContractError names the bad field.
 *
 *   const client = new PipelineClient(bus, { source: 'checkout-api' });
 *   await client.publishMetric({ metric_name: 'latency_ms', value: 150.5, group_by: 'api' });
 */
export class PipelineClient {
  constructor(
    private readonly bus: EventBus,
    private readonly opts: { source: string; now?: () => number },
  ) {}

  /** Validates, fills id/timestamp/key and publishes; resolves with the envelope once stored. */
  async publish(topic: EventTopic, payload: object, extra: Extra = {}): Promise<EventEnvelope> {
    const event = normalizeEvent({ ...extra, topic, payload }, { nowMs: (this.opts.now ?? Date.now)(), defaultSource: this.opts.source });
    await this.bus.publish(toOutgoing(event));
    return event;
  }

  publishMetric(payload: MetricPayload, extra?: Extra) {
    return this.publish('events.metrics', payload, extra);
  }
  publishAnalytics(payload: AnalyticsPayload, extra?: Extra) {
    return this.publish('events.analytics', payload, extra);
  }
  publishDevice(payload: DevicePayload, extra?: Extra) {
    return this.publish('events.devices', payload, extra);
  }
  publishReality(payload: RealityPayload, extra?: Extra) {
    return this.publish('events.reality', payload, extra);
  }
  publishError(payload: ErrorPayload, extra?: Extra) {
    return this.publish('events.errors', payload, extra);
  }
  publishUser(payload: UserPayload, extra?: Extra) {
    return this.publish('events.user', payload, extra);
  }
}

/**
 * The Kafka record for an envelope: keyed by `event.key`, record timestamp = event time. `json` is
 * the envelope already serialized (ingest keeps the bytes it validated), else it is stringified here.
 */
export function toOutgoing(event: EventEnvelope, extra: { json?: string; headers?: Record<string, string> } = {}): OutgoingMessage {
  return { topic: event.topic, key: event.key, value: extra.json ?? JSON.stringify(event), timestampMs: Date.parse(event.timestamp), ...(extra.headers && { headers: extra.headers }) };
}
