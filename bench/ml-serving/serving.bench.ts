// Serving cost of two builds, old and new, in alternating pairs: gRPC Predict straight to a real
// ml-predictor process and POST /pipeline/ml/predict through a real api-gateway process, one row of a
// 100-tree depth-10 forest (benchForest.ts) per call. Per round: p50/p99 of the calls and the server
// CPU per call (utime + stime from /proc/<pid>/stat over the measured calls), as is and net of what
// each process used per second while idle just before the round (its Kafka clients and timers).
//
// The old build is a git ref, checked out with `git worktree add` into a temp dir (node_modules
// symlinked from this checkout) and built there with its own scripts/build.mjs; the new build is the
// working tree (built into dist/ as `npm run build` does) unless BENCH_NEW_REF names a ref too. Both
// builds' services run side by side on the same broker, load the same model from the registry topic,
// and take turns: pair i measures old then new, for gRPC and then REST.
//
// The load generator is this process: a grpc-js client (createPredictorClient) and node:http with
// keep-alive, open loop at BENCH_RATE calls/s (calls go out on schedule, whether or not earlier ones
// have answered). Its own pauses land in the latencies of both builds alike.
//   BENCH_OLD_REF=<commit> npm run bench:ml-serving       (starts the local broker if KAFKA_BROKERS is unset)
//   BENCH_PAIRS=5 BENCH_RATE=200 BENCH_CALLS=3000 BENCH_WARMUP_CALLS=600 BENCH_IDLE_MS=3000 …   (the defaults)
//   BENCH_NEW_REF=<commit> …                              (the new build from a ref as well)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { KafkaJsBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { encodeModel } from '@pipeline/ml';
import { ModelRegistryView, publishModel, withdrawModelVersions } from '@pipeline/model-registry';
import { createPredictorClient, type PredictorClient } from '@pipeline/proto';
import { freePort, httpRequest, waitFor } from '@pipeline/testing';
import { BENCH_FOREST_FEATURES, trainBenchForest } from './benchForest';

const root = process.cwd(); // npm scripts run from the repo root
const oldRef = process.env['BENCH_OLD_REF'];
const newRef = process.env['BENCH_NEW_REF'];
const pairs = Number(process.env['BENCH_PAIRS'] ?? 5);
const rate = Number(process.env['BENCH_RATE'] ?? 200);
const calls = Number(process.env['BENCH_CALLS'] ?? 3000);
const warmupCalls = Number(process.env['BENCH_WARMUP_CALLS'] ?? 600);
/** How long each server's idle CPU is measured before each round, in ms (subtracted for the net figures). */
const idleMs = Number(process.env['BENCH_IDLE_MS'] ?? 3000);

/** How deploy/ runs the two services (docker-compose.yml, the k8s manifests): V8 flags and malloc settings. */
const SERVICE_ENV: Record<'ml-predictor' | 'api-gateway', Record<string, string>> = {
  'ml-predictor': { NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' },
  'api-gateway': { NODE_OPTIONS: '--max-semi-space-size=1' },
};

/** A build of the two services: where its dist/ is, and its running processes once started. */
interface Build {
  label: string;
  /** The checkout whose dist/apps/<app>/main.js runs. */
  dir: string;
  /** A worktree this bench added (removed at the end), if any. */
  worktree?: string;
  predictor?: ChildProcess;
  gateway?: ChildProcess;
  grpcPort?: number;
  gatewayPort?: number;
}

/** Checks out `ref` into a temp worktree, links node_modules, builds the two services there. */
function buildRef(ref: string, label: string): Build {
  const dir = mkdtempSync(join(tmpdir(), `serving-${label}-`));
  rmSync(dir, { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { cwd: root, stdio: 'inherit' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(dir, 'scripts/build.mjs'), 'ml-predictor', 'api-gateway'], { cwd: dir, stdio: 'inherit' });
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim();
  return { label: `${label} (${commit})`, dir, worktree: dir };
}

function buildWorkingTree(): Build {
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'ml-predictor', 'api-gateway'], { stdio: 'inherit' });
  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  return { label: `new (working tree at ${commit})`, dir: root };
}

function startApp(build: Build, app: 'ml-predictor' | 'api-gateway', env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [join(build.dir, 'dist/apps', app, 'main.js')], {
    env: { ...process.env, HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...SERVICE_ENV[app], ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function startServices(build: Build, brokers: string): Promise<void> {
  const [predictorHttp, grpcPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  build.predictor = startApp(build, 'ml-predictor', { KAFKA_BROKERS: brokers, HTTP_PORT: String(predictorHttp), GRPC_PORT: String(grpcPort), GRPC_HOST: '127.0.0.1' });
  build.gateway = startApp(build, 'api-gateway', { KAFKA_BROKERS: brokers, HTTP_PORT: String(gatewayPort), PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}`, RATE_LIMIT_PER_SEC: '0' });
  build.grpcPort = grpcPort;
  build.gatewayPort = gatewayPort;
  for (const port of [predictorHttp, gatewayPort]) {
    await waitFor(async () => (await httpRequest(`http://127.0.0.1:${port}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 100, what: `${build.label} ready` });
  }
}

/** CPU time (user + system) process `pid` has used so far, in µs (clock ticks of 10 ms). */
function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000; // utime, stime in USER_HZ (100)
}

/** One call: resolves when it answered, rejects when it failed. */
type Call = () => Promise<unknown>;

interface RoundResult {
  p50: number;
  p99: number;
  failed: number;
  firstError?: string;
  /** CPU per measured call of each server process, in µs. */
  cpu: Record<string, number>;
  /** The same less what the process used while idle just before the round (Kafka clients, timers), in µs. */
  netCpu: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cpuOf = (servers: Record<string, number>) => Object.fromEntries(Object.entries(servers).map(([name, pid]) => [name, cpuMicros(pid)]));

/** CPU each server uses per ms while no call comes in, over `idleMs` (their Kafka clients and timers keep running). */
async function idleCpuPerMs(servers: Record<string, number>): Promise<Record<string, number>> {
  const before = cpuOf(servers);
  const t = performance.now();
  await sleep(idleMs);
  const after = cpuOf(servers);
  const elapsed = performance.now() - t;
  return Object.fromEntries(Object.keys(servers).map((name) => [name, (after[name]! - before[name]!) / elapsed]));
}

/**
 * Sends `warmupCalls + calls` calls open loop at `rate` per second (call i is due at t0 + i/rate; timers
 * tick in whole milliseconds, so a tick sends every call that is due). Latency is from send to answer;
 * the servers' CPU is read when the first measured call goes out and when the last call answered.
 */
async function runRound(call: Call, servers: Record<string, number>): Promise<RoundResult> {
  const idle = await idleCpuPerMs(servers);
  const total = warmupCalls + calls;
  const latency = new Float64Array(calls);
  let sent = 0;
  let done = 0;
  let failed = 0;
  let firstError: string | undefined;
  let cpuBefore: Record<string, number> = {};
  let measuredFrom = 0;
  const t0 = performance.now() + 5;
  const dueAt = (i: number) => t0 + (i * 1000) / rate;
  return new Promise((resolve) => {
    const finish = () => {
      const used = cpuOf(servers);
      const elapsed = performance.now() - measuredFrom;
      const perCall = (name: string, lessIdle: boolean) => (used[name]! - cpuBefore[name]! - (lessIdle ? idle[name]! * elapsed : 0)) / calls;
      const sorted = latency.filter((x) => !Number.isNaN(x)).sort();
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
      const names = Object.keys(servers);
      resolve({
        p50: q(0.5),
        p99: q(0.99),
        failed,
        firstError,
        cpu: Object.fromEntries(names.map((n) => [n, perCall(n, false)])),
        netCpu: Object.fromEntries(names.map((n) => [n, perCall(n, true)])),
      });
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && dueAt(sent) <= now) {
        const i = sent++;
        if (i === warmupCalls) {
          cpuBefore = cpuOf(servers);
          measuredFrom = performance.now();
        }
        const start = performance.now();
        call().then(
          () => {
            if (i >= warmupCalls) latency[i - warmupCalls] = performance.now() - start;
          },
          (err: Error) => {
            if (i >= warmupCalls) {
              latency[i - warmupCalls] = NaN;
              failed++;
              firstError ??= err.message;
            }
          },
        ).finally(() => {
          if (++done === total) finish();
        });
      }
      if (sent < total) setTimeout(tick, Math.max(0, dueAt(sent) - performance.now()));
    };
    setTimeout(tick, 5);
  });
}

/** A REST predict call over a keep-alive agent; rejects on any status but 200. */
function restCall(port: number, body: string, agent: http.Agent): Call {
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
  return () =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/pipeline/ml/predict', method: 'POST', headers, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(true) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(3)} ms`;
const us = (x: number) => `${x.toFixed(0)} µs`;

async function main() {
  if (!oldRef) throw new Error('BENCH_OLD_REF must name the commit to compare with (e.g. the one before a change)');
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
    brokers = '127.0.0.1:9092';
  }
  const builds: Build[] = [buildRef(oldRef, 'old'), newRef ? buildRef(newRef, 'new') : buildWorkingTree()];

  const name = `bench-forest-${randomUUID().slice(0, 8)}`;
  const model = trainBenchForest(name, 42);
  const bytes = encodeModel(model);
  const bus = new KafkaJsBus({ brokers: brokers.split(','), clientId: 'bench-ml-serving' });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  await publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version: 1, bytes, metadata: { type: 'random_forest' }, publishedAt: new Date().toISOString() });
  console.log(`model: 100 trees, depth 10, ${BENCH_FOREST_FEATURES} features; ${bytes.length.toLocaleString('en-US')} bytes encoded`);
  console.log(`load: ${pairs} pairs × (gRPC, REST) × (old, new); each round ${warmupCalls} warm-up + ${calls} measured calls at ${rate}/s, one row per call`);

  const clients: PredictorClient[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  try {
    for (const b of builds) await startServices(b, brokers);
    const row = model.featureKeys.map((_, j) => 1 + j * 0.5);
    const body = JSON.stringify({ model_name: name, features: [row] });
    const kinds = builds.map((b) => {
      const grpc = createPredictorClient(`127.0.0.1:${b.grpcPort}`, { defaultTimeoutMs: 5_000 });
      clients.push(grpc);
      const predictorPid = b.predictor!.pid!;
      return {
        grpc: { call: () => grpc.predict({ modelName: name, values: row, nFeatures: BENCH_FOREST_FEATURES }), servers: { 'ml-predictor': predictorPid } },
        rest: { call: restCall(b.gatewayPort!, body, agent), servers: { 'api-gateway': b.gateway!.pid!, 'ml-predictor': predictorPid } },
      };
    });
    for (const [i, b] of builds.entries()) {
      await waitFor(() => kinds[i]!.grpc.call(), { timeoutMs: 60_000, intervalMs: 100, what: `${name} loaded by ${b.label}` });
      await waitFor(() => kinds[i]!.rest.call(), { timeoutMs: 10_000, intervalMs: 100, what: `${name} served by ${b.label}'s gateway` });
    }

    const results = new Map<string, RoundResult[]>();
    for (let p = 1; p <= pairs; p++) {
      for (const kind of ['grpc', 'rest'] as const) {
        for (const [i, b] of builds.entries()) {
          const { call, servers } = kinds[i]![kind];
          const r = await runRound(call, servers);
          const key = `${kind} ${i}`;
          results.set(key, [...(results.get(key) ?? []), r]);
          const cpu = Object.keys(r.cpu).map((s) => `${s} ${us(r.cpu[s]!)} (${us(r.netCpu[s]!)} net of idle)`).join(' + ');
          console.log(`pair ${p} ${kind === 'grpc' ? 'gRPC Predict' : 'REST predict'} ${b.label}: p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, failed ${r.failed}${r.firstError ? ` (first: ${r.firstError})` : ''}; server CPU per call ${cpu}; load average ${loadavg()[0]!.toFixed(2)}`);
        }
      }
    }

    // CPU new / old is taken pair by pair (the two rounds of a pair ran on the same machine minutes
    // apart), then the median of the pairs.
    const sum = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, x) => a + x, 0);
    const pairRatios = (kind: string, net: boolean) =>
      results.get(`${kind} 1`)!.map((r, p) => sum(net ? r.netCpu : r.cpu) / sum(net ? results.get(`${kind} 0`)![p]!.netCpu : results.get(`${kind} 0`)![p]!.cpu));
    console.log(`\nmedians of ${pairs} pairs:\n`);
    console.log('| call | build | p50 | p99 | server CPU per call | net of idle | CPU new / old (median of pairs; net) |');
    console.log('|---|---|---|---|---|---|---|');
    for (const kind of ['grpc', 'rest'] as const) {
      for (const [i, b] of builds.entries()) {
        const rs = results.get(`${kind} ${i}`)!;
        const cpu = (net: boolean) => Object.keys(rs[0]!.cpu).map((s) => `${s} ${us(median(rs.map((r) => (net ? r.netCpu : r.cpu)[s]!)))}`).join(' + ');
        const ratio = i === 0 ? '1' : `${median(pairRatios(kind, false)).toFixed(2)}×; ${median(pairRatios(kind, true)).toFixed(2)}× (pairs: ${pairRatios(kind, true).map((x) => x.toFixed(2)).join(' · ')})`;
        console.log(`| ${kind === 'grpc' ? 'gRPC Predict' : 'REST predict'} | ${b.label} | ${ms(median(rs.map((r) => r.p50)))} | ${ms(median(rs.map((r) => r.p99)))} | ${cpu(false)} | ${cpu(true)} | ${ratio} |`);
      }
    }
  } finally {
    for (const c of clients) c.close();
    agent.destroy();
    const view = new ModelRegistryView(bus, { topic: INTERNAL_TOPICS.mlModels, groupPrefix: 'bench-ml-serving-cleanup' });
    try {
      await view.start();
      await view.catchUp(30_000);
      await withdrawModelVersions(bus, view, { topic: INTERNAL_TOPICS.mlModels, name, olderThan: 2 });
    } catch (err) {
      console.warn(`cleanup: could not withdraw the bench model: ${(err as Error).message}`);
    } finally {
      await view.stop();
    }
    await bus.close();
    for (const b of builds) {
      for (const c of [b.gateway, b.predictor]) {
        if (!c || c.exitCode !== null) continue;
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
      if (b.worktree) execFileSync('git', ['worktree', 'remove', '--force', b.worktree], { cwd: root, stdio: 'inherit' });
    }
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
