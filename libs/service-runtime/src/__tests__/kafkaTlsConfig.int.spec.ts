import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { BusTlsError, type EventBus } from '@pipeline/kafka';
import { createTestBus, freePort, testKafkaClient, uniqueName } from '@pipeline/testing';
import { readBaseConfig } from '../config';
import { kafkaBusOptions } from '../serviceHost';

// A service's Kafka settings (KAFKA_SSL, KAFKA_SSL_CA_FILE, KAFKA_SASL_*) end to end: from the
// environment through readBaseConfig and kafkaBusOptions (what runMain builds its bus from) to a
// broker's TLS listener (scripts/kafka.sh with KAFKA_SSL_PORT, on its own free ports).
jest.setTimeout(120_000);

const root = join(__dirname, '../../../..');
let brokerEnv: NodeJS.ProcessEnv;
let tls: string;
const kafka = (cmd: 'start' | 'wipe') => execFileSync('bash', [join(root, 'scripts/kafka.sh'), cmd], { env: brokerEnv, stdio: 'inherit' });
const buses: EventBus[] = [];

beforeAll(async () => {
  const [port, controllerPort, sslPort] = [await freePort(), await freePort(), await freePort()];
  tls = `127.0.0.1:${sslPort}`;
  brokerEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_SSL_PORT: String(sslPort),
    KAFKA_SASL_USERS: 'ingest:ingest-secret',
    KAFKA_SUPER_USERS: 'ingest',
    KAFKA_DATA: `/tmp/event-pipeline-kafka-tls-config-${process.pid}`,
    KAFKA_HEAP: '512m',
  };
  kafka('start');
}, 120_000);

afterAll(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close().catch(() => undefined)));
  kafka('wipe');
});

/** The bus runMain would build from this environment, on the test client (KAFKA_CLIENT). */
function serviceBus(env: Record<string, string>): EventBus {
  const config = readBaseConfig({ KAFKA_BROKERS: tls, KAFKA_CLIENT: testKafkaClient(), KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', KAFKA_SASL_USERNAME: 'ingest', KAFKA_SASL_PASSWORD: 'ingest-secret', ...env }, 'ingest', 0);
  const { client, ...options } = kafkaBusOptions(config);
  expect(client).toBe(testKafkaClient());
  const bus = createTestBus(options);
  buses.push(bus);
  return bus;
}

describe(`a service's bus from KAFKA_SSL / KAFKA_SSL_CA_FILE / KAFKA_SASL_* (${testKafkaClient()})`, () => {
  it("connects over TLS with KAFKA_SSL=true and KAFKA_SSL_CA_FILE naming the broker's CA, provisions a topic and publishes to it", async () => {
    const bus = serviceBus({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: `${brokerEnv['KAFKA_DATA']}/tls/ca.crt` });
    await bus.connect();
    const topic = uniqueName('tls-config');
    await bus.ensureTopics([{ topic, partitions: 1 }]);
    await bus.publish({ topic, key: 'k', value: 'v' });
    expect([...(await bus.highWatermarks(topic)).values()]).toEqual([1n]);
  });

  it('fails topic provisioning (what start-up does first, and stops on) with BusTlsError when KAFKA_SSL_CA_FILE is not set', async () => {
    const error = await serviceBus({ KAFKA_SSL: 'true' })
      .ensureTopics([{ topic: uniqueName('tls-config') }])
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(BusTlsError);
    expect((error as BusTlsError).message).toBe("Kafka's TLS certificate was not accepted: it is not signed by a CA this client trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); retrying will not help");
  });
});
