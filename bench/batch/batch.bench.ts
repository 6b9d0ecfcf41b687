// Batch library throughput on 1,000,000 events, side by side with pandas on the same data.
//   npm run bench:batch                (= node scripts/run-ts.mjs bench/batch/batch.bench.ts)
//   npm run bench:batch -- --no-pandas
// Targets: timeWindowMetrics and detectAnomalies ≤ 1 s each on 1M events; joinStreams 1M × 1M: time and memory.
// Timings for @pipeline/batch start from event objects (envelopes with ISO-8601 timestamps) and include
// extracting and validating the columns; pandas timings start from an already-built DataFrame, with the
// ISO-timestamp parsing (pd.to_datetime) timed separately. Each in-process figure is the median of 3 reps
// (join: 1 rep, so its memory figure is clean). Run the whole command 3 times and quote the medians.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectAnomalies, joinStreams, timeWindowMetrics } from '@pipeline/batch';

const N = 1_000_000;
const T0 = Date.UTC(2026, 10, 1);
const HOSTS = ['api-1', 'api-2', 'api-3', 'worker-1', 'worker-2', 'db-1', 'db-2', 'cache-1'];
const PYTHON = '/usr/bin/python3';
const withPandas = !process.argv.includes('--no-pandas') && spawnSync(PYTHON, ['-c', 'import pandas'], { stdio: 'ignore' }).status === 0;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Pipeline envelopes spread over 24 h, ~normal values (sum of 4 uniforms), 0.1 % spikes, 8 hosts. */
function makeEvents(n: number) {
  const r = rng(42);
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  const hosts: string[] = new Array(n);
  const events = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = T0 + Math.floor((i / n) * 86_400_000) + Math.floor(r() * 1000);
    const v = r() < 0.001 ? 500 + r() * 100 : 100 + (r() + r() + r() + r() - 2) * 20;
    const host = HOSTS[i % HOSTS.length];
    ts[i] = t;
    values[i] = v;
    hosts[i] = host;
    events[i] = { id: `e${i}`, topic: 'events.metrics', type: 'metric', timestamp: new Date(t).toISOString(), source: 'bench', key: host, payload: { metric_name: 'latency', value: v, host } };
  }
  return { events, ts, values, hosts };
}

function time<T>(fn: () => T): { ms: number; out: T } {
  const t0 = process.hrtime.bigint();
  const out = fn();
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, out };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
const gc = () => (globalThis as { gc?: () => void }).gc?.();

const report: string[] = [];
const line = (s: string) => {
  console.log(s);
  report.push(s);
};

line(`# batch bench — ${new Date().toISOString()} — Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load avg ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

// ---- windows and anomalies --------------------------------------------------------------------
const data = makeEvents(N);
timeWindowMetrics(data.events.slice(0, 100_000), { windowMinutes: 5, valueKey: 'value' }); // warm-up
detectAnomalies(data.events.slice(0, 100_000), { thresholdStd: 3 });

const cases: [string, () => unknown][] = [
  ['timeWindowMetrics tumbling 5 min (288 windows)', () => timeWindowMetrics(data.events, { windowMinutes: 5, valueKey: 'value' })],
  ['timeWindowMetrics hopping 60/15 min by host', () => timeWindowMetrics(data.events, { windowMinutes: 60, slideMinutes: 15, valueKey: 'value', groupKey: 'host' })],
  ['detectAnomalies |z| > 3', () => detectAnomalies(data.events, { thresholdStd: 3 })],
  ['detectAnomalies |z| > 3 by host', () => detectAnomalies(data.events, { thresholdStd: 3, groupKey: 'host' })],
];
const ours: Record<string, number> = {};
for (const [name, fn] of cases) {
  gc();
  const runs = [0, 1, 2].map(() => time(fn).ms);
  ours[name] = median(runs);
  line(`batch   ${name}: median ${median(runs).toFixed(0)} ms (runs ${runs.map((x) => x.toFixed(0)).join(', ')})`);
}
const anomalies = detectAnomalies(data.events, { thresholdStd: 3 }).anomalies.length;
line(`        (${anomalies} anomalies flagged at |z| > 3)`);

let dir: string | null = null;
if (withPandas) {
  dir = mkdtempSync(join(tmpdir(), 'batch-bench-'));
  writeFileSync(join(dir, 'events.json'), JSON.stringify({ ts: Array.from(data.ts), value: Array.from(data.values), host: data.hosts, iso: data.events.map((e: { timestamp: string }) => e.timestamp) }));
}

// ---- join 1M × 1M -----------------------------------------------------------------------------
data.events.length = 0;
gc();
/** Left: 1M events with keys user-0…user-999999 shuffled. Right: 1M events, 90 % hit a left key (~5 % of left keys twice), 10 % miss; a hit is 0–60 s after its left event. */
function makeJoinSides(n: number) {
  const r = rng(7);
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const inv = new Int32Array(n);
  for (let j = 0; j < n; j++) inv[perm[j]] = j;
  const left = new Array(n);
  const right = new Array(n);
  const lk: string[] = new Array(n);
  const rk: string[] = new Array(n);
  const lt = new Float64Array(n);
  const rt = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const key = `user-${perm[i]}`;
    lt[i] = T0 + i * 86;
    lk[i] = key;
    left[i] = { id: `l${i}`, topic: 'events.analytics', type: 'page_view', timestamp: lt[i], source: 'web', key, payload: { page: '/home' } };
    const u = r();
    const target = u < 0.15 ? Math.floor(r() * n) : i;
    const rkey = u < 0.1 ? `ghost-${i}` : `user-${target}`;
    rt[i] = T0 + inv[target] * 86 + Math.floor(r() * 60_000); // 0–60 s after the left event with that key
    rk[i] = rkey;
    right[i] = { id: `r${i}`, topic: 'events.analytics', type: 'purchase', timestamp: rt[i], source: 'web', key: rkey, payload: { amount: 10 } };
  }
  return { left, right, lk, rk, lt, rt };
}
const sides = makeJoinSides(N);
joinStreams(sides.left.slice(0, 100_000), sides.right.slice(0, 100_000), { key: 'key' }); // warm-up
gc();
const heapBefore = process.memoryUsage().heapUsed;
const rssPeakBefore = process.resourceUsage().maxRSS * 1024;
const rssBefore = process.memoryUsage().rss;
const joined = time(() => joinStreams(sides.left, sides.right, { key: 'key', type: 'inner' }));
const heapAfterWithOutput = process.memoryUsage().heapUsed;
const rssPeakAfter = process.resourceUsage().maxRSS * 1024;
line(
  `batch   joinStreams inner 1M × 1M: ${joined.ms.toFixed(0)} ms, ${joined.out.length.toLocaleString('en-US')} rows; ` +
    `heap +${mb(heapAfterWithOutput - heapBefore)} (output retained); peak RSS ${mb(rssPeakAfter)} (before join: RSS ${mb(rssBefore)}, peak ${mb(rssPeakBefore)}; inputs ≈ ${mb(heapBefore)} heap)`,
);
joined.out.length = 0;
gc();
const bounded = time(() => joinStreams(sides.left, sides.right, { key: 'key', type: 'left', withinSeconds: 30 }));
line(`batch   joinStreams left, within 30 s, 1M × 1M: ${bounded.ms.toFixed(0)} ms, ${bounded.out.length.toLocaleString('en-US')} rows (${bounded.out.filter((r) => r.right === null).length.toLocaleString('en-US')} unmatched)`);
bounded.out.length = 0;

if (withPandas && dir) {
  writeFileSync(join(dir, 'join.json'), JSON.stringify({ lk: sides.lk, rk: sides.rk, lt: Array.from(sides.lt), rt: Array.from(sides.rt) }));
  writeFileSync(join(dir, 'bench.py'), PANDAS_SCRIPT());
  const py = spawnSync(PYTHON, [join(dir, 'bench.py'), dir], { encoding: 'utf8' });
  for (const l of (py.stdout + py.stderr).trim().split('\n')) line(l);
  rmSync(dir, { recursive: true, force: true });
} else {
  line('pandas  not run (no `/usr/bin/python3 -c "import pandas"`, or --no-pandas)');
}

function PANDAS_SCRIPT(): string {
  return String.raw`
import json, sys, time, statistics, resource
import numpy as np, pandas as pd
d = sys.argv[1]
def med(fn, reps=3):
    ts = []
    out = None
    for _ in range(reps):
        t0 = time.perf_counter(); out = fn(); ts.append((time.perf_counter() - t0) * 1000)
    return statistics.median(ts), ts, out
ev = json.load(open(d + '/events.json'))
df = pd.DataFrame({'ts': np.array(ev['ts'], dtype='int64'), 'value': np.array(ev['value']), 'host': ev['host']})
iso = pd.Series(ev['iso'])
def p(name, fn, reps=3):
    m, ts, out = med(fn, reps)
    print(f"pandas  {name}: median {m:.0f} ms (runs {', '.join(f'{t:.0f}' for t in ts)})")
    return out
print(f"pandas  {pd.__version__}, numpy {np.__version__}; timings start from a built DataFrame (epoch-ms int64 column)")
p('pd.to_datetime(ISO strings) alone', lambda: pd.to_datetime(iso, utc=True))
W = 5 * 60_000
def stats(g):  # count, sum, mean, min, max, population std — all cythonized groupby kernels
    return pd.concat([g.count(), g.sum(), g.mean(), g.min(), g.max(), g.std(ddof=0)], axis=1)
p('tumbling 5 min groupby stats', lambda: stats(df.groupby(df.ts // W * W)['value']))
def hopping():
    W, S = 60 * 60_000, 15 * 60_000
    parts = []
    for k in range(W // S):  # each event lands in W/S windows: start = floor(t/S)*S - k*S
        parts.append(pd.DataFrame({'start': df.ts // S * S - k * S, 'host': df.host, 'value': df.value}))
    x = pd.concat(parts)
    return stats(x.groupby(['start', 'host'])['value'])
p('hopping 60/15 min by host', hopping)
def z(thr):
    v = df.value; m = v.mean(); s = v.std(ddof=0)
    zz = (v - m) / s
    return df[zz.abs() > thr]
out = p('z-score |z| > 3', lambda: z(3))
print(f"        ({len(out)} anomalies flagged)")
def zg(thr):
    g = df.groupby('host')['value']
    zz = (df.value - g.transform('mean')) / g.transform(lambda s: s.std(ddof=0))
    return df[zz.abs() > thr]
p('z-score |z| > 3 by host', lambda: zg(3))
del df, ev, iso
j = json.load(open(d + '/join.json'))
left = pd.DataFrame({'key': j['lk'], 'lt': np.array(j['lt'], dtype='int64')})
right = pd.DataFrame({'key': j['rk'], 'rt': np.array(j['rt'], dtype='int64')})
del j
def rss_mb():
    return int(open('/proc/self/statm').read().split()[1]) * resource.getpagesize() // 2**20
import gc; gc.collect()
rss0 = rss_mb()
t0 = time.perf_counter(); m = left.merge(right, on='key', how='inner'); ms = (time.perf_counter() - t0) * 1000
rss1 = rss_mb()
print(f"pandas  merge inner 1M x 1M (key + time columns only): {ms:.0f} ms, {len(m):,} rows; RSS +{rss1 - rss0} MB with the result held (RSS {rss0} -> {rss1} MB; process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)")
del m
def bounded():
    x = left.reset_index().merge(right, on='key', how='left')
    ok = (x['rt'] - x['lt']).abs() <= 30_000
    hit = x[ok]
    miss = left.reset_index()[~left.index.isin(hit['index'])]
    return len(hit), len(miss)
t0 = time.perf_counter(); h, mi = bounded(); ms = (time.perf_counter() - t0) * 1000
print(f"pandas  merge left within 30 s 1M x 1M (merge, filter, re-add unmatched): {ms:.0f} ms, {h + mi:,} rows ({mi:,} unmatched)")
`;
}
