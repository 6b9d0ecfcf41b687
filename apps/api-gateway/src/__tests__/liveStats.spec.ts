// Live statistics end to end on the in-memory bus: ingest, aggregator and gateway in this process,
// each on a loopback port, talking over the bus exactly as they do over Kafka (issue 17).
import { compileValidator, EVENT_TOPICS } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { httpRequest, metricValue, waitFor } from '@pipeline/testing';
import { createAggregator, readAggregatorConfig } from '../../../aggregator/src/index';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createGateway, readGatewayConfig } from '../index';
import { AllStatsResponseSchema, MetricStatsResponseSchema, RatesResponseSchema, TopKResponseSchema } from '../routes/statsSchemas';

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

  describe('the reliability every answer carries', () => {
    /** Input partitions (of `topics`) that hold at least one message: those whose aggregator must have reported. */
    const partitionsWithData = async (topics: readonly string[]) => {
      let n = 0;
      for (const topic of topics) for (const end of (await bus.highWatermarks(topic)).values()) if (end > 0n) n++;
      return n;
    };
    const published = (schema: Parameters<typeof compileValidator>[0], answer: unknown) => compileValidator(schema).Check(answer);

    it('states the percentile bound, the window, watermark, snapshot age, partitions reported of the topic\'s 3, and late and future events (all, and arrived in the window)', async () => {
      const before = Date.now();
      // 12 metrics posted through the gateway, spread over the three partitions of events.metrics.
      const names = Array.from({ length: 12 }, (_, i) => `rel_${i + 1}`);
      expect((await post(`${gw}/pipeline/aggregate`, { metrics: names.flatMap((metric_name) => [1, 2].map((value) => ({ metric_name, value, group_by: 'api' }))) })).status).toBe(202);
      expect(await partitionsWithData(['events.metrics'])).toBe(3);
      // rel_0 straight to the topic, all on one partition (by key; no edge to refuse them): two values
      // now, then one an hour old (late: that partition's watermark is now) and one a day ahead (future).
      const now = Date.now();
      const rel0 = (value: number, timestamp: number) =>
        bus.publish({ topic: 'events.metrics', key: 'rel_0', value: JSON.stringify({ payload: { metric_name: 'rel_0', value, group_by: 'api' }, timestamp }), timestampMs: timestamp });
      for (const [value, at] of [[1, now], [2, now], [9, now - 3_600_000], [9, now + DAY]] as const) await rel0(value, at);
      const s = await statsWhen('rel_0', (x) => x.future_events === 1 && x.completeness.partitions_reported === 3);
      expect(published(MetricStatsResponseSchema, s)).toBe(true);
      const c = s.completeness;
      expect([s.stats.count, s.accuracy, s.late_events, c.late_events, c.future_events, c.partitions_reported, c.partitions_total]).toEqual([2, { percentile_relative_error: 0.01 }, 1, 1, 1, 3, 3]);
      expect([c.late_events_in_window, c.future_events_in_window]).toEqual([1, 1]); // both arrived just now
      // The 300 s window of whole seconds that ends with the request's second.
      const second = Math.floor(Date.parse(s.timestamp) / 1000);
      expect([c.window_start, c.window_end]).toEqual([new Date((second - 299) * 1000).toISOString(), new Date((second + 1) * 1000).toISOString()]);
      // The watermark is an event time of this test (the gateway stamps events with its clock; the future one never moves it),
      // and the snapshot behind the answer holds this test's events, so it was produced after they were posted.
      expect(Date.parse(c.watermark) >= before && Date.parse(c.watermark) <= Date.parse(s.timestamp)).toBe(true);
      expect(c.snapshot_age_ms >= 0 && c.snapshot_age_ms <= Date.parse(s.timestamp) - before).toBe(true);
      // ?group= answers from the same partitions: the same completeness at the same second.
      const g = (await get('/pipeline/stats/rel_0?group=api'));
      expect([g.stats.count, g.accuracy, g.completeness.partitions_reported, g.completeness.future_events]).toEqual([2, { percentile_relative_error: 0.01 }, 3, 1]);

      const all = (await httpRequest(`${gw}/pipeline/all-stats?prefix=rel_`)).json;
      expect(published(AllStatsResponseSchema, all)).toBe(true);
      expect(Object.keys(all)).toEqual(['rel_0', ...names].sort());
      expect([all.rel_0.count, all.rel_0.accuracy, all.rel_0.completeness.late_events, all.rel_0.completeness.future_events, all.rel_0.completeness.partitions_total]).toEqual([2, { percentile_relative_error: 0.01 }, 1, 1, 3]);
      expect([all.rel_0.completeness.late_events_in_window, all.rel_0.completeness.future_events_in_window]).toEqual([1, 1]);
    });

    it('states top-K\'s largest over-count and rates\' window, over every reported partition of the six event topics', async () => {
      const reported = await partitionsWithData(EVENT_TOPICS);
      const top = await waitFor(async () => {
        const r = (await httpRequest(`${gw}/pipeline/topk/metric_name?k=3`)).json;
        return r.completeness?.partitions_reported === reported ? r : undefined;
      }, { timeoutMs: 10_000, what: 'top-K from every partition with data' });
      expect(published(TopKResponseSchema, top)).toBe(true);
      // Fewer distinct metric names in this file than the summaries' 100 items: every count is exact.
      expect([top.accuracy, top.completeness.partitions_total]).toEqual([{ max_overcount: 0 }, EVENT_TOPICS.length * 3]);
      const second = Math.floor(Date.now() / 1000);
      const rates = (await httpRequest(`${gw}/pipeline/rates`)).json;
      expect(published(RatesResponseSchema, rates)).toBe(true);
      const span = Date.parse(rates.completeness.window_end) - Date.parse(rates.completeness.window_start);
      expect([span, rates.completeness.partitions_reported, rates.completeness.partitions_total]).toEqual([60_000, reported, EVENT_TOPICS.length * 3]);
      expect(Date.parse(rates.completeness.window_end) >= (second + 1) * 1000).toBe(true);
    });
  });
});
