import { Counter } from 'prom-client';
import { ServiceMetrics, startCountersAtZero } from './metrics';

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
