import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import type { BusObserver } from '@pipeline/kafka';

/**
 * The Prometheus metrics every service exports (names follow Prometheus conventions: `pipeline_`
 * prefix, base units, `_total` counters only; `promtool check metrics` passes). Service-specific
 * metrics are registered on `registry` by the service itself.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly eventsConsumed: Counter<'topic'>;
  readonly messagesPublished: Counter<'topic'>;
  readonly publishErrors: Counter<'topic'>;
  readonly consumerLag: Gauge<'group' | 'topic' | 'partition'>;
  readonly handlerDuration: Histogram<'topic'>;
  readonly brokerUp: Gauge;
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry });
    // prom-client's defaults include nodejs_active_{handles,requests,resources}_total: gauges (the
    // sums of nodejs_active_handles{type} etc.) with a counter's suffix, which promtool refuses and
    // rate() would misread. The per-type gauges stay; sum() over them gives the same number.
    for (const m of this.registry.getMetricsAsArray()) {
      if (!(m instanceof Counter) && m.name.endsWith('_total')) this.registry.removeSingleMetric(m.name);
    }
    const r = [this.registry];
    this.eventsConsumed = new Counter({ name: 'pipeline_events_consumed_total', help: 'Messages handled by this service, per topic', labelNames: ['topic'], registers: r });
    this.messagesPublished = new Counter({ name: 'pipeline_messages_published_total', help: 'Messages acknowledged by Kafka, per topic', labelNames: ['topic'], registers: r });
    this.publishErrors = new Counter({ name: 'pipeline_publish_errors_total', help: 'Messages that could not be published, per topic', labelNames: ['topic'], registers: r });
    this.consumerLag = new Gauge({ name: 'pipeline_consumer_lag_messages', help: 'Messages behind the high watermark at the last batch, per partition', labelNames: ['group', 'topic', 'partition'], registers: r });
    this.handlerDuration = new Histogram({
      name: 'pipeline_handler_duration_seconds',
      help: 'Time to handle one consumed batch',
      labelNames: ['topic'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: r,
    });
    // Registered by busObserver(), i.e. only where a Kafka client reports to these metrics: the embedded
    // mode's in-process bus has no broker, and a 0 there would fire KafkaBrokerDown while /readyz is ready.
    this.brokerUp = new Gauge({ name: 'pipeline_kafka_broker_up', help: '1 when the last Kafka request succeeded, 0 when it failed (only with a Kafka bus)', registers: [] });
    this.httpDuration = new Histogram({
      name: 'pipeline_http_request_duration_seconds',
      help: 'HTTP request latency',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
  }

  /**
   * Starts the per-topic counters of the topics this service publishes to and consumes at 0, so
   * each series exists before its first event: `increase()` and `rate()` need a sample before the
   * first increment, or the first publish error is never seen.
   */
  expectTopics(topics: { published?: readonly string[]; consumed?: readonly string[] }): void {
    for (const topic of topics.published ?? []) {
      this.messagesPublished.inc({ topic }, 0);
      this.publishErrors.inc({ topic }, 0);
    }
    for (const topic of topics.consumed ?? []) this.eventsConsumed.inc({ topic }, 0);
  }

  /** Connects a Kafka bus's hooks to these metrics (and exports pipeline_kafka_broker_up from then on). */
  busObserver(): BusObserver {
    if (!this.registry.getSingleMetric('pipeline_kafka_broker_up')) this.registry.registerMetric(this.brokerUp);
    return {
      published: (topic, n) => this.messagesPublished.inc({ topic }, n),
      publishFailed: (topic, n) => this.publishErrors.inc({ topic }, n),
      consumed: (_g, topic, n) => this.eventsConsumed.inc({ topic }, n),
      handled: (_g, topic, s) => this.handlerDuration.observe({ topic }, s),
      lag: (group, topic, partition, lag) => this.consumerLag.set({ group, topic, partition: String(partition) }, lag),
      brokerUp: (up) => this.brokerUp.set(up ? 1 : 0),
    };
  }
}

/**
 * Starts `counter` at 0 for every combination of the given label values (`{topic: [a, b], reason:
 * [x]}` → {a,x} and {b,x}), so a labelled counter's known series exist before their first
 * increment and `increase()` counts that first one.
 */
export function startCountersAtZero<L extends string>(counter: Counter<L>, values: { [K in L]: readonly string[] }): void {
  let combos: Array<Partial<LabelValues<L>>> = [{}];
  for (const label of Object.keys(values) as L[]) {
    combos = combos.flatMap((c) => values[label].map((v) => ({ ...c, [label]: v })));
  }
  for (const labels of combos) counter.inc(labels as LabelValues<L>, 0);
}
