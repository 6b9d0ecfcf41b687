import { createServer, type Server } from 'node:net';
import { BusAuthenticationError, BusError, BusTlsError, toBusError } from './errors';
import { explainRefusal, probeSaslMechanisms, probeTls } from './explainRefusal';

/** A fake broker that answers the first request with a SaslHandshake v1 response: this error code and these mechanisms. */
async function fakeBroker(errorCode: number, mechanisms: string[]): Promise<{ broker: string; requests: Buffer[]; server: Server }> {
  const requests: Buffer[] = [];
  const server = createServer((socket) => {
    socket.once('data', (request: Buffer) => {
      requests.push(request);
      const strings = mechanisms.map((m) => {
        const b = Buffer.alloc(2 + Buffer.byteLength(m));
        b.writeInt16BE(Buffer.byteLength(m), 0);
        b.write(m, 2);
        return b;
      });
      const body = Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from([errorCode >> 8, errorCode & 0xff]), Buffer.from([0, 0, 0, mechanisms.length]), ...strings]);
      const size = Buffer.alloc(4);
      size.writeInt32BE(body.length, 0);
      socket.end(Buffer.concat([size, body]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { broker: `127.0.0.1:${(server.address() as { port: number }).port}`, requests, server };
}

const closedConnection = () => Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError', retriable: true });

describe('explainRefusal', () => {
  const servers: Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  it('asks with a SaslHandshake v1 for PLAIN and reads the mechanisms a SASL listener offers', async () => {
    const fake = await fakeBroker(33, ['SCRAM-SHA-512', 'SCRAM-SHA-256']);
    servers.push(fake.server);
    expect(await probeSaslMechanisms(fake.broker, { timeoutMs: 2_000 })).toEqual(['SCRAM-SHA-512', 'SCRAM-SHA-256']);
    const request = fake.requests[0]!;
    // size, api key 17, version 1, correlation id 1, client id, then the mechanism "PLAIN"
    expect([request.readInt32BE(0), request.readInt16BE(4), request.readInt16BE(6), request.readInt32BE(8)]).toEqual([request.length - 4, 17, 1, 1]);
    expect(request.subarray(request.length - 7).toString('latin1')).toBe('\u0000\u0005PLAIN');
  });

  it('turns a closed connection of a bus without a login into a non-retriable BusAuthenticationError when the broker wants SASL', async () => {
    const fake = await fakeBroker(33, ['SCRAM-SHA-512']);
    servers.push(fake.server);
    const err = await explainRefusal(closedConnection(), { brokers: [fake.broker] });
    expect(err).toBeInstanceOf(BusAuthenticationError);
    expect({ retriable: err.retriable, message: err.message }).toEqual({
      retriable: false,
      message: `Kafka at ${fake.broker} requires SASL authentication (it offers SCRAM-SHA-512) and this client has no SASL login configured; the broker closed the connection`,
    });
  });

  it('leaves the failure as it was when the listener takes no SASL, the broker is unreachable, or the bus has a login', async () => {
    const plaintext = await fakeBroker(34, []);
    servers.push(plaintext.server);
    const sasl = await fakeBroker(33, ['SCRAM-SHA-512']);
    servers.push(sasl.server);
    const kinds = async (context: Parameters<typeof explainRefusal>[1]) => {
      const err = await explainRefusal(closedConnection(), context);
      return [err.constructor.name, err.retriable];
    };
    expect(await kinds({ brokers: [plaintext.broker] })).toEqual(['BusError', true]);
    expect(await kinds({ brokers: ['127.0.0.1:1'] })).toEqual(['BusError', true]);
    expect(await kinds({ brokers: [sasl.broker], sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } })).toEqual(['BusError', true]);
    // With a login, no SaslHandshake was sent (only the TLS probe's ClientHello, a TLS handshake record: 0x16 0x03).
    expect(sasl.requests.map((r) => [r[0], r[1]])).toEqual([[0x16, 0x03]]);
  });

  it('leaves the failure as it was when no broker completes a TLS handshake (a plaintext listener, or none at all)', async () => {
    const plaintext = await fakeBroker(34, []);
    servers.push(plaintext.server);
    expect(await probeTls(plaintext.broker, { timeoutMs: 2_000 })).toBe(false);
    expect(await probeTls('127.0.0.1:1', { timeoutMs: 2_000 })).toBe(false);
  });

  it('turns any failure of a TLS bus into a non-retriable BusTlsError when the broker answers a Kafka request without TLS', async () => {
    const plaintext = await fakeBroker(34, []);
    servers.push(plaintext.server);
    const err = await explainRefusal(closedConnection(), { brokers: [plaintext.broker], ssl: {} });
    expect([err.constructor.name, err.code, err.retriable, err.message]).toEqual([
      'BusTlsError',
      'kafka_tls_failed',
      false,
      `Kafka at ${plaintext.broker} does not speak TLS (it answered a Kafka request sent without TLS) and this client connects with TLS; the TLS handshake failed`,
    ]);
  });
});

describe('toBusError on TLS failures', () => {
  it("maps a broker certificate Node would not accept to a non-retriable BusTlsError naming the problem, from either library's wrapping", () => {
    // kafkajs copies Node's code onto its KafkaJSConnectionError, wrapped when its retries ran out.
    const kafkajs = toBusError({
      name: 'KafkaJSNumberOfRetriesExceeded',
      retriable: false,
      message: 'Connection error: unable to verify the first certificate',
      cause: { name: 'KafkaJSConnectionError', retriable: true, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', message: 'Connection error: unable to verify the first certificate' },
    });
    // @platformatic/kafka keeps Node's error as the cause of its retriable network error.
    const platformatic = toBusError({
      code: 'PLT_KFK_MULTIPLE',
      message: 'metadata failed 4 times.',
      errors: [{ code: 'PLT_KFK_NETWORK', canRetry: true, message: 'Connection to kafka-0:9093 failed.', cause: Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }) }],
    });
    const expired = toBusError(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }));
    expect([kafkajs, platformatic, expired].map((e) => [e instanceof BusTlsError, e.code, e.retriable, e.message])).toEqual([
      [true, 'kafka_tls_failed', false, "Kafka's TLS certificate was not accepted: it is not signed by a CA this client trusts (UNABLE_TO_VERIFY_LEAF_SIGNATURE); retrying will not help"],
      [true, 'kafka_tls_failed', false, "Kafka's TLS certificate was not accepted: it does not name the broker's address (subjectAltName) (ERR_TLS_CERT_ALTNAME_INVALID); retrying will not help"],
      [true, 'kafka_tls_failed', false, "Kafka's TLS certificate was not accepted: it has expired (CERT_HAS_EXPIRED); retrying will not help"],
    ]);
  });

  it('leaves network errors whose code is not a certificate problem retriable', () => {
    const reset = toBusError(Object.assign(new Error('Client network socket disconnected before secure TLS connection was established'), { code: 'ECONNRESET' }));
    expect([reset instanceof BusTlsError, reset.retriable]).toEqual([false, true]);
  });
});

describe('toBusError on refused logins', () => {
  it('maps kafkajs and @platformatic/kafka SASL failures to BusAuthenticationError, not retriable', () => {
    const kafkajs = toBusError(Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), { name: 'KafkaJSSASLAuthenticationError', retriable: false }));
    // @platformatic/kafka wraps the broker's answer in a retriable network error.
    const platformatic = toBusError({
      code: 'PLT_KFK_MULTIPLE',
      message: 'Cannot connect to any broker.',
      errors: [{ code: 'PLT_KFK_NETWORK', canRetry: true, message: 'Connection to 127.0.0.1:9094 failed.', cause: { code: 'PLT_KFK_AUTHENTICATION', canRetry: false, message: 'SASL authentication failed.' } }],
    });
    expect([kafkajs, platformatic].map((e) => [e instanceof BusAuthenticationError, e instanceof BusError, e.retriable, e.message])).toEqual([
      [true, true, false, 'Kafka refused the SASL login: SASL SCRAM SHA512 authentication failed: invalid credentials'],
      [true, true, false, 'Kafka refused the SASL login: Cannot connect to any broker. (SASL authentication failed.)'],
    ]);
  });
});
