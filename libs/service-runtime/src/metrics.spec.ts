import { Counter } from 'prom-client';
import { InMemoryBus } from '@pipeline/kafka';
import { httpRequest } from '@pipeline/testing';
import { readBaseConfig } from './config';
import { ServiceMetrics, startCountersAtZero } from './metrics';
import { startService } from './serviceHost';

describe('ServiceMetrics', () => {
  it('exports no gauge or histogram under a counter’s _total suffix (prom-client’s nodejs_active_*_total)', async () => {
    const metrics = new ServiceMetrics('svc');
    const json = await metrics.registry.getMetricsAsJSON();
    const misnamed = json.filter((m) => m.name.endsWith('_total') !== (String(m.type) === 'counter')).map((m) => `${m.name} (${String(m.type)})`);
    expect(misnamed).toEqual([]);
    expect(json.map((m) => m.name)).toEqual(expect.arrayContaining(['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources', 'process_cpu_seconds_total']));
  });

  it('starts the per-topic counters of expected topics at 0', async () => {
    const metrics = new ServiceMetrics('svc');
    metrics.expectTopics({ published: ['a'], consumed: ['b'] });
    const text = await metrics.registry.metrics();
    expect(text).toContain('pipeline_messages_published_total{topic="a",service="svc"} 0\n');
    expect(text).toContain('pipeline_publish_errors_total{topic="a",service="svc"} 0\n');
    expect(text).toContain('pipeline_events_consumed_total{topic="b",service="svc"} 0\n');
  });
});

describe('pipeline_kafka_broker_up', () => {
  it('is not exported by a service on the in-process bus (embedded mode), which /readyz reports ready', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 1 });
    const config = readBaseConfig({ HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' }, 'svc', 0, { requireBrokers: false });
    const service = await startService(() => ({}), config, bus);
    try {
      const url = `http://127.0.0.1:${service.port}`;
      expect((await httpRequest(`${url}/readyz`)).json).toEqual({ status: 'ready', checks: { bus: 'ok' } });
      const text = (await httpRequest(`${url}/metrics`)).text;
      expect(text).toContain('pipeline_http_request_duration_seconds');
      expect(text).not.toContain('pipeline_kafka_broker_up');
    } finally {
      await service.stop();
      await bus.close();
    }
  });

  it('is exported once a Kafka bus reports to the metrics: 0 until a request succeeds, then what the last request said', async () => {
    const metrics = new ServiceMetrics('svc');
    const observer = metrics.busObserver();
    metrics.busObserver(); // a second bus on the same metrics registers nothing twice
    expect(await metrics.registry.getSingleMetricAsString('pipeline_kafka_broker_up')).toContain('pipeline_kafka_broker_up{service="svc"} 0');
    observer.brokerUp!(true);
    expect(await metrics.registry.getSingleMetricAsString('pipeline_kafka_broker_up')).toContain('pipeline_kafka_broker_up{service="svc"} 1');
    observer.brokerUp!(false);
    expect(await metrics.registry.getSingleMetricAsString('pipeline_kafka_broker_up')).toContain('pipeline_kafka_broker_up{service="svc"} 0');
  });
});

describe('startCountersAtZero', () => {
  it('creates every combination of the label values at 0 and leaves counted series alone', async () => {
    const metrics = new ServiceMetrics('svc');
    const c = new Counter({ name: 'x_total', help: 'x', labelNames: ['topic', 'reason'], registers: [metrics.registry] });
    c.inc({ topic: 't1', reason: 'r1' }, 3);
    startCountersAtZero(c, { topic: ['t1', 't2'], reason: ['r1', 'r2'] });
    const values = (await c.get()).values.map((v) => [v.labels['topic'], v.labels['reason'], v.value]);
    expect(values.sort()).toEqual([
      ['t1', 'r1', 3],
      ['t1', 'r2', 0],
      ['t2', 'r1', 0],
      ['t2', 'r2', 0],
    ]);
  });
});
