import type { EventBus } from './EventBus';
import { KafkaJsBus, type KafkaJsBusOptions } from './KafkaJsBus';
import { PlatformaticBus } from './PlatformaticBus';

/** The Kafka client libraries the bus can run on. */
export const KAFKA_CLIENTS = ['kafkajs', 'platformatic'] as const;
export type KafkaClient = (typeof KAFKA_CLIENTS)[number];
/** The client a service runs on when KAFKA_CLIENT is not set (chosen by measurement: BENCHMARKS.md, "Kafka client"). */
export const DEFAULT_KAFKA_CLIENT: KafkaClient = 'platformatic';

export interface KafkaBusOptions extends KafkaJsBusOptions {
  /**
   * Which adapter: 'kafkajs' (KafkaJsBus, kafkajs 2.2) or 'platformatic' (PlatformaticBus,
   * @platformatic/kafka 2.x); default DEFAULT_KAFKA_CLIENT. Both pass the same contract suite
   * (libs/kafka/src/__tests__/kafkaBus.int.spec.ts); BENCHMARKS.md compares them.
   */
  client?: KafkaClient;
}

/** The Kafka EventBus every service runs on, on the client the options name. */
export function createKafkaBus(options: KafkaBusOptions): EventBus {
  const { client = DEFAULT_KAFKA_CLIENT, ...busOptions } = options;
  switch (client) {
    case 'kafkajs':
      return new KafkaJsBus(busOptions);
    case 'platformatic':
      return new PlatformaticBus(busOptions);
    default:
      throw new Error(`unknown Kafka client "${String(client)}": expected one of ${KAFKA_CLIENTS.join(', ')}`);
  }
}
