// `npm run stack`: every service as its own process on the local Kafka broker — the same wiring as
// production (docker-compose/Kubernetes), without containers. Starts the broker unless KAFKA_BROKERS
// is set. Ctrl-C (SIGINT) or SIGTERM stops the services gracefully (the broker keeps running;
// `npm run kafka:stop` stops it).
//   gateway :8080 · ingest :8081 · aggregator :8082 · ml-trainer :8083 · ml-predictor :8084 (gRPC :50051) · batch-processor :8085
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env };
if (!env.KAFKA_BROKERS) {
  if (spawnSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' }).status !== 0) process.exit(1);
  env.KAFKA_BROKERS = `127.0.0.1:${env.KAFKA_PORT ?? 9092}`;
}
const basePort = Number(env.STACK_BASE_PORT ?? 8080);
const grpcPort = Number(env.GRPC_PORT ?? 50051);
const services = [
  ['ingest', { HTTP_PORT: basePort + 1 }],
  // Memory settings as deploy/ gives the aggregator (see BENCHMARKS.md).
  ['aggregator', { HTTP_PORT: basePort + 2, NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=512', MALLOC_MMAP_THRESHOLD_: '131072' }],
  ['ml-trainer', { HTTP_PORT: basePort + 3, MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' }],
  // Serving latency: a small young generation keeps scavenges under ~1 ms (docs/deploy.md).
  ['ml-predictor', { HTTP_PORT: basePort + 4, GRPC_PORT: grpcPort, NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '131072' }],
  ['batch-processor', { HTTP_PORT: basePort + 5 }],
  ['api-gateway', { HTTP_PORT: basePort, INGEST_URL: `http://127.0.0.1:${basePort + 1}`, PREDICTOR_GRPC_ADDR: `127.0.0.1:${grpcPort}`, NODE_OPTIONS: '--max-semi-space-size=1 --max-old-space-size=256' }],
];
const children = services.map(([app, extra]) => {
  const childEnv = { ...env, ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, String(v)])) };
  const child = spawn(process.execPath, [join(root, 'dist/apps', app, 'main.js')], {
    env: childEnv,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`[stack] ${app} exited (${signal ?? code}); stopping the stack`);
    if (!stopping) stop('SIGTERM');
  });
  return child;
});
console.error(`[stack] started ${services.length} services on Kafka ${env.KAFKA_BROKERS}; gateway http://127.0.0.1:${basePort} (docs at /docs)`);
let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill(signal);
  Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r))))).then(() => process.exit(0));
}
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
