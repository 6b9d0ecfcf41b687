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
