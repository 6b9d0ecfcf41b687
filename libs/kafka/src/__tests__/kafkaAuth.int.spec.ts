import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AclOperationTypes, AclPermissionTypes, AclResourceTypes, Kafka, logLevel, ResourcePatternTypes, type Admin } from 'kafkajs';
import { BusAuthenticationError, BusError, createKafkaBus, type BusLogger, type EventBus, type KafkaBusOptions, type KafkaClient } from '../index';
import { freePort, uniqueName, waitFor } from '@pipeline/testing';
import { ADAPTERS } from './busAdapters';

// The authenticated path on a real broker: SASL/SCRAM-SHA-512 and ACLs (StandardAuthorizer), on each adapter.
jest.mock('@platformatic/kafka', () => require('./busAdapters').requireOutsideJest('@platformatic/kafka'));
jest.setTimeout(120_000);

// Its own broker (scripts/kafka.sh with KAFKA_SASL_PORT), on free ports: the shared one has no SASL listener.
const root = join(__dirname, '../../../..');
const USERS = { admin: 'admin-secret', alice: 'alice-secret', trainer: 'trainer-secret' };
const MODELS = 'pipeline.ml.models';
let brokerEnv: NodeJS.ProcessEnv;
let plaintext: string;
let sasl: string;
const kafka = (cmd: 'start' | 'wipe') => execFileSync('bash', [join(root, 'scripts/kafka.sh'), cmd], { env: brokerEnv, stdio: 'inherit' });

beforeAll(async () => {
  const [port, controllerPort, saslPort] = [await freePort(), await freePort(), await freePort()];
  plaintext = `127.0.0.1:${port}`;
  sasl = `127.0.0.1:${saslPort}`;
  brokerEnv = {
    ...process.env,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_SASL_PORT: String(saslPort),
    KAFKA_SASL_USERS: Object.entries(USERS).map(([name, password]) => `${name}:${password}`).join(','),
    KAFKA_DATA: `/tmp/event-pipeline-kafka-auth-${process.pid}`,
    KAFKA_HEAP: '512m',
  };
  kafka('start');
  // The plaintext listener's principal (ANONYMOUS) is a super user: it provisions the topic and the ACLs.
  const admin = new Kafka({ clientId: 'auth-test-admin', brokers: [plaintext], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: MODELS, numPartitions: 1, replicationFactor: 1 }] });
    await allow(admin, [
      // alice: everything on her own topics and groups (auth-*), and may see pipeline.ml.models, not write it.
      { user: 'alice', resourceType: AclResourceTypes.TOPIC, name: 'auth-', prefixed: true, operation: AclOperationTypes.ALL },
      { user: 'alice', resourceType: AclResourceTypes.GROUP, name: 'auth-', prefixed: true, operation: AclOperationTypes.ALL },
      { user: 'alice', resourceType: AclResourceTypes.TOPIC, name: MODELS, prefixed: false, operation: AclOperationTypes.DESCRIBE },
      // trainer: writes pipeline.ml.models, as ml-trainer's KafkaUser (deploy/k8s/kafka-strimzi/users.yaml).
      { user: 'trainer', resourceType: AclResourceTypes.TOPIC, name: MODELS, prefixed: false, operation: AclOperationTypes.WRITE },
      { user: 'trainer', resourceType: AclResourceTypes.TOPIC, name: MODELS, prefixed: false, operation: AclOperationTypes.DESCRIBE },
    ]);
  } finally {
    await admin.disconnect();
  }
}, 120_000);

afterAll(() => kafka('wipe'));

async function allow(admin: Admin, rules: { user: string; resourceType: AclResourceTypes; name: string; prefixed: boolean; operation: AclOperationTypes }[]): Promise<void> {
  await admin.createAcls({
    acl: rules.map((r) => ({
      resourceType: r.resourceType,
      resourceName: r.name,
      resourcePatternType: r.prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
      principal: `User:${r.user}`,
      host: '*',
      operation: r.operation,
      permissionType: AclPermissionTypes.ALLOW,
    })),
  });
}

/** Every log line a bus writes, as text, to check that no password is in it. */
function capturingLogger(lines: string[]): BusLogger {
  const log = (obj: object, msg: string) => void lines.push(`${msg} ${JSON.stringify(obj)}`);
  return { debug: log, info: log, warn: log, error: log };
}

async function failure(p: Promise<unknown>): Promise<{ error: BusError; ms: number }> {
  const started = Date.now();
  try {
    await p;
  } catch (e) {
    return { error: e as BusError, ms: Date.now() - started };
  }
  throw new Error('expected a failure, got success');
}

describe.each(ADAPTERS)('the %s bus on a SASL/SCRAM listener with ACLs', (client: KafkaClient) => {
  const buses: EventBus[] = [];
  const newBus = (options: Partial<KafkaBusOptions> = {}) => {
    const bus = createKafkaBus({ client, brokers: [sasl], clientId: uniqueName('auth'), sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, publishTimeoutMs: 5_000, ...options });
    buses.push(bus);
    return bus;
  };
  const login = (user: keyof typeof USERS, password = USERS[user]) => ({ mechanism: 'scram-sha-512' as const, username: user, password });
  afterAll(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close().catch(() => undefined)));
  });

  it('refuses a client without a login at once, with a non-retriable BusAuthenticationError naming what the broker offers', async () => {
    const { error, ms } = await failure(newBus().connect());
    expect(error).toBeInstanceOf(BusAuthenticationError);
    expect({ retriable: error.retriable, message: error.message }).toEqual({
      retriable: false,
      message: `Kafka at ${sasl} requires SASL authentication (it offers SCRAM-SHA-512, SCRAM-SHA-256) and this client has no SASL login configured; the broker closed the connection`,
    });
    expect(ms).toBeLessThan(10_000);
    // Start-up provisions topics first: it fails the same way, so runMain stops instead of retrying.
    expect((await failure(newBus().ensureTopics([{ topic: uniqueName('auth-t') }]))).error).toBeInstanceOf(BusAuthenticationError);
  });

  it('refuses a wrong password with a non-retriable BusAuthenticationError, and never logs or reports the password', async () => {
    const lines: string[] = [];
    const { error, ms } = await failure(newBus({ sasl: login('alice', 'not-alices-password'), logger: capturingLogger(lines) }).connect());
    expect(error).toBeInstanceOf(BusAuthenticationError);
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/^Kafka refused the SASL login: /);
    expect(ms).toBeLessThan(10_000);
    expect(`${error.message}\n${lines.join('\n')}`).not.toContain('not-alices-password');
    // An unknown user is refused the same way.
    expect((await failure(newBus({ sasl: { mechanism: 'scram-sha-512', username: 'nobody', password: 'x' } }).connect())).error).toBeInstanceOf(BusAuthenticationError);
  });

  it('publishes and consumes in a group with the right SCRAM-SHA-512 login', async () => {
    const bus = newBus({ sasl: login('alice') });
    await bus.connect();
    const topic = uniqueName('auth-t');
    await bus.ensureTopics([{ topic, partitions: 2 }]);
    await bus.publishBatch(Array.from({ length: 20 }, (_, i) => ({ topic, key: `k${i % 3}`, value: `v${i}` })));
    const got: string[] = [];
    await bus.subscribe({ groupId: uniqueName('auth-g'), topics: [topic], fromBeginning: true, handler: async (b) => void got.push(...b.messages.map((m) => m.value.toString())) });
    await waitFor(() => got.length >= 20, { what: '20 messages', timeoutMs: 30_000 });
    expect(got.sort()).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`).sort());
  });

  it(`refuses a publish to ${MODELS} by a user without Write on it (authorization, not retried), and takes it from the user with Write`, async () => {
    const records = async () => [...(await newBus({ brokers: [plaintext] }).highWatermarks(MODELS)).values()].reduce((a, b) => a + b, 0n);
    const before = await records();
    const alice = newBus({ sasl: login('alice') });
    const { error, ms } = await failure(alice.publish({ topic: MODELS, key: 'pricing', value: 'forged' }));
    expect(error).toBeInstanceOf(BusError);
    expect(error).not.toBeInstanceOf(BusAuthenticationError);
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/TOPIC_AUTHORIZATION_FAILED|Not authorized to access topics/);
    expect(ms).toBeLessThan(5_000);
    const trainer = newBus({ sasl: login('trainer') });
    await trainer.publish({ topic: MODELS, key: 'pricing', value: 'signed-by-the-trainer' });
    expect(await records()).toBe(before + 1n); // the trainer's record, not alice's
  });
});
