import { randomUUID } from 'node:crypto';
import { createKafkaBus, DEFAULT_KAFKA_CLIENT, KAFKA_CLIENTS, type EventBus, type KafkaBusOptions, type KafkaClient, type TopicSpec } from '@pipeline/kafka';

/**
 * Brokers for integration tests: KAFKA_BROKERS, which `npm test` (scripts/test.mjs) sets after
 * starting the local broker. Integration tests never fall back to the in-memory bus.
 */
export function kafkaBrokers(): string[] {
  const v = process.env['KAFKA_BROKERS'];
  if (!v) throw new Error('KAFKA_BROKERS is not set: run integration tests through `npm test`, which starts the local Kafka broker');
  return v.split(',').map((s) => s.trim());
}

/** A name no other test run uses, for topics and consumer groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * The Kafka client integration tests build their own buses on: KAFKA_CLIENT, as the services they
 * spawn read it (DEFAULT_KAFKA_CLIENT when unset), so one run tests one client end to end.
 */
export function testKafkaClient(): KafkaClient {
  const v = process.env['KAFKA_CLIENT'];
  if (v === undefined || v === '') return DEFAULT_KAFKA_CLIENT;
  if (!(KAFKA_CLIENTS as readonly string[]).includes(v)) throw new Error(`KAFKA_CLIENT must be one of ${KAFKA_CLIENTS.join(', ')}, got "${v}"`);
  return v as KafkaClient;
}

/**
 * A bus on the test client (testKafkaClient). @platformatic/kafka is an ES module, which Jest's
 * loader runs only under --experimental-vm-modules: under Jest the package is mocked with Node's
 * own copy, required outside Jest's registry (Node 24 requires ES modules natively).
 */
export function createTestBus(options: Omit<KafkaBusOptions, 'client'>): EventBus {
  const client = testKafkaClient();
  if (client === 'platformatic' && typeof jest !== 'undefined') jest.mock('@platformatic/kafka', () => requireOutsideJest('@platformatic/kafka'));
  return createKafkaBus({ ...options, client });
}

/** Node's own `require`, reached through node:vm (Jest patches `process.getBuiltinModule` and `module.createRequire` in its sandbox). */
function requireOutsideJest(id: string): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- node:vm is a builtin; Jest's require passes it through
  const host = (require('node:vm') as typeof import('node:vm')).runInThisContext('process') as NodeJS.Process;
  const { createRequire } = host.getBuiltinModule('node:module') as typeof import('node:module');
  return createRequire(__filename)(id);
}

export async function createTestTopics(specs: TopicSpec[]): Promise<void> {
  const bus = createTestBus({ brokers: kafkaBrokers(), clientId: 'test-admin' });
  try {
    await bus.ensureTopics(specs);
  } finally {
    await bus.close();
  }
}

/**
 * The start of an event-time range [start, start + spanMs) that holds no record yet on `topic` (an
 * event topic other runs share), so a test that writes its records there and reads that range back
 * sees only its own: a random whole hour between `oldestMs` (default 6 days; within the broker's
 * 7-day retention, which deletes older segments) and 6 hours before now, checked empty by reading
 * the range, and another hour tried when it is not. Two runs that pick the same hour at the same
 * moment are the one case this cannot rule out (1 in ~130 hours, and both checks before either write).
 */
export async function emptyEventTimeRange(bus: EventBus, topic: string, spanMs: number, opts: { oldestMs?: number; nowMs?: number } = {}): Promise<number> {
  const hour = 3_600_000;
  const now = opts.nowMs ?? Date.now();
  const first = Math.ceil((now - (opts.oldestMs ?? 6 * 24 * hour)) / hour);
  const last = Math.floor((now - 6 * hour - spanMs) / hour);
  if (last < first) throw new Error(`no whole hour leaves a ${spanMs} ms range between ${opts.oldestMs ?? 6 * 24 * hour} ms and 6 h before now`);
  for (let attempt = 0; attempt < 20; attempt++) {
    const start = (first + Math.floor(Math.random() * (last - first + 1))) * hour;
    let found = 0;
    await bus.readRange({ topic, fromMs: start, toMs: start + spanMs, name: 'test-empty-range', onBatch: (messages) => void (found += messages.length) });
    if (found === 0) return start;
  }
  throw new Error(`no empty ${spanMs} ms range of ${topic} found in 20 tries`);
}
