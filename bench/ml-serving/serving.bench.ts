// Serving latency of a 100-tree depth-10 random forest (10 features): gRPC Predict straight to a
// real ml-predictor process, and POST /pipeline/ml/predict through a real api-gateway process,
// one row per request at a steady (open-loop) 1,000 requests/s. Targets: gRPC p99 ≤ 2 ms, REST
// p99 ≤ 5 ms. The model is trained here, published to the registry topic, and loaded by the
// predictor from Kafka exactly as in production. Each round also measures a floor: a no-op Predict
// served like ml-predictor's (GrpcFront) in a process of its own (noop-predictor.child.ts).
//
// Two load generators take turns, each for BENCH_ROUNDS rounds of floor, gRPC and REST:
//   node:   loadgen.worker.ts, a worker thread of this process (raw HTTP/2 or HTTP/1.1); it reports its
//           own send lateness, loop delay and GC pauses, which land in its latencies;
//   native: native/loadgen.c, built here with cc and libnghttp2 (Debian libnghttp2-dev) when both
//           are installed; no GC, paced by a timerfd, latency counted from each request's due time.
//           Before each of its rounds it also measures the host's own noise (`loadgen sleep`: how late
//           1 ms sleeps wake up), printed with the round.
// Every round also prints the share of CPU time the hypervisor stole from this VM meanwhile
// (/proc/stat), the other half of a noisy day.
// The target verdicts are printed for both; the native client's are the ones without client pauses.
//   npm run bench:ml-serving                     (starts the local broker if KAFKA_BROKERS is unset)
//   BENCH_SECONDS=10 BENCH_RATE=1000 BENCH_ROUNDS=3 BENCH_WARMUP_SECONDS=3 npm run bench:ml-serving
//   BENCH_APP_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' …   (node flags for the two services and the floor instead of the deployed --single-threaded-gc; '' for none)
//   BENCH_APP_NODE_OPTIONS='' …   (NODE_OPTIONS for the services and the floor server instead of the deployed ones)
//   BENCH_CLIENTS=native …   (only these load generators: node, native, or both comma-separated, the default)
//   BENCH_PIN_SERVERS=0 BENCH_PIN_CLIENT=1 …   (taskset: the services and the floor on these CPUs, the native load generator on those)
//   BENCH_KINDS=grpc,swap …   (only these rounds, of floor, grpc, swap, rest; default all)
//   BENCH_FLOOR=grpc-js …   (the floor serves Predict from a plain grpc-js server instead of GrpcFront;
//                            raw-h2: from the prototype in rawH2Floor.ts, no node:http2 at all)
//   BENCH_DUMP=/tmp/dir …   (writes each round's per-request latencies there as JSON, in send order)
//   BENCH_SWAP_EVERY_MS=2000 …   (each round also runs gRPC Predict while a new version of the model is
//           published every this many ms, so the predictor hot-swaps during the round; 0 = no such round)
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { KafkaJsBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { encodeModel } from '@pipeline/ml';
import { ModelRegistryView, publishModel, withdrawModelVersions } from '@pipeline/model-registry';
import { PredictRequest, PredictorServiceService, createPredictorClient, grpcFrame } from '@pipeline/proto';
import { httpRequest, waitFor } from '@pipeline/testing';
import { BENCH_FOREST_FEATURES, trainBenchForest } from './benchForest';
import type { LoadResult, LoadSpec } from './loadgen.worker';

const root = process.cwd(); // npm scripts run from the repo root
const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const rate = Number(process.env['BENCH_RATE'] ?? 1000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
// Requests sent at the same rate before each measured round and left out of it. 3 s: the first
// seconds of load on a fresh process still pay for JIT compilation (api-gateway used ~500 µs of CPU
// per request in its first round against ~380 µs later, and that round's p99 was 2–10× the others').
const warmupSeconds = Number(process.env['BENCH_WARMUP_SECONDS'] ?? 3);
const ports = { predictorHttp: 18284, grpc: 18551, gatewayHttp: 18280, floor: 18552 };
const N_FEATURES = BENCH_FOREST_FEATURES;
const swapEveryMs = Number(process.env['BENCH_SWAP_EVERY_MS'] ?? 2000);

/** What the floor round serves Predict from, by BENCH_FLOOR (default: GrpcFront, as ml-predictor). */
const FLOOR_LABELS: Record<string, string> = {
  'grpc-js': 'gRPC floor: no-op grpc-js server',
  'raw-h2': 'gRPC floor: no-op on a prototype HTTP/2 server without node:http2',
};

/** Waits (up to 60 s) until the service on `port` answers 200 on /readyz. */
const ready = (port: number, what: string) =>
  waitFor(async () => (await httpRequest(`http://127.0.0.1:${port}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 100, what: `${what} ready` });

/**
 * V8 flags of the two services, as deploy/ sets them (NODE_OPTIONS in docker-compose.yml, the k8s
 * manifests and scripts/stack.mjs): a 1 MiB semi-space keeps each scavenge under a millisecond
 * instead of ~15 ms with V8's default young generation (docs/deploy.md, "Serving latency").
 */
const SERVICE_NODE_OPTIONS: Record<'ml-predictor' | 'api-gateway', string> = {
  'ml-predictor': '--max-semi-space-size=1',
  'api-gateway': '--max-semi-space-size=1',
};
/** V8 flags NODE_OPTIONS does not accept, which deploy/ passes on node's command line (NODE_V8_FLAGS). */
const SERVICE_V8_FLAGS = ['--single-threaded-gc'];

/** Other environment deploy/ gives the services (malloc settings of ml-predictor, docs/deploy.md). */
const SERVICE_ENV: Record<'ml-predictor' | 'api-gateway', Record<string, string>> = {
  'ml-predictor': { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' },
  'api-gateway': {},
};

function startApp(app: keyof typeof SERVICE_NODE_OPTIONS, env: Record<string, string>): ChildProcess {
  const nodeArgs = serviceNodeArgs();
  env = { NODE_OPTIONS: process.env['BENCH_APP_NODE_OPTIONS'] ?? SERVICE_NODE_OPTIONS[app], ...SERVICE_ENV[app], ...env };
  return spawn(...pinned('servers', process.execPath, [...nodeArgs, join(root, 'dist/apps', app, 'main.js')]), { env: { ...process.env, HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** What one round of one load generator measured. */
interface RoundResult {
  /** Per measured request, in ms; NaN for a failed one. */
  latencyMs: Float64Array;
  failed: number;
  firstError?: string;
  /** What the client says about itself (its own lateness, loop delay, GC pauses), if anything. */
  clientNote?: string;
}

interface Client {
  name: string;
  title: string;
  run(spec: LoadSpec): Promise<RoundResult>;
}

/**
 * A command run on the CPUs given by BENCH_PIN_SERVERS / BENCH_PIN_CLIENT (taskset -c; the process
 * keeps its pid, since taskset execs it), or as is when the variable is unset.
 */
function pinned(who: 'servers' | 'client', command: string, args: string[]): [string, string[]] {
  const cpus = process.env[who === 'servers' ? 'BENCH_PIN_SERVERS' : 'BENCH_PIN_CLIENT'];
  return cpus ? ['taskset', ['-c', cpus, command, ...args]] : [command, args];
}

/** node's command-line flags for the services and the floor: the deployed V8 flags unless BENCH_APP_NODE_ARGS replaces them. */
function serviceNodeArgs(): string[] {
  const override = process.env['BENCH_APP_NODE_ARGS'];
  return override === undefined ? SERVICE_V8_FLAGS : override.split(' ').filter(Boolean); // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
}

/** Runs one open-loop load in its own worker thread (loadgen.worker.ts) and returns what it measured. */
function runNodeClient(spec: LoadSpec): Promise<RoundResult> {
  const worker = new Worker(join(__dirname, 'loadgen.worker.js'), { workerData: spec, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  return new Promise<LoadResult>((resolve, reject) => {
    worker.once('message', (r: LoadResult) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once('error', reject);
  }).then((m) => {
    const gcMax = m.gcPauses.reduce((a, g) => Math.max(a, g.ms), 0);
    const majors = m.gcPauses.filter((g) => g.major).map((g) => `${(g.atMs / 1000).toFixed(2)} s (${g.ms.toFixed(1)} ms)`);
    return {
      latencyMs: m.latencyMs,
      failed: m.failed,
      firstError: m.firstError,
      clientNote: `${m.achievedPerSec.toFixed(0)} req/s; send lateness p99 ${quantiles(m.lateMs).p99.toFixed(2)} ms; loop delay p99 ${m.loopDelayP99Ms.toFixed(2)} / max ${m.loopDelayMaxMs.toFixed(1)} ms; its own GC: ${m.gcPauses.length} pauses, max ${gcMax.toFixed(1)} ms, major at ${majors.join(', ') || 'none'}`,
    };
  });
}

/**
 * Compiles native/loadgen.c (C, libnghttp2) into a temp dir with the system C compiler. Returns the
 * binary's path, or undefined with the reason printed when the compiler or the libnghttp2 headers
 * (Debian `libnghttp2-dev`) are missing.
 */
function buildNativeClient(): string | undefined {
  const out = join(mkdtempSync(join(tmpdir(), 'serving-loadgen-')), 'loadgen');
  const cc = spawnSync('cc', ['-O2', '-o', out, join(root, 'bench/ml-serving/native/loadgen.c'), '-lnghttp2', '-lm'], { encoding: 'utf8' });
  if (cc.status !== 0) {
    console.log(`native load generator not built (needs cc and libnghttp2-dev: apt-get install gcc libnghttp2-dev): ${(cc.stderr || String(cc.error)).trim().split('\n')[0]}`);
    return undefined;
  }
  return out;
}

/** One round from the native load generator: a child process, its latencies read back from a file. */
async function runNativeClient(binary: string, spec: LoadSpec): Promise<RoundResult> {
  const dir = mkdtempSync(join(tmpdir(), 'serving-round-'));
  writeFileSync(join(dir, 'body'), spec.body);
  const args = [spec.kind, String(spec.port), spec.path, join(dir, 'body'), String(spec.rate), String(spec.seconds), String(spec.warmupSeconds), join(dir, 'latency.f64')];
  const child = spawn(...pinned('client', binary, args), { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`native load generator exited with ${code}: ${stdout}`);
  const m = /failed (\d+) first_error (.*)/.exec(stdout);
  const bytes = readFileSync(join(dir, 'latency.f64'));
  return {
    latencyMs: new Float64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8).slice(),
    failed: Number(m?.[1] ?? NaN),
    firstError: m && m[2]!.trim() !== '-' ? m[2]!.trim() : undefined,
  };
}

interface HostNoise {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** How late 1 ms sleeps wake up on this host over 3 s (`loadgen sleep`), with no server involved. */
function hostNoise(binary: string): HostNoise {
  const out = execFileSync(binary, ['sleep', '3'], { encoding: 'utf8' });
  const m = /p50 ([\d.]+) p99 ([\d.]+) p999 ([\d.]+) max ([\d.]+)/.exec(out);
  if (!m) throw new Error(`unexpected output of loadgen sleep: ${out}`);
  return { p50: Number(m[1]), p99: Number(m[2]), p999: Number(m[3]), max: Number(m[4]) };
}

function quantiles(lat: Float64Array): { p50: number; p99: number; p999: number; max: number } {
  const s = Float64Array.from(lat.filter((x) => !Number.isNaN(x))).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p99: q(0.99), p999: q(0.999), max: s[s.length - 1]! };
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is not available. */
/** The machine's CPU time counters (/proc/stat "cpu" line): [total, steal] in clock ticks, or undefined. */
function machineTicks(): [number, number] | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    return [f.reduce((a, b) => a + b, 0), f[7]!];
  } catch {
    return undefined;
  }
}

/** Share of the machine's CPU time the hypervisor gave to others (steal) between two readings, as text. */
function stealShare(before: [number, number] | undefined, after: [number, number] | undefined): string {
  if (!before || !after || after[0] === before[0]) return 'n/a';
  return `${((100 * (after[1] - before[1])) / (after[0] - before[0])).toFixed(1)} %`;
}

function cpuMs(pid: number | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
    brokers = '127.0.0.1:9092';
  }
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'ml-predictor', 'api-gateway'], { stdio: 'inherit' });

  // The forest of benchForest.ts (100 trees, depth 10, 10 features, 10,000 rows).
  const name = `bench-forest-${randomUUID().slice(0, 8)}`;
  const t = performance.now();
  const model = trainBenchForest(name, 42);
  const trainS = (performance.now() - t) / 1000;
  const bytes = encodeModel(model);
  const bus = new KafkaJsBus({ brokers: brokers.split(','), clientId: 'bench-ml-serving' });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const manifest = await publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version: 1, bytes, metadata: { type: 'random_forest' }, publishedAt: new Date().toISOString() });
  // The swap rounds publish further versions of the same forest (encoded now, not during a round).
  const swapsPerRound = swapEveryMs > 0 ? Math.ceil(((seconds + warmupSeconds) * 1000) / swapEveryMs) + 1 : 0;
  const versionBytes = Array.from({ length: swapsPerRound * rounds }, (_, i) => encodeModel({ ...model, version: i + 2 }));
  let nextVersion = 2;
  /** Publishes a new version every swapEveryMs until the returned stop() is called; resolves to the count. */
  const startSwaps = () => {
    let stopped = false;
    let count = 0;
    const done = (async () => {
      while (!stopped && versionBytes.length > nextVersion - 2) {
        const version = nextVersion++;
        await publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version, bytes: versionBytes[version - 2]!, metadata: { type: 'random_forest' }, publishedAt: new Date().toISOString() });
        count++;
        await new Promise((r) => setTimeout(r, swapEveryMs));
      }
      return count;
    })();
    return async () => ((stopped = true), await done);
  };
  console.log(`model: 100 trees, depth 10, ${N_FEATURES} features, 10,000 rows; trained in ${trainS.toFixed(2)} s (main thread), R² ${model.metrics.r2!.toFixed(4)}; encoded ${bytes.length.toLocaleString('en-US')} bytes (${(bytes.length / 1024 / 1024).toFixed(2)} MiB) in ${manifest.chunks} registry chunks`);

  const kafka = { KAFKA_BROKERS: brokers };
  const predictor = startApp('ml-predictor', { ...kafka, HTTP_PORT: String(ports.predictorHttp), GRPC_PORT: String(ports.grpc), GRPC_HOST: '127.0.0.1' });
  const gateway = startApp('api-gateway', { ...kafka, HTTP_PORT: String(ports.gatewayHttp), PREDICTOR_GRPC_ADDR: `127.0.0.1:${ports.grpc}`, RATE_LIMIT_PER_SEC: '0' });
  const floor = await startFloorServer();
  try {
    await Promise.all([ready(ports.predictorHttp, 'ml-predictor'), ready(ports.gatewayHttp, 'api-gateway')]);
    const row = model.featureKeys.map((_, j) => 1 + j * 0.5);
    // Wait with the real client until the predictor has loaded the model. (The load generator checks the
    // grpc-status of every answer to its own prepared frame.)
    const client = createPredictorClient(`127.0.0.1:${ports.grpc}`, { defaultTimeoutMs: 1000 });
    await waitFor(() => client.predict({ modelName: name, values: row, nFeatures: N_FEATURES }), { timeoutMs: 60_000, intervalMs: 100, what: `${name} loaded by ml-predictor` });
    client.close();
    /** The version the predictor serves once it has caught up with the last one published (≤ 10 s). */
    const servedVersion = async (model: string, values: number[]): Promise<number> => {
      const c = createPredictorClient(`127.0.0.1:${ports.grpc}`, { defaultTimeoutMs: 1000 });
      let seen = 0;
      try {
        await waitFor(async () => (seen = (await c.predict({ modelName: model, values, nFeatures: N_FEATURES })).modelVersion) === nextVersion - 1, { timeoutMs: 10_000, intervalMs: 100 }).catch(() => undefined);
      } finally {
        c.close();
      }
      return seen;
    };
    const frame = predictFrame(name, row);
    const json = Buffer.from(JSON.stringify({ model_name: name, features: [row] }));
    const targets = {
      floor: { kind: 'grpc', port: floor.port, path: PREDICT_PATH, body: frame, label: FLOOR_LABELS[process.env['BENCH_FLOOR'] ?? ''] ?? 'gRPC floor: no-op on GrpcFront' },
      grpc: { kind: 'grpc', port: ports.grpc, path: PREDICT_PATH, body: frame, label: 'gRPC Predict, ml-predictor' },
      rest: { kind: 'rest', port: ports.gatewayHttp, path: '/pipeline/ml/predict', body: json, label: 'REST via api-gateway' },
      swap: { kind: 'grpc', port: ports.grpc, path: PREDICT_PATH, body: frame, label: `gRPC Predict, ml-predictor, a new version every ${swapEveryMs} ms` },
    } as const;
    type Target = keyof typeof targets;
    // CPU per request of each server process, from /proc: the round's CPU time over the requests it sent.
    const processes = { floor: floor.child, 'ml-predictor': predictor, 'api-gateway': gateway };
    const served: Record<Target, (keyof typeof processes)[]> = { floor: ['floor'], grpc: ['ml-predictor'], rest: ['api-gateway', 'ml-predictor'], swap: ['ml-predictor'] };
    const allKinds: Target[] = swapEveryMs > 0 ? ['floor', 'grpc', 'swap', 'rest'] : ['floor', 'grpc', 'rest'];
    const onlyKinds = process.env['BENCH_KINDS']?.split(',').map((k) => k.trim());
    const unknownKinds = onlyKinds?.filter((k) => !(k in targets)) ?? [];
    if (unknownKinds.length > 0) throw new Error(`BENCH_KINDS: unknown round kind(s) ${unknownKinds.join(', ')}; expected some of ${Object.keys(targets).join(', ')}`);
    const kinds = onlyKinds ? allKinds.filter((k) => onlyKinds.includes(k)) : allKinds;
    const wanted = (process.env['BENCH_CLIENTS'] ?? 'node,native').split(',');
    const native = wanted.includes('native') ? buildNativeClient() : undefined;
    const clients: Client[] = [
      ...(wanted.includes('node') ? [{ name: 'node', title: 'Node load generator (worker thread)', run: runNodeClient }] : []),
      ...(native ? [{ name: 'native', title: 'native load generator (C, libnghttp2)', run: (spec: LoadSpec) => runNativeClient(native, spec) }] : []),
    ];
    const results = new Map<string, { p50: number; p99: number; failed: number }[]>();
    const noise: HostNoise[] = [];
    for (const client of clients) {
      for (let r = 0; r < rounds; r++) {
        if (native && client.name === 'native') {
          const n = hostNoise(native);
          noise.push(n);
          console.log(`round ${r + 1} host: 1 ms sleeps for 3 s woke late by p50 ${n.p50.toFixed(3)}, p99 ${n.p99.toFixed(3)}, p99.9 ${n.p999.toFixed(2)}, max ${n.max.toFixed(1)} ms (no server involved)`);
        }
        for (const kind of kinds) {
          const { label, ...spec } = targets[kind];
          const before = served[kind].map((p) => cpuMs(processes[p].pid));
          const ticksBefore = machineTicks();
          const stopSwaps = kind === 'swap' ? startSwaps() : undefined;
          const m = await client.run({ ...spec, rate, seconds, warmupSeconds });
          const swapped = await stopSwaps?.();
          const steal = stealShare(ticksBefore, machineTicks());
          const cpu = served[kind].map((p, i) => {
            const used = cpuMs(processes[p].pid);
            return used === undefined || before[i] === undefined ? `${p} n/a` : `${p} ${(((used - before[i]!) * 1000) / ((seconds + warmupSeconds) * rate)).toFixed(0)} µs`;
          });
          const q = quantiles(m.latencyMs);
          if (process.env['BENCH_DUMP']) writeFileSync(join(process.env['BENCH_DUMP'], `${client.name}-${kind}-${r + 1}.json`), JSON.stringify(Array.from(m.latencyMs)));
          const key = `${client.name} ${kind}`;
          results.set(key, [...(results.get(key) ?? []), { p50: q.p50, p99: q.p99, failed: m.failed }]);
          console.log(
            `round ${r + 1} ${client.name} ${label}: ${m.latencyMs.length} requests, p50 ${q.p50.toFixed(3)} ms, p99 ${q.p99.toFixed(3)} ms, p99.9 ${q.p999.toFixed(2)} ms, max ${q.max.toFixed(1)} ms, failed ${m.failed}${m.firstError ? ` (first: ${m.firstError})` : ''}; server CPU per request ${cpu.join(', ')}; load average ${loadavg()[0]!.toFixed(2)}; CPU steal ${steal}`,
          );
          if (m.clientNote) console.log(`  client: ${m.clientNote}`);
          if (swapped !== undefined) {
            const latest = await servedVersion(name, row);
            console.log(`  swaps: ${swapped} versions published during the round (warm-up included); the predictor now serves version ${latest} of ${nextVersion - 1}`);
          }
        }
      }
    }
    for (const client of clients) {
      for (const kind of kinds) {
        const rs = results.get(`${client.name} ${kind}`)!;
        const target = kind === 'rest' ? 5 : 2;
        const p99 = median(rs.map((x) => x.p99));
        const verdict = kind === 'floor' || kind === 'swap' ? 'reference, no target' : `target ≤ ${target} ms: ${p99 <= target ? 'met' : 'NOT met'}`;
        console.log(`median of ${rounds}, ${client.title}, ${targets[kind].label}: p50 ${median(rs.map((x) => x.p50)).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (${verdict}), failed ${rs.reduce((a, x) => a + x.failed, 0)}`);
      }
    }
    if (noise.length > 0) {
      console.log(`host noise, median of ${noise.length}: 1 ms sleep lateness p99 ${median(noise.map((n) => n.p99)).toFixed(3)} ms, p99.9 ${median(noise.map((n) => n.p999)).toFixed(2)} ms (a quiet day in session 3: p99 0.12 ms); milliseconds here show up in every p99 above`);
    }
  } finally {
    // Leave nothing behind on the registry topic: every version of the bench model is withdrawn
    // (otherwise each run adds up to 1 + 7 × rounds forests that every predictor would load).
    const view = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'bench-ml-serving-cleanup' });
    try {
      await view.start();
      await view.catchUp(30_000);
      const withdrawn = await withdrawModelVersions(bus, view, { topic: INTERNAL_TOPICS.mlModels, name, olderThan: nextVersion });
      console.log(`cleanup: withdrew ${withdrawn.length} versions of ${name} from the registry topic`);
    } catch (err) {
      console.warn(`cleanup: could not withdraw the bench model's versions: ${(err as Error).message}`);
    } finally {
      await view.stop();
    }
    await bus.close();
    for (const c of [gateway, predictor, floor.child]) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)));
    }
  }
}

const PREDICT_PATH = PredictorServiceService.predict.path;

/** The load generators' prepared request: one row to `modelName`, as a gRPC length-prefixed message. */
function predictFrame(modelName: string, row: number[]): Buffer {
  return grpcFrame(PredictRequest.encode({ modelName, version: 0, values: row, nFeatures: N_FEATURES }).finish());
}

/** Starts noop-predictor.child.js (the floor) with the predictor's V8 flags; resolves once it listens. */
async function startFloorServer(): Promise<{ child: ChildProcess; port: number }> {
  const env = { ...process.env, NODE_OPTIONS: process.env['BENCH_APP_NODE_OPTIONS'] ?? SERVICE_NODE_OPTIONS['ml-predictor'] };
  const child = spawn(...pinned('servers', process.execPath, [...serviceNodeArgs(), join(__dirname, 'noop-predictor.child.js'), String(ports.floor)]), { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
  });
  return { child, port };
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
