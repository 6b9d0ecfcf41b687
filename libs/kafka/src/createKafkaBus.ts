import type { EventBus } from './EventBus';
import { KafkaJsBus, type KafkaJsBusOptions } from './KafkaJsBus';
import { PlatformaticBus } from './PlatformaticBus';

/** The Kafka client libraries the bus can run on. */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];

export interface KafkaBusOptions extends KafkaJsBusOptions {
  /**
   * Which adapter: 'kafkajs' (KafkaJsBus, kafkajs 2.2, the default) or 'platformatic'
   * (PlatformaticBus, @platformatic/kafka 2.x). Both pass the same contract suite
   * (libs/kafka/src/__tests__/kafkaBus.int.spec.ts); BENCHMARKS.md compares them.
   */
  client?: KafkaClient;
}

/** The Kafka EventBus every service runs on, on the client the options name. */
export function createKafkaBus(options: KafkaBusOptions): EventBus {
  const { client = 'kafkajs', ...busOptions } = options;
  switch (client) {
    case 'kafkajs':
      return new KafkaJsBus(busOptions);
    case 'platformatic':
      return new PlatformaticBus(busOptions);
    default:
      throw new Error(`unknown Kafka client "${String(client)}": expected one of ${KAFKA_CLIENTS.join(', ')}`);
  }
}
