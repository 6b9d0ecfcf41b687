import { KafkaJsBus, type BusLogger } from './KafkaJsBus';

describe('KafkaJsBus logging', () => {
  it("does not pass on kafkajs's start-up warning about bounded retries of the idempotent producer", async () => {
    const lines: string[] = [];
    const logger: BusLogger = {
      debug: () => undefined,
      info: () => undefined,
      warn: (_obj, msg) => lines.push(`warn ${msg}`),
      error: (_obj, msg) => lines.push(`error ${msg}`),
    };
    // kafkajs logs the warning when the producer is created, before any connection.
    const bus = new KafkaJsBus({ brokers: ['127.0.0.1:1'], clientId: 'spec', logger, idempotent: true });
    expect(lines).toEqual([]);
    await bus.close();
  });
});
