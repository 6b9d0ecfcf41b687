// HTTP ingest throughput into the real broker: NDJSON batches of 1,000 metric events posted to a
// separately running ingest process (dist/apps/ingest/main.js), acks=all, idempotent producer.
//   npm run bench:ingest                 (starts the local broker if KAFKA_BROKERS is unset)
//   BENCH_SECONDS=20 BENCH_CONCURRENCY=4 npm run bench:ingest
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';

const root = process.cwd(); // npm scripts run from the repo root
const seconds = Number(process.env['BENCH_SECONDS'] ?? 15);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 4);
const batch = 1000;
const port = 18181;

async function main() {
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
    brokers = '127.0.0.1:9092';
  }
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'ingest'], { stdio: 'inherit' });
  const child = spawn(process.execPath, [join(root, 'dist/apps/ingest/main.js')], {
    env: { ...process.env, KAFKA_BROKERS: brokers, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', VALIDATOR_GROUP_ID: 'bench-ingest-validator', INGEST_VALIDATOR: process.env['INGEST_VALIDATOR'] ?? 'on' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
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
  // Wait for readiness.
  for (let i = 0; ; i++) {
    try {
      const r = await new Promise<number>((res, rej) => http.get({ host: '127.0.0.1', port, path: '/readyz' }, (x) => { x.resume(); res(x.statusCode ?? 0); }).on('error', rej));
      if (r === 200) break;
    } catch {
      /* not up yet */
    }
    if (i > 200) throw new Error('ingest did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  const bodies = Array.from({ length: 16 }, (_, b) =>
    Array.from({ length: batch }, (_, i) => JSON.stringify({ topic: 'events.metrics', payload: { metric_name: `bench_${i % 20}`, value: (b * batch + i) % 997, group_by: `g${i % 50}` } })).join('\n') + '\n',
  );
  // Warm-up, then measure.
  for (let i = 0; i < 5; i++) await post(bodies[i % 16]!);
  let events = 0;
  let requests = 0;
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
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
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(1);
  console.log(
    `ingest: ${Math.round(events / elapsed).toLocaleString('en-US')} events/s over ${elapsed.toFixed(1)} s (${requests} NDJSON requests of ${batch}, concurrency ${concurrency}, dead-letter validator ${process.env['INGEST_VALIDATOR'] ?? 'on'}); request latency p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`,
  );
  agent.destroy();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
