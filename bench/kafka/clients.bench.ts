// The two Kafka adapters through the EventBus port, alternating in one run on one broker (issue 20):
// produce events/s (acks=all, idempotent, publishBatch of 1,000, 4 in flight), consume events/s
// (a new group from the beginning, JSON.parse of every value; the clock starts at the assignment, so
// the group join is not counted) and readRange events/s (the whole topic by time, JSON.parse; what
// ml-trainer and batch-processor do), each with this process's CPU seconds per million events.
// Each round runs both clients, in alternating order; figures are medians of rounds.
//   KAFKA_BROKERS=127.0.0.1:9092 node scripts/run-ts.mjs bench/kafka/clients.bench.ts
//   BENCH_EVENTS=200000 BENCH_ROUNDS=3 ...   (defaults)
import { randomUUID } from 'node:crypto';
import { createKafkaBus, KAFKA_CLIENTS, type KafkaClient, type OutgoingMessage } from '@pipeline/kafka';

const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean);
const events = Number(process.env['BENCH_EVENTS'] ?? 200_000);
const rounds = Number(process.env['BENCH_ROUNDS'] ?? 3);
const batchSize = 1_000;
const inFlight = 4;

interface Figure {
  eventsPerSec: number;
  cpuSecPerMillion: number;
}

const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** A metric event envelope as ingest writes it (~260 bytes), keyed by metric|group. */
function envelope(i: number): OutgoingMessage {
  const group = `host-${i % 50}`;
  const value = JSON.stringify({
    id: randomUUID(),
    topic: 'events.metrics',
    type: 'metric',
    timestamp: new Date(1_796_000_000_000 + i).toISOString(),
    source: 'bench',
    key: `latency_ms|${group}`,
    schema_version: 1,
    payload: { metric_name: 'latency_ms', value: (i % 997) / 7, group_by: group, tags: { region: 'eu' } },
  });
  return { topic: '', key: `latency_ms|${group}`, value, timestampMs: 1_796_000_000_000 + i };
}

async function produce(client: KafkaClient, topic: string, messages: OutgoingMessage[]): Promise<Figure> {
  const bus = createKafkaBus({ client, brokers, clientId: `bench-${client}`, maxBatchMessages: batchSize });
  await bus.ensureTopics([{ topic, partitions: 3 }]);
  await bus.publishBatch(messages.slice(0, batchSize)); // connections and producer id before the clock starts
  const rest = messages.slice(batchSize);
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next; i < rest.length; i = next) {
        next += batchSize;
        await bus.publishBatch(rest.slice(i, i + batchSize));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  await bus.close();
  return { eventsPerSec: rest.length / seconds, cpuSecPerMillion: (cpu / rest.length) * 1e6 };
}

async function consume(client: KafkaClient, topic: string, expected: number): Promise<Figure> {
  const bus = createKafkaBus({ client, brokers, clientId: `bench-${client}`, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000 });
  let count = 0;
  let sum = 0;
  let t0 = 0;
  let cpu0 = 0;
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  // The clock starts when the member gets its partitions, so the group join (seconds on kafkajs) is not counted.
  const sub = await bus.subscribe({
    groupId: `bench-${randomUUID()}`,
    topics: [topic],
    fromBeginning: true,
    onAssignment: () => {
      t0 = performance.now();
      cpu0 = cpuSeconds();
    },
    handler: async (b) => {
      for (const m of b.messages) sum += (JSON.parse(m.value.toString('utf8')) as { payload: { value: number } }).payload.value;
      count += b.messages.length;
      if (count >= expected) done();
    },
  });
  await finished;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  await sub.stop();
  await bus.close();
  if (!Number.isFinite(sum)) throw new Error('unreachable');
  return { eventsPerSec: count / seconds, cpuSecPerMillion: (cpu / count) * 1e6 };
}

async function readRange(client: KafkaClient, topic: string): Promise<Figure> {
  const bus = createKafkaBus({ client, brokers, clientId: `bench-${client}` });
  await bus.connect();
  let sum = 0;
  const cpu0 = cpuSeconds();
  const t0 = performance.now();
  const { read } = await bus.readRange({
    topic,
    onBatch: (ms) => {
      for (const m of ms) sum += (JSON.parse(m.value.toString('utf8')) as { payload: { value: number } }).payload.value;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds() - cpu0;
  await bus.close();
  if (!Number.isFinite(sum)) throw new Error('unreachable');
  return { eventsPerSec: read / seconds, cpuSecPerMillion: (cpu / read) * 1e6 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main() {
  if (brokers.length === 0) throw new Error('set KAFKA_BROKERS (e.g. 127.0.0.1:9092; npm run kafka:start starts a local broker)');
  const messages = Array.from({ length: events }, (_, i) => envelope(i));
  const results = new Map<KafkaClient, { produce: Figure[]; consume: Figure[]; range: Figure[] }>(KAFKA_CLIENTS.map((c) => [c, { produce: [], consume: [], range: [] }]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [...KAFKA_CLIENTS] : [...KAFKA_CLIENTS].reverse();
    for (const client of order) {
      const topic = `bench-clients-${client}-${randomUUID().slice(0, 8)}`;
      const p = await produce(client, topic, messages.map((m) => ({ ...m, topic })));
      global.gc?.();
      const c = await consume(client, topic, events);
      global.gc?.();
      const r = await readRange(client, topic);
      global.gc?.();
      results.get(client)!.produce.push(p);
      results.get(client)!.consume.push(c);
      results.get(client)!.range.push(r);
      const line = (f: Figure) => `${fmt(f.eventsPerSec)} ev/s (${f.cpuSecPerMillion.toFixed(1)} CPU s/M)`;
      console.log(`round ${round + 1} ${client}: produce ${line(p)}, consume+parse ${line(c)}, readRange+parse ${line(r)}`);
    }
  }
  console.log(`\n${events.toLocaleString('en-US')} events, ${rounds} rounds; ev/s median (rounds), CPU s per M median`);
  console.log(`| client | produce | consume + JSON.parse | readRange + JSON.parse |\n|---|---|---|---|`);
  const cell = (f: Figure[]) =>
    `**${fmt(median(f.map((x) => x.eventsPerSec)))}** (${f.map((x) => fmt(x.eventsPerSec)).join(' · ')}), ${median(f.map((x) => x.cpuSecPerMillion)).toFixed(1)} CPU s/M`;
  for (const [client, r] of results) console.log(`| ${client} | ${cell(r.produce)} | ${cell(r.consume)} | ${cell(r.range)} |`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
