// End to end through a real broker: producer → events.metrics → one aggregator process →
// snapshot topic → a gateway-style view. Uses its own fresh broker (port 29092) so history left on
// other brokers does not count.
//   npm run bench:aggregation:e2e
//   BENCH_EVENTS=1000000 BENCH_RATE=20000 npm run bench:aggregation:e2e
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AggregateView, decodePartitionSnapshot } from '@pipeline/aggregation';
import { INTERNAL_TOPICS } from '@pipeline/contracts';
import { CompactedTopicView, KafkaJsBus, pipelineTopicSpecs, type OutgoingMessage } from '@pipeline/kafka';

const root = process.cwd();
const N = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 20_000);
const LAG_SECONDS = Number(process.env['BENCH_LAG_SECONDS'] ?? 10);
const brokerEnv = { ...process.env, KAFKA_PORT: '29092', KAFKA_DATA: '/tmp/event-pipeline-kafka-bench-agg', KAFKA_HEAP: '1g' };
const brokers = ['127.0.0.1:29092'];
const group = 'bench-aggregator';

function events(n: number, metric: string, t0: number): OutgoingMessage[] {
  const out: OutgoingMessage[] = [];
  for (let i = 0; i < n; i++) {
    const g = `g${i % 100}`;
    const ts = new Date(t0).toISOString();
    out.push({ topic: 'events.metrics', key: `${metric}|${g}`, timestampMs: t0, value: `{"id":"${metric}-${i}","topic":"events.metrics","type":"metrics","timestamp":"${ts}","source":"bench","key":"${metric}|${g}","schema_version":1,"payload":{"metric_name":"${metric}","value":${i % 1000},"group_by":"${g}"}}` });
  }
  return out;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main() {
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'wipe'], { env: brokerEnv, stdio: 'inherit' });
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { env: brokerEnv, stdio: 'inherit' });
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'aggregator'], { stdio: 'inherit' });
  const bus = new KafkaJsBus({ brokers, clientId: 'bench', maxBatchMessages: 10_000 });
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: 3, replicationFactor: 1 }));
  const view = new AggregateView();
  const tv = new CompactedTopicView(bus, {
    topic: INTERNAL_TOPICS.aggregatorSnapshots,
    groupPrefix: 'bench-view',
    decode: (m) => decodePartitionSnapshot(m.key!, m.value),
    accept: (c, n) => n.nextOffset > c.nextOffset,
    onUpdate: (k, s) => s && view.apply(k, s),
  });
  await tv.start();
  const count = (metric: string) => view.aggregate()?.metricStats(metric, Date.now())?.total_events ?? 0;

  // Phase 1: a backlog of N events, then one aggregator consumes it; time until all are visible.
  const t0 = Date.now();
  console.log(`publishing ${N.toLocaleString('en-US')} events...`);
  for (let i = 0; i < N; i += 50_000) await bus.publishBatch(events(Math.min(50_000, N - i), 'backlog', t0));
  const agg = spawn(process.execPath, [join(root, 'dist/apps/aggregator/main.js')], {
    env: { ...process.env, KAFKA_BROKERS: brokers.join(','), HTTP_PORT: '18282', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', AGG_GROUP_ID: group, AGG_SNAPSHOT_INTERVAL_MS: '200' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const started = Date.now();
  while (count('backlog') < N) await new Promise((r) => setTimeout(r, 20));
  const secs = (Date.now() - started) / 1000;
  console.log(`backlog: ${N.toLocaleString('en-US')} events aggregated and visible in ${secs.toFixed(2)} s = ${Math.round(N / secs).toLocaleString('en-US')} events/s into one aggregator (includes process start and group join)`);

  // Phase 2: steady rate; visibility lag of each 100 ms slice = time from its publish ack to the view showing it.
  const slice = Math.max(1, Math.round(RATE / 10));
  const acked: Array<{ total: number; at: number }> = [];
  let sent = 0;
  const lags: number[] = [];
  const end = Date.now() + LAG_SECONDS * 1000;
  const watcher = setInterval(() => {
    const c = count('steady');
    const now = Date.now();
    while (acked.length > 0 && acked[0]!.total <= c) lags.push(now - acked.shift()!.at);
  }, 5);
  while (Date.now() < end) {
    const tick = Date.now();
    await bus.publishBatch(events(slice, 'steady', tick));
    sent += slice;
    acked.push({ total: sent, at: Date.now() });
    const wait = 100 - (Date.now() - tick);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  while (acked.length > 0 && Date.now() < end + 30_000) await new Promise((r) => setTimeout(r, 20));
  clearInterval(watcher);
  console.log(
    `steady ${RATE.toLocaleString('en-US')} events/s for ${LAG_SECONDS} s: publish-ack → visible lag p50 ${pct(lags, 0.5)} ms, p99 ${pct(lags, 0.99)} ms, max ${Math.max(...lags)} ms (${lags.length} slices; snapshot interval 200 ms)`,
  );
  agg.kill('SIGTERM');
  await new Promise((r) => agg.once('exit', r));
  await tv.stop();
  await bus.close();
  execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'stop'], { env: brokerEnv, stdio: 'inherit' });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
