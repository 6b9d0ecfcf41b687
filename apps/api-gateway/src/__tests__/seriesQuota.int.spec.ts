// Issue 21 on a real broker: POST /pipeline/events answers 429 series_limit for a new series on an
// events.metrics partition at the aggregator's cap, and 429 series_quota for an API key's new series
// past its quota, publishing nothing of the request; other keys and live series go through. Gateway
// and ingest in this process on one Kafka bus, the aggregator a process of its own (as in
// aggregator.int.spec.ts) in a group of its own.
import { createHash, randomUUID } from 'node:crypto';
import { partitionForKey, pipelineTopicSpecs, type EventBus, type IncomingMessage } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createTestBus, httpRequest, kafkaBrokers, spawnApp, waitFor, type AppProcess } from '@pipeline/testing';
import { createIngest, readIngestConfig } from '../../../ingest/src/index';
import { createGateway, readGatewayConfig } from '../index';

jest.setTimeout(180_000);

const run = randomUUID().slice(0, 8);
const [KEY_A, KEY_B, KEY_FILL] = [`a-${run}`, `b-${run}`, `fill-${run}`];
const principalOf = (key: string) => `key:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
/** AGG_MAX_SERIES 1500 over events.metrics' partitions: a partition's cap (500 on 3 partitions). */
const MAX_SERIES = 1500;

describe('series cap and per-key series quotas on POST /pipeline/events (real broker)', () => {
  let bus: EventBus;
  const services: RunningService[] = [];
  let aggregator: AppProcess | undefined;
  let gw: string;
  let partitions: number;
  let cap: number;
  let t0: number;
  /** Unique metric names mapping to partition `p` of events.metrics. */
  const namesOn = (p: number, prefix: string, n: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++) if (partitionForKey(`${prefix}_${run}_${i}`, partitions) === p) out.push(`${prefix}_${run}_${i}`);
    return out;
  };
  const metricEvent = (metric_name: string, value: number, timestamp?: string) => ({ topic: 'events.metrics', payload: { metric_name, value }, ...(timestamp && { timestamp }) });
  const postEvents = (key: string, events: unknown) =>
    httpRequest(`${gw}/pipeline/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: JSON.stringify(events) });
  /** Every events.metrics record since the suite started. */
  const publishedSince = async (fromMs: number) => {
    const out: IncomingMessage[] = [];
    await bus.readRange({ topic: 'events.metrics', fromMs, toMs: Date.now() + 1000, name: `series-quota-check-${run}`, onBatch: (ms) => void out.push(...ms) });
    return out;
  };
  /**
   * Waits until ingest's view of the state topic refuses a new series of `key` with `code`. The probe
   * is stamped an hour back and goes to a partition just sent current events, so were it accepted the
   * aggregator (whose clock there is the partition's event-time watermark) would count it late and
   * create nothing.
   */
  const untilRefused = (key: string, metric: string, code: string) =>
    waitFor(async () => {
      const r = await postEvents(key, [metricEvent(metric, 1, new Date(Date.now() - 3_600_000).toISOString())]);
      return r.status === 429 && r.json.error.code === code ? true : undefined;
    }, { timeoutMs: 60_000, what: `ingest's view to refuse ${metric} (${code})` });

  beforeAll(async () => {
    t0 = Date.now();
    bus = createTestBus({ brokers: kafkaBrokers(), clientId: `series-quota-${run}` });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    partitions = (await bus.partitionsFor('events.metrics')).length;
    cap = Math.ceil(MAX_SERIES / partitions);
    const base = { KAFKA_BROKERS: kafkaBrokers().join(','), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', AGG_GROUP_ID: `quota-${run}` };
    aggregator = await spawnApp('aggregator', { AGG_GROUP_ID: base.AGG_GROUP_ID, AGG_MAX_SERIES: String(MAX_SERIES), AGG_SNAPSHOT_INTERVAL_MS: '200' });
    await aggregator.ready();
    const ingest = await startService(createIngest, readIngestConfig({ ...base, INGEST_VALIDATOR: 'off' }), bus);
    services.push(ingest);
    // A and B: API_KEY_MAX_SERIES 3; the filler: its own :series=0, unlimited.
    const gateway = await startService(
      createGateway,
      readGatewayConfig({ ...base, INGEST_URL: `http://127.0.0.1:${ingest.port}`, API_KEYS: `${KEY_A}:ingest+read,${KEY_B}:ingest,${KEY_FILL}:ingest+read:series=0`, API_KEY_MAX_SERIES: '3' }),
      bus,
    );
    services.push(gateway);
    gw = `http://127.0.0.1:${gateway.port}`;
  });
  afterAll(async () => {
    for (const s of [...services].reverse()) await s.stop();
    await aggregator?.kill('SIGKILL');
    await bus?.close();
  });

  it('answers 429 series_limit for a new series on a partition at the cap, publishes nothing of the request, and takes live series', async () => {
    // Fill partition 0 past its cap with made-up names (the aggregator refuses what passes it). An
    // earlier run within the window may have filled it already: then the filling is refused too.
    const junk = namesOn(0, 'junk', cap + 20);
    for (let i = 0; i < junk.length; i += 500) {
      const fill = await postEvents(KEY_FILL, junk.slice(i, i + 500).map((m) => metricEvent(m, 1)));
      expect([202, 'series_limit']).toContain(fill.status === 202 ? 202 : fill.json.error.code);
    }
    await untilRefused(KEY_FILL, namesOn(0, 'probe', 1)[0]!, 'series_limit');

    const [fresh] = namesOn(0, 'checkout', 1) as [string];
    // A live series on partition 0: this suite's made-up names, of this run or of an earlier one within the window (which may have filled the partition first).
    const live = Object.keys((await httpRequest(`${gw}/pipeline/all-stats?prefix=junk_&limit=1000`, { headers: { 'x-api-key': KEY_FILL } })).json as object);
    const liveJunk = live.find((m) => partitionForKey(m, partitions) === 0)!;
    expect(liveJunk).toMatch(/^junk_/);
    const r = await postEvents(KEY_FILL, [metricEvent(liveJunk, 4242.25), metricEvent(fresh, 12)]);
    expect([r.status, r.json]).toEqual([429, {
      error: {
        code: 'series_limit',
        message: `events[1]: metric_name "${fresh}" would be a new series, and partition 0 of events.metrics it maps to holds ${cap} live series of its cap of ${cap} (AGG_MAX_SERIES shared by the partitions); series already live are still accepted, new ones once idle series expire. Nothing of this request was published`,
        details: { index: 1, metric_name: fresh, partition: 0, cap, live_series: cap },
      },
    }]);
    const ok = await postEvents(KEY_FILL, [metricEvent(liveJunk, 1.5)]);
    expect([ok.status, ok.json.accepted]).toEqual([202, 1]);
    // The accepted event is on the topic (so the refused request would be too, had it been published): it was not.
    const published = (await publishedSince(t0)).map((m) => JSON.parse(m.value.toString()) as { id: string; payload: { metric_name: string; value: number } });
    expect(published.some((e) => e.id === ok.json.ids[0])).toBe(true);
    expect(published.filter((e) => e.payload.metric_name === fresh || (e.payload.metric_name === liveJunk && e.payload.value === 4242.25))).toEqual([]);
  });

  it('answers 429 series_quota for a key\'s new series past its quota, while another key creates series and the key\'s own series are taken', async () => {
    const [a1, a2, a3, a4] = namesOn(1, 'a', 4) as [string, string, string, string];
    const [b1] = namesOn(2, 'b', 1) as [string]; // a4 (partition 1) and b1 (2): B's
    expect((await postEvents(KEY_A, [metricEvent(a1, 1), metricEvent(a2, 2), metricEvent(a3, 3)])).status).toBe(202);
    await untilRefused(KEY_A, namesOn(1, 'probe_a', 1)[0]!, 'series_quota');

    const r = await postEvents(KEY_A, [metricEvent(a1, 10), metricEvent(a4, 4)]);
    expect([r.status, r.json]).toEqual([429, {
      error: {
        code: 'series_quota',
        message: `events[1]: metric_name "${a4}" would be a new series, and ${principalOf(KEY_A)} has 3 live series of its quota of 3 (API_KEY_MAX_SERIES); series it already created are still accepted, new ones once idle ones of its series expire. Nothing of this request was published`,
        details: { index: 1, metric_name: a4, principal: principalOf(KEY_A), quota: 3, live_series: 3 },
      },
    }]);
    // /pipeline/aggregate judges the same way.
    const viaAggregate = await httpRequest(`${gw}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY_A }, body: JSON.stringify({ metric_name: a4, value: 4 }) });
    expect([viaAggregate.status, viaAggregate.json.error.code, viaAggregate.json.error.details]).toEqual([429, 'series_quota', { index: 0, metric_name: a4, principal: principalOf(KEY_A), quota: 3, live_series: 3 }]);

    const b = await postEvents(KEY_B, [metricEvent(b1, 1), metricEvent(a4, 5)]); // B has room: a4 becomes B's
    expect([b.status, b.json.accepted]).toEqual([202, 2]);
    // Once ingest's view holds B's a4 (a probe an hour old goes through: the aggregator would count it late), A may write it.
    await waitFor(async () => ((await postEvents(KEY_A, [metricEvent(a4, 0, new Date(Date.now() - 3_600_000).toISOString())])).status === 202 ? true : undefined), { timeoutMs: 60_000, what: 'ingest\'s view to hold a4' });
    const own = await postEvents(KEY_A, [metricEvent(a1, 11), metricEvent(a2, 12), metricEvent(a3, 13), metricEvent(a4, 14)]); // a4 is live now: anyone may write it
    expect([own.status, own.json.accepted]).toEqual([202, 4]);

    // The records carry their key's principal in the pipeline-principal header; the refused ones never reached the topic.
    const published = await publishedSince(t0);
    const header = (metric: string) => published.filter((m) => (JSON.parse(m.value.toString()) as { payload: { metric_name: string } }).payload.metric_name === metric).map((m) => [(JSON.parse(m.value.toString()) as { payload: { value: number } }).payload.value, m.headers['pipeline-principal']]);
    expect(header(a1)).toEqual([[1, principalOf(KEY_A)], [11, principalOf(KEY_A)]]);
    expect(header(a4)).toEqual([[5, principalOf(KEY_B)], [14, principalOf(KEY_A)]]);
    expect(header(b1)).toEqual([[1, principalOf(KEY_B)]]);
  });
});
