import { randomUUID } from 'node:crypto';
import { pipelineTopicSpecs } from '@pipeline/kafka';
import { startService, type RunningService } from '@pipeline/service-runtime';
import { createTestBus, httpRequest, kafkaBrokers, metricValue, spawnApp, waitFor, type AppProcess } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../../api-gateway/src/index';

jest.setTimeout(180_000);

/** A gateway in this process reading the snapshots of aggregator group `group`. */
async function gatewayFor(group: string) {
  const bus = createTestBus({ brokers: kafkaBrokers(), clientId: `gw-${group}` });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const gw: RunningService = await startService(createGateway, readGatewayConfig({ KAFKA_BROKERS: kafkaBrokers().join(','), HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'silent', AGG_GROUP_ID: group }), bus);
  const url = `http://127.0.0.1:${gw.port}`;
  const metricPartitions = (await bus.partitionsFor('events.metrics')).length;
  return {
    url,
    metricPartitions,
    stats: async (metric: string) => (await httpRequest(`${url}/pipeline/stats/${metric}`)).json,
    async waitForCount(metric: string, count: number, timeoutMs = 60_000) {
      return waitFor(async () => {
        const s = await this.stats(metric);
        return s?.stats?.count === count ? s : undefined;
      }, { timeoutMs, what: `${metric} count ${count}` });
    },
    async stop() {
      await gw.stop();
      await bus.close();
    },
  };
}

async function aggregator(group: string, extra: Record<string, string> = {}): Promise<AppProcess> {
  const p = await spawnApp('aggregator', { AGG_GROUP_ID: group, AGG_SNAPSHOT_INTERVAL_MS: '200', ...extra });
  await p.ready();
  return p;
}

/** Posts metrics through the gateway; values are multiples of 0.25 so every summation order is exact. */
async function post(url: string, metric: string, values: number[], groups = 4) {
  for (let i = 0; i < values.length; i += 500) {
    const metrics = values.slice(i, i + 500).map((value, j) => ({ metric_name: metric, value, group_by: `g${(i + j) % groups}` }));
    const res = await httpRequest(`${url}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metrics }) });
    if (res.status !== 202) throw new Error(`aggregate answered ${res.status}: ${res.text}`);
  }
}

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7919 + seed) % 2003) - 1000) / 4);
const exact = (xs: number[]) => ({ count: xs.length, sum: xs.reduce((a, b) => a + b, 0), min: Math.min(...xs), max: Math.max(...xs) });

describe('aggregator on a real broker', () => {
  const procs: AppProcess[] = [];
  const gateways: Array<{ stop(): Promise<void> }> = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await Promise.all(gateways.map((g) => g.stop()));
  });

  it('serves posted metrics in /pipeline/stats with exact count, sum, min, max and mean, per group too', async () => {
    const group = `agg-${randomUUID().slice(0, 8)}`;
    const metric = `latency_${randomUUID().slice(0, 8)}`;
    // Other tests' metric names share the last window on this broker: with room for all of them in
    // each top-K sub-window summary the counts stay exact (past the capacity they are bounds).
    procs.push(await aggregator(group, { AGG_TOPK_CAPACITY: '1000' }));
    const gw = await gatewayFor(group);
    gateways.push(gw);
    const xs = values(1200, 1);
    await post(gw.url, metric, xs);
    const s = await gw.waitForCount(metric, xs.length);
    const e = exact(xs);
    expect([s.stats.count, s.stats.sum, s.stats.min, s.stats.max, s.stats.mean]).toEqual([e.count, e.sum, e.min, e.max, e.sum / e.count]);
    expect(s.total_events).toBe(1200);
    expect(s.window_seconds).toBe(300);
    // Each answer states its reliability: the sketch's bound, and what the snapshots behind it cover.
    expect([s.accuracy, s.completeness.partitions_total, s.completeness.late_events, s.completeness.future_events]).toEqual([{ percentile_relative_error: 0.01 }, gw.metricPartitions, 0, 0]);
    expect(Date.parse(s.completeness.window_end) - Date.parse(s.completeness.window_start)).toBe(300_000);
    const g1 = xs.filter((_, i) => i % 4 === 1);
    expect([s.groups.g1.count, s.groups.g1.sum, s.groups.g1.min, s.groups.g1.max]).toEqual(Object.values(exact(g1)));
    // p50 within the sketch's 1% relative error of the exact lower median
    const sorted = [...xs].sort((a, b) => a - b);
    const exactP50 = sorted[Math.floor(0.5 * (sorted.length - 1))]!;
    expect(Math.abs(s.stats.p50 - exactP50)).toBeLessThanOrEqual(Math.abs(exactP50) * 0.01 + 1e-9);
    const narrowed = (await httpRequest(`${gw.url}/pipeline/stats/${metric}?group=g1`)).json;
    expect(narrowed.groups).toEqual({ g1: s.groups.g1 });
    const missing = await httpRequest(`${gw.url}/pipeline/stats/no_such_${metric}`);
    expect([missing.status, missing.json.error.code]).toEqual([404, 'unknown_metric']);
    const all = (await httpRequest(`${gw.url}/pipeline/all-stats`)).json;
    expect(all[metric].count).toBe(1200);
    const rates = (await httpRequest(`${gw.url}/pipeline/rates`)).json;
    expect(rates.metrics[metric]).toBeCloseTo(1200 / 60, 6);
    const topk = (await httpRequest(`${gw.url}/pipeline/topk/metric_name?k=1000`)).json;
    expect(topk.items.find((it: { item: string }) => it.item === metric).count).toBe(1200);
  });

  it('three aggregator processes in one group give the same stats as one', async () => {
    const single = `agg1-${randomUUID().slice(0, 8)}`;
    const triple = `agg3-${randomUUID().slice(0, 8)}`;
    const metric = `cpu_${randomUUID().slice(0, 8)}`;
    procs.push(await aggregator(single));
    for (let i = 0; i < 3; i++) procs.push(await aggregator(triple));
    const gw1 = await gatewayFor(single);
    const gw3 = await gatewayFor(triple);
    gateways.push(gw1, gw3);
    const xs = values(3000, 7);
    await post(gw1.url, metric, xs, 12);
    const one = await gw1.waitForCount(metric, xs.length);
    const three = await gw3.waitForCount(metric, xs.length);
    const strip = (s: { stats: object; groups: object }) => JSON.parse(JSON.stringify({ stats: s.stats, groups: s.groups }, (k, v) => (k === 'rate_per_sec' ? undefined : v)));
    expect(strip(three)).toEqual(strip(one));
    expect(one.stats.sum).toBe(exact(xs).sum);
  });

  it('ends with exact counts after an aggregator is killed with SIGKILL mid-stream and restarted (snapshots of many 1 KiB chunks)', async () => {
    const group = `aggk-${randomUUID().slice(0, 8)}`;
    const metric = `kill_${randomUUID().slice(0, 8)}`;
    const chunked = { AGG_SNAPSHOT_CHUNK_BYTES: '1024' }; // every round is several chunks: a kill can land mid-round
    const first = await aggregator(group, chunked);
    procs.push(first);
    const gw = await gatewayFor(group);
    gateways.push(gw);
    const xs = values(6000, 3);
    const posting = (async () => {
      for (let i = 0; i < xs.length; i += 500) {
        await post(gw.url, metric, xs.slice(i, i + 500));
        await new Promise((r) => setTimeout(r, 150));
      }
    })();
    await waitFor(async () => ((await gw.stats(metric))?.stats?.count ?? 0) >= 1500, { timeoutMs: 60_000, what: 'first events aggregated' });
    expect(await first.kill('SIGKILL')).toBe(null); // killed by a signal, no graceful snapshot
    await new Promise((r) => setTimeout(r, 1000));
    const second = await aggregator(group, chunked);
    procs.push(second);
    await posting;
    const s = await gw.waitForCount(metric, xs.length, 120_000);
    const e = exact(xs);
    expect([s.stats.count, s.stats.sum, s.stats.min, s.stats.max, s.total_events]).toEqual([e.count, e.sum, e.min, e.max, e.count]);
    await new Promise((r) => setTimeout(r, 1500)); // and it stays exact: nothing replayed twice afterwards
    expect((await gw.stats(metric)).stats.count).toBe(e.count);
    // More chunk messages than partition snapshots: states really were split into chunks.
    const text = await second.metrics();
    expect(metricValue(text, 'pipeline_aggregator_snapshot_chunks_total')).toBeGreaterThan(metricValue(text, 'pipeline_aggregator_partition_snapshots_total')!);
  });

  it('ends with exact counts when a replica is paused (SIGSTOP) across a rebalance and resumed (SIGCONT) after the other took its partitions', async () => {
    const group = `aggp-${randomUUID().slice(0, 8)}`;
    const tag = randomUUID().slice(0, 8);
    const names = Array.from({ length: 9 }, (_, i) => `pause_${tag}_${i}`); // spread over every partition of events.metrics
    const fast = { KAFKA_SESSION_TIMEOUT_MS: '6000' }; // the paused replica leaves the group 6 s into its pause
    const paused = await aggregator(group, fast);
    const other = await aggregator(group, fast);
    procs.push(paused, other);
    const gw = await gatewayFor(group);
    gateways.push(gw);
    const sent = new Map(names.map((n) => [n, [] as number[]]));
    const postAll = async (batch: number) => {
      for (const name of names) {
        const xs = values(50, batch * 31 + name.length);
        sent.get(name)!.push(...xs);
        await post(gw.url, name, xs);
      }
    };
    await postAll(0);
    for (const name of names) await gw.waitForCount(name, 50);
    await postAll(1); // folded by the replica about to be paused, maybe not yet written
    process.kill(paused.pid, 'SIGSTOP');
    try {
      await postAll(2);
      // The other replica takes every partition once the paused one's session expires, and counts it all.
      for (const name of names) await gw.waitForCount(name, 150, 60_000);
      await postAll(3);
    } finally {
      process.kill(paused.pid, 'SIGCONT'); // it wakes up believing it still owns its partitions
    }
    await postAll(4);
    await new Promise((r) => setTimeout(r, 8000)); // the woken replica rejoins, a rebalance hands partitions back
    await postAll(5);
    for (const name of names) {
      const e = exact(sent.get(name)!);
      const s = await gw.waitForCount(name, e.count, 60_000);
      expect([name, s.stats.count, s.stats.sum, s.stats.min, s.stats.max, s.total_events]).toEqual([name, e.count, e.sum, e.min, e.max, e.count]);
    }
    await new Promise((r) => setTimeout(r, 1500)); // and it stays exact
    for (const name of names) expect([name, (await gw.stats(name)).stats.count]).toEqual([name, 300]);
  });

  it('counts events older than the window as late instead of folding them into a window', async () => {
    const group = `aggl-${randomUUID().slice(0, 8)}`;
    const metric = `late_${randomUUID().slice(0, 8)}`;
    const p = await aggregator(group);
    procs.push(p);
    const gw = await gatewayFor(group);
    gateways.push(gw);
    const send = (value: number, timestamp: number) =>
      httpRequest(`${gw.url}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metric_name: metric, value, group_by: 'same', timestamp }) });
    expect((await send(1, Date.now())).status).toBe(202);
    await gw.waitForCount(metric, 1);
    const before = metricValue(await p.metrics(), 'pipeline_aggregator_late_events_total') ?? 0;
    expect((await send(1000, Date.now() - 20 * 60_000)).status).toBe(202); // 20 min old, window is 5 min
    expect((await send(2, Date.now())).status).toBe(202);
    const s = await gw.waitForCount(metric, 2);
    expect([s.stats.sum, s.stats.max, s.total_events, s.late_events, s.completeness.late_events_in_window]).toEqual([3, 2, 3, 1, 1]);
    await waitFor(async () => (metricValue(await p.metrics(), 'pipeline_aggregator_late_events_total') ?? 0) === before + 1, { what: 'late counter' });
    expect(metricValue(await p.metrics(), 'pipeline_aggregator_metric_events_in_window', { metric, kind: 'late' })).toBe(1);
  });

  it('keeps every series exact when a Kafka producer writes an event stamped a day ahead, and counts it as future', async () => {
    const group = `aggf-${randomUUID().slice(0, 8)}`;
    const tag = randomUUID().slice(0, 8);
    const names = Array.from({ length: 30 }, (_, i) => `fut_${tag}_${i}`);
    const future = `fut_${tag}_x`;
    const p = await aggregator(group);
    procs.push(p);
    const gw = await gatewayFor(group);
    gateways.push(gw);
    const round = (value: number) =>
      httpRequest(`${gw.url}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metrics: names.map((metric_name) => ({ metric_name, value })) }) });
    for (const v of [1, 2, 3]) expect((await round(v)).status).toBe(202);
    for (const name of names) await gw.waitForCount(name, 3);
    // The process has read the topics' last window (other tests' late events too): count from here.
    const counters = async () => {
      const text = await p.metrics();
      return [metricValue(text, 'pipeline_aggregator_future_events_total', { topic: 'events.metrics' }) ?? 0, metricValue(text, 'pipeline_aggregator_late_events_total') ?? 0];
    };
    const [futureBefore, lateBefore] = await counters();
    // The gateway refuses it ...
    const refused = await httpRequest(`${gw.url}/pipeline/aggregate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metric_name: future, value: 1, timestamp: Date.now() + 86_400_000 }) });
    expect([refused.status, refused.json.error.code]).toEqual([400, 'invalid_metric']);
    // ... a producer writing straight to the topic is not asked (record timestamp: now, as kcat sets it).
    const producer = createTestBus({ brokers: kafkaBrokers(), clientId: `future-${tag}` });
    await producer.publish({ topic: 'events.metrics', key: future, value: JSON.stringify({ payload: { metric_name: future, value: 1 }, timestamp: new Date(Date.now() + 86_400_000).toISOString() }) });
    await producer.close();
    await waitFor(async () => (await gw.stats(future))?.future_events === 1, { timeoutMs: 60_000, what: 'future event counted' });
    expect((await round(4)).status).toBe(202);
    for (const name of names) {
      const s = await gw.waitForCount(name, 4);
      expect([name, s.stats.sum, s.late_events, s.future_events]).toEqual([name, 10, 0, 0]);
    }
    const x = await gw.stats(future);
    expect([x.stats.count, x.total_events, x.future_events, x.completeness.future_events_in_window, x.completeness.late_events_in_window]).toEqual([0, 1, 1, 1, 0]);
    expect(await counters()).toEqual([futureBefore! + 1, lateBefore]);
    const text = await p.metrics();
    expect([metricValue(text, 'pipeline_aggregator_metric_events_in_window', { metric: future, kind: 'future' }), metricValue(text, 'pipeline_aggregator_metric_events_in_window', { metric: names[0]!, kind: 'future' })]).toEqual([1, undefined]);
  });
});
