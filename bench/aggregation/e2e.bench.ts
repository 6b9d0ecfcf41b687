// End to end through a real broker: producer → events.metrics → one aggregator process →
// snapshot topic → a gateway-style view. Uses its own fresh broker (port BENCH_KAFKA_PORT, 29092,
// wiped before every run) so history left on other brokers does not count.
//   npm run bench:aggregation:e2e
//   BENCH_EVENTS=1000000 BENCH_RATE=20000 npm run bench:aggregation:e2e
//   BENCH_ROUNDS=3 npm run bench:aggregation:e2e   (throughput: both Kafka clients alternating,
//     each run on a fresh broker; KAFKA_CLIENT=kafkajs|platformatic runs one. The bench's own
//     producer, view and floor consumers use the same client as the aggregator of that run. The
//     floor is a consumer group on that client doing only JSON.parse over the same backlog, in a
//     process of its own (floor.child.ts) spawned with the aggregator's Node flags and timed as the
//     aggregator is, from spawn; the same consumer in this already-running process is reported
//     beside it as the in-process floor.)
//   BENCH_PHASE=memory npm run bench:aggregation:e2e   (RSS of the aggregator process holding
//     BENCH_SERIES=10000 live series, one event per series per second over BENCH_SECONDS=270 s)
// The aggregator runs with AGG_NODE_OPTIONS (default: the flags deploy/ gives it), plus AGG_NODE_ARGS on
// its command line (flags NODE_OPTIONS refuses, e.g. AGG_NODE_ARGS=--optimize-for-size).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LiveStatsView } from '@pipeline/live-state';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { CompactedTopicView, createKafkaBus, KAFKA_CLIENTS, pipelineTopicSpecs, type EventBus, type KafkaClient, type OutgoingMessage } from '@pipeline/kafka';

const root = process.cwd();
const N = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 20_000);
const LAG_SECONDS = Number(process.env['BENCH_LAG_SECONDS'] ?? 10);
const KAFKA_PORT = process.env['BENCH_KAFKA_PORT'] ?? '29092';
const brokerEnv = { ...process.env, KAFKA_PORT, KAFKA_DATA: `/tmp/event-pipeline-kafka-bench-agg-${KAFKA_PORT}`, KAFKA_HEAP: '1g' };
const brokers = [`127.0.0.1:${KAFKA_PORT}`];
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 1);
const CLIENTS: KafkaClient[] = process.env['KAFKA_CLIENT'] ? [process.env['KAFKA_CLIENT'] as KafkaClient] : [...KAFKA_CLIENTS];
const group = 'bench-aggregator';
const PHASE = process.env['BENCH_PHASE'] ?? 'throughput';
const SERIES = Number(process.env['BENCH_SERIES'] ?? 10_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 270);
/** Memory phase: seconds of real-time steady load (one event per series per second), then of idle. */
const STEADY_SECONDS = Number(process.env['BENCH_STEADY_SECONDS'] ?? 60);
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 40);
/** Keep in step with deploy/k8s/base/aggregator.yaml, docker-compose.yml and scripts/stack.mjs. */
const AGG_NODE_OPTIONS = process.env['AGG_NODE_OPTIONS'] ?? '--max-semi-space-size=8';
/** Extra node command-line flags for the aggregator (V8 flags NODE_OPTIONS refuses), space-separated. */
const AGG_NODE_ARGS = (process.env['AGG_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const AGG_MALLOC_MMAP_THRESHOLD = process.env['AGG_MALLOC_MMAP_THRESHOLD'] ?? '131072';

/** One metric event as ingest would have published it (envelope JSON, keyed by metric|group). */
function metricMessage(id: string, metric: string, group: string, value: number, tMs: number, ts = new Date(tMs).toISOString()): OutgoingMessage {
  const key = `${metric}|${group}`;
  return { topic: 'events.metrics', key, timestampMs: tMs, value: `{"id":"${id}","topic":"events.metrics","type":"metrics","timestamp":"${ts}","source":"bench","key":"${key}","schema_version":1,"payload":{"metric_name":"${metric}","value":${value},"group_by":"${group}"}}` };
}

function events(n: number, metric: string, t0: number): OutgoingMessage[] {
  const ts = new Date(t0).toISOString();
  return Array.from({ length: n }, (_, i) => metricMessage(`${metric}-${i}`, metric, `g${i % 100}`, i % 1000, t0, ts));
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

/** A Node process running `script` on `client`'s broker with the aggregator's flags (AGG_NODE_OPTIONS, AGG_NODE_ARGS, malloc threshold). */
function spawnNode(script: string, client: KafkaClient, extraEnv: Record<string, string>, stdout: 'inherit' | 'pipe'): ChildProcess {
  return spawn(process.execPath, [...AGG_NODE_ARGS, script], {
    env: { ...process.env, KAFKA_BROKERS: brokers.join(','), KAFKA_CLIENT: client, NODE_OPTIONS: AGG_NODE_OPTIONS, MALLOC_MMAP_THRESHOLD_: AGG_MALLOC_MMAP_THRESHOLD, ...extraEnv },
    stdio: ['ignore', stdout, 'inherit'],
  });
}

function startAggregator(client: KafkaClient, extraEnv: Record<string, string> = {}): ChildProcess {
  const env = { HTTP_PORT: process.env['BENCH_AGG_PORT'] ?? '18282', HTTP_HOST: '127.0.0.1', LOG_LEVEL: process.env['BENCH_AGG_LOG_LEVEL'] ?? 'warn', AGG_GROUP_ID: group, ...extraEnv };
  return spawnNode(join(root, 'dist/apps/aggregator/main.js'), client, env, 'inherit');
}

interface FloorProcessRun {
  /** Events/s from spawn to the floor-done line. */
  rate: number;
  /** The child's own timeline, ms since it started: modules loaded, subscribe returned, first batch, last record. */
  timeline: { loadedMs: number; subscribedMs: number; firstMs: number; lastMs: number };
}

/**
 * The floor as the aggregator is timed: a process of its own (floor.child.ts, bundled beside this
 * bench), spawned with the aggregator's flags, from spawn until it reports the N-th record parsed.
 */
async function floorProcess(client: KafkaClient, groupId: string): Promise<FloorProcessRun> {
  const child = spawnNode(join(__dirname, 'floor.child.js'), client, { FLOOR_EVENTS: String(N), FLOOR_GROUP: groupId }, 'pipe');
  const started = Date.now();
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const done = new Promise<{ at: number; line: string }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('floor-done ')) resolve({ at: Date.now(), line: line.slice('floor-done '.length) });
    });
    void exited.then((code) => reject(new Error(`floor process exited (code ${code}) before reading ${N} events`)));
  });
  const { at, line } = await done;
  await exited;
  return { rate: N / ((at - started) / 1000), timeline: JSON.parse(line) as FloorProcessRun['timeline'] };
}

/** RSS of a process by kind of mapping, MB: malloc heap, anonymous (V8 heap, large buffers), files (code). */
function rssByMapping(pid: number): string {
  const by: Record<string, number> = {};
  let kind = 'anon';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      kind = m[1] === '[heap]' ? 'malloc heap' : m[1]!.includes('/') ? 'files' : 'anonymous';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) by[kind] = (by[kind] ?? 0) + Number(r[1]) / 1024;
  }
  return Object.entries(by).map(([k, v]) => `${k} ${v.toFixed(0)} MB`).join(', ');
}

/** Resident set size of a process, MB (Linux /proc). */
function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

interface ThroughputRun {
  client: KafkaClient;
  aggregator: number;
  /** Events/s from the first visible snapshot to the last (no process start, group join or first round). */
  afterFirst: number;
  /** The floor timed from process spawn, as the aggregator (floor.child.ts). */
  floor: number;
  /** The same consumer inside this bench process (modules loaded, JIT warm from the warm-up read), timed from subscribe. */
  floorInProcess: number;
  p50: number;
  p99: number;
}

async function main() {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'aggregator'], { stdio: 'inherit' });
  if (PHASE === 'memory') {
    const { bus, view, tv } = await freshBroker(CLIENTS[0]!);
    await memoryPhase(CLIENTS[0]!, bus, view);
    await tv.stop();
    await bus.close();
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'stop'], { env: brokerEnv, stdio: 'inherit' });
    return;
  }
  const runs: ThroughputRun[] = [];
  for (let r = 0; r < ROUNDS; r++) for (const client of CLIENTS) runs.push(await throughputRun(client));
  if (runs.length <= 1) return;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(`\nmedians of ${ROUNDS} round(s):`);
  const by = CLIENTS.map((client) => {
    const mine = runs.filter((x) => x.client === client);
    const agg = median(mine.map((x) => x.aggregator));
    const floor = median(mine.map((x) => x.floor));
    const inProcess = median(mine.map((x) => x.floorInProcess));
    console.log(
      `  ${client}: aggregator ${fmt(agg)} events/s (${mine.map((x) => fmt(x.aggregator)).join(' · ')}); after the first visible round ${fmt(median(mine.map((x) => x.afterFirst)))} (${mine.map((x) => fmt(x.afterFirst)).join(' · ')}); ` +
        `floor from process start ${fmt(floor)} (${mine.map((x) => fmt(x.floor)).join(' · ')}); aggregator / floor ${(agg / floor).toFixed(2)} (paired ${mine.map((x) => (x.aggregator / x.floor).toFixed(2)).join(' · ')}); ` +
        `in-process floor ${fmt(inProcess)} (${mine.map((x) => fmt(x.floorInProcess)).join(' · ')}), aggregator / it ${(agg / inProcess).toFixed(2)}; steady p50 ${median(mine.map((x) => x.p50))} ms, p99 ${median(mine.map((x) => x.p99))} ms`,
    );
    return { client, agg, floor };
  });
  if (by.length === 2) console.log(`  ${by[1]!.client} / ${by[0]!.client}: aggregator ${(by[1]!.agg / by[0]!.agg).toFixed(2)}×, floor ${(by[1]!.floor / by[0]!.floor).toFixed(2)}×`);
}

/** A wiped broker with the pipeline topics, and a bus and snapshot view on `client`. */
async function freshBroker(client: KafkaClient) {
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'wipe'], { env: brokerEnv, stdio: 'inherit' });
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { env: brokerEnv, stdio: 'inherit' });
  const bus = createKafkaBus({ client, brokers, clientId: 'bench', maxBatchMessages: 10_000 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const view = new LiveStatsView();
  const tv = CompactedTopicView.forwarding(bus, { topic: INTERNAL_TOPICS.aggregatorSnapshots, groupPrefix: 'bench-view', onMessage: (key, value) => view.feed(key, value) });
  await tv.start();
  return { bus, view, tv };
}

/** The floor: a consumer group (`groupId`) on the same client over the same backlog, doing only JSON.parse. */
async function floorRate(bus: EventBus, groupId = 'bench-floor'): Promise<number> {
  let seen = 0;
  let sink = 0;
  const started = Date.now();
  const sub = await bus.subscribe({
    groupId,
    topics: ['events.metrics'],
    fromBeginning: true,
    handler: async (b) => {
      for (const m of b.messages) sink += (JSON.parse(m.value.toString()) as { payload: { value: number } }).payload.value;
      seen += b.messages.length;
    },
  });
  while (seen < N) await new Promise((r) => setTimeout(r, 20));
  const secs = (Date.now() - started) / 1000;
  await sub.stop();
  if (Number.isNaN(sink)) console.log('unreachable');
  return N / secs;
}

async function throughputRun(client: KafkaClient): Promise<ThroughputRun> {
  const { bus, view, tv } = await freshBroker(client);
  // Read at the events' own time: on a slow host the backlog may be older than the window by the time it is all visible.
  const count = (metric: string, atMs = Date.now()) => view.metricStats(metric, atMs)?.total_events ?? 0;
  // Phase 1: a backlog of N events, then one aggregator consumes it; time until all are visible.
  const t0 = Date.now();
  console.log(`[${client}] publishing ${N.toLocaleString('en-US')} events...`);
  for (let i = 0; i < N; i += 50_000) await bus.publishBatch(events(Math.min(50_000, N - i), 'backlog', t0));
  // Untimed: a consumer group on this client reads the backlog once, so that the aggregator meets a
  // running broker (JIT-compiled request paths, a loaded group coordinator) whichever client it is
  // on. Without it the fresh broker's first consumer group paid for creating __consumer_offsets and
  // for compiling the group and fetch paths inside the timed part, and only on @platformatic/kafka:
  // on kafkajs the snapshot view above is already a consumer group (kafkajs reads only in groups).
  await floorRate(bus, 'bench-warmup');
  const agg = startAggregator(client, { AGG_SNAPSHOT_INTERVAL_MS: '200' });
  const started = Date.now();
  // After the first snapshot round shows events, the rest of the backlog: the rate without process start and group join.
  let first: { at: number; visible: number } | undefined;
  for (let c = count('backlog', t0); c < N; c = count('backlog', t0)) {
    if (!first && c > 0) first = { at: Date.now(), visible: c };
    await new Promise((r) => setTimeout(r, 20));
  }
  const secs = (Date.now() - started) / 1000;
  const aggregator = N / secs;
  const afterFirst = first ? (N - first.visible) / ((Date.now() - first.at) / 1000) : NaN;
  console.log(`[${client}] backlog: ${N.toLocaleString('en-US')} events aggregated and visible in ${secs.toFixed(2)} s = ${Math.round(aggregator).toLocaleString('en-US')} events/s into one aggregator (includes process start and group join); first events visible after ${first ? ((first.at - started) / 1000).toFixed(2) : '?'} s, the rest at ${Math.round(afterFirst).toLocaleString('en-US')} events/s`);

  // Phase 2: steady rate; visibility lag of each 100 ms slice = time from its publish ack to the view showing it.
  const slice = Math.max(1, Math.round(RATE / 10));
  const acked: Array<{ total: number; at: number }> = [];
  let sent = 0;
  const lags: number[] = [];
  const end = Date.now() + LAG_SECONDS * 1000;
  const watcher = setInterval(() => {
    const c = count('steady');
    const now = Date.now();
    while (acked.length > 0 && acked[0]!.total <= c) lags.push(now - acked.shift()!.at);
  }, 5);
  while (Date.now() < end) {
    const tick = Date.now();
    await bus.publishBatch(events(slice, 'steady', tick));
    sent += slice;
    acked.push({ total: sent, at: Date.now() });
    const wait = 100 - (Date.now() - tick);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  while (acked.length > 0 && Date.now() < end + 30_000) await new Promise((r) => setTimeout(r, 20));
  clearInterval(watcher);
  const p50 = pct(lags, 0.5);
  const p99 = pct(lags, 0.99);
  console.log(
    `[${client}] steady ${RATE.toLocaleString('en-US')} events/s for ${LAG_SECONDS} s: publish-ack → visible lag p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...lags)} ms (${lags.length} slices; snapshot interval 200 ms)`,
  );
  agg.kill('SIGTERM');
  await new Promise((r) => agg.once('exit', r));

  // Phase 3, with the aggregator gone: the floor over the same backlog, first as a process of its
  // own timed from spawn as the aggregator is, then inside this process (each a group of its own).
  const fp = await floorProcess(client, 'bench-floor');
  const floor = fp.rate;
  const t = fp.timeline;
  console.log(
    `[${client}] floor: a ${client} consumer group doing only JSON.parse, in a process of its own, read the ${N.toLocaleString('en-US')}-event backlog at ${Math.round(floor).toLocaleString('en-US')} events/s from spawn ` +
      `(its timeline: modules loaded ${t.loadedMs.toFixed(0)} ms, subscribed ${t.subscribedMs.toFixed(0)} ms, first batch ${t.firstMs.toFixed(0)} ms, last record ${t.lastMs.toFixed(0)} ms); aggregator / floor = ${(aggregator / floor).toFixed(2)}`,
  );
  const floorInProcess = await floorRate(bus, 'bench-floor-in-process');
  console.log(`[${client}] in-process floor (the same consumer in this bench process, timed from subscribe): ${Math.round(floorInProcess).toLocaleString('en-US')} events/s; aggregator / it = ${(aggregator / floorInProcess).toFixed(2)}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  await tv.stop();
  await bus.close();
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'stop'], { env: brokerEnv, stdio: 'inherit' });
  return { client, aggregator, afterFirst, floor, floorInProcess, p50, p99 };
}

/**
 * SERIES live series (10 metrics × SERIES/10 − 1 groups + 10 overall) fed one event per series per
 * second of event time over the last SECONDS seconds, into one aggregator process with default
 * settings; samples its RSS while it consumes and after every event is visible.
 */
async function memoryPhase(client: KafkaClient, bus: EventBus, view: LiveStatsView): Promise<void> {
  const metrics = 10;
  const groups = SERIES / metrics - 1;
  const total = metrics * groups * SECONDS;
  // A cap above the series count: the default 10,000 is split evenly across partitions, and keys
  // do not hash evenly, so some series would be refused (counted, not live).
  const agg = startAggregator(client, { AGG_MAX_SERIES: String(Math.ceil(SERIES * 1.5)) });
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssMb(agg.pid!)), 250);
  const base = Date.now() - SECONDS * 1000;
  console.log(`publishing ${total.toLocaleString('en-US')} events: ${metrics * groups + metrics} series × ${SECONDS} s (aggregator NODE_OPTIONS="${AGG_NODE_OPTIONS}" MALLOC_MMAP_THRESHOLD_=${AGG_MALLOC_MMAP_THRESHOLD})...`);
  const t0 = Date.now();
  let batch: OutgoingMessage[] = [];
  for (let k = 0; k < SECONDS; k++) {
    const tMs = base + k * 1000;
    const ts = new Date(tMs).toISOString();
    for (let m = 0; m < metrics; m++) {
      for (let g = 0; g < groups; g++) {
        const value = Math.round(Math.exp(3 + ((k * 7919 + g * 104729 + m) % 1000) / 400) * 100) / 100;
        batch.push(metricMessage(`m${m}-${g}-${k}`, `mem_${m}`, `g${g}`, value, tMs, ts));
        if (batch.length === 50_000) {
          await bus.publishBatch(batch);
          batch = [];
        }
      }
    }
  }
  if (batch.length > 0) await bus.publishBatch(batch);
  const visibleTotal = () => Array.from({ length: metrics }, (_, m) => view.metricStats(`mem_${m}`, Date.now())?.total_events ?? 0).reduce((a, b) => a + b, 0);
  while (visibleTotal() < total) await new Promise((r) => setTimeout(r, 500));
  const visibleAfter = (Date.now() - t0) / 1000;
  const peakWhileConsuming = Math.max(...samples);
  // Steady: every series gets its next second's event once a second, in real time (the state stays
  // at a full window per series while it keeps consuming).
  samples.length = 0;
  const steadyEnd = Date.now() + STEADY_SECONDS * 1000;
  let newestMs = base + (SECONDS - 1) * 1000;
  let steadyMapping = '';
  for (let k = SECONDS; Date.now() < steadyEnd; k++) {
    if (!steadyMapping && Date.now() > steadyEnd - (STEADY_SECONDS * 1000) / 2) steadyMapping = `RSS ${rssMb(agg.pid!).toFixed(0)} MB (${rssByMapping(agg.pid!)})`;
    const tick = Date.now();
    const tMs = base + k * 1000;
    newestMs = tMs;
    const ts = new Date(tMs).toISOString();
    const steady: OutgoingMessage[] = [];
    for (let m = 0; m < metrics; m++) {
      for (let g = 0; g < groups; g++) {
        steady.push(metricMessage(`m${m}-${g}-${k}`, `mem_${m}`, `g${g}`, (k % 97) + g / 10, tMs, ts));
      }
    }
    await bus.publishBatch(steady);
    const wait = 1000 - (Date.now() - tick);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const steadySamples = [...samples].sort((a, b) => a - b);
  // Idle: nothing new arrives; snapshots of changed partitions keep being written (the state does
  // not shrink: the window is 300 s).
  samples.length = 0;
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  clearInterval(sampler);
  // Queried at the newest event time (the aggregator's watermark): the whole state it holds.
  const stats = view.metricStats('mem_0', newestMs)!;
  const liveSeries = (Object.keys(stats.groups).length + 1) * metrics;
  const sorted = [...samples].sort((a, b) => a - b);
  const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!.toFixed(0);
  console.log(`memory: ${liveSeries.toLocaleString('en-US')} live series visible after ${visibleAfter.toFixed(1)} s; aggregator RSS peak while consuming the backlog ${peakWhileConsuming.toFixed(0)} MB; then ${STEADY_SECONDS} s steady at ${(metrics * groups).toLocaleString('en-US')} events/s: median ${med(steadySamples)} MB, max ${steadySamples[steadySamples.length - 1]!.toFixed(0)} MB; then ${IDLE_SECONDS} s idle: median ${med(sorted)} MB, max ${sorted[sorted.length - 1]!.toFixed(0)} MB; a group series holds ${stats.groups['g0']?.count ?? 0} values in its window`);
  const res = await fetch(`http://127.0.0.1:${process.env['BENCH_AGG_PORT'] ?? '18282'}/metrics`);
  const text = await res.text();
  const mb = (name: string) => (Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)`, 'm').exec(text)?.[1] ?? NaN) / 1024 / 1024).toFixed(0);
  console.log(`  half-way through the steady load: ${steadyMapping}`);
  console.log(`  at the end: V8 heap used ${mb('nodejs_heap_size_used_bytes')} MB of ${mb('nodejs_heap_size_total_bytes')} MB, external (array buffers) ${mb('nodejs_external_memory_bytes')} MB, RSS ${rssMb(agg.pid!).toFixed(0)} MB (${rssByMapping(agg.pid!)})`);
  agg.kill('SIGTERM');
  await new Promise((r) => agg.once('exit', r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
