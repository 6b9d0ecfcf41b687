/**
 * Live-stats read path at 10, 10,000 and 100,000 busy series (issue 17), embedded and multi-process.
 * Run: `node scripts/run-ts.mjs bench/aggregation/liveStats.bench.ts` (`npm run bench:live-stats`);
 * `BENCH_MODES=embedded` or `BENCH_MODES=stack` runs one of the two (default both).
 *
 * Steps (`BENCH_STEPS`, default `10@1,10@10,10000@1,100000@10`): `<series>@<period s>`, every series
 * (metric `live_<i>`, no group: one series each) gets one event every `period` seconds, spread over
 * fifty 20 ms ticks a second. 10 and 10,000 series at one event a second (10,000 events/s) are the
 * rate of the earlier runs; 100,000 series at one event every 10 s is again 10,000 events/s, what this
 * 2-vCPU host can feed, and its ratios are taken against 10 series at the same period (`10@10`).
 * Each step, on a fresh pipeline:
 *   1. warm-up (`BENCH_WARMUP_SECONDS`, default 10, at least two periods), then until the gateway
 *      answers 100 random series in a row (at most 120 s more; the wait is reported);
 *   2. measure (`BENCH_SECONDS`, default 15, at least two periods): the load with 100 % of the series
 *      changing every period while one reader polls `GET /pipeline/stats/live_<random>` every 20 ms.
 *      Reported: read latency p50 / p99 / max of the 200 answers, reads that were not 200 (a series
 *      the gateway does not hold), the answers' `snapshot_age_ms` (median and max: grows without end
 *      if the gateway falls behind), the aggregator's events folded vs published in the window, its
 *      refused events (series cap) and active series, the snapshot entries per second it wrote, and
 *      the share of the host's CPU time (all cores, `os.cpus()`) that was busy;
 *   3. (1,000 series or more) once the snapshot rounds of the 100 % load have gone out (entries/s
 *      down to 3× what 1 % writes; at least 2 s, at most 120 s, reported), the same with 1 % of the
 *      series changing every period.
 * The aggregator's series cap (`AGG_MAX_SERIES`, shared by the input partitions) stays at its default
 * 10,000 up to 10,000 series and is 1.5× the series above (`BENCH_MAX_SERIES` overrides it).
 *
 * embedded — one process, as `npm start` runs: the aggregator and the gateway on the in-memory bus
 * (snapshot interval 250 ms, as embedded). Also reported: the longest event-loop block of the process
 * (perf_hooks.monitorEventLoopDelay, 10 ms resolution), process RSS at the end, and the bytes the
 * aggregator wrote to the snapshot topic per second. Everything shares one event loop (load
 * generator, bus, aggregator, gateway, reader). The in-memory bus keeps every message (events and
 * snapshots; no compaction), so RSS includes what it has stored.
 *
 * stack — the aggregator and the gateway as their own processes (`dist/apps/*`: `npm run build`
 * first, with the flags `npm run stack` gives them; HTTP ports `BENCH_GATEWAY_PORT`, default 18380,
 * and `BENCH_AGG_PORT`, default 18382) on a real broker: `KAFKA_BROKERS` if set, otherwise a fresh one
 * this bench starts (`scripts/kafka.sh`, port `BENCH_KAFKA_PORT`, default 29095, wiped first, stopped
 * at the end). Per step a fresh aggregator group (`AGG_GROUP_ID`), the same load published straight
 * to `events.metrics`, the same reader against the gateway. Reported per process: the longest
 * event-loop block (max of `nodejs_eventloop_lag_max_seconds` over 1 s scrapes of its /metrics) and
 * RSS (max over those scrapes), its CPU (cores: `process_cpu_seconds_total` over the window), and from `blockProbe.cjs` (preloaded into both with `--require`: each
 * late 10 ms timer, with the main thread's CPU time over it) the main-thread CPU time inside the
 * longest block and the most main-thread CPU time inside any block of the window: how much of a block
 * was the service running, and how much waiting for a core. `BENCH_PIN=gateway` (or `aggregator`)
 * starts that service under `taskset -c 1`: run the bench itself under `taskset -c 0` to give it a
 * core of its own (the broker, the bench and the other service share the other). With `KAFKA_BROKERS`, the ~10,000 events/s it leaves on
 * `events.metrics` are read by any new aggregator group on that broker for the next 5 minutes (the
 * history horizon): integration tests run there meanwhile time out.
 *
 * Targets (issue 17): read p99 and longest block at 10,000 ≤ 2× at 10; gateway RSS ≤ 256 MB and
 * aggregator RSS ≤ 300 MB at 10,000; snapshot bytes/s follow the share of series that changed;
 * 100,000 busy series held (no target figures).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
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

interface Step {
  series: number;
  /** Seconds between two events of one series. */
  periodS: number;
}

const STEPS: Step[] = (process.env['BENCH_STEPS'] ?? '10@1,10@10,10000@1,100000@10').split(',').map((s) => {
  const [series, period = '1'] = s.split('@');
  const step = { series: Number(series), periodS: Number(period) };
  if (!Number.isInteger(step.series) || step.series < 1 || !Number.isInteger(step.periodS) || step.periodS < 1) {
    throw new Error(`BENCH_STEPS entries must be <series>@<whole seconds>, got "${s}"`);
  }
  return step;
});
const warmupS = (st: Step) => Math.max(WARMUP_S, 2 * st.periodS);
const measureS = (st: Step) => Math.max(MEASURE_S, 2 * st.periodS);
const maxSeries = (st: Step) => process.env['BENCH_MAX_SERIES'] ?? String(Math.max(10_000, Math.ceil(st.series * 1.5)));

interface Pipeline {
  bus: EventBus;
  url: string;
  aggregatorPort: number;
  snapshotBytes(): number;
  stop(): Promise<void>;
}

async function startPipeline(st: Step): Promise<Pipeline> {
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
  const agg = await startService(createAggregator, readAggregatorConfig({ ...env, AGG_MAX_SERIES: maxSeries(st) }, { requireBrokers: false }), bus, { logger });
  running.push(agg);
  const gw = await startService(createGateway, readGatewayConfig({ ...env, INGEST_URL: 'http://127.0.0.1:9', PREDICTOR_GRPC_ADDR: '127.0.0.1:9' }, { requireBrokers: false }), bus, { logger });
  running.push(gw);
  return {
    bus,
    url: `http://127.0.0.1:${gw.port}`,
    aggregatorPort: agg.port,
    snapshotBytes: () => bytes,
    async stop() {
      for (const s of running.reverse()) await s.stop();
      await memory.close();
    },
  };
}

const TICKS = 50;

interface Load {
  /** Events published (acknowledged) so far. */
  published(): number;
  stop(): Promise<void>;
}

/** Publishes one event to each of the first `changing()` of `series` series every `periodS` seconds, spread over fifty ticks a second. */
function load(bus: EventBus, st: Step, changing: () => number): Load {
  const cycle = TICKS * st.periodS;
  let tick = 0;
  let published = 0;
  let running = Promise.resolve();
  const timer = setInterval(() => {
    const n = changing();
    const from = Math.floor((n * (tick % cycle)) / cycle);
    const to = Math.floor((n * ((tick % cycle) + 1)) / cycle);
    tick++;
    const now = Date.now();
    const batch: OutgoingMessage[] = [];
    for (let i = from; i < to; i++) {
      const metric = `live_${(i * 7919) % st.series}`; // the changing share spread over the names
      batch.push(toOutgoing(normalizeEvent({ topic: 'events.metrics', payload: { metric_name: metric, value: (i % 97) + Math.random() } }, { nowMs: now, defaultSource: 'bench' })));
    }
    if (batch.length > 0) running = running.then(() => bus.publishBatch(batch)).then(() => void (published += batch.length));
  }, 1000 / TICKS);
  return {
    published: () => published,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

interface Reads {
  latencies: number[];
  /** Answers other than 200 (a series the gateway does not hold, or an error). */
  misses: number;
  /** `completeness.snapshot_age_ms` of the 200 answers. */
  ages: number[];
}

async function readFor(url: string, series: number, seconds: number): Promise<Reads> {
  const out: Reads = { latencies: [], misses: 0, ages: [] };
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const metric = `live_${Math.floor(Math.random() * series)}`;
    const t = process.hrtime.bigint();
    const res = await fetch(`${url}/pipeline/stats/${metric}`);
    const body = await res.arrayBuffer();
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    if (res.status === 200) {
      out.latencies.push(ms);
      const age = (JSON.parse(Buffer.from(body).toString()) as { completeness?: { snapshot_age_ms?: number | null } }).completeness?.snapshot_age_ms;
      if (typeof age === 'number') out.ages.push(age);
    } else out.misses++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return out;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN;
};
const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);

/** The aggregator's counters from its /metrics, summed over labels. */
interface AggregatorCounters {
  processed: number;
  refused: number;
  activeSeries: number;
  snapshotEntries: number;
}

function promValue(text: string, name: string): number {
  let sum = 0;
  let seen = false;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))) {
    sum += Number(m[1]);
    seen = true;
  }
  return seen ? sum : NaN;
}

async function metricsText(port: number): Promise<string | undefined> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return undefined;
  }
}

async function aggregatorCounters(port: number): Promise<AggregatorCounters> {
  const text = (await metricsText(port)) ?? '';
  return {
    processed: promValue(text, 'pipeline_aggregator_events_processed_total'),
    refused: promValue(text, 'pipeline_aggregator_refused_events_total'),
    activeSeries: promValue(text, 'pipeline_aggregator_active_series'),
    snapshotEntries: promValue(text, 'pipeline_aggregator_snapshot_series_total'),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * After the warm-up: waits (at most 120 s) until the gateway answers 200 for 100 random series in a
 * row, i.e. holds the step's series. Returns the seconds waited.
 */
async function untilHeld(url: string, series: number): Promise<number> {
  const t0 = Date.now();
  let inRow = 0;
  while (inRow < 100 && Date.now() - t0 < 120_000) {
    const res = await fetch(`${url}/pipeline/stats/live_${Math.floor(Math.random() * series)}`);
    await res.arrayBuffer();
    if (res.status === 200) inRow++;
    else {
      inRow = 0;
      await sleep(250);
    }
  }
  return (Date.now() - t0) / 1000;
}

/**
 * Between the 100 % and the 1 % window: waits (at least 2 s, at most 120 s) until the aggregator's
 * snapshot entries over 3 s fall to three times what 1 % changing writes (the rounds of the 100 %
 * load have gone out). Returns the seconds waited.
 */
async function untilDrained(aggregatorPort: number, st: Step): Promise<number> {
  const t0 = Date.now();
  await sleep(2000);
  const perSec = (st.series * 0.01) / st.periodS;
  while (Date.now() - t0 < 120_000) {
    const a = (await aggregatorCounters(aggregatorPort)).snapshotEntries;
    await sleep(3000);
    if (((await aggregatorCounters(aggregatorPort)).snapshotEntries - a) / 3 <= 3 * perSec + 10) break;
  }
  return (Date.now() - t0) / 1000;
}

/** What every mode reports for one measured window. */
interface Common {
  series: number;
  periodS: number;
  changingShare: number;
  /** Seconds waited before the window beyond the fixed warm-up (untilHeld) or 2 s (untilDrained). */
  waitedS: number;
  seconds: number;
  reads: number;
  misses: number;
  p50: number;
  p99: number;
  max: number;
  ageP50: number;
  ageMax: number;
  published: number;
  folded: number;
  refused: number;
  activeSeries: number;
  snapshotEntriesPerSec: number;
  /** Share of the host's CPU time (all cores) that was busy during the window: near 1, every process waits for a core. */
  hostCpuBusy: number;
}

/** Idle and total CPU time of the host, all cores (ms). */
function hostCpu(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

async function measureWindow(aggregatorPort: number, ld: Load, st: Step, share: number, waitedS: number, during: (seconds: number) => Promise<Reads>): Promise<Common> {
  const seconds = measureS(st);
  const [c0, p0, t0, cpu0] = [await aggregatorCounters(aggregatorPort), ld.published(), Date.now(), hostCpu()];
  const r = await during(seconds);
  const [c1, p1, elapsed, cpu1] = [await aggregatorCounters(aggregatorPort), ld.published(), (Date.now() - t0) / 1000, hostCpu()];
  return {
    series: st.series,
    periodS: st.periodS,
    changingShare: share,
    waitedS,
    seconds: elapsed,
    reads: r.latencies.length,
    misses: r.misses,
    p50: pct(r.latencies, 0.5),
    p99: pct(r.latencies, 0.99),
    max: max(r.latencies),
    ageP50: pct(r.ages, 0.5),
    ageMax: max(r.ages),
    published: p1 - p0,
    folded: c1.processed - c0.processed,
    refused: c1.refused,
    activeSeries: c1.activeSeries,
    snapshotEntriesPerSec: (c1.snapshotEntries - c0.snapshotEntries) / elapsed,
    hostCpuBusy: 1 - (cpu1.idle - cpu0.idle) / (cpu1.total - cpu0.total),
  };
}

interface Measure extends Common {
  blockMs: number;
  rssMb: number;
  snapshotBytesPerSec: number;
}

async function measure(p: Pipeline, ld: Load, st: Step, share: number, waitedS: number): Promise<Measure> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  const bytes0 = p.snapshotBytes();
  const t0 = Date.now();
  h.enable();
  const c = await measureWindow(p.aggregatorPort, ld, st, share, waitedS, (s) => readFor(p.url, st.series, s));
  h.disable();
  const elapsed = (Date.now() - t0) / 1000;
  return { ...c, blockMs: h.max / 1e6, rssMb: process.memoryUsage().rss / MB, snapshotBytesPerSec: (p.snapshotBytes() - bytes0) / elapsed };
}

async function run(st: Step): Promise<Measure[]> {
  const p = await startPipeline(st);
  let share = 1;
  const ld = load(p.bus, st, () => Math.max(1, Math.round(st.series * share)));
  await sleep(warmupS(st) * 1000);
  const out = [await measure(p, ld, st, 1, await untilHeld(p.url, st.series))];
  if (st.series >= 1000) {
    share = 0.01;
    out.push(await measure(p, ld, st, 0.01, await untilDrained(p.aggregatorPort, st)));
  }
  await ld.stop();
  await p.stop();
  return out;
}

const MODES = (process.env['BENCH_MODES'] ?? 'embedded,stack').split(',');
const root = process.cwd();

interface ServiceMeasure {
  blockMs: number;
  rssMb: number;
  cores: number;
  /** blockProbe: main-thread CPU ms inside the longest block it saw in the window. */
  longestBlockCpuMs: number;
  /** blockProbe: the most main-thread CPU ms inside any one block of the window. */
  mostBlockCpuMs: number;
}

interface StackMeasure extends Common {
  gateway: ServiceMeasure;
  aggregator: ServiceMeasure;
}

const PROBE = join(process.cwd(), 'bench/aggregation/blockProbe.cjs');
const probeFiles = { gateway: '', aggregator: '' };

/** The blocks blockProbe recorded for `app` between `fromMs` and `toMs` (epoch): the CPU inside the longest, the most CPU inside one. */
function probed(app: 'gateway' | 'aggregator', fromMs: number, toMs: number): Pick<ServiceMeasure, 'longestBlockCpuMs' | 'mostBlockCpuMs'> {
  const file = probeFiles[app];
  let longest = { block: 0, cpu: 0 };
  let most = 0;
  for (const line of existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []) {
    const [at, block, cpu] = line.split(' ').map(Number);
    if (!(at! >= fromMs && at! <= toMs)) continue;
    if (block! > longest.block) longest = { block: block!, cpu: cpu! };
    most = Math.max(most, cpu!);
  }
  return { longestBlockCpuMs: longest.cpu, mostBlockCpuMs: most };
}

/** Longest event-loop block (ms) since its last scrape, RSS (MB) and CPU seconds used of a service, from its /metrics (prom-client defaults). */
async function scrape(port: number): Promise<{ blockMs: number; rssMb: number; cpuS: number } | undefined> {
  const text = await metricsText(port);
  if (text === undefined) return undefined;
  return { blockMs: promValue(text, 'nodejs_eventloop_lag_max_seconds') * 1000, rssMb: promValue(text, 'process_resident_memory_bytes') / MB, cpuS: promValue(text, 'process_cpu_seconds_total') };
}

function spawnService(app: 'aggregator' | 'api-gateway', env: Record<string, string>): ChildProcess {
  const key = app === 'api-gateway' ? 'gateway' : 'aggregator';
  probeFiles[key] = `/tmp/bench-live-probe-${key}-${process.pid}-${Date.now()}.log`;
  const node = [process.execPath, join(root, `dist/apps/${app}/main.js`)];
  const [cmd, ...args] = process.env['BENCH_PIN'] === key ? ['taskset', '-c', '1', ...node] : node;
  const childEnv = { ...process.env, LOG_LEVEL: 'warn', HTTP_HOST: '127.0.0.1', ...env, NODE_OPTIONS: `${env['NODE_OPTIONS'] ?? ''} --require ${PROBE}`, BLOCK_PROBE_FILE: probeFiles[key] };
  return spawn(cmd!, args, { env: childEnv, stdio: ['ignore', 'inherit', 'inherit'] });
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

const PORTS = { gateway: Number(process.env['BENCH_GATEWAY_PORT'] ?? 18380), aggregator: Number(process.env['BENCH_AGG_PORT'] ?? 18382) };

async function measureStack(url: string, ld: Load, st: Step, share: number, waitedS: number): Promise<StackMeasure> {
  const none = { blockMs: 0, rssMb: 0, cores: 0, longestBlockCpuMs: 0, mostBlockCpuMs: 0 };
  const worst = { gateway: { ...none }, aggregator: { ...none } };
  const fromMs = Date.now();
  const [g0, a0] = await Promise.all([scrape(PORTS.gateway), scrape(PORTS.aggregator)]); // resets the lag histograms
  const t0 = performance.now();
  const timer = setInterval(() => {
    for (const k of ['gateway', 'aggregator'] as const) {
      void scrape(PORTS[k]).then((m) => {
        if (!m) return;
        worst[k].blockMs = Math.max(worst[k].blockMs, m.blockMs);
        worst[k].rssMb = Math.max(worst[k].rssMb, m.rssMb);
      });
    }
  }, 1000);
  const c = await measureWindow(PORTS.aggregator, ld, st, share, waitedS, (s) => readFor(url, st.series, s));
  clearInterval(timer);
  const [g1, a1] = await Promise.all([scrape(PORTS.gateway), scrape(PORTS.aggregator)]);
  const seconds = (performance.now() - t0) / 1000;
  worst.gateway.cores = ((g1?.cpuS ?? NaN) - (g0?.cpuS ?? NaN)) / seconds;
  worst.aggregator.cores = ((a1?.cpuS ?? NaN) - (a0?.cpuS ?? NaN)) / seconds;
  for (const [k, m] of [['gateway', g1], ['aggregator', a1]] as const) if (m) worst[k].blockMs = Math.max(worst[k].blockMs, m.blockMs);
  await sleep(600); // the probes write every 500 ms
  for (const k of ['gateway', 'aggregator'] as const) Object.assign(worst[k], probed(k, fromMs, Date.now() - 600));
  return { ...c, ...worst };
}

async function runStack(bus: EventBus, brokers: string, st: Step): Promise<StackMeasure[]> {
  const group = `bench-live-${st.series}-${st.periodS}-${Date.now()}`;
  const common = { KAFKA_BROKERS: brokers, AGG_GROUP_ID: group };
  // As `npm run stack` (scripts/stack.mjs) runs them.
  const agg = spawnService('aggregator', { ...common, HTTP_PORT: String(PORTS.aggregator), AGG_MAX_SERIES: maxSeries(st), NODE_OPTIONS: process.env['BENCH_AGG_NODE_OPTIONS'] ?? '--max-semi-space-size=8 --max-old-space-size=512', MALLOC_MMAP_THRESHOLD_: '131072' });
  const gw = spawnService('api-gateway', { ...common, HTTP_PORT: String(PORTS.gateway), INGEST_URL: 'http://127.0.0.1:9', PREDICTOR_GRPC_ADDR: '127.0.0.1:9', NODE_OPTIONS: process.env['BENCH_GATEWAY_NODE_OPTIONS'] ?? '--max-semi-space-size=1 --max-old-space-size=256' });
  try {
    await Promise.all([waitReady(PORTS.aggregator, '/readyz'), waitReady(PORTS.gateway, '/readyz')]);
    let share = 1;
    const ld = load(bus, st, () => Math.max(1, Math.round(st.series * share)));
    await sleep(warmupS(st) * 1000);
    const url = `http://127.0.0.1:${PORTS.gateway}`;
    const out = [await measureStack(url, ld, st, 1, await untilHeld(url, st.series))];
    if (st.series >= 1000) {
      share = 0.01;
      out.push(await measureStack(url, ld, st, 0.01, await untilDrained(PORTS.aggregator, st)));
    }
    await ld.stop();
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
    const rows: StackMeasure[] = [];
    for (const st of STEPS) {
      const got = await runStack(bus, brokers!, st);
      for (const r of got) console.error(`stack step done: ${JSON.stringify(r)}`);
      rows.push(...got);
    }
    return rows;
  } finally {
    await bus.close();
    if (own) execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'stop'], { env: brokerEnv, stdio: 'inherit' });
  }
}

const f = (x: number, d = 1) => x.toFixed(d);
const n = (x: number) => Math.round(x).toLocaleString('en');
const label = (r: Common) => `${r.series.toLocaleString('en')} | 1 / ${r.periodS} s | ${f(r.changingShare * 100, 0)} % | ${f(r.waitedS)}`;
const common = (r: Common) =>
  `${r.reads} (${r.misses} not 200) | ${f(r.p50, 2)} / ${f(r.p99, 2)} / ${f(r.max, 2)} | ${n(r.ageP50)} / ${n(r.ageMax)} | ${n(r.folded)} of ${n(r.published)} | ${n(r.activeSeries)}, ${n(r.refused)} | ${n(r.snapshotEntriesPerSec)} | ${f(r.hostCpuBusy * 100, 0)}`;
const HEAD = '| series | events per series | changing | waited (s) | reads | read p50 / p99 / max (ms) | snapshot age p50 / max (ms) | events folded of published | aggregator active series, refused | snapshot entries/s | host CPU busy (%) |';

/** Ratios of the steps against 10 series at the same period, and 1 % vs 100 % changing. */
function ratios<R extends Common>(rows: R[], figures: Record<string, (r: R) => number>): void {
  for (const big of rows.filter((r) => r.series > 10 && r.changingShare === 1)) {
    const base = rows.find((r) => r.series === 10 && r.periodS === big.periodS);
    if (base) {
      const parts = Object.entries(figures).map(([k, g]) => `${k} ${f(g(big) / g(base), 2)}×`);
      console.log(`${big.series.toLocaleString('en')} / 10 series, one event per ${big.periodS} s: read p99 ${f(big.p99 / base.p99, 2)}×, ${parts.join(', ')} (targets ≤ 2× at 10,000)`);
    }
    const one = rows.find((r) => r.series === big.series && r.periodS === big.periodS && r.changingShare === 0.01);
    if (one) console.log(`${big.series.toLocaleString('en')} series, 1 % vs 100 % changing: snapshot entries/s ${f(one.snapshotEntriesPerSec / big.snapshotEntriesPerSec, 3)}×${'snapshotBytesPerSec' in one ? `, snapshot bytes/s ${f((one as unknown as Measure).snapshotBytesPerSec / (big as unknown as Measure).snapshotBytesPerSec, 3)}×` : ''}`);
  }
}

async function main(): Promise<void> {
  const steps = STEPS.map((s) => `${s.series}@${s.periodS}`).join(', ');
  if (MODES.includes('embedded')) {
    const rows: Measure[] = [];
    for (const st of STEPS) {
      const got = await run(st);
      for (const r of got) console.error(`embedded step done: ${JSON.stringify(r)}`);
      rows.push(...got);
    }
    console.log(`\nlive stats, embedded (in-memory bus), ${new Date().toISOString()}, node ${process.version}, steps ${steps}, warm-up ≥ ${WARMUP_S} s, measure ≥ ${MEASURE_S} s each`);
    console.log(`${HEAD} longest event-loop block (ms) | RSS (MB) | snapshot bytes/s |`);
    console.log(`|${'---|'.repeat(14)}`);
    for (const r of rows) console.log(`| ${label(r)} | ${common(r)} | ${f(r.blockMs)} | ${f(r.rssMb, 0)} | ${n(r.snapshotBytesPerSec)} |`);
    console.log('');
    ratios(rows, { 'longest block': (r) => r.blockMs });
  }
  if (MODES.includes('stack')) {
    const rows = await stack();
    console.log(`\nlive stats, multi-process (aggregator and gateway from dist/, real broker), ${new Date().toISOString()}, node ${process.version}, steps ${steps}, warm-up ≥ ${WARMUP_S} s, measure ≥ ${MEASURE_S} s each`);
    console.log(`${HEAD} gateway: longest block (ms) [its main-thread CPU / most in one block (ms)], RSS max (MB), CPU (cores) | aggregator: the same |`);
    console.log(`|${'---|'.repeat(13)}`);
    const svc = (x: ServiceMeasure) => `${f(x.blockMs)} [${f(x.longestBlockCpuMs)} / ${f(x.mostBlockCpuMs)}], ${f(x.rssMb, 0)}, ${f(x.cores, 2)}`;
    for (const r of rows) console.log(`| ${label(r)} | ${common(r)} | ${svc(r.gateway)} | ${svc(r.aggregator)} |`);
    console.log('');
    ratios(rows, { 'gateway block': (r) => r.gateway.blockMs, 'aggregator block': (r) => r.aggregator.blockMs });
    for (const r of rows.filter((x) => x.changingShare === 1)) {
      const cpu = (x: ServiceMeasure) => `${f(x.mostBlockCpuMs)} ms (longest block ${f(x.blockMs)} ms, ${f(x.longestBlockCpuMs)} ms of it)`;
      console.log(`${r.series.toLocaleString('en')} series, 100 % changing, most main-thread CPU inside one block: gateway ${cpu(r.gateway)}, aggregator ${cpu(r.aggregator)}`);
    }
    for (const r of rows.filter((x) => x.series >= 10_000 && x.changingShare === 1)) {
      console.log(`RSS at ${r.series.toLocaleString('en')} (max): gateway ${f(r.gateway.rssMb, 0)} MB, aggregator ${f(r.aggregator.rssMb, 0)} MB (targets at 10,000: ≤ 256, ≤ 300)`);
    }
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
