// HTTP ingest throughput into the real broker: NDJSON batches of 1,000 metric events posted to a
// separately running ingest process (dist/apps/ingest/main.js), acks=all, idempotent producer.
// Runs every combination of Kafka client and dead-letter validator setting, alternating, for
// BENCH_ROUNDS rounds; each run is a fresh ingest process.
//   npm run bench:ingest                 (starts the local broker if KAFKA_BROKERS is unset)
//   BENCH_SECONDS=20 BENCH_CONCURRENCY=4 BENCH_ROUNDS=3 npm run bench:ingest
//   KAFKA_CLIENT=platformatic INGEST_VALIDATOR=on npm run bench:ingest   (one client / one setting)
// Without KAFKA_CLIENT both clients run (kafkajs, platformatic); without INGEST_VALIDATOR, both on
// and off. Per round the order is client by client, validator on then off, so every "on" run
// follows one "off" run's backlog; the validator catches up before the measurement starts.
//   BENCH_OLD_REF=<commit> npm run bench:ingest   (also the old build, checked out with `git worktree
//     add` into a temp dir and built there, on kafkajs (BENCH_OLD_CLIENT), first in every round: the
//     ratio of the new build on each client to it, "today's figure", is printed too)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_CLIENTS } from '@pipeline/kafka';

const root = process.cwd(); // npm scripts run from the repo root
const seconds = Number(process.env['BENCH_SECONDS'] ?? 15);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 1);
const clients = process.env['KAFKA_CLIENT'] ? [process.env['KAFKA_CLIENT']] : [...KAFKA_CLIENTS];
const validators = process.env['INGEST_VALIDATOR'] ? [process.env['INGEST_VALIDATOR']] : ['on', 'off'];
const batch = 1000;
const port = Number(process.env['BENCH_INGEST_PORT'] ?? 18181);
const validatorGroup = 'bench-ingest-validator';
const oldRef = process.env['BENCH_OLD_REF'];
const oldClient = process.env['BENCH_OLD_CLIENT'] ?? 'kafkajs';

/** A build of ingest: the checkout whose dist/apps/ingest/main.js runs. */
interface Build {
  label: string;
  dir: string;
}

interface Run {
  build: string;
  client: string;
  validator: string;
  eventsPerSec: number;
  cpuSecPerM: number;
  p50: number;
  p99: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const get = (path: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      })
      .on('error', reject);
  });
const post = (body: string) =>
  new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/v1/events', method: 'POST', agent, headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** utime + stime of a process, seconds (Linux /proc; fields 14 and 15, in clock ticks of 100 Hz). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Messages the validator group has handled or passed over so far (the ingest process's counter). */
async function validatorConsumed(): Promise<number> {
  const { text } = await get('/metrics');
  let sum = 0;
  for (const m of text.matchAll(/^pipeline_events_consumed_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

/** Checks out `ref` into a temp worktree with this checkout's node_modules, and builds ingest there. */
function buildRef(ref: string): Build {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-old-'));
  rmSync(dir, { recursive: true });
  execFileSync('git', ['worktree', 'add', '--detach', dir, ref], { cwd: root, stdio: 'inherit' });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  execFileSync(process.execPath, [join(dir, 'scripts/build.mjs'), 'ingest'], { cwd: dir, stdio: 'inherit' });
  return { label: `old (${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8' }).trim()})`, dir };
}

async function oneRun(brokers: string, build: Build, client: string, validator: string, bodies: string[]): Promise<Run> {
  const child: ChildProcess = spawn(process.execPath, [join(build.dir, 'dist/apps/ingest/main.js')], {
    env: { ...process.env, KAFKA_BROKERS: brokers, KAFKA_CLIENT: client, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', VALIDATOR_GROUP_ID: validatorGroup, INGEST_VALIDATOR: validator },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  try {
    for (let i = 0; ; i++) {
      if ((await get('/readyz').catch(() => ({ status: 0 }))).status === 200) break;
      if (i > 300) throw new Error('ingest did not become ready');
      await sleep(100);
    }
    // The validator first catches up with what earlier runs wrote: wait until its count stands still.
    if (validator === 'on') {
      let last = -1;
      for (let stable = 0, i = 0; stable < 3 && i < 600; i++) {
        await sleep(500);
        const now = await validatorConsumed();
        stable = now === last ? stable + 1 : 0;
        last = now;
      }
    }
    for (let i = 0; i < 5; i++) await post(bodies[i % 16]!); // warm-up
    let events = 0;
    let requests = 0;
    const latencies: number[] = [];
    const end = Date.now() + seconds * 1000;
    const cpu0 = cpuSeconds(child.pid!);
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, w) => {
        let k = w;
        while (Date.now() < end) {
          const t0 = process.hrtime.bigint();
          const r = await post(bodies[k++ % 16]!);
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (r.status !== 202) throw new Error(`unexpected ${r.status}: ${r.text.slice(0, 200)}`);
          events += JSON.parse(r.text).accepted as number;
          requests++;
        }
      }),
    );
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = cpuSeconds(child.pid!) - cpu0;
    latencies.sort((a, b) => a - b);
    const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
    const run: Run = { build: build.label, client, validator, eventsPerSec: events / elapsed, cpuSecPerM: (cpu / events) * 1e6, p50: q(0.5), p99: q(0.99) };
    console.log(
      `ingest ${build.label} ${client}, validator ${validator}: ${Math.round(run.eventsPerSec).toLocaleString('en-US')} events/s over ${elapsed.toFixed(1)} s (${requests} NDJSON requests of ${batch}, concurrency ${concurrency}); ingest CPU ${run.cpuSecPerM.toFixed(1)} s per M events; request latency p50 ${run.p50.toFixed(1)} ms, p99 ${run.p99.toFixed(1)} ms; load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    return run;
  } finally {
    child.kill('SIGTERM');
    if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
  }
}

async function main() {
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
    brokers = '127.0.0.1:9092';
  }
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'ingest'], { stdio: 'inherit' });
  const current: Build = { label: 'new', dir: root };
  const old = oldRef ? buildRef(oldRef) : undefined;
  const bodies = Array.from({ length: 16 }, (_, b) =>
    Array.from({ length: batch }, (_, i) => JSON.stringify({ topic: 'events.metrics', payload: { metric_name: `bench_${i % 20}`, value: (b * batch + i) % 997, group_by: `g${i % 50}` } })).join('\n') + '\n',
  );
  const runs: Run[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      if (old) for (const validator of validators) runs.push(await oneRun(brokers, old, oldClient, validator, bodies));
      for (const client of clients) for (const validator of validators) runs.push(await oneRun(brokers, current, client, validator, bodies));
    }
  } finally {
    agent.destroy();
    if (old) execFileSync('git', ['worktree', 'remove', '--force', old.dir], { cwd: root, stdio: 'inherit' });
  }
  if (runs.length <= 1) return;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(`\nmedians of ${rounds} round(s):`);
  const builds = [...(old ? [{ build: old.label, client: oldClient }] : []), ...clients.map((client) => ({ build: current.label, client }))];
  for (const validator of validators) {
    const by = builds.map(({ build, client }) => {
      const mine = runs.filter((x) => x.build === build && x.client === client && x.validator === validator);
      return { label: `${build} ${client}`, client, rate: median(mine.map((x) => x.eventsPerSec)), cpu: median(mine.map((x) => x.cpuSecPerM)), all: mine.map((x) => Math.round(x.eventsPerSec).toLocaleString('en-US')).join(' · ') };
    });
    for (const b of by) console.log(`  validator ${validator}, ${b.label}: ${Math.round(b.rate).toLocaleString('en-US')} events/s (${b.all}), ${b.cpu.toFixed(1)} CPU s per M`);
    for (const b of by.slice(1)) console.log(`  validator ${validator}: ${b.label} / ${by[0]!.label} = ${(b.rate / by[0]!.rate).toFixed(2)}× the rate, ${(b.cpu / by[0]!.cpu).toFixed(2)}× the CPU per event`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
