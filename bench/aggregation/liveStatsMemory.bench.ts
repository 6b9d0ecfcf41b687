/**
 * What a gateway's live-stats view holds in memory for N series, without the whole stack.
 *
 * Run: `KAFKA_BROKERS=127.0.0.1:<port> node scripts/run-ts.mjs bench/aggregation/liveStatsMemory.bench.ts write|read`
 *
 *   write — folds N single-series metrics (`live_<i>`, spread over 3 partitions of events.metrics, as
 *           bench:live-stats names them) into the real aggregator code path (ExactlyOnceState rounds
 *           over StreamingAggregator, the aggregator's default settings) and writes the rounds to the
 *           state topic of a fresh group: `BENCH_FULL_ROUNDS` rounds with every series changed (each
 *           series one more event, 10 s of event time later), then `BENCH_SMALL_ROUNDS` with 1 % changed.
 *           Prints the group to pass to `read`.
 *   read  — in a child process with the gateway's flags (`--max-semi-space-size=1`), the gateway's
 *           wiring (CompactedTopicView.forwarding → LiveStatsView.feed, as createStatsView) reads
 *           that group's state to its end, answers one read per series, then reports
 *           process.memoryUsage() after a full GC and, with BENCH_HEAP_SNAPSHOT=<file>, writes a heap
 *           snapshot and prints the self size per constructor (top 25).
 *
 * Environment: BENCH_SERIES (default 100,000), BENCH_GROUP (read: the group `write` printed).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { EventTimeWatermark, StreamingAggregator } from '@pipeline/aggregation';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { CompactedTopicView, createKafkaBus, pipelineTopicSpecs, type IncomingMessage, type MessageBatch, type Subscription } from '@pipeline/kafka';
import { ExactlyOnceState, LiveStatsView } from '@pipeline/live-state';

const SERIES = Number(process.env['BENCH_SERIES'] ?? 100_000);
const FULL_ROUNDS = Number(process.env['BENCH_FULL_ROUNDS'] ?? 3);
const SMALL_ROUNDS = Number(process.env['BENCH_SMALL_ROUNDS'] ?? 5);
const PARTITIONS = 3;
/** As createStatsView (0: no backpressure, as before). */
const MAX_QUEUED = Number(process.env['BENCH_MAX_QUEUED'] ?? 5_000);
const MB = 1024 * 1024;
const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('KAFKA_BROKERS must name the broker (host:port)');

async function write(): Promise<void> {
  const bus = createKafkaBus({ brokers, clientId: 'bench-live-memory' });
  await bus.connect();
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: PARTITIONS, replicationFactor: 1 }));
  const group = `bench-live-memory-${Date.now()}`;
  const state = new ExactlyOnceState({
    bus,
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    group,
    createAggregator: () => new StreamingAggregator({ windowSeconds: 300, rateWindowSeconds: 60, maxSeries: SERIES * 2, coarseBucketSeconds: 5 }),
    createWatermark: (initialMs) => new EventTimeWatermark({ maxFutureSkewMs: 60_000, initialMs }),
  });
  const sub: Subscription = { commit: async () => undefined, seek: () => undefined, assignments: () => [], stop: async () => undefined };
  await state.start();
  state.attach(sub);
  const offsets = new Array<number>(PARTITIONS).fill(0);
  const t0 = Date.now() - 300_000;
  const fold = (p: { agg: StreamingAggregator; watermark: EventTimeWatermark }, m: IncomingMessage) => {
    const { metric, value } = JSON.parse(m.value.toString()) as { metric: string; value: number };
    p.watermark.observe(m.timestampMs, m.timestampMs);
    p.agg.recordMetric(metric, undefined, value, m.timestampMs, p.watermark.ms);
  };
  const feed = async (indices: number[], atMs: number) => {
    const byPartition: IncomingMessage[][] = Array.from({ length: PARTITIONS }, () => []);
    for (const i of indices) {
      const partition = i % PARTITIONS;
      const value = Buffer.from(JSON.stringify({ metric: `live_${i}`, value: (i % 97) + Math.random() }));
      byPartition[partition]!.push({ topic: 'events.metrics', partition, offset: String(offsets[partition]!++), key: null, value, timestampMs: atMs + (i % 10_000), headers: {} });
    }
    for (let partition = 0; partition < PARTITIONS; partition++) {
      const messages = byPartition[partition]!;
      for (let from = 0; from < messages.length; from += 1000) {
        const slice = messages.slice(from, from + 1000);
        const batch: MessageBatch = { topic: 'events.metrics', partition, messages: slice, highWatermark: String(offsets[partition]), heartbeat: async () => undefined };
        await state.handle(batch, fold);
      }
    }
  };
  const all = Array.from({ length: SERIES }, (_, i) => i);
  let round = 0;
  for (let r = 0; r < FULL_ROUNDS; r++) {
    await feed(all, t0 + round++ * 10_000);
    const rep = await state.round();
    console.log(`round ${round} (100 %): ${rep.series} entries, ${(rep.bytes / MB).toFixed(1)} MB, ${rep.bytes / Math.max(1, rep.series) | 0} B per entry`);
  }
  for (let r = 0; r < SMALL_ROUNDS; r++) {
    await feed(all.filter((i) => i % 100 === r), t0 + round++ * 10_000);
    const rep = await state.round();
    console.log(`round ${round} (1 %): ${rep.series} entries`);
  }
  await state.stop();
  await bus.close();
  console.log(`group ${group}`);
}

async function read(): Promise<void> {
  const group = process.env['BENCH_GROUP'];
  if (!group) throw new Error('BENCH_GROUP must name the group `write` printed');
  const bus = createKafkaBus({ brokers, clientId: 'bench-live-memory-read' });
  await bus.connect();
  const view = new LiveStatsView({ group, onError: (err, key) => console.error(`undecodable ${key}: ${String(err)}`) });
  const topicView = CompactedTopicView.forwarding(bus, { topic: INTERNAL_TOPICS.aggregatorSnapshots, groupPrefix: 'pipeline-gateway-stats', onMessage: (key, value) => view.feed(key, value), afterBatch: MAX_QUEUED > 0 ? () => view.indexed(MAX_QUEUED) : undefined });
  report('connected, nothing read');
  const started = Date.now();
  let peakQueue = 0;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakQueue = Math.max(peakQueue, (view as unknown as { queue: { size: number } }).queue.size);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 100);
  await topicView.start();
  await topicView.catchUp(300_000);
  clearInterval(sampler);
  console.log(`while catching up: most messages queued ${peakQueue}, peak rss ${(peakRss / MB).toFixed(1)} MB`);
  report('caught up');
  let held = 0;
  const now = Date.now();
  for (let i = 0; i < SERIES; i++) if (view.metricStats(`live_${i}`, now) !== undefined) held++;
  console.log(`caught up and read every series in ${((Date.now() - started) / 1000).toFixed(1)} s: ${held} of ${SERIES} held`);
  report('after reading');
  await new Promise((r) => setTimeout(r, 10_000));
  report('10 s later');
  if (process.env['BENCH_SMAPS']) {
    smaps();
    for (const sp of getHeapSpaceStatistics()) console.log(`${sp.space_name}: size ${(sp.space_size / MB).toFixed(1)}, used ${(sp.space_used_size / MB).toFixed(1)}, physical ${(sp.physical_space_size / MB).toFixed(1)}`);
    const h = getHeapStatistics();
    console.log(`heap: total ${(h.total_heap_size / MB).toFixed(1)}, physical ${(h.total_physical_size / MB).toFixed(1)}, malloced ${(h.malloced_memory / MB).toFixed(1)} (peak ${(h.peak_malloced_memory / MB).toFixed(1)}), external ${(h.external_memory / MB).toFixed(1)}`);
  }
  const snapshot = process.env['BENCH_HEAP_SNAPSHOT'];
  if (snapshot) {
    writeHeapSnapshot(snapshot);
    bySelfSize(snapshot);
  }
  await topicView.stop();
  await bus.close();
}

function report(when: string): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  console.log(`${when}: rss ${(m.rss / MB).toFixed(1)} MB, heapUsed ${(m.heapUsed / MB).toFixed(1)}, heapTotal ${(m.heapTotal / MB).toFixed(1)}, external ${(m.external / MB).toFixed(1)}, arrayBuffers ${(m.arrayBuffers / MB).toFixed(1)}`);
}

/** The process's mappings by kind, MB resident: anonymous ones by size class. */
function smaps(): void {
  const text = readFileSync('/proc/self/smaps', 'utf8');
  const by = new Map<string, number>();
  let name = '';
  let size = 0;
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1] || '[anon]';
      continue;
    }
    const kb = /^Size:\s+(\d+) kB/.exec(line);
    if (kb) size = Number(kb[1]);
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) {
      const k = name === '[anon]' ? `[anon ${size === 256 ? '=256K' : size >= 65536 ? '>=64M' : size >= 1024 ? '1-64M' : size >= 256 ? '256K-1M' : '<256K'}]` : name.includes('/') ? 'files' : name;
      by.set(k, (by.get(k) ?? 0) + Number(rss[1]) / 1024);
    }
  }
  for (const [k, mb] of [...by].sort((a, b) => b[1] - a[1])) console.log(`${mb.toFixed(1).padStart(8)} MB  ${k}`);
}

/** Self size per node name (constructor for objects) of a .heapsnapshot, top 25. */
function bySelfSize(file: string): void {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as { snapshot: { meta: { node_fields: string[]; node_types: unknown[] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0] as string[];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const totals = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!]!;
    const name = type === 'object' || type === 'native' ? snap.strings[snap.nodes[i + nameAt]!]! : `(${type})`;
    const t = totals.get(name) ?? { bytes: 0, count: 0 };
    t.bytes += snap.nodes[i + sizeAt]!;
    t.count++;
    totals.set(name, t);
  }
  const top = [...totals].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 25);
  for (const [name, t] of top) console.log(`${(t.bytes / MB).toFixed(1).padStart(8)} MB ${String(t.count).padStart(9)}  ${name.slice(0, 80)}`);
}

const mode = process.argv[2];
if (mode === 'read' && !process.env['BENCH_CHILD']) {
  // The gateway's flags (bench:live-stats and deploy/k8s run it with a 1 MB semi-space).
  const r = spawnSync(process.execPath, ['--max-semi-space-size=1', ...(process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean), '--expose-gc', '--enable-source-maps', process.argv[1]!, 'read'], { stdio: 'inherit', env: { ...process.env, BENCH_CHILD: '1' } });
  process.exit(r.status ?? 1);
} else if (mode === 'write') void write().catch((e) => (console.error(e), process.exit(1)));
else if (mode === 'read') void read().catch((e) => (console.error(e), process.exit(1)));
else throw new Error('usage: liveStatsMemory.bench.ts write|read');
