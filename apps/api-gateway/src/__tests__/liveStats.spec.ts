// Live statistics end to end on the in-memory bus: ingest, aggregator and gateway in this process,
// each on a loopback port, talking over the bus exactly as they do over Kafka (issue 17).
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest, metricValue, waitFor } from '@pipeline/testing';
import { createAggregator, readAggregatorConfig } from '../../../aggregator/src/index';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createGateway, readGatewayConfig } from '../index';

const DAY = 86_400_000;

describe('live statistics end to end (gateway, ingest and aggregator on the in-memory bus)', () => {
  const bus = new InMemoryBus({ defaultPartitions: 3 });
  const services: RunningService[] = [];
  let gw: string;
  let ing: string;
  let agg: string;
  const post = (url: string, body: unknown) => httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const get = async (path: string) => (await httpRequest(`${gw}${path}`)).json;
  /** Waits until /pipeline/stats/{name} shows `count`, then returns the answer. */
  const statsWhen = (name: string, ready: (s: any) => boolean) => // eslint-disable-line @typescript-eslint/no-explicit-any
    waitFor(async () => {
      const r = await httpRequest(`${gw}/pipeline/stats/${encodeURIComponent(name)}`);
      return r.status === 200 && ready(r.json) ? r.json : undefined;
    }, { timeoutMs: 10_000, what: `stats of ${name}` });

  beforeAll(async () => {
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const base = { HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent' };
    const local = { requireBrokers: false };
    const ingest = await startService(createIngest, readIngestConfig({ ...base, INGEST_VALIDATOR: 'off' }, local), bus);
    const aggregator = await startService(createAggregator, readAggregatorConfig({ ...base, AGG_SNAPSHOT_INTERVAL_MS: '50' }, local), bus);
    const gateway = await startService(createGateway, readGatewayConfig({ ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}` }, local), bus);
    services.push(gateway, aggregator, ingest);
    gw = `http://127.0.0.1:${gateway.port}`;
    ing = `http://127.0.0.1:${ingest.port}`;
    agg = `http://127.0.0.1:${aggregator.port}`;
  });
  afterAll(async () => {
    for (const s of services) await s.stop();
    await bus.close();
  });

  describe('future-stamped events', () => {
    it('are answered 400 naming the field, the value and the allowed skew wherever the HTTP edge accepts events', async () => {
      const ahead = Date.now() + DAY;
      const single = await post(`${gw}/pipeline/aggregate`, { metric_name: 'skewed', value: 1, timestamp: '9999-12-31T23:59:59Z' });
      expect([single.status, single.json.error.code]).toEqual([400, 'invalid_metric']);
      expect(single.json.error.message).toMatch(/^timestamp must be at most 60 s ahead of the server clock, got "9999-12-31T23:59:59Z" \(\d+(\.\d+)? s ahead\)$/);

      const metrics = [0, 1, 2, 3].map((i) => ({ metric_name: 'skewed', value: i, ...(i === 3 ? { timestamp: ahead } : {}) }));
      const batch = await post(`${gw}/pipeline/aggregate`, { metrics });
      expect([batch.status, batch.json.error.code]).toEqual([400, 'invalid_metric']);
      expect(batch.json.error.message).toMatch(new RegExp(`^metrics\\[3\\]\\.timestamp must be at most 60 s ahead of the server clock, got ${ahead} \\((86399\\.\\d+|86400) s ahead\\)$`));

      const event = { topic: 'events.metrics', timestamp: ahead, payload: { metric_name: 'skewed', value: 1 } };
      for (const url of [`${gw}/pipeline/events`, `${ing}/v1/events`]) {
        const one = await post(url, event);
        expect([url, one.status, one.json.error.code]).toEqual([url, 400, 'invalid_event']);
        expect(one.json.error.message).toMatch(/^timestamp must be at most 60 s ahead of the server clock, got \d+ \(86\d{3}(\.\d+)? s ahead\)$/);
        // In a batch only the future event is refused, by its index (partial failure is data).
        const some = await post(url, [{ ...event, timestamp: undefined }, event]);
        expect([some.status, some.json.accepted, some.json.rejected.map((r: { index: number }) => r.index)]).toEqual([202, 1, [1]]);
      }
      const stats = await statsWhen('skewed', (s) => s.stats.count === 2);
      expect([stats.stats.count, stats.future_events]).toEqual([2, 0]); // nothing future reached the topic
    });

    it('written straight to the topic by a Kafka producer, are counted as future and leave every other series exact', async () => {
      const names = Array.from({ length: 30 }, (_, i) => `fut_m${i}`);
      const values = (round: number) => ({ metrics: names.map((metric_name) => ({ metric_name, value: round })) });
      for (const round of [1, 2, 3]) expect((await post(`${gw}/pipeline/aggregate`, values(round))).status).toBe(202);
      await statsWhen('fut_m29', (s) => s.stats.count === 3);
      // A producer that is not the gateway (kcat, a service with a skewed clock): no edge to refuse it.
      const now = Date.now();
      await bus.publish({ topic: 'events.metrics', key: 'fut_x', value: JSON.stringify({ payload: { metric_name: 'fut_x', value: 1 }, timestamp: now + DAY }), timestampMs: now + DAY });
      await statsWhen('fut_x', (s) => s.future_events === 1);
      expect((await post(`${gw}/pipeline/aggregate`, values(4))).status).toBe(202);
      for (const name of names) {
        const s = await statsWhen(name, (x) => x.stats.count === 4);
        expect([name, s.stats.count, s.stats.sum, s.late_events, s.future_events]).toEqual([name, 4, 10, 0, 0]);
      }
      const x = await get('/pipeline/stats/fut_x');
      expect([x.stats.count, x.total_events, x.late_events, x.future_events]).toEqual([0, 1, 0, 1]);
      const metrics = (await httpRequest(`${agg}/metrics`)).text;
      expect(metricValue(metrics, 'pipeline_aggregator_future_events_total', { topic: 'events.metrics' })).toBe(1);
      expect(metricValue(metrics, 'pipeline_aggregator_late_events_total')).toBe(0);
    });
  });

  describe('names that are JavaScript object internals', () => {
    const NAMES = ['constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf'];

    it('are metrics like any other: answered by /pipeline/stats/{name}, listed in all-stats, rates and top-K', async () => {
      const metrics = NAMES.flatMap((metric_name, i) => [1, 2, 3].map((v) => ({ metric_name, value: v * (i + 1) })));
      expect((await post(`${gw}/pipeline/aggregate`, { metrics })).status).toBe(202);
      for (const [i, name] of NAMES.entries()) {
        const s = await statsWhen(name, (x) => x.stats.count === 3);
        expect([s.metric_name, s.stats.count, s.stats.sum, s.groups, s.total_events]).toEqual([name, 3, 6 * (i + 1), {}, 3]);
      }
      const all = await httpRequest(`${gw}/pipeline/all-stats`);
      const rates = await httpRequest(`${gw}/pipeline/rates`);
      const top = await httpRequest(`${gw}/pipeline/topk/metric_name?k=1000`);
      for (const name of NAMES) {
        // Own keys of the parsed JSON (JSON.parse creates "__proto__" as an own property).
        expect([name, Object.prototype.hasOwnProperty.call(all.json, name), all.json[name]?.count]).toEqual([name, true, 3]);
        expect([name, Object.prototype.hasOwnProperty.call(rates.json.metrics, name), rates.json.metrics[name]]).toEqual([name, true, 3 / 60]);
        expect([name, top.json.items.find((x: { item: string }) => x.item === name)?.count]).toEqual([name, 3]);
      }
      expect(all.text).toContain('"__proto__":{"count":3');
    });

    it('are groups like any other: group_by "__proto__" (and "constructor") is in groups, ?group= and top-K', async () => {
      const metrics = [
        { metric_name: 'proto_groups', value: 1, group_by: '__proto__' },
        { metric_name: 'proto_groups', value: 2, group_by: '__proto__' },
        { metric_name: 'proto_groups', value: 4, group_by: 'constructor' },
        { metric_name: 'proto_groups', value: 8, group_by: 'plain' },
      ];
      expect((await post(`${gw}/pipeline/aggregate`, { metrics })).status).toBe(202);
      const s = await statsWhen('proto_groups', (x) => x.stats.count === 4);
      expect(Object.keys(s.groups).sort()).toEqual(['__proto__', 'constructor', 'plain']);
      expect([s.groups['__proto__'].count, s.groups['__proto__'].sum, s.groups['constructor'].sum, s.groups['plain'].sum]).toEqual([2, 3, 4, 8]);
      const one = await httpRequest(`${gw}/pipeline/stats/proto_groups?group=__proto__`);
      expect([one.status, one.json.stats.count, Object.keys(one.json.groups)]).toEqual([200, 2, ['__proto__']]);
      const missing = await httpRequest(`${gw}/pipeline/stats/proto_groups?group=toString`);
      expect([missing.status, missing.json.error.code]).toEqual([404, 'unknown_group']);
      const top = (await httpRequest(`${gw}/pipeline/topk/group_by?k=1000`)).json;
      expect(top.items.filter((x: { item: string }) => ['__proto__', 'constructor'].includes(x.item)).map((x: { item: string; count: number }) => [x.item, x.count]).sort()).toEqual([
        ['__proto__', 2],
        ['constructor', 1],
      ]);
      expect(top.window_seconds).toBe(300);
    });

    it('are unknown metrics and dimensions like any other when nothing was recorded under them', async () => {
      for (const name of ['propertyIsEnumerable', 'toLocaleString']) {
        const r = await httpRequest(`${gw}/pipeline/stats/${name}`);
        expect([name, r.status, r.json.error.code]).toEqual([name, 404, 'unknown_metric']);
        const t = await httpRequest(`${gw}/pipeline/topk/${name}`);
        expect([name, t.status, t.json.error.code]).toEqual([name, 404, 'unknown_dimension']);
      }
    });
  });
});
