import { INTERNAL_TOPICS, normalizeEvent } from '@pipeline/contracts';
import { CompactedTopicView, InMemoryBus, pipelineTopicSpecs, toOutgoing, type EventBus, type Subscription } from '@pipeline/kafka';
import { LiveStatsView } from '@pipeline/live-state';
import { ServiceMetrics, createLogger } from '@pipeline/service-runtime';
import { createAggregator } from './aggregatorService';
import { readAggregatorConfig } from './config';

/** A bus whose subscriptions can be cut off at once, like a process killed with SIGKILL. */
function crashable(bus: EventBus) {
  const subs: Subscription[] = [];
  let dead = false;
  const proxy: EventBus = Object.assign(Object.create(bus) as EventBus, {
    subscribe: async (o: Parameters<EventBus['subscribe']>[0]) => {
      const s = await bus.subscribe({ ...o, handler: async (b) => { if (dead) throw new Error('dead'); await o.handler(b); } });
      subs.push(s);
      return s;
    },
    publishBatch: async (m: Parameters<EventBus['publishBatch']>[0]) => { if (dead) throw new Error('dead'); return bus.publishBatch(m); },
  });
  return { bus: proxy, crash: async () => { dead = true; await Promise.all(subs.map((s) => s.stop())); } };
}

const cfg = readAggregatorConfig({ AGG_SNAPSHOT_INTERVAL_MS: '50', LOG_LEVEL: 'silent' }, { requireBrokers: false });
const logger = createLogger('test', 'silent');

async function startAggregator(bus: EventBus) {
  const instance = await createAggregator({ config: cfg, bus, metrics: new ServiceMetrics('aggregator'), logger });
  await instance.start!();
  return instance;
}

async function publishMetrics(bus: EventBus, values: number[], group = 'g') {
  const now = Date.now();
  await bus.publishBatch(values.map((v, i) => toOutgoing(normalizeEvent({ topic: 'events.metrics', payload: { metric_name: 'm', value: v, group_by: `${group}${i % 5}` } }, { nowMs: now, defaultSource: 't' }))));
}

async function statsView(bus: EventBus) {
  const view = new LiveStatsView();
  const tv = CompactedTopicView.forwarding(bus, { topic: INTERNAL_TOPICS.aggregatorSnapshots, groupPrefix: 'test-view', onMessage: (key, value) => view.feed(key, value) });
  await tv.start();
  return {
    stats: () => view.metricStats('m', Date.now())?.stats,
    async waitForCount(n: number) {
      const end = Date.now() + 5000;
      while ((this.stats()?.count ?? 0) !== n) {
        if (Date.now() > end) throw new Error(`count stayed ${this.stats()?.count} instead of ${n}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return this.stats()!;
    },
  };
}

describe('aggregator service (in-memory bus)', () => {
  it('recovers from a crash between snapshots without losing or double-counting events', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3, maxBatchMessages: 7 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = await statsView(bus);
    const values = Array.from({ length: 600 }, (_, i) => (i % 37) - 10);
    const a = crashable(bus);
    await startAggregator(a.bus);
    await publishMetrics(bus, values.slice(0, 300));
    await view.waitForCount(300);
    await publishMetrics(bus, values.slice(300, 450));
    await new Promise((r) => setTimeout(r, 10)); // some of these are folded, maybe not snapshotted
    await a.crash();
    const b = await startAggregator(bus);
    await publishMetrics(bus, values.slice(450));
    const s = await view.waitForCount(600);
    expect([s.count, s.sum, s.min, s.max]).toEqual([600, values.reduce((x, y) => x + y, 0), -10, 26]);
    await b.stop!();
  });

  it('hands partitions over when a replica joins and leaves, with exact totals', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3, maxBatchMessages: 5 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = await statsView(bus);
    const a = await startAggregator(bus);
    await publishMetrics(bus, Array.from({ length: 200 }, () => 1));
    const b = await startAggregator(bus); // joins: partitions move from a to b
    await publishMetrics(bus, Array.from({ length: 200 }, () => 2));
    await view.waitForCount(400);
    await a.stop!(); // leaves: b takes everything
    await publishMetrics(bus, Array.from({ length: 100 }, () => 3));
    const s = await view.waitForCount(500);
    expect([s.count, s.sum]).toEqual([500, 200 + 400 + 300]);
    await b.stop!();
  });

  it('restores a partition that comes back after its last snapshot was its own by reading that snapshot back (no copy was kept)', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3, maxBatchMessages: 5 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const view = await statsView(bus);
    const a = await startAggregator(bus);
    await publishMetrics(bus, Array.from({ length: 150 }, () => 1));
    await view.waitForCount(150);
    const b = await startAggregator(bus); // takes partitions from a, but sees no new event, so writes no snapshot
    await new Promise((r) => setTimeout(r, 100));
    await b.stop!(); // they go back to a, whose last snapshot of them is its own
    await publishMetrics(bus, Array.from({ length: 150 }, () => 2));
    const s = await view.waitForCount(300);
    expect([s.count, s.sum]).toEqual([300, 150 + 300]);
    await a.stop!();
  });

  it('lists in /metrics the AGG_WINDOW_EVENTS_METRICS metrics with the most late plus future events arrived in their window', async () => {
    const bus = new InMemoryBus({ defaultPartitions: 3 });
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    const metrics = new ServiceMetrics('aggregator');
    const config = readAggregatorConfig({ AGG_SNAPSHOT_INTERVAL_MS: '50', AGG_WINDOW_EVENTS_METRICS: '2', LOG_LEVEL: 'silent' }, { requireBrokers: false });
    const instance = await createAggregator({ config, bus, metrics, logger });
    await instance.start!();
    const now = Date.now();
    const event = (metric_name: string, timestampMs: number) => toOutgoing(normalizeEvent({ topic: 'events.metrics', payload: { metric_name, value: 1 }, timestamp: new Date(timestampMs).toISOString() }, { nowMs: timestampMs, defaultSource: 't' }));
    // Each metric's partition first sees an event of now (its watermark), then its late (10 min old) and future (1 day ahead) ones.
    const plan: Array<[string, number, number]> = [['few', 1, 0], ['most', 2, 2], ['more', 0, 3], ['none', 0, 0]];
    await bus.publishBatch(plan.map(([m]) => event(m, now)));
    await bus.publishBatch(plan.flatMap(([m, late, future]) => [...Array<number>(late).fill(now - 600_000), ...Array<number>(future).fill(now + 86_400_000)].map((t) => event(m, t))));
    const listed = async () => {
      const text = await metrics.registry.metrics();
      return [...text.matchAll(/^pipeline_aggregator_metric_events_in_window\{metric="([^"]+)",kind="(late|future)"[^}]*\} (\d+)$/gm)].map((x) => `${x[1]}:${x[2]}=${x[3]}`).sort();
    };
    const end = Date.now() + 3000;
    while ((await listed()).length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(await listed()).toEqual(['more:future=3', 'more:late=0', 'most:future=2', 'most:late=2']);
    await instance.stop!();
  });
});
