import { createKafkaBus, KAFKA_CLIENTS, type EventBus, type KafkaBusOptions, type KafkaClient } from '../index';
import { kafkaBrokers, uniqueName } from '@pipeline/testing';

/** Every adapter the contract suite runs on. */
export const ADAPTERS: readonly KafkaClient[] = KAFKA_CLIENTS;

/**
 * Node's own `require`, outside Jest's module registry. @platformatic/kafka is an ES module, which
 * Jest's loader runs only under --experimental-vm-modules; Node 24 itself requires it natively. A
 * suite that builds a PlatformaticBus mocks the package with Node's copy:
 *   jest.mock('@platformatic/kafka', () => require('./busAdapters').requireOutsideJest('@platformatic/kafka'));
 * (Jest also patches `process.getBuiltinModule` and `module.createRequire` in the sandbox; the host
 * realm's `process`, reached through node:vm, is Node's.)
 */
export function requireOutsideJest(id: string): unknown {
  const host = (require('node:vm') as typeof import('node:vm')).runInThisContext('process') as NodeJS.Process;
  const { createRequire } = host.getBuiltinModule('node:module') as typeof import('node:module');
  return createRequire(__filename)(id);
}

/** A bus on the test broker, closed by `closeAll`. */
export function busFactory(client: KafkaClient) {
  const buses: EventBus[] = [];
  return {
    newBus(options: Partial<KafkaBusOptions> = {}): EventBus {
      const bus = createKafkaBus({ client, brokers: kafkaBrokers(), clientId: uniqueName('test'), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, ...options });
      buses.push(bus);
      return bus;
    },
    async closeAll(): Promise<void> {
      await Promise.all(buses.splice(0).map((b) => b.close()));
    },
  };
}
