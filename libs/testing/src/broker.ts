import { randomUUID } from 'node:crypto';
import { KafkaJsBus, type TopicSpec } from '@pipeline/kafka';

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

export async function createTestTopics(specs: TopicSpec[]): Promise<void> {
  const bus = new KafkaJsBus({ brokers: kafkaBrokers(), clientId: 'test-admin' });
  try {
    await bus.ensureTopics(specs);
  } finally {
    await bus.close();
  }
}
