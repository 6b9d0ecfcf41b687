// Serving latency of a 100-tree depth-10 random forest (10 features): gRPC Predict straight to a
// real ml-predictor process, and POST /pipeline/ml/predict through a real api-gateway process,
// one row per request at a steady (open-loop) 1,000 requests/s. Targets: gRPC p99 ≤ 2 ms, REST
// p99 ≤ 5 ms. The model is trained here, published to the registry topic, and loaded by the
// predictor from Kafka exactly as in production.
//   npm run bench:ml-serving                     (starts the local broker if KAFKA_BROKERS is unset)
//   BENCH_SECONDS=10 BENCH_RATE=1000 BENCH_ROUNDS=3 npm run bench:ml-serving
//   BENCH_APP_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' …   (extra node flags for the two services)
//   BENCH_APP_NODE_OPTIONS='' …   (NODE_OPTIONS for the services and the floor server instead of the deployed ones)
// With h2load installed (Debian nghttp2-client) the same rounds also run from that native client.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { KafkaJsBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { Rng, encodeModel, trainModel } from '@pipeline/ml';
import { publishModel } from '@pipeline/model-registry';
import { PredictRequest, createPredictorClient } from '@pipeline/proto';
import type { LoadResult, LoadSpec } from './loadgen.worker';

const root = process.cwd(); // npm scripts run from the repo root
const seconds = Number(process.env['BENCH_SECONDS'] ?? 10);
const rate = Number(process.env['BENCH_RATE'] ?? 1000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const ports = { predictorHttp: 18284, grpc: 18551, gatewayHttp: 18280, floor: 18552 };
const N_FEATURES = 10;

function wait(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

async function ready(port: number, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    const status = await new Promise<number>((res) => http.get({ host: '127.0.0.1', port, path: '/readyz' }, (x) => { x.resume(); res(x.statusCode ?? 0); }).on('error', () => res(0)));
    if (status === 200) return;
    if (i > 600) throw new Error(`${what} did not become ready`);
    await wait(100);
  }
}

/**
 * V8 flags of the two services, as deploy/ sets them (NODE_OPTIONS in docker-compose.yml, the k8s
 * manifests and scripts/stack.mjs): a 1 MiB semi-space keeps each scavenge under a millisecond
 * instead of ~15 ms with V8's default young generation (docs/deploy.md, "Serving latency").
 */
const SERVICE_NODE_OPTIONS: Record<'ml-predictor' | 'api-gateway', string> = {
  'ml-predictor': '--max-semi-space-size=1',
  'api-gateway': '--max-semi-space-size=1',
};

function startApp(app: keyof typeof SERVICE_NODE_OPTIONS, env: Record<string, string>): ChildProcess {
  const nodeArgs = (process.env['BENCH_APP_NODE_ARGS'] ?? '').split(' ').filter(Boolean); // e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
  env = { NODE_OPTIONS: process.env['BENCH_APP_NODE_OPTIONS'] ?? SERVICE_NODE_OPTIONS[app], ...env };
  return spawn(process.execPath, [...nodeArgs, join(root, 'dist/apps', app, 'main.js')], { env: { ...process.env, HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Runs one open-loop load in its own worker thread (loadgen.worker.ts) and returns what it measured. */
function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const worker = new Worker(join(__dirname, 'loadgen.worker.js'), { workerData: spec, resourceLimits: { maxYoungGenerationSizeMb: 4 } });
  return new Promise((resolve, reject) => {
    worker.once('message', (r: LoadResult) => {
      resolve(r);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}

function quantiles(lat: Float64Array): { p50: number; p99: number; max: number } {
  const s = Float64Array.from(lat.filter((x) => !Number.isNaN(x))).sort();
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1]! };
}

/** CPU time (user + system) a process has used so far, in ms; undefined where /proc is not available. */
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

  // 100 trees, depth 10, 10 features, 10,000 rows: y = Σ w_j·x_j + sin(x_0) + noise.
  const rng = new Rng(42);
  const rows = Array.from({ length: 10_000 }, () => {
    const r: Record<string, number> = {};
    let y = 0;
    for (let j = 0; j < N_FEATURES; j++) {
      r[`f${j}`] = rng.nextFloat() * 10;
      y += (j + 1) * r[`f${j}`]!;
    }
    r['y'] = y + Math.sin(r['f0']!) * 5 + rng.nextGaussian();
    return r;
  });
  const name = `bench-forest-${randomUUID().slice(0, 8)}`;
  const featureKeys = Array.from({ length: N_FEATURES }, (_, j) => `f${j}`);
  const t = performance.now();
  const model = trainModel({ modelName: name, modelType: 'random_forest', featureKeys, targetKey: 'y', rows, version: 1, trainedAt: new Date().toISOString(), params: { nEstimators: 100, maxDepth: 10, seed: 1 } });
  const trainS = (performance.now() - t) / 1000;
  const bytes = encodeModel(model);
  const bus = new KafkaJsBus({ brokers: brokers.split(','), clientId: 'bench-ml-serving' });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const manifest = await publishModel(bus, { topic: INTERNAL_TOPICS.mlModels, name, version: 1, bytes, metadata: { type: 'random_forest' }, publishedAt: new Date().toISOString() });
  await bus.close();
  console.log(`model: 100 trees, depth 10, ${N_FEATURES} features, 10,000 rows; trained in ${trainS.toFixed(2)} s (main thread), R² ${model.metrics.r2!.toFixed(4)}; encoded ${bytes.length.toLocaleString('en-US')} bytes (${(bytes.length / 1024 / 1024).toFixed(2)} MiB) in ${manifest.chunks} registry chunks`);

  const kafka = { KAFKA_BROKERS: brokers };
  const predictor = startApp('ml-predictor', { ...kafka, HTTP_PORT: String(ports.predictorHttp), GRPC_PORT: String(ports.grpc), GRPC_HOST: '127.0.0.1' });
  const gateway = startApp('api-gateway', { ...kafka, HTTP_PORT: String(ports.gatewayHttp), PREDICTOR_GRPC_ADDR: `127.0.0.1:${ports.grpc}`, RATE_LIMIT_PER_SEC: '0' });
  const floor = await startFloorServer();
  try {
    await Promise.all([ready(ports.predictorHttp, 'ml-predictor'), ready(ports.gatewayHttp, 'api-gateway')]);
    const row = featureKeys.map((_, j) => 1 + j * 0.5);
    // Wait with the real client until the predictor has loaded the model. (The load generator checks the
    // grpc-status of every answer to its own prepared frame.)
    const client = createPredictorClient(`127.0.0.1:${ports.grpc}`, { defaultTimeoutMs: 1000 });
    for (let i = 0; ; i++) {
      try {
        await client.predict({ modelName: name, values: row, nFeatures: N_FEATURES });
        break;
      } catch (e) {
        if (i > 300) throw e;
        await wait(100);
      }
    }
    client.close();
    const frame = grpcFrame(name, row);
    const json = Buffer.from(JSON.stringify({ model_name: name, features: [row] }));
    const targets = {
      floor: { kind: 'grpc', port: floor.port, path: PREDICT_PATH, body: frame, label: 'gRPC floor: no-op grpc-js server' },
      grpc: { kind: 'grpc', port: ports.grpc, path: PREDICT_PATH, body: frame, label: 'gRPC Predict, ml-predictor' },
      rest: { kind: 'rest', port: ports.gatewayHttp, path: '/pipeline/ml/predict', body: json, label: 'REST via api-gateway' },
    } as const;
    type Target = keyof typeof targets;
    const results: Record<Target, { p50: number; p99: number; loopMax: number; failed: number }[]> = { floor: [], grpc: [], rest: [] };
    // CPU per request of each server process, from /proc: the round's CPU time over the requests it sent.
    const processes = { floor: floor.child, 'ml-predictor': predictor, 'api-gateway': gateway };
    const served: Record<Target, (keyof typeof processes)[]> = { floor: ['floor'], grpc: ['ml-predictor'], rest: ['api-gateway', 'ml-predictor'] };
    for (let r = 0; r < rounds; r++) {
      for (const kind of ['floor', 'grpc', 'rest'] as const) {
        const { label, ...spec } = targets[kind];
        const before = served[kind].map((p) => cpuMs(processes[p].pid));
        const m = await runLoad({ ...spec, rate, seconds, warmupSeconds: 1 });
        const cpu = served[kind].map((p, i) => {
          const used = cpuMs(processes[p].pid);
          const sent = Math.round((seconds + 1) * rate);
          return used === undefined || before[i] === undefined ? `${p} n/a` : `${p} ${(((used - before[i]!) * 1000) / sent).toFixed(0)} µs`;
        });
        const q = quantiles(m.latencyMs);
        if (process.env['BENCH_DUMP']) writeFileSync(join(process.env['BENCH_DUMP'], `${kind}-${r}.json`), JSON.stringify({ lat: Array.from(m.latencyMs), late: Array.from(m.lateMs) }));
        const late = quantiles(m.lateMs);
        const gcMax = m.gcPauses.reduce((a, g) => Math.max(a, g.ms), 0);
        console.log(`  server CPU per request (incl. warm-up): ${cpu.join(', ')}`);
        console.log(`  client GC: ${m.gcPauses.length} pauses, max ${gcMax.toFixed(1)} ms; major at ${m.gcPauses.filter((g) => g.major).map((g) => `${(g.atMs / 1000).toFixed(2)} s (${g.ms.toFixed(1)} ms)`).join(', ') || 'none'}`);
        results[kind].push({ p50: q.p50, p99: q.p99, loopMax: m.loopDelayMaxMs, failed: m.failed });
        console.log(
          `round ${r + 1} ${label}: ${m.latencyMs.length} requests at ${m.achievedPerSec.toFixed(0)}/s, p50 ${q.p50.toFixed(3)} ms, p99 ${q.p99.toFixed(3)} ms, max ${q.max.toFixed(1)} ms, failed ${m.failed}${m.firstError ? ` (first: ${m.firstError})` : ''}; client: send lateness p99 ${late.p99.toFixed(2)} ms, loop delay p99 ${m.loopDelayP99Ms.toFixed(2)} / max ${m.loopDelayMaxMs.toFixed(1)} ms; load average ${loadavg()[0]!.toFixed(2)}`,
        );
      }
    }
    for (const kind of ['floor', 'grpc', 'rest'] as const) {
      const rs = results[kind];
      const target = kind === 'rest' ? 5 : 2;
      const p99 = median(rs.map((x) => x.p99));
      const verdict = kind === 'floor' ? 'reference, no target' : `target ≤ ${target} ms: ${p99 <= target ? 'met' : 'NOT met'}`;
      console.log(`median of ${rounds} (${targets[kind].label}): p50 ${median(rs.map((x) => x.p50)).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (${verdict}), failed ${rs.reduce((a, x) => a + x.failed, 0)}, client loop delay max ${median(rs.map((x) => x.loopMax)).toFixed(1)} ms`);
    }
    await nativeClientRounds(frame, json);
  } finally {
    for (const c of [gateway, predictor, floor.child]) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(undefined) : c.once('exit', r)));
    }
  }
}

const PREDICT_PATH = '/ml.v1.PredictorService/Predict';

/** A gRPC length-prefixed message: flag byte 0 (not compressed), 4-byte big-endian length, PredictRequest. */
function grpcFrame(modelName: string, row: number[]): Buffer {
  const message = PredictRequest.encode({ modelName, version: 0, values: row, nFeatures: N_FEATURES }).finish();
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** Starts noop-predictor.child.js (the grpc-js floor) with the predictor's V8 flags; resolves once it listens. */
async function startFloorServer(): Promise<{ child: ChildProcess; port: number }> {
  const env = { ...process.env, NODE_OPTIONS: process.env['BENCH_APP_NODE_OPTIONS'] ?? SERVICE_NODE_OPTIONS['ml-predictor'] };
  const child = spawn(process.execPath, [join(__dirname, 'noop-predictor.child.js'), String(ports.floor)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
  });
  return { child, port };
}

/**
 * The same one-row load from an independent native client, h2load (Debian `nghttp2-client`), when it is
 * installed: 1,000 requests/s for `seconds` s per round over 10 connections, latency per request from its
 * log (microseconds). It takes the Node load generator's own event loop out of the measurement. For gRPC it
 * sends a length-prefixed `PredictRequest` with `content-type: application/grpc`; h2load records only the
 * HTTP status, so the gRPC status of those exact bytes is the one the load generator's rounds checked.
 */
const H2LOAD_CLIENTS = 10;

async function nativeClientRounds(frame: Buffer, json: Buffer): Promise<void> {
  if (spawnSync('h2load', ['--version']).status !== 0) {
    console.log('h2load not installed (apt-get install nghttp2-client): native-client rounds skipped');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'serving-h2load-'));
  writeFileSync(join(dir, 'grpc.bin'), frame);
  writeFileSync(join(dir, 'rest.json'), json);
  const n = Math.round(seconds * rate);
  const runs: Record<'grpc' | 'rest', { p50: number; p99: number; max: number; non2xx: number }[]> = { grpc: [], rest: [] };
  for (let r = 0; r < rounds; r++) {
    for (const kind of ['grpc', 'rest'] as const) {
      const log = join(dir, `${kind}-${r}.log`);
      // 10 connections at rate/10 each, one request in flight per connection: a request is never
      // held back behind another on the client side, so queueing shows up as latency (HTTP/1.1 on
      // a single connection would hide it in the client's own queue).
      const load = ['-n', String(n), '-c', String(H2LOAD_CLIENTS), '-m', '1', `--rps=${Math.max(1, Math.round(rate / H2LOAD_CLIENTS))}`, `--log-file=${log}`];
      const args =
        kind === 'grpc'
          ? [...load, '-d', join(dir, 'grpc.bin'), '-H', 'content-type: application/grpc', '-H', 'te: trailers', `http://127.0.0.1:${ports.grpc}/ml.v1.PredictorService/Predict`]
          : ['--h1', ...load, '-d', join(dir, 'rest.json'), '-H', 'content-type: application/json', `http://127.0.0.1:${ports.gatewayHttp}/pipeline/ml/predict`];
      const out = spawnSync('h2load', args, { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(`h2load failed: ${out.stderr || out.stdout}`);
      // Log lines: start time (µs), HTTP status, duration (µs).
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split('\t'));
      const lat = Float64Array.from(lines.map((l) => Number(l[2]) / 1000));
      const q = quantiles(lat);
      const non2xx = lines.filter((l) => l[1] !== '200').length;
      runs[kind].push({ ...q, non2xx });
      console.log(`h2load round ${r + 1} ${kind.padEnd(4)}: ${lines.length} requests, p50 ${q.p50.toFixed(3)} ms, p99 ${q.p99.toFixed(3)} ms, max ${q.max.toFixed(1)} ms, non-200 ${non2xx}; load average ${loadavg()[0]!.toFixed(2)}`);
    }
  }
  for (const kind of ['grpc', 'rest'] as const) {
    const rs = runs[kind];
    const target = kind === 'grpc' ? 2 : 5;
    const p99 = median(rs.map((x) => x.p99));
    console.log(`h2load median of ${rounds} (${kind === 'grpc' ? 'gRPC Predict, direct' : 'REST via gateway'}): p50 ${median(rs.map((x) => x.p50)).toFixed(3)} ms, p99 ${p99.toFixed(3)} ms (target ≤ ${target} ms: ${p99 <= target ? 'met' : 'NOT met'})`);
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
