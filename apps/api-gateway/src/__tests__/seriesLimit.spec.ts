// The aggregator's series cap seen from the gateway (issue 21): made-up metric names fill
// AGG_MAX_SERIES, and afterwards a new series is answered 429 instead of 202-and-silently-refused.
// Gateway and aggregator on the in-memory bus, each on a loopback port.
import { InMemoryBus, partitionForKey, pipelineTopicSpecs, type OutgoingMessage } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest, metricValue, waitFor } from '@pipeline/testing';
import { createAggregator, readAggregatorConfig } from '../../../aggregator/src/index';
import { createGateway, readGatewayConfig } from '../index';

describe('POST /pipeline/aggregate past the aggregator\'s series cap (gateway and aggregator on the in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  const services: RunningService[] = [];
  let gw: string;
  let agg: string;
  /** Metric events the gateway published, by metric name. */
  const published: string[] = [];
  const post = (body: unknown) => httpRequest(`${gw}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const refusedByAggregator = async () => metricValue((await httpRequest(`${agg}/metrics`)).text, 'pipeline_aggregator_refused_events_total');
  let live: string[] = [];

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const base = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' };
    const local = { requireBrokers: false };
    // 6 series shared by 3 partitions of events.metrics: 2 each.
    const aggregator = await startService(createAggregator, readAggregatorConfig({ ...base, AGG_MAX_SERIES: '6', AGG_SNAPSHOT_INTERVAL_MS: '50' }, local), bus);
    const gateway = await startService(createGateway, readGatewayConfig({ ...base, INGEST_URL: 'http://127.0.0.1:9' }, local), bus);
    services.push(gateway, aggregator);
    gw = `http://127.0.0.1:${gateway.port}`;
    agg = `http://127.0.0.1:${aggregator.port}`;
    const publishBatch = bus.publishBatch.bind(bus);
    jest.spyOn(bus, 'publishBatch').mockImplementation((msgs: readonly OutgoingMessage[]) => {
      for (const m of msgs) if (m.topic === 'events.metrics') published.push((JSON.parse(String(m.value)) as { payload: { metric_name: string } }).payload.metric_name);
      return publishBatch(msgs);
    });

    // An anonymous producer fills the cap with made-up names; the aggregator takes 2 per partition and refuses the rest.
    const junk = Array.from({ length: 30 }, (_, i) => ({ metric_name: `junk_${i}`, value: i }));
    expect((await post({ metrics: junk })).status).toBe(202);
    live = (await waitFor(async () => {
      const names = Object.keys((await httpRequest(`${gw}/pipeline/all-stats`)).json as object);
      return names.length === 6 ? names : undefined;
    }, { timeoutMs: 10_000, what: 'the 6 series the aggregator took, in the gateway\'s view' }))!;
    expect(await refusedByAggregator()).toBe(24);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    for (const s of services) await s.stop();
    await bus.close();
  });

  it('answers 429 series_limit naming a new metric and the cap, and publishes nothing of the request', async () => {
    const before = published.length;
    const partition = partitionForKey('checkout_latency_ms', 3);
    const r = await post({ metric_name: 'checkout_latency_ms', value: 12 });
    expect([r.status, r.json]).toEqual([429, {
      error: {
        code: 'series_limit',
        message: `metric_name "checkout_latency_ms" would be a new series, and partition ${partition} of events.metrics it maps to holds 2 live series of its cap of 2 (AGG_MAX_SERIES shared by the partitions); series already live are still accepted, new ones once idle series expire. Nothing of this request was published`,
        details: { index: 0, metric_name: 'checkout_latency_ms', partition, cap: 2, live_series: 2 },
      },
    }]);
    expect(published.length).toBe(before);
  });

  it('refuses a whole batch for its one new series (a new group of a live metric), naming its place, and publishes none of it', async () => {
    const before = published.length;
    const known = live[0]!;
    const partition = partitionForKey(`${known}|eu-west`, 3);
    const r = await post({ metrics: [{ metric_name: known, value: 1 }, { metric_name: known, group_by: 'eu-west', value: 2 }] });
    expect([r.status, r.json.error.code, r.json.error.details]).toEqual([429, 'series_limit', { index: 1, metric_name: known, group_by: 'eu-west', partition, cap: 2, live_series: 2 }]);
    expect(r.json.error.message).toBe(`metrics[1]: metric_name "${known}" with group_by "eu-west" would be a new series, and partition ${partition} of events.metrics it maps to holds 2 live series of its cap of 2 (AGG_MAX_SERIES shared by the partitions); series already live are still accepted, new ones once idle series expire. Nothing of this request was published`);
    expect(published.length).toBe(before);
  });

  it('accepts every live series, however full its partition, and the aggregator folds them in', async () => {
    const refused = await refusedByAggregator();
    const before = published.length;
    const r = await post({ metrics: live.map((metric_name) => ({ metric_name, value: 100 })) });
    expect([r.status, r.json.accepted, published.slice(before)]).toEqual([202, 6, live]);
    await waitFor(async () => {
      const all = (await httpRequest(`${gw}/pipeline/all-stats`)).json as Record<string, { count: number }>;
      return live.every((name) => all[name]?.count === 2) ? true : undefined;
    }, { timeoutMs: 10_000, what: 'the second value of every live series' });
    expect(await refusedByAggregator()).toBe(refused);
  });
});
