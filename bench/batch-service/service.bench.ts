// A 1,000,000-event time_window_metrics job read from the real broker through the batch-processor
// service (separate processes, tasks split by partition), against the same job in-process.
//   npm run bench:batch-service                     (starts the local broker if KAFKA_BROKERS is unset)
//   BENCH_EVENTS=1000000 BENCH_ROUNDS=3 BENCH_REPLICAS=1,2 BENCH_PARTITIONS=3 npm run bench:batch-service
// Prints one line per measurement and a JSON summary (medians over rounds).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { timeWindowMetrics } from '@pipeline/batch';
import { KafkaJsBus, pipelineTopicSpecs } from '@pipeline/kafka';
import { startService } from '@pipeline/service-runtime';
import { emptyEventTimeRange } from '@pipeline/testing';
import { createGateway, readGatewayConfig } from '../../apps/api-gateway/src/index';

const root = process.cwd(); // npm scripts run from the repo root
const N = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const replicaCounts = (process.env['BENCH_REPLICAS'] ?? '1,2').split(',').map(Number);
const requestedPartitions = Number(process.env['BENCH_PARTITIONS'] ?? 3);
// Batch sources are event topics only: the events go to events.metrics, in an event-time range that
// held no record before (emptyEventTimeRange: a whole hour within the broker's 7-day retention), under a
// metric name of their own, and the job reads only that range.
const TOPIC = 'events.metrics';
const STEP_MS = 100; // 1,000,000 events span ~27.8 hours of event time
let T0 = 0;
const request = { operation: 'time_window_metrics', window_minutes: 5, group_key: 'group_by' };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function envelope(i: number, topic: string, metric: string) {
  return {
    id: `b${i}`,
    topic,
    type: 'metrics',
    key: `${metric}|svc${i % 50}`,
    source: 'bench',
    schema_version: 1,
    timestamp: new Date(T0 + i * STEP_MS).toISOString(),
    payload: { metric_name: metric, value: (i * 7919) % 1000, group_by: `svc${i % 50}` },
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bench reads fields of arbitrary JSON answers
function call(url: string, method: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function waitReady(port: number) {
  for (let i = 0; i < 600; i++) {
    const ok = await call(`http://127.0.0.1:${port}/readyz`, 'GET').then((r) => r.status === 200, () => false);
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`process on ${port} did not become ready`);
}

async function main() {
  let brokers = process.env['KAFKA_BROKERS'];
  if (!brokers) {
    execFileSync('bash', [join(root, 'scripts/kafka.sh'), 'start'], { stdio: 'inherit' });
    brokers = '127.0.0.1:9092';
  }
  execFileSync(process.execPath, [join(root, 'scripts/build.mjs'), 'batch-processor'], { stdio: 'inherit' });
  const brokerList = brokers.split(',');
  const topic = TOPIC;
  const metric = `bench-latency-${randomUUID().slice(0, 8)}`;
  const bus = new KafkaJsBus({ brokers: brokerList, clientId: 'bench-batch-service' });
  // BENCH_PARTITIONS applies when events.metrics is created here; an existing topic keeps its partitions
  await bus.ensureTopics(pipelineTopicSpecs({ partitions: requestedPartitions, replicationFactor: 1 }));
  const partitions = (await bus.partitionsFor(topic)).length;
  T0 = await emptyEventTimeRange(bus, topic, N * STEP_MS);

  // 1. Publish the events (record timestamp = event time), in publishBatch calls of 3,000 (record batches stay under the broker's 1 MiB limit).
  const events = Array.from({ length: N }, (_, i) => envelope(i, topic, metric));
  let t = process.hrtime.bigint();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < N; i += 3_000) {
    inflight.push(bus.publishBatch(events.slice(i, i + 3_000).map((e) => ({ topic, key: e.key, value: JSON.stringify(e), timestampMs: Date.parse(e.timestamp) }))));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  const publishS = Number(process.hrtime.bigint() - t) / 1e9;
  console.log(`published ${N.toLocaleString('en-US')} events to ${topic} (${partitions} partitions) in ${publishS.toFixed(1)} s`);

  // 2. In-process reference: the same job on objects, and on the JSON strings (parse + compute).
  const inProcess: number[] = [];
  const parseAndCompute: number[] = [];
  const json = events.map((e) => JSON.stringify(e));
  let reference: unknown;
  for (let r = 0; r < rounds; r++) {
    t = process.hrtime.bigint();
    reference = timeWindowMetrics(events, { windowMinutes: 5, valueKey: 'value', groupKey: 'group_by' });
    inProcess.push(Number(process.hrtime.bigint() - t) / 1e9);
    t = process.hrtime.bigint();
    timeWindowMetrics(json.map((s) => JSON.parse(s)), { windowMinutes: 5, valueKey: 'value', groupKey: 'group_by' });
    parseAndCompute.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  console.log(`in-process timeWindowMetrics: ${median(inProcess).toFixed(3)} s on objects, ${median(parseAndCompute).toFixed(3)} s with JSON.parse (medians of ${rounds})`);
  json.length = 0;

  // 3. Through the service: gateway in this process, batch-processor replicas as processes.
  const gateway = await startService(createGateway, readGatewayConfig({ KAFKA_BROKERS: brokers, HTTP_HOST: '127.0.0.1', HTTP_PORT: '0', LOG_LEVEL: 'warn', SYNC_WAIT_MS: '0' }), bus);
  const url = `http://127.0.0.1:${gateway.port}`;
  const summary: Record<string, unknown> = { events: N, partitions, rounds, publish_s: publishS, in_process_s: median(inProcess), in_process_with_parse_s: median(parseAndCompute) };
  for (const replicas of replicaCounts) {
    const groupId = `bench-batch-${randomUUID().slice(0, 8)}`;
    const children: ChildProcess[] = [];
    for (let i = 0; i < replicas; i++) {
      const port = 18285 + i;
      children.push(
        spawn(process.execPath, [join(root, 'dist/apps/batch-processor/main.js')], {
          env: { ...process.env, KAFKA_BROKERS: brokers, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn', BATCH_GROUP_ID: groupId, BATCH_WORKER_ID: `bench-${i}` },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
      await waitReady(port);
    }
    // let the group settle so that tasks are split over every replica
    for (let i = 0; i < 600; i++) {
      const lists = await Promise.all(children.map((_, k) => call(`http://127.0.0.1:${18285 + k}/v1/batch/worker`, 'GET')));
      if (lists.every((l) => l.json.assignments.some((a: { topic: string }) => a.topic === 'pipeline.batch.tasks'))) break;
      await sleep(100);
    }
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      t = process.hrtime.bigint();
      const res = await call(`${url}/pipeline/spark/process`, 'POST', { ...request, source: { topic, from: T0, to: T0 + N * STEP_MS } });
      if (res.status !== 202) throw new Error(`submit failed: ${res.status} ${JSON.stringify(res.json)}`);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a job status answer, read field by field
      let job: any;
      for (;;) {
        job = (await call(`${url}/pipeline/spark/jobs/${res.json.job_id}`, 'GET')).json;
        if (['succeeded', 'failed', 'cancelled'].includes(job.status)) break;
        await sleep(50);
      }
      const s = Number(process.hrtime.bigint() - t) / 1e9;
      if (job.status !== 'succeeded' || job.events_read !== N) throw new Error(`job ended ${job.status} with ${job.events_read} events: ${job.reason ?? ''}`);
      const rows = job.result as { count: number; sum: number }[];
      const ref = reference as { count: number; sum: number }[];
      if (rows.length !== ref.length || rows.some((row, k) => row.count !== ref[k]!.count || row.sum !== ref[k]!.sum)) throw new Error('service result differs from the in-process result');
      times.push(s);
      console.log(`service, ${replicas} replica(s), round ${r + 1}: ${s.toFixed(2)} s submit→result, ${Math.round(N / s).toLocaleString('en-US')} events/s`);
    }
    summary[`service_${replicas}_replicas_s`] = median(times);
    summary[`service_${replicas}_replicas_events_per_s`] = Math.round(N / median(times));
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  }
  await gateway.stop();
  await bus.close();
  summary['cores'] = cpus().length;
  summary['loadavg_1m_at_end'] = Number(loadavg()[0]!.toFixed(2));
  console.log(JSON.stringify(summary));
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
