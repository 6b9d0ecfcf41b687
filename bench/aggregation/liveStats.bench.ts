/**
 * Live-stats read path at 10 and 10,000 busy series (issue 17), embedded and multi-process.
 * Run: `node scripts/run-ts.mjs bench/aggregation/liveStats.bench.ts` (`npm run bench:live-stats`);
 * `BENCH_MODES=embedded` or `BENCH_MODES=stack` runs one of the two (default both).
 *
 * embedded — one process, as `npm start` runs: the aggregator and the gateway on the in-memory bus
 * (snapshot interval 250 ms, as embedded). For each size, a fresh pipeline:
 *   1. warm-up (`BENCH_WARMUP_SECONDS`, default 10): every series gets one event per second
 *      (metric `live_<i>`, no group: one series each), in fifty 20 ms ticks;
 *   2. measure (`BENCH_SECONDS`, default 15): the same load (100 % of the series change every
 *      second) while one reader polls `GET /pipeline/stats/live_<random>` every 20 ms. Reported:
 *      read latency p50 / p99 / max, the longest event-loop block of the process
 *      (perf_hooks.monitorEventLoopDelay, 10 ms resolution), process RSS at the end, and the bytes
 *      the aggregator wrote to the snapshot topic per second;
 *   3. (10,000 only) the same for `BENCH_SECONDS` with 1 % of the series changing each second:
 *      snapshot bytes per second, read p99, longest block.
 * Targets: read p99 and longest block at 10,000 ≤ 2× at 10; snapshot bytes/s follow the share of
 * series that changed. Everything shares one event loop (load generator, bus, aggregator, gateway,
 * reader), as in `npm start`. The in-memory bus keeps every message (events and snapshots; no
 * compaction), so RSS includes what it has stored.
 *
 * stack — the aggregator and the gateway as their own processes (`dist/apps/*`: `npm run build`
 * first, with the flags `npm run stack` gives them) on a real broker: `KAFKA_BROKERS` if set,
 * otherwise a fresh one this bench starts (`scripts/kafka.sh`, port `BENCH_KAFKA_PORT`, default
 * 29095, wiped first, stopped at the end). Per size a fresh aggregator group (`AGG_GROUP_ID`), the
 * same load published straight to `events.metrics`, the same reader against the gateway. Reported
 * per process: the longest event-loop block (max of `nodejs_eventloop_lag_max_seconds` over 1 s
 * scrapes of its /metrics) and RSS (max over those scrapes). Targets at 10,000 busy series:
 * gateway RSS ≤ 256 MB, aggregator RSS ≤ 300 MB, blocks ≤ 2× those at 10. With `KAFKA_BROKERS`, the
 * ~10,000 events/s it leaves on `events.metrics` are read by any new aggregator group on that broker
 * for the next 5 minutes (the history horizon): integration tests run there meanwhile time out.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { INTERNAL_TOPICS, normalizeEvent } from '@pipeline/contracts';
import { createKafkaBus, InMemoryBus, pipelineTopicSpecs, toOutgoing, type EventBus, type OutgoingMessage } from '@pipeline/kafka';
import { createLogger, startService, type RunningService } from '@pipeline/service-runtime';
import { createAggregator, readAggregatorConfig } from '../../apps/aggregator/src/index';
import { createGateway, readGatewayConfig } from '../../apps/api-gateway/src/index';

const WARMUP_S = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 10);
const MEASURE_S = Number(process.env['BENCH_SECONDS'] ?? 15);
const MB = 1024 * 1024;

interface Pipeline {
  bus: EventBus;
  url: string;
  snapshotBytes(): number;
  stop(): Promise<void>;
}

async function startPipeline(): Promise<Pipeline> {
  const memory = new InMemoryBus({ defaultPartitions: 3 });
  await memory.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  let bytes = 0;
  const bus: EventBus = Object.assign(Object.create(memory) as EventBus, {
    publishBatch: async (ms: readonly OutgoingMessage[]) => {
      for (const m of ms) if (m.topic === INTERNAL_TOPICS.aggregatorSnapshots) bytes += m.value.length + (m.key?.length ?? 0);
      return memory.publishBatch(ms);
    },
  });
  const logger = createLogger('bench', 'silent');
  const env = { HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', AGG_SNAPSHOT_INTERVAL_MS: '250' };
  const running: RunningService[] = [];
  running.push(await startService(createAggregator, readAggregatorConfig(env, { requireBrokers: false }), bus, { logger }));
  const gw = await startService(createGateway, readGatewayConfig({ ...env, INGEST_URL: 'http://127.0.0.1:9', PREDICTOR_GRPC_ADDR: '127.0.0.1:9' }, { requireBrokers: false }), bus, { logger });
  running.push(gw);
  return {
    bus,
    url: `http://127.0.0.1:${gw.port}`,
    snapshotBytes: () => bytes,
    async stop() {
      for (const s of running.reverse()) await s.stop();
      await memory.close();
    },
  };
}

const TICKS = 50;

/** Publishes one event to each of the first `changing` of `series` series every second, in fifty ticks; returns a stop function. */
function load(bus: EventBus, series: number, changing: () => number): () => Promise<void> {
  let tick = 0;
  let running = Promise.resolve();
  const timer = setInterval(() => {
    const n = changing();
    const from = Math.floor((n * (tick % TICKS)) / TICKS);
    const to = Math.floor((n * ((tick % TICKS) + 1)) / TICKS);
    tick++;
    const now = Date.now();
    const batch: OutgoingMessage[] = [];
    for (let i = from; i < to; i++) {
      const metric = `live_${(i * 7919) % series}`; // the changing share spread over the names
      batch.push(toOutgoing(normalizeEvent({ topic: 'events.metrics', payload: { metric_name: metric, value: (i % 97) + Math.random() } }, { nowMs: now, defaultSource: 'bench' })));
    }
    if (batch.length > 0) running = running.then(() => bus.publishBatch(batch));
  }, 1000 / TICKS);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

async function readFor(url: string, series: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const metric = `live_${Math.floor(Math.random() * series)}`;
    const t = process.hrtime.bigint();
    const res = await fetch(`${url}/pipeline/stats/${metric}`);
    await res.arrayBuffer();
    if (res.status === 200) latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    await new Promise((r) => setTimeout(r, 20));
  }
  return latencies;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN;
};

interface Measure {
  series: number;
  changingShare: number;
  reads: number;
  p50: number;
  p99: number;
  max: number;
  blockMs: number;
  rssMb: number;
  snapshotBytesPerSec: number;
}

async function measure(p: Pipeline, series: number, share: number, seconds: number): Promise<Measure> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  const bytes0 = p.snapshotBytes();
  const t0 = Date.now();
  h.enable();
  const latencies = await readFor(p.url, series, seconds);
  h.disable();
  const elapsed = (Date.now() - t0) / 1000;
  return {
    series,
    changingShare: share,
    reads: latencies.length,
    p50: pct(latencies, 0.5),
    p99: pct(latencies, 0.99),
    max: Math.max(...latencies),
    blockMs: h.max / 1e6,
    rssMb: process.memoryUsage().rss / MB,
    snapshotBytesPerSec: (p.snapshotBytes() - bytes0) / elapsed,
  };
}

async function run(series: number): Promise<Measure[]> {
  const p = await startPipeline();
  let share = 1;
  const stopLoad = load(p.bus, series, () => Math.max(1, Math.round(series * share)));
  await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
  const out = [await measure(p, series, 1, MEASURE_S)];
  if (series >= 1000) {
    share = 0.01;
    await new Promise((r) => setTimeout(r, 2000)); // let the rounds of the 100 % load drain
    out.push(await measure(p, series, 0.01, MEASURE_S));
  }
  await stopLoad();
  await p.stop();
  return out;
}

const MODES = (process.env['BENCH_MODES'] ?? 'embedded,stack').split(',');
const root = process.cwd();

interface StackMeasure {
  series: number;
  changingShare: number;
  reads: number;
  p50: number;
  p99: number;
  max: number;
  gateway: { blockMs: number; rssMb: number };
  aggregator: { blockMs: number; rssMb: number };
}

/** Longest event-loop block (ms) and RSS (MB) of a service since its last scrape, from its /metrics (prom-client defaults). */
async function scrape(port: number): Promise<{ blockMs: number; rssMb: number } | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)`, 'm').exec(text)?.[1] ?? NaN);
    return { blockMs: value('nodejs_eventloop_lag_max_seconds') * 1000, rssMb: value('process_resident_memory_bytes') / MB };
  } catch {
    return undefined;
  }
}

function spawnService(app: 'aggregator' | 'api-gateway', env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [join(root, `dist/apps/${app}/main.js`)], { env: { ...process.env, LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
}

async function waitReady(port: number, path: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}${path}`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`port ${port} not ready within 120 s`);
}

async function measureStack(url: string, ports: { gateway: number; aggregator: number }, series: number, share: number, seconds: number): Promise<StackMeasure> {
  const worst = { gateway: { blockMs: 0, rssMb: 0 }, aggregator: { blockMs: 0, rssMb: 0 } };
  await Promise.all([scrape(ports.gateway), scrape(ports.aggregator)]); // resets the lag histograms
  const timer = setInterval(() => {
    for (const k of ['gateway', 'aggregator'] as const) {
      void scrape(ports[k]).then((m) => {
        if (!m) return;
        worst[k].blockMs = Math.max(worst[k].blockMs, m.blockMs);
        worst[k].rssMb = Math.max(worst[k].rssMb, m.rssMb);
      });
    }
  }, 1000);
  const latencies = await readFor(url, series, seconds);
  clearInterval(timer);
  return { series, changingShare: share, reads: latencies.length, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: Math.max(...latencies), ...worst };
}

async function runStack(bus: EventBus, brokers: string, series: number): Promise<StackMeasure[]> {
  const group = `bench-live-${series}-${Date.now()}`;
  const ports = { gateway: 18380, aggregator: 18382 };
  const common = { KAFKA_BROKERS: brokers, AGG_GROUP_ID: group };
  // As `npm run stack` (scripts/stack.mjs) runs them.
  const agg = spawnService('aggregator', { ...common, HTTP_PORT: String(ports.aggregator), NODE_OPTIONS: '--max-semi-space-size=8', MALLOC_MMAP_THRESHOLD_: '131072' });
  const gw = spawnService('api-gateway', { ...common, HTTP_PORT: String(ports.gateway), INGEST_URL: 'http://127.0.0.1:9', PREDICTOR_GRPC_ADDR: '127.0.0.1:9', NODE_OPTIONS: '--max-semi-space-size=1' });
  try {
    await Promise.all([waitReady(ports.aggregator, '/readyz'), waitReady(ports.gateway, '/readyz')]);
    let share = 1;
    const stopLoad = load(bus, series, () => Math.max(1, Math.round(series * share)));
    await new Promise((r) => setTimeout(r, WARMUP_S * 1000));
    const url = `http://127.0.0.1:${ports.gateway}`;
    const out = [await measureStack(url, ports, series, 1, MEASURE_S)];
    if (series >= 1000) {
      share = 0.01;
      await new Promise((r) => setTimeout(r, 2000));
      out.push(await measureStack(url, ports, series, 0.01, MEASURE_S));
    }
    await stopLoad();
    return out;
  } finally {
    for (const c of [gw, agg]) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)));
    }
  }
}

async function stack(): Promise<StackMeasure[]> {
  let brokers = process.env['KAFKA_BROKERS'];
  const port = process.env['BENCH_KAFKA_PORT'] ?? '29095';
  const brokerEnv = { ...process.env, KAFKA_PORT: port, KAFKA_DATA: `/tmp/event-pipeline-kafka-bench-live-${port}`, KAFKA_HEAP: '1g' };
  const own = !brokers;
  if (own) {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'wipe'], { env: brokerEnv, stdio: 'inherit' });
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { env: brokerEnv, stdio: 'inherit' });
    brokers = `127.0.0.1:${port}`;
  }
  const bus = createKafkaBus({ brokers: brokers!.split(','), clientId: 'bench-live-stats' });
  try {
    await bus.connect();
    await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
    return [...(await runStack(bus, brokers!, 10)), ...(await runStack(bus, brokers!, 10_000))];
  } finally {
    await bus.close();
    if (own) execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'stop'], { env: brokerEnv, stdio: 'inherit' });
  }
}

async function main(): Promise<void> {
  const f = (x: number, d = 1) => x.toFixed(d);
  if (MODES.includes('embedded')) {
    const small = await run(10);
    const big = await run(10_000);
    const rows = [...small, ...big];
    console.log(`\nlive stats, embedded (in-memory bus), ${new Date().toISOString()}, node ${process.version}, warm-up ${WARMUP_S} s, measure ${MEASURE_S} s each`);
    console.log('| series | changing per s | reads | read p50 / p99 / max (ms) | longest event-loop block (ms) | RSS (MB) | snapshot bytes/s |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.series.toLocaleString('en')} | ${f(r.changingShare * 100, 0)} % | ${r.reads} | ${f(r.p50, 2)} / ${f(r.p99, 2)} / ${f(r.max, 2)} | ${f(r.blockMs)} | ${f(r.rssMb, 0)} | ${Math.round(r.snapshotBytesPerSec).toLocaleString('en')} |`);
    }
    const [s10, b100, b1] = [small[0]!, big[0]!, big[1]!];
    console.log(`\nread p99 at 10,000 / at 10: ${f(b100.p99 / s10.p99, 2)}× (target ≤ 2×)`);
    console.log(`longest block at 10,000 / at 10: ${f(b100.blockMs / s10.blockMs, 2)}× (target ≤ 2×)`);
    console.log(`snapshot bytes/s, 1 % vs 100 % of 10,000 changing: ${f(b1.snapshotBytesPerSec / b100.snapshotBytesPerSec, 3)}×`);
  }
  if (MODES.includes('stack')) {
    const rows = await stack();
    console.log(`\nlive stats, multi-process (aggregator and gateway from dist/, real broker), ${new Date().toISOString()}, node ${process.version}, warm-up ${WARMUP_S} s, measure ${MEASURE_S} s each`);
    console.log('| series | changing per s | reads | read p50 / p99 / max (ms) | gateway: longest block (ms), RSS max (MB) | aggregator: longest block (ms), RSS max (MB) |');
    console.log('|---|---|---|---|---|---|');
    for (const r of rows) {
      console.log(`| ${r.series.toLocaleString('en')} | ${f(r.changingShare * 100, 0)} % | ${r.reads} | ${f(r.p50, 2)} / ${f(r.p99, 2)} / ${f(r.max, 2)} | ${f(r.gateway.blockMs)}, ${f(r.gateway.rssMb, 0)} | ${f(r.aggregator.blockMs)}, ${f(r.aggregator.rssMb, 0)} |`);
    }
    const [s10, b100] = [rows[0]!, rows[1]!];
    console.log(`\nread p99 at 10,000 / at 10: ${f(b100.p99 / s10.p99, 2)}× (target ≤ 2×)`);
    console.log(`longest block at 10,000 / at 10: gateway ${f(b100.gateway.blockMs / s10.gateway.blockMs, 2)}×, aggregator ${f(b100.aggregator.blockMs / s10.aggregator.blockMs, 2)}× (target ≤ 2×)`);
    console.log(`RSS at 10,000 (max): gateway ${f(b100.gateway.rssMb, 0)} MB (target ≤ 256), aggregator ${f(b100.aggregator.rssMb, 0)} MB (target ≤ 300)`);
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
