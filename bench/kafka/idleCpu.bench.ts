// Idle CPU of every service on each Kafka client: the six services (dist/apps/*/main.js, as
// `npm run stack` wires them) start on one client, become ready, settle, and then sit idle while
// their CPU (utime + stime from /proc/<pid>/stat) is read over BENCH_IDLE_SECONDS; then the same on
// the other client, alternating for BENCH_ROUNDS rounds.
//   KAFKA_BROKERS=127.0.0.1:9092 BENCH_ROUNDS=3 node scripts/run-ts.mjs bench/kafka/idleCpu.bench.ts
//   KAFKA_CLIENT=platformatic …    (one client only)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KAFKA_CLIENTS, type KafkaClient } from '@pipeline/kafka';

const root = process.cwd();
const brokers = process.env['KAFKA_BROKERS'];
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 1);
const SETTLE_SECONDS = Number(process.env['BENCH_SETTLE_SECONDS'] ?? 10);
const IDLE_SECONDS = Number(process.env['BENCH_IDLE_SECONDS'] ?? 20);
const BASE_PORT = Number(process.env['BENCH_BASE_PORT'] ?? 18480);
const CLIENTS: KafkaClient[] = process.env['KAFKA_CLIENT'] ? [process.env['KAFKA_CLIENT'] as KafkaClient] : [...KAFKA_CLIENTS];
const grpcPort = BASE_PORT + 10;
/** As scripts/stack.mjs starts them (ports moved to BENCH_BASE_PORT). */
const SERVICES: [string, Record<string, string>][] = [
  ['ingest', { HTTP_PORT: String(BASE_PORT + 1) }],
  ['aggregator', { HTTP_PORT: String(BASE_PORT + 2), NODE_OPTIONS: '--max-semi-space-size=8', MALLOC_MMAP_THRESHOLD_: '131072' }],
  ['ml-trainer', { HTTP_PORT: String(BASE_PORT + 3), MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' }],
  ['ml-predictor', { HTTP_PORT: String(BASE_PORT + 4), GRPC_PORT: String(grpcPort), NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' }],
  ['batch-processor', { HTTP_PORT: String(BASE_PORT + 5) }],
  ['api-gateway', { HTTP_PORT: String(BASE_PORT), INGEST_URL: `http://127.0.0.1:${BASE_PORT + 1}`, PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}`, NODE_OPTIONS: '--max-semi-space-size=1' }],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, seconds (Linux /proc; clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200;
  } catch {
    return false;
  }
}

/** CPU ms per second of wall time of each service, idle on `client`. */
async function oneRound(client: KafkaClient): Promise<Map<string, number>> {
  const children: [string, ChildProcess, number][] = SERVICES.map(([app, extra]) => [
    app,
    spawn(process.execPath, [join(root, 'dist/apps', app, 'main.js')], {
      env: { ...process.env, KAFKA_BROKERS: brokers, KAFKA_CLIENT: client, HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...extra },
      stdio: ['ignore', 'inherit', 'inherit'],
    }),
    Number(extra['HTTP_PORT']),
  ]);
  try {
    for (const [app, child, port] of children) {
      for (let i = 0; !(await ready(port)); i++) {
        if (child.exitCode !== null) throw new Error(`${app} exited (${child.exitCode}) before it was ready`);
        if (i > 600) throw new Error(`${app} was not ready after 60 s`);
        await sleep(100);
      }
    }
    await sleep(SETTLE_SECONDS * 1000);
    const before = children.map(([, c]) => cpuSeconds(c.pid!));
    const t0 = process.hrtime.bigint();
    await sleep(IDLE_SECONDS * 1000);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const out = new Map(children.map(([app, c], i) => [app, ((cpuSeconds(c.pid!) - before[i]!) / wall) * 1000]));
    console.log(`[${client}] idle CPU, ms per s over ${wall.toFixed(1)} s: ${[...out].map(([a, v]) => `${a} ${v.toFixed(1)}`).join(', ')}; total ${[...out.values()].reduce((a, b) => a + b, 0).toFixed(1)}; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
    return out;
  } finally {
    for (const [, c] of children) if (c.exitCode === null) c.kill('SIGTERM');
    await Promise.all(children.map(([, c]) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  }
}

async function main() {
  if (!brokers) throw new Error('set KAFKA_BROKERS (a broker only this bench uses: services join their default groups)');
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
  const runs: { client: KafkaClient; cpu: Map<string, number> }[] = [];
  for (let r = 0; r < ROUNDS; r++) for (const client of CLIENTS) runs.push({ client, cpu: await oneRound(client) });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nidle CPU, ms per s, medians of ${ROUNDS} round(s):`);
  for (const [app] of [...SERVICES, ['total']]) {
    const per = CLIENTS.map((client) => {
      const mine = runs.filter((x) => x.client === client).map((x) => (app === 'total' ? [...x.cpu.values()].reduce((a, b) => a + b, 0) : x.cpu.get(app)!));
      return { client, med: median(mine), all: mine.map((v) => v.toFixed(1)).join(' · ') };
    });
    const ratio = per.length === 2 ? `; ${per[1]!.client} / ${per[0]!.client} ${(per[1]!.med / per[0]!.med).toFixed(2)}×` : '';
    console.log(`  ${app}: ${per.map((p) => `${p.client} ${p.med.toFixed(1)} (${p.all})`).join(', ')}${ratio}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
