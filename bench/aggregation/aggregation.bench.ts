/**
 * Benchmark of @pipeline/aggregation (run: `npm run bench:aggregation`).
 *
 *   1. throughput: StreamingAggregator.recordMetric with window stats + percentiles + rate,
 *      5,000,000 events over 1,000 (metric, group) series, event time advancing 10 s per 100,000
 *      events, `expire` every 50,000 events.
 *   2. memory (fresh child process): RSS and heap after filling 10,000 live series (10 metrics × 999
 *      groups + 10 overall series) with one lognormal latency per series per second for 300 s,
 *      i.e. every 1 s bucket of every window non-empty; plus the serialized snapshot size.
 *   3. serialize / deserialize / merge time of that 10,000-series state.
 *   4. expire rounds: the same 10,000 filled series, then 60 s more of event time with five
 *      `expire` calls per second (200 ms snapshot rounds), once with every series getting its event
 *      each second and once with 1 % of them: duration of each `expire` call (p50 / p99 / max) and
 *      the total per second of event time.
 *   Memory runs three times: default V8 flags, --max-semi-space-size=16, and =8 (as deployed).
 *
 * Options: `--events N` (throughput events), `--phase throughput|memory|expire` (default all),
 * `--sub-windows N` (memory phase).
 */
import { spawnSync } from 'node:child_process';
import { StreamingAggregator } from '@pipeline/aggregation';

const T0 = Date.UTC(2026, 10, 27);
const MB = 1024 * 1024;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Deterministic standard-normal sampler (mulberry32 + Box–Muller). */
function normalSampler(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function throughput(events: number): Record<string, string> {
  const metrics = Array.from({ length: 10 }, (_, i) => `metric_${i}`);
  const groups = Array.from({ length: 100 }, (_, i) => `group_${i}`);
  const normal = normalSampler(1);
  // Pre-generated inputs so the timing measures the aggregator, not the generator.
  const n = 1 << 20;
  const values = new Float64Array(n).map(() => Math.exp(3 + 0.8 * normal()));
  const agg = new StreamingAggregator();
  const msPerEvent = 10_000 / 100_000;
  // Warm-up (JIT) on a separate instance.
  const warm = new StreamingAggregator();
  for (let i = 0; i < 200_000; i++) warm.recordMetric(metrics[i % 10], groups[Math.floor(i / 10) % 100], values[i & (n - 1)], T0 + i * msPerEvent, T0 + i * msPerEvent);
  gc();
  const start = process.hrtime.bigint();
  for (let i = 0; i < events; i++) {
    const t = T0 + i * msPerEvent;
    agg.recordMetric(metrics[i % 10], groups[Math.floor(i / 10) % 100], values[i & (n - 1)], t, t);
    if (i % 50_000 === 49_999) agg.expire(t);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const nowMs = T0 + events * msPerEvent;
  const q0 = process.hrtime.bigint();
  let checksum = 0;
  for (const m of metrics) checksum += agg.metricStats(m, nowMs)!.stats.p99 ?? 0;
  const queryMs = Number(process.hrtime.bigint() - q0) / 1e6;
  const c = agg.counters();
  return {
    'events': events.toLocaleString('en-US'),
    'series (incl. 10 overall)': String(c.activeSeries),
    'elapsed s': seconds.toFixed(2),
    'events/s': Math.round(events / seconds).toLocaleString('en-US'),
    'metricStats of 10 metrics × 100 groups, ms': queryMs.toFixed(1),
    'checksum': checksum.toFixed(1),
  };
}

async function memory(): Promise<Record<string, string>> {
  gc();
  const rssBefore = process.memoryUsage().rss;
  const metrics = Array.from({ length: 10 }, (_, i) => `metric_${i}`);
  const groups = Array.from({ length: 999 }, (_, i) => `group_${i}`);
  const normal = normalSampler(2);
  const values = new Float64Array(1 << 20).map(() => Math.exp(3 + 0.8 * normal()));
  const agg = new StreamingAggregator({ percentileSubWindows: Number(arg('sub-windows', '10')) });
  let events = 0;
  for (let s = 0; s < 300; s++) {
    const t = T0 + s * 1000;
    for (let mi = 0; mi < metrics.length; mi++) {
      for (let gi = 0; gi < groups.length; gi++) {
        agg.recordMetric(metrics[mi], groups[gi], values[events & 0xfffff], t + (events % 1000), t);
        events++;
      }
    }
    agg.expire(t);
  }
  // Let V8's memory reducer return freed pages before reading RSS.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const mem = process.memoryUsage();
  const nowMs = T0 + 299_999;
  const s0 = process.hrtime.bigint();
  const bytes = agg.serialize();
  const s1 = process.hrtime.bigint();
  const copy = StreamingAggregator.deserialize(bytes);
  const s2 = process.hrtime.bigint();
  copy.merge(agg);
  const s3 = process.hrtime.bigint();
  const check = copy.metricStats('metric_0', nowMs)!.stats.count === 2 * agg.metricStats('metric_0', nowMs)!.stats.count;
  return {
    'live series': String(agg.counters().activeSeries),
    'events (1 per series per second, 300 s)': events.toLocaleString('en-US'),
    'RSS before fill, MB': (rssBefore / MB).toFixed(0),
    'RSS after fill, MB': (mem.rss / MB).toFixed(0),
    'heap used / total, MB': `${(mem.heapUsed / MB).toFixed(0)} / ${(mem.heapTotal / MB).toFixed(0)}`,
    'array buffers, MB': (mem.arrayBuffers / MB).toFixed(0),
    'snapshot bytes': bytes.length.toLocaleString('en-US'),
    'snapshot bytes / series': Math.round(bytes.length / agg.counters().activeSeries).toLocaleString('en-US'),
    'serialize ms': (Number(s1 - s0) / 1e6).toFixed(0),
    'deserialize ms': (Number(s2 - s1) / 1e6).toFixed(0),
    'merge ms': (Number(s3 - s2) / 1e6).toFixed(0),
    'merge doubled counts': String(check),
  };
}

/** Phase 4: the cost of `expire` each snapshot round at 10,000 live series, busy and mostly quiet. */
function expireRounds(): Record<string, Record<string, string>> {
  const metrics = Array.from({ length: 10 }, (_, i) => `metric_${i}`);
  const groups = Array.from({ length: 999 }, (_, i) => `group_${i}`);
  const normal = normalSampler(3);
  const values = new Float64Array(1 << 20).map(() => Math.exp(3 + 0.8 * normal()));
  const out: Record<string, Record<string, string>> = {};
  for (const share of [1, 0.01]) {
    const agg = new StreamingAggregator();
    let events = 0;
    const second = (s: number, every: number): void => {
      const t = T0 + s * 1000;
      for (let mi = 0; mi < metrics.length; mi++) {
        for (let gi = 0; gi < groups.length; gi += every) {
          agg.recordMetric(metrics[mi], groups[gi], values[events & 0xfffff], t + (events % 1000), t);
          events++;
        }
      }
    };
    for (let s = 0; s < 300; s++) {
      second(s, 1);
      agg.expire(T0 + s * 1000);
    }
    gc();
    const calls: number[] = [];
    for (let s = 300; s < 360; s++) {
      for (let r = 0; r < 5; r++) {
        if (r === 1) second(s, Math.round(1 / share)); // the second's events arrive after its first round
        const t0 = process.hrtime.bigint();
        agg.expire(T0 + s * 1000 + r * 200);
        calls.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    const sorted = [...calls].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const c = agg.counters();
    out[`${share * 100} % changing`] = {
      'live series': String(c.activeSeries),
      'expire calls': String(calls.length),
      'expire ms p50 / p99 / max': `${at(0.5).toFixed(3)} / ${at(0.99).toFixed(3)} / ${sorted[sorted.length - 1].toFixed(3)}`,
      'expire ms per second of event time': (calls.reduce((a, b) => a + b, 0) / 60).toFixed(3),
      'windowExpirations': c.windowExpirations.toLocaleString('en-US'),
    };
  }
  return out;
}

function printTable(title: string, columns: Record<string, Record<string, string>>): void {
  const names = Object.keys(columns);
  const keys = Object.keys(columns[names[0]]);
  const kw = Math.max(...keys.map((k) => k.length));
  const widths = names.map((n) => Math.max(n.length, ...keys.map((k) => (columns[n][k] ?? '').length)));
  console.log(`\n${title}`);
  if (names.length > 1) console.log(`  ${''.padEnd(kw)}  ${names.map((n, i) => n.padStart(widths[i])).join('  ')}`);
  for (const k of keys) console.log(`  ${k.padEnd(kw)}  ${names.map((n, i) => (columns[n][k] ?? '').padStart(widths[i])).join('  ')}`);
}

/** Runs the memory phase in a fresh Node process with the given V8 flags and bench arguments. */
function memoryInChild(nodeFlags: string[], args: string[]): Record<string, string> {
  const child = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags, process.argv[1], '--phase', 'memory', ...args], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`memory phase failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Record<string, string>;
}

const phase = arg('phase', 'both');
if (phase === 'expire') {
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  printTable('4. expire rounds at 10,000 live series (5 per second of event time)', expireRounds());
} else if (phase === 'memory') {
  // Child mode: print the result as JSON for the parent.
  void memory().then((rows) => console.log(JSON.stringify(rows)));
} else {
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  printTable('1. throughput (one core)', { value: throughput(Number(arg('events', '5000000'))) });
  if (phase === 'both') {
    // Memory in fresh processes so the throughput run's heap does not inflate RSS. V8 grows its
    // young generation up to 2 × 64 MB while 10,000 series are created (high survival rate); the
    // other columns cap it with --max-semi-space-size (8 is what deploy/ gives the aggregator).
    printTable('2./3. memory, snapshot and merge of 10,000 live series (fresh process each)', {
      'default flags': memoryInChild([], []),
      'semi-space 16 MB': memoryInChild(['--max-semi-space-size=16'], []),
      'semi-space 8 MB (deployed)': memoryInChild(['--max-semi-space-size=8'], []),
    });
    printTable('4. expire rounds at 10,000 live series (5 per second of event time)', expireRounds());
  }
}
