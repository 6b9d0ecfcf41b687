// The client floor of `npm run bench:aggregation:e2e` as a process of its own, so that it is timed
// as the aggregator is: from spawn (module load, connect, group join included) to the last record.
// A consumer group on the project's EventBus (`createKafkaBus`, the client KAFKA_CLIENT names, the
// bus defaults the aggregator's options resolve to) reads FLOOR_EVENTS records of events.metrics from
// the beginning and does only `JSON.parse` of each. The bench spawns it with the aggregator's Node
// flags and environment. Prints one line when done:
//   floor-done {"events":…,"loadedMs":…,"subscribedMs":…,"firstMs":…,"lastMs":…}
// (milliseconds since this process started, performance.now()), then stops its consumer and exits.
import { createKafkaBus, type KafkaClient } from '@pipeline/kafka';

const loadedMs = performance.now();
const N = Number(process.env['FLOOR_EVENTS']);
const brokers = (process.env['KAFKA_BROKERS'] ?? '').split(',').filter(Boolean);
const client = process.env['KAFKA_CLIENT'] as KafkaClient;
const groupId = process.env['FLOOR_GROUP'] ?? 'bench-floor';

async function main(): Promise<void> {
  if (!Number.isInteger(N) || N < 1) throw new Error(`FLOOR_EVENTS must be a whole number ≥ 1, got "${process.env['FLOOR_EVENTS']}"`);
  const bus = createKafkaBus({ client, brokers, clientId: 'bench-floor' });
  let seen = 0;
  let sink = 0;
  let firstMs = NaN;
  let resolveDone!: (lastMs: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const sub = await bus.subscribe({
    groupId,
    topics: ['events.metrics'],
    fromBeginning: true,
    handler: async (b) => {
      if (seen === 0) firstMs = performance.now();
      for (const m of b.messages) sink += (JSON.parse(m.value.toString()) as { payload: { value: number } }).payload.value;
      seen += b.messages.length;
      if (seen >= N) resolveDone(performance.now());
    },
  });
  const subscribedMs = performance.now();
  const lastMs = await done;
  process.stdout.write(`floor-done ${JSON.stringify({ events: seen, loadedMs, subscribedMs, firstMs, lastMs, sink: Number.isNaN(sink) ? 'NaN' : 'ok' })}\n`);
  await sub.stop();
  await bus.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
