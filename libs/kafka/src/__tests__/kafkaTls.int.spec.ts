import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BusTlsError, createKafkaBus, type BusError, type EventBus, type KafkaBusOptions, type KafkaClient } from '../index';
import { freePort, uniqueName, waitFor } from '@pipeline/testing';
import { ADAPTERS } from './busAdapters';

// TLS to a real broker, on each adapter: a SASL_SSL listener (TLS + SCRAM-SHA-512, as production runs).
jest.mock('@platformatic/kafka', () => require('./busAdapters').requireOutsideJest('@platformatic/kafka'));
jest.setTimeout(120_000);

// Its own broker (scripts/kafka.sh with KAFKA_SSL_PORT), on free ports: the shared one has no TLS listener.
// The script makes a throwaway CA and a broker certificate (SAN IP:127.0.0.1) in $KAFKA_DATA/tls.
const root = join(__dirname, '../../../..');
const ADMIN = { mechanism: 'scram-sha-512' as const, username: 'admin', password: 'admin-secret' };
let brokerEnv: NodeJS.ProcessEnv;
let plaintext: string;
let tls: string;
let ca: string;
const kafka = (cmd: 'start' | 'wipe') => execFileSync('bash', [join(root, 'scripts/kafka.sh'), cmd], { env: brokerEnv, stdio: 'inherit' });

beforeAll(async () => {
  const [port, controllerPort, sslPort] = [await freePort(), await freePort(), await freePort()];
  plaintext = `127.0.0.1:${port}`;
  tls = `127.0.0.1:${sslPort}`;
  brokerEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_SSL_PORT: String(sslPort),
    KAFKA_SASL_USERS: `${ADMIN.username}:${ADMIN.password}`,
    KAFKA_DATA: `/tmp/event-pipeline-kafka-tls-${process.pid}`,
    KAFKA_HEAP: '512m',
  };
  kafka('start');
  ca = readFileSync(`${brokerEnv['KAFKA_DATA']}/tls/ca.crt`, 'utf8');
}, 120_000);

afterAll(() => kafka('wipe'));

async function failure(p: Promise<unknown>): Promise<BusError> {
  try {
    await p;
  } catch (e) {
    return e as BusError;
  }
  throw new Error('expected a failure, got success');
}

const kind = (e: BusError) => ({ class: e.constructor.name, code: e.code, retriable: e.retriable, message: e.message });

describe.each(ADAPTERS)('the %s bus on a TLS (SASL_SSL) listener', (client: KafkaClient) => {
  const buses: EventBus[] = [];
  const newBus = (options: Partial<KafkaBusOptions> = {}) => {
    const bus = createKafkaBus({ client, brokers: [tls], clientId: uniqueName('tls'), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, publishTimeoutMs: 5_000, ...options });
    buses.push(bus);
    return bus;
  };
  afterAll(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close().catch(() => undefined)));
  });

  it("publishes and consumes over TLS when it trusts the broker's CA and logs in with SCRAM-SHA-512", async () => {
    const bus = newBus({ ssl: { ca }, sasl: ADMIN });
    await bus.connect();
    const topic = uniqueName('tls-t');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    await bus.publishBatch(Array.from({ length: 20 }, (_, i) => ({ topic, key: `k${i % 3}`, value: `v${i}` })));
    const got: string[] = [];
    await bus.subscribe({ groupId: uniqueName('tls-g'), topics: [topic], fromBeginning: true, handler: async (b) => void got.push(...b.messages.map((m) => m.value.toString())) });
    await waitFor(() => got.length >= 20, { what: '20 messages', timeoutMs: 30_000 });
    expect(got.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
    // The same records, read back on the plaintext listener: the TLS path stored them.
    expect([...(await newBus({ brokers: [plaintext] }).highWatermarks(topic)).values()].reduce((a, b) => a + b, 0n)).toBe(20n);
  });

  it("refuses the broker's certificate without its CA (Node's trusted CAs) with a non-retriable BusTlsError naming the problem", async () => {
    const expected = {
      class: 'BusTlsError',
      code: 'kafka_tls_failed',
      retriable: false,
      message: "Kafka's TLS certificate was not accepted: it is not signed by a CA this client trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); retrying will not help",
    };
    const error = await failure(newBus({ ssl: {}, sasl: ADMIN }).connect());
    expect(error).toBeInstanceOf(BusTlsError);
    expect(kind(error)).toEqual(expected);
    // Start-up provisions topics first (runMain): it fails the same way, so the service stops instead of retrying.
    expect(kind(await failure(newBus({ ssl: {}, sasl: ADMIN }).ensureTopics([{ topic: uniqueName('tls-t') }])))).toEqual(expected);
    // A publish fails the same way, not as "Kafka is unreachable".
    expect(kind(await failure(newBus({ ssl: {}, sasl: ADMIN }).publish({ topic: uniqueName('tls-t'), value: 'v' })))).toEqual(expected);
  });

  it('refuses a client without TLS on the TLS listener with a non-retriable BusTlsError saying the listener expects TLS, with or without a login', async () => {
    const expected = {
      class: 'BusTlsError',
      code: 'kafka_tls_failed',
      retriable: false,
      message: `Kafka at ${tls} expects TLS (it completed a TLS handshake) and this client connects without TLS; the broker closed the connection`,
    };
    expect(kind(await failure(newBus({ sasl: ADMIN }).connect()))).toEqual(expected);
    expect(kind(await failure(newBus().connect()))).toEqual(expected);
    expect(kind(await failure(newBus({ sasl: ADMIN }).ensureTopics([{ topic: uniqueName('tls-t') }])))).toEqual(expected);
  });

  it('refuses a TLS client on the plaintext listener with a non-retriable BusTlsError saying the listener does not speak TLS', async () => {
    expect(kind(await failure(newBus({ brokers: [plaintext], ssl: { ca } }).connect()))).toEqual({
      class: 'BusTlsError',
      code: 'kafka_tls_failed',
      retriable: false,
      message: `Kafka at ${plaintext} does not speak TLS (it answered a Kafka request sent without TLS) and this client connects with TLS; the TLS handshake failed`,
    });
  });
});
