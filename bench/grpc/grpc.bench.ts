// Predict latency of ml.v1.PredictorService for one row at a fixed request rate, over loopback.
//   node scripts/run-ts.mjs bench/grpc/grpc.bench.ts [--rate 1000] [--seconds 10] [--runs 3]
// Server: apps/ml-predictor gRPC server in a worker thread (server.worker.ts) with a ~2 µs stand-in
// model. Client: createPredictorClient on the main thread, open loop: requests are issued on a
// fixed schedule (every 1/rate s, sent in 1 ms timer ticks) whatever the responses do.
// Reported per run: service latency (send → response) p50/p99/max, and the schedule-corrected
// latency (intended send time → response, which also counts client timer lag). Target: p99 ≤ 2 ms.
import { createPredictorClient } from '@pipeline/proto';
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? def : Number(process.argv[i + 1]);
}
const RATE = arg('rate', 1000);
const SECONDS = arg('seconds', 10);
const RUNS = arg('runs', 3);
const WARMUP_S = 1;

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface RunResult {
  sent: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
  p50Sched: number;
  p99Sched: number;
  /** Client event-loop delay p99 / max in ms: high values mean the machine, not the server, stalled. */
  loopP99: number;
  loopMax: number;
}

async function run(address: string): Promise<RunResult> {
  const client = createPredictorClient(address, { defaultTimeoutMs: 1000 });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const total = Math.round(RATE * (SECONDS + WARMUP_S));
  const service = new Float64Array(total);
  const sched = new Float64Array(total);
  let sent = 0;
  let done = 0;
  let errors = 0;
  const t0 = performance.now() + 5;
  const periodMs = 1000 / RATE;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (sent < total && t0 + sent * periodMs <= now) {
        const i = sent++;
        const intended = t0 + i * periodMs;
        const start = performance.now();
        client
          .predict({ modelName: 'bench', values: [Math.random(), Math.random(), Math.random()], nFeatures: 3 })
          .catch(() => errors++)
          .finally(() => {
            const end = performance.now();
            service[i] = end - start;
            sched[i] = end - intended;
            if (++done === total) resolve();
          });
      }
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
  client.close();
  loop.disable();
  const skip = RATE * WARMUP_S;
  const s = service.slice(skip).sort();
  const c = sched.slice(skip).sort();
  return { sent: total - skip, errors, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1], p50Sched: quantile(c, 0.5), p99Sched: quantile(c, 0.99), loopP99: loop.percentile(99) / 1e6, loopMax: loop.max / 1e6 };
}

async function main() {
  const worker = new Worker(join(__dirname, 'server.worker.js'));
  const port = await new Promise<number>((resolve) => worker.once('message', (m: { port: number }) => resolve(m.port)));
  const address = `127.0.0.1:${port}`;
  console.log(`grpc bench: Predict, 1 row x 3 features, ${RATE} req/s for ${SECONDS} s (+${WARMUP_S} s warm-up), ${RUNS} runs`);
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), server in a worker thread, model cost ~2 µs (stand-in)`);
  const results: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await run(address);
    results.push(res);
    console.log(
      `run ${r + 1}: n=${res.sent} errors=${res.errors} service p50=${res.p50.toFixed(3)} ms p99=${res.p99.toFixed(3)} ms max=${res.max.toFixed(2)} ms | schedule-corrected p50=${res.p50Sched.toFixed(3)} ms p99=${res.p99Sched.toFixed(3)} ms | client loop delay p99=${res.loopP99.toFixed(2)} ms max=${res.loopMax.toFixed(1)} ms`,
    );
  }
  const p99 = median(results.map((x) => x.p99));
  console.log(
    `median of ${RUNS}: service p50=${median(results.map((x) => x.p50)).toFixed(3)} ms p99=${p99.toFixed(3)} ms | schedule-corrected p50=${median(results.map((x) => x.p50Sched)).toFixed(3)} ms p99=${median(results.map((x) => x.p99Sched)).toFixed(3)} ms | target p99 <= 2 ms: ${p99 <= 2 ? 'MET' : 'MISSED'}`,
  );
  worker.postMessage({ stop: true });
  await new Promise((r) => worker.once('exit', r));
}

void main();
