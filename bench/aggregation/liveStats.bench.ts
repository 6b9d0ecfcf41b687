/**
 * Live-stats read path at 10 and 10,000 busy series, embedded mode (issue 17).
 * Run: `node scripts/run-ts.mjs bench/aggregation/liveStats.bench.ts` (`npm run bench:live-stats`).
 *
 * One process, as `npm start` runs: the aggregator and the gateway on the in-memory bus (snapshot
 * interval 250 ms, as embedded). For each size, a fresh pipeline:
 *   1. warm-up (`BENCH_WARMUP_SECONDS`, default 10): every series gets one event per second
 *      (metric `live_<i>`, no group: one series each), in ten 100 ms ticks;
 *   2. measure (`BENCH_SECONDS`, default 15): the same load (100 % of the series change every
 *      second) while one reader polls `GET /pipeline/stats/live_<random>` every 20 ms. Reported:
 *      read latency p50 / p99 / max, the longest event-loop block of the process
 *      (perf_hooks.monitorEventLoopDelay, 10 ms resolution), process RSS at the end, and the bytes
 *      the aggregator wrote to the snapshot topic per second;
 *   3. (10,000 only) the same for `BENCH_SECONDS` with 1 % of the series changing each second:
 *      snapshot bytes per second, read p99, longest block.
 * Targets: read p99 and longest block at 10,000 ≤ 2× at 10; snapshot bytes/s follow the share of
 * series that changed. Everything shares one event loop (load generator, bus, aggregator, gateway,
 * reader), as in `npm start`. The in-memory bus keeps every snapshot message (no compaction), so RSS
 * includes what it has stored.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { INTERNAL_TOPICS, normalizeEvent } from '@pipeline/contracts';
import { InMemoryBus, pipelineTopicSpecs, toOutgoing, type EventBus, type OutgoingMessage } from '@pipeline/kafka';
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
  const env = { HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'silent', AGG_SNAPSHOT_INTERVAL_MS: '250', AGG_HEAP_TRIM_INTERVAL_MS: '0' };
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

/** Publishes one event to each of the first `changing` of `series` series every second, in ten ticks; returns a stop function. */
function load(bus: EventBus, series: number, changing: () => number): () => Promise<void> {
  let tick = 0;
  let running = Promise.resolve();
  const timer = setInterval(() => {
    const n = changing();
    const from = Math.floor((n * (tick % 10)) / 10);
    const to = Math.floor((n * ((tick % 10) + 1)) / 10);
    tick++;
    const now = Date.now();
    const batch: OutgoingMessage[] = [];
    for (let i = from; i < to; i++) {
      const metric = `live_${(i * 7919) % series}`; // the changing share spread over the names
      batch.push(toOutgoing(normalizeEvent({ topic: 'events.metrics', payload: { metric_name: metric, value: (i % 97) + Math.random() } }, { nowMs: now, defaultSource: 'bench' })));
    }
    if (batch.length > 0) running = running.then(() => bus.publishBatch(batch));
  }, 100);
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

async function main(): Promise<void> {
  const small = await run(10);
  const big = await run(10_000);
  const rows = [...small, ...big];
  const f = (x: number, d = 1) => x.toFixed(d);
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

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
